import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RidgeAccumulator } from '../../src/train/ridge.js';
import { nmse } from '../../src/core/metrics.js';
import { Rng } from '../../src/core/rng.js';

/** Solves A z = B (A n x n, B n x m, row-major) by Gaussian elimination with partial pivoting. */
function gaussSolve(A: number[][], B: number[][]): number[][] {
  const n = A.length;
  const M = A.map((row, i) => [...row, ...B[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    [M[c], M[p]] = [M[p], M[c]];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const k = M[r][c] / M[c][c];
      for (let j = c; j < M[r].length; j++) M[r][j] -= k * M[c][j];
    }
  }
  return M.map((row, i) => row.slice(n).map((v) => v / M[i][i]));
}

/** Normal equations (XᵀX + λD) z = XᵀY written out directly; D is 1 on the first `regularised` entries. */
function normalEquations(X: number[][], Y: number[][], lambda: number, regularised: number): number[][] {
  const d = X[0].length;
  const m = Y[0].length;
  const A = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => X.reduce((s, x) => s + x[i] * x[j], 0) + (i === j && i < regularised ? lambda : 0)));
  const B = Array.from({ length: d }, (_, i) => Array.from({ length: m }, (_, j) => X.reduce((s, x, r) => s + x[i] * Y[r][j], 0)));
  return gaussSolve(A, B);
}

const X6 = [[1, 2, 0.5], [0.3, -1, 2], [2, 0, -1], [-1.5, 0.7, 0.2], [0.4, 0.4, 1.1], [1.2, -0.3, -0.8]];
const Y6 = [[1, 0], [0.5, -2], [3, 1], [-1, 0.3], [0.2, 0.9], [1.7, -0.4]];
const flat = (a: number[][]) => Float64Array.from(a.flat());

function close(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string): void {
  assert.is(got.length, want.length, `${what} length`);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= tol * (1 + Math.abs(want[i])), `${what}[${i}]: ${got[i]} vs ${want[i]}`);
}

test('without bias: W matches the normal equations solved by Gaussian elimination', () => {
  const acc = new RidgeAccumulator(3, 2, { bias: false }).add(flat(X6), flat(Y6));
  const { W, b } = acc.solve(0.5);
  close(W, normalEquations(X6, Y6, 0.5, 3).flat(), 1e-12, 'W');
  assert.equal([...b], [0, 0]);
  assert.is(acc.count, 6);
});

test('with bias: [W; b] matches the augmented normal equations, bias unregularised', () => {
  const acc = new RidgeAccumulator(3, 2).add(flat(X6), flat(Y6));
  const { W, b } = acc.solve(0.8);
  const z = normalEquations(X6.map((x) => [...x, 1]), Y6, 0.8, 3);
  close(W, z.slice(0, 3).flat(), 1e-12, 'W');
  close(b, z[3], 1e-12, 'b');
  // Unregularised bias: shifting every target by c shifts b by c and leaves W alone.
  const shifted = new RidgeAccumulator(3, 2).add(flat(X6), flat(Y6.map(([u, v]) => [u + 10, v - 3]))).solve(0.8);
  close(shifted.W, W, 1e-10, 'W after shift');
  close(shifted.b, [b[0] + 10, b[1] - 3], 1e-10, 'b after shift');
});

test('with bias and lambda 0 an exact affine map is recovered, and predict applies it', () => {
  const X = [[1, 2], [3, -1], [0, 0.5], [2, 2], [-1, 4]];
  const Y = X.map(([u, v]) => [2 * u - v + 3]);
  const acc = new RidgeAccumulator(2, 1).add(flat(X), flat(Y));
  const { W, b } = acc.solve(0);
  close(W, [2, -1], 1e-12, 'W');
  close(b, [3], 1e-12, 'b');
  close(acc.predict(Float64Array.of(10, 1)), [22], 1e-12, 'prediction');
});

test('chunked adds equal one big add, and merging two accumulators too', () => {
  const rng = new Rng(7);
  const rows = 200, f = 5, m = 3;
  const X = Float64Array.from({ length: rows * f }, () => rng.normal());
  const Y = Float64Array.from({ length: rows * m }, () => rng.normal());
  const whole = new RidgeAccumulator(f, m).add(X, Y);
  const chunked = new RidgeAccumulator(f, m);
  for (const [r0, r1] of [[0, 1], [1, 64], [64, 64], [64, 137], [137, 200]]) chunked.add(X.subarray(r0 * f, r1 * f), Y.subarray(r0 * m, r1 * m));
  assert.is(chunked.count, 200);
  assert.equal(chunked.statistics(), whole.statistics());
  const a = new RidgeAccumulator(f, m).add(X.subarray(0, 90 * f), Y.subarray(0, 90 * m));
  const b = new RidgeAccumulator(f, m).add(X.subarray(90 * f), Y.subarray(90 * m));
  const merged = a.merge(b);
  assert.is(merged.count, 200);
  const w1 = whole.solve(1e-3), w2 = merged.solve(1e-3);
  close(w2.W, w1.W, 1e-12, 'W');
  close(w2.b, w1.b, 1e-12, 'b');
  assert.throws(() => merged.merge(new RidgeAccumulator(f, m, { bias: false })), /cannot merge/);
});

