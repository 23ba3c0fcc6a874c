import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { argmaxRows, classAccuracy, confusionMatrix, softmaxCrossEntropy } from '../../src/tasks/index.js';
import { close, throwsRangeNaming } from './helpers.js';

test('cross-entropy against hand-computed values', () => {
  // Row 1: logits (2, 0, 0), label 0: log(e^2 + 2) - 2. Row 2: (0, 0, 3), label 1: log(2 + e^3) - 0.
  const logits = Float32Array.of(2, 0, 0, 0, 0, 3);
  const expected = (Math.log(Math.exp(2) + 2) - 2 + Math.log(2 + Math.exp(3))) / 2;
  close(softmaxCrossEntropy(logits, Uint8Array.of(0, 1), 3), expected, 1e-12, 'mean CE');
  // Uniform logits: every class has p = 1/k, so the loss is log k whatever the labels.
  close(softmaxCrossEntropy(new Float64Array(8), Uint8Array.of(0, 3), 4), Math.log(4), 1e-15, 'uniform');
});

test('cross-entropy is stable for huge logits and shift-invariant per row', () => {
  const big = Float64Array.of(1000, 0, -1000, 1e6, 1e6 - 1, 0);
  const loss = softmaxCrossEntropy(big, Uint8Array.of(0, 1), 3);
  // Row 1 is certain and right (loss ~0); row 2 is log(1 + e) - 0 below its max by 1: log(1 + e^-1) + 1.
  close(loss, (0 + Math.log(1 + Math.exp(-1)) + 1) / 2, 1e-9, 'huge logits');
  const shifted = Float64Array.of(1000 - 7, -7, -1000 - 7, 5, 4, 5 - 1e6);
  close(softmaxCrossEntropy(shifted, Uint8Array.of(0, 1), 3), loss, 1e-9, 'shift');
});

test('argmaxRows takes the first maximum of each row', () => {
  const logits = Float32Array.of(0.1, 0.5, 0.2, 3, 3, 1, -1, -2, -0.5);
  assert.equal(Array.from(argmaxRows(logits, 3)), [1, 0, 2]);
});

test('accuracy from labels and from logits', () => {
  const labels = Uint8Array.of(0, 1, 2, 2);
  assert.is(classAccuracy(Uint8Array.of(0, 1, 1, 2), labels), 0.75);
  const logits = Float32Array.of(5, 0, 0, 0, 5, 0, 5, 0, 0, 0, 0, 5);
  assert.is(classAccuracy(logits, labels, 3), 0.75);
});

test('confusion matrix: rows are true classes, columns predictions', () => {
  const labels = Uint8Array.of(0, 0, 1, 2, 2, 2);
  const pred = Uint8Array.of(0, 1, 1, 2, 0, 2);
  assert.equal(confusionMatrix(pred, labels, 3), [
    [1, 1, 0],
    [0, 1, 0],
    [1, 0, 2],
  ]);
});

test('bad input is a RangeError naming the argument', () => {
  const labels = Uint8Array.of(0, 1);
  throwsRangeNaming(() => softmaxCrossEntropy(new Float32Array(5), labels, 3), 'logits');
  throwsRangeNaming(() => softmaxCrossEntropy(new Float32Array(6), Uint8Array.of(0, 3), 3), 'labels[1]');
  throwsRangeNaming(() => softmaxCrossEntropy(new Float32Array(0), new Uint8Array(0), 3), 'labels');
  throwsRangeNaming(() => softmaxCrossEntropy(new Float32Array(2), labels, 1), 'classes');
  throwsRangeNaming(() => argmaxRows(new Float32Array(7), 3), 'logits');
  throwsRangeNaming(() => classAccuracy(Uint8Array.of(0, 1, 1), labels), 'pred');
  throwsRangeNaming(() => classAccuracy(Float32Array.of(0, 0.5), labels), 'pred[1]');
  throwsRangeNaming(() => confusionMatrix(Uint8Array.of(0, 4), labels, 3), 'pred[1]');
  throwsRangeNaming(() => confusionMatrix(Uint8Array.of(0), labels, 3), 'pred');
  throwsRangeNaming(() => confusionMatrix(Uint8Array.of(0, 1), Int32Array.of(0, -1), 3), 'labels[1]');
});

test.run();
