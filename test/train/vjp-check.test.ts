import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cosineSimilarity, finiteDifferenceVjp } from '../../src/train/vjp-check.js';

// f: R^3 -> R^2, f(x) = [x0² x1, sin(x2) + x0 x2]
const f = (x: Float64Array): Float64Array => Float64Array.of(x[0] * x[0] * x[1], Math.sin(x[2]) + x[0] * x[2]);
// J = [[2 x0 x1, x0², 0], [x2, 0, cos(x2) + x0]]
function exactVjp(x: number[], v: number[]): number[] {
  return [v[0] * 2 * x[0] * x[1] + v[1] * x[2], v[0] * x[0] * x[0], v[1] * (Math.cos(x[2]) + x[0])];
}

test('central differences match the closed-form vᵀJ', () => {
  const x = [0.7, -1.3, 2.1];
  const v = [0.4, -2.5];
  const fd = finiteDifferenceVjp(f, Float64Array.from(x), Float64Array.from(v));
  const exact = exactVjp(x, v);
  assert.is(fd.length, 3);
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(fd[i] - exact[i]) < 1e-8, `component ${i}: ${fd[i]} vs ${exact[i]}`);
  assert.ok(cosineSimilarity(fd, exact) > 1 - 1e-12);
});

test('the error shrinks like ε² and x is left unchanged', () => {
  const x = Float64Array.of(0.7, -1.3, 2.1);
  const v = [1, 1];
  const exact = exactVjp([...x], v);
  const err = (eps: number) => Math.max(...finiteDifferenceVjp(f, x, v, eps).map((g, i) => Math.abs(g - exact[i])));
  const ratio = err(1e-2) / err(1e-3);
  assert.ok(ratio > 50 && ratio < 200, `error ratio ${ratio} for a 10x smaller step, expected about 100`);
  assert.equal([...x], [0.7, -1.3, 2.1]);
});

test('a wrong cotangent length or step is refused', () => {
  assert.throws(() => finiteDifferenceVjp(f, [1, 2, 3], [1, 2, 3]), /f returned 2 values but v has 3/);
  assert.throws(() => finiteDifferenceVjp(f, [1, 2, 3], [1, 2], 0), /eps must be a positive/);
});

test('cosineSimilarity: parallel, antiparallel, orthogonal, zero vectors, length mismatch', () => {
  assert.ok(Math.abs(cosineSimilarity([1, 2, 3], [2, 4, 6]) - 1) < 1e-15);
  assert.ok(Math.abs(cosineSimilarity([1, 2, 3], [-1, -2, -3]) + 1) < 1e-15);
  assert.is(cosineSimilarity([1, 0], [0, 5]), 0);
  assert.is(cosineSimilarity([0, 0], [0, 0]), 1);
  assert.is(cosineSimilarity([0, 0], [1, 0]), 0);
  assert.throws(() => cosineSimilarity([1, 2], [1, 2, 3]), /lengths differ: 2 and 3/);
});

test.run();