test('a singular XᵀX (duplicated feature, fewer rows than features) fails at lambda 0 and solves with lambda > 0', () => {
  const X = [[1, 1, 0.5], [2, 2, -1], [0.5, 0.5, 3], [-1, -1, 0]];
  const Y = [[1], [2], [0], [-3]];
  const acc = new RidgeAccumulator(3, 1, { bias: false }).add(flat(X), flat(Y));
  assert.throws(() => acc.solve(0), (e: Error) => e instanceof RangeError && /singular/.test(e.message));
  const { W } = acc.solve(1e-3);
  assert.ok([...W].every(Number.isFinite));
  assert.ok(Math.abs(W[0] - W[1]) < 1e-9, 'the duplicated columns share their weight');
  close(W, normalEquations(X, Y, 1e-3, 3).flat(), 1e-8, 'W');
  const few = new RidgeAccumulator(4, 1).add(Float64Array.of(1, 2, 3, 4, 0, 1, 0, 1), Float64Array.of(1, 2));
  assert.ok([...few.solve(0.1).W].every(Number.isFinite));
});

test('NaN or Infinity input is a RangeError naming its place, and nothing is added', () => {
  const acc = new RidgeAccumulator(2, 1);
  assert.throws(() => acc.add(Float64Array.of(1, 2, 3, NaN), Float64Array.of(1, 2)), (e: Error) => e instanceof RangeError && /X has a non-finite value NaN at row 1, column 1/.test(e.message));
  assert.throws(() => acc.add(Float64Array.of(1, 2, 3, 4), Float64Array.of(1, Infinity)), /Y has a non-finite value Infinity at row 1, column 0/);
  assert.is(acc.count, 0);
  assert.throws(() => acc.add(Float64Array.of(1, 2, 3), Float64Array.of(1)), /not a multiple of its 2 columns/);
  assert.throws(() => acc.add(Float64Array.of(1, 2, 3, 4), Float64Array.of(1)), /X has 2 rows but Y has 1/);
  assert.throws(() => acc.solve(1), /no rows added/);
  assert.throws(() => acc.predict(Float64Array.of(1, 2)), /call solve/);
  assert.throws(() => new RidgeAccumulator(0, 1), /features must be a positive integer/);
  acc.add(Float64Array.of(1, 2, 3, 4), Float64Array.of(1, 2));
  assert.throws(() => acc.solve(-1), /lambda must be finite and >= 0/);
});

test('nmse is MSE over the population variance, averaged over outputs', () => {
  const target = Float64Array.of(1, 10, 2, 20, 3, 30); // 3 rows x 2 outputs
  const mean = Float64Array.of(2, 20, 2, 20, 2, 20);
  assert.ok(Math.abs(nmse(mean, target, 2) - 1) < 1e-15, 'predicting the mean gives 1');
  assert.is(nmse(target, target, 2), 0);
  // column 0 off by 1 everywhere: MSE 1, Var 2/3 -> 1.5; column 1 exact -> 0
  assert.ok(Math.abs(nmse(Float64Array.of(2, 10, 3, 20, 4, 30), target, 2) - 0.75) < 1e-15);
  assert.throws(() => nmse([1, 1], [2, 2]), /constant/);
});

test('chooseLambda returns the candidate with the lowest validation NMSE and leaves the solved weights alone', () => {
  const rng = new Rng(11);
  const f = 30;
  const wTrue = Float64Array.from({ length: f }, () => rng.normal());
  const make = (rows: number) => {
    const X = Float64Array.from({ length: rows * f }, () => rng.normal());
    const Y = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      let s = 0.5;
      for (let i = 0; i < f; i++) s += X[r * f + i] * wTrue[i];
      Y[r] = s + 3 * rng.normal();
    }
    return { X, Y };
  };
  const train = make(40), val = make(400);
  const acc = new RidgeAccumulator(f, 1).add(train.X, train.Y);
  const kept = acc.solve(1);
  const lambdas = [1e-8, 1e-2, 1, 10, 100, 1e6];
  const choice = acc.chooseLambda(val.X, val.Y, lambdas);
  assert.equal(choice.scores.map((s) => s.lambda), lambdas);
  for (const s of choice.scores) {
    assert.ok(Math.abs(s.nmse - nmse(acc.predict(val.X, acc.solve(s.lambda)), val.Y)) < 1e-12);
    assert.ok(choice.nmse <= s.nmse);
  }
  assert.ok(choice.lambda > 1e-8 && choice.lambda < 1e6, `an interior lambda wins on noisy, few-row data, got ${choice.lambda}`);
  assert.is(choice.nmse, Math.min(...choice.scores.map((s) => s.nmse)));
  acc.solve(1);
  const again = acc.chooseLambda(val.X, val.Y, [1e6]);
  assert.is(again.lambda, 1e6);
  close(acc.predict(val.X.subarray(0, f)), acc.predict(val.X.subarray(0, f), kept), 0, 'predict still uses solve(1)');
});

test.run();
