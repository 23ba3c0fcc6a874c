import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mse, nmse, nrmse, variance, squaredCorrelation } from '../../src/tasks/index.js';
import { close, throwsRangeNaming } from '../tasks/helpers.js';

const target = Float64Array.from([1, 2, 3, 4, 6]);

test('mse and population variance on known vectors', () => {
  assert.is(mse([1, 2, 3], [1, 2, 5]), 4 / 3);
  // mean 3.2; squared deviations 4.84 1.44 0.04 0.64 7.84, sum 14.8, / 5 (not / 4)
  close(variance(target), 14.8 / 5, 1e-12, 'variance');
});

test('nmse is 0 for the target itself and 1 for the mean predictor; nrmse is its square root', () => {
  assert.is(nmse(target, target), 0);
  const meanPred = new Float64Array(target.length).fill(3.2);
  close(nmse(meanPred, target), 1, 1e-12, 'nmse(mean)');
  const pred = Float64Array.from([2, 2, 3, 4, 5]); // MSE = 2 / 5
  close(nmse(pred, target), 0.4 / 2.96, 1e-12, 'nmse');
  close(nrmse(pred, target), Math.sqrt(0.4 / 2.96), 1e-12, 'nrmse');
});

test('length mismatch, empty input and a zero-variance target throw RangeError', () => {
  throwsRangeNaming(() => mse([1, 2], [1, 2, 3]), 'pred');
  throwsRangeNaming(() => nmse([1, 2], [1]), 'pred');
  throwsRangeNaming(() => nrmse([], []), 'target');
  throwsRangeNaming(() => nmse([1, 2, 3], [2, 2, 2]), 'target');
});

test('squared correlation: 1 for an affine copy, 0 for a constant prediction, invariant to sign', () => {
  close(squaredCorrelation(target.map((x) => -2 * x + 7), target), 1, 1e-12, 'r2');
  assert.is(squaredCorrelation([5, 5, 5, 5, 5], target), 0);
  close(squaredCorrelation([1, 0, 1, 0], [1, 1, 0, 0]), 0, 1e-15, 'orthogonal');
  throwsRangeNaming(() => squaredCorrelation([1, 2], [3, 3]), 'target');
});

test.run();
