/**
 * Ridge regression readout trained from summed statistics (as in ReservoirPy): chunks of
 * reservoir states X (rows x features) and targets Y (rows x outputs) arrive from the device,
 * only XᵀX, XᵀY and the row count are kept, and the solve happens once at the end.
 *
 * With a bias, each row x is augmented to [x, 1], so the sums also hold Σx, Σy and n. The
 * readout minimises
 *
 *     Σ_rows ‖y − Wᵀx − b‖² + λ‖W‖²_F
 *
 * i.e. (XᵀX + λ·D) [W; bᵀ] = XᵀY with D = diag(1, …, 1, 0): the bias is NOT regularised, so it
 * always fits the target mean exactly (shifting all targets by c shifts b by c and leaves W
 * unchanged). The system is solved by a Cholesky factorisation in float64, plain TypeScript.
 *
 * ```ts
 * const acc = new RidgeAccumulator(50, 1);
 * for await (const chunk of chunks) acc.add(chunk.states, chunk.targets);
 * const { lambda } = acc.chooseLambda(valStates, valTargets, [1e-8, 1e-6, 1e-4, 1e-2]);
 * const { W, b } = acc.solve(lambda);
 * const yHat = acc.predict(testStates);
 * ```
 */

import { nmse } from '../core/metrics.js';
import { checkInt } from '../core/validate.js';

/** Options of {@link RidgeAccumulator}. */
export interface RidgeOptions {
  /** Fit an unregularised bias (intercept) per output. Defaults to true. */
  bias?: boolean;
}

/** A solved readout: y = Wᵀx + b for one row x. */
export interface RidgeWeights {
  /** features x outputs, row-major: W[i * outputs + j] is the weight from feature i to output j. */
  W: Float64Array;
  /** outputs; all zero when the accumulator has no bias. */
  b: Float64Array;
}

/** Validation score of one candidate ridge parameter. */
export interface LambdaScore {
  lambda: number;
  /** NMSE on the validation set; see {@link nmse}. */
  nmse: number;
}

/** Result of {@link RidgeAccumulator.chooseLambda}. */
export interface LambdaChoice extends LambdaScore {
  /** Every candidate in the order given. */
  scores: LambdaScore[];
}

function checkFinite(a: ArrayLike<number>, name: string, cols: number): void {
  for (let k = 0; k < a.length; k++) {
    if (!Number.isFinite(a[k])) {
      throw new RangeError(`${name} has a non-finite value ${String(a[k])} at row ${Math.floor(k / cols)}, column ${k % cols}`);
    }
  }
}

/** Number of rows in a row-major matrix with `cols` columns; RangeError if it does not divide. */
function rowsOf(a: ArrayLike<number>, cols: number, name: string): number {
  if (a.length % cols !== 0) throw new RangeError(`${name} has length ${a.length}, not a multiple of its ${cols} columns`);
  return a.length / cols;
}

/** y = Wᵀx + b for each row of X (row-major), returned row-major (rows x outputs). */
export function predictLinear(X: ArrayLike<number>, weights: RidgeWeights, features: number, outputs: number): Float64Array {
  const rows = rowsOf(X, features, 'X');
  if (weights.W.length !== features * outputs || weights.b.length !== outputs) {
    throw new RangeError(`weights are not ${features} x ${outputs}`);
  }
  const out = new Float64Array(rows * outputs);
  const { W, b } = weights;
  for (let r = 0; r < rows; r++) {
    const o = r * outputs;
    for (let j = 0; j < outputs; j++) out[o + j] = b[j];
    for (let i = 0; i < features; i++) {
      const xi = X[r * features + i];
      if (xi === 0) continue;
      const w = i * outputs;
      for (let j = 0; j < outputs; j++) out[o + j] += xi * W[w + j];
    }
  }
  return out;
}

/** Serialised sums of a {@link RidgeAccumulator}. */
export interface RidgeAccumulatorJSON {
  format: 'ridge-sums/1';
  features: number;
  outputs: number;
  bias: boolean;
  count: number;
  /** XᵀX's upper triangle (diagonal included), row by row: dim (dim + 1) / 2 numbers. */
  xtxUpper: number[];
  /** dim x outputs, row-major. */
  xty: number[];
}

/**
 * Accumulates XᵀX, XᵀY and the row count of a linear readout, chunk by chunk, and solves the
 * ridge problem once. See the module comment for the objective.
 */
export class RidgeAccumulator {
  readonly features: number;
  readonly outputs: number;
  readonly bias: boolean;
  /** Augmented dimension: features, plus one for the bias column (the last one). */
  private readonly dim: number;
  /** dim x dim, row-major; only the upper triangle (j >= i) is accumulated. */
  private readonly xtx: Float64Array;
  /** dim x outputs, row-major. */
  private readonly xty: Float64Array;
  private n = 0;
  private solved: RidgeWeights | undefined;

  /**
   * @param features columns of X (reservoir states per row)
   * @param outputs columns of Y (targets per row)
   */
  constructor(features: number, outputs: number, { bias = true }: RidgeOptions = {}) {
    this.features = checkInt(features, 'features', 1);
    this.outputs = checkInt(outputs, 'outputs', 1);
    if (typeof bias !== 'boolean') throw new TypeError(`bias must be a boolean, got ${String(bias)}`);
    this.bias = bias;
    this.dim = features + (bias ? 1 : 0);
    this.xtx = new Float64Array(this.dim * this.dim);
    this.xty = new Float64Array(this.dim * outputs);
  }

  /** Rows accumulated so far. */
  get count(): number {
    return this.n;
  }

  /**
   * Adds a chunk: X is rows x features and Y rows x outputs, both row-major. The chunk is checked
   * whole before anything is added: a NaN or ±Infinity anywhere is a RangeError naming its place,
   * and the accumulator is left unchanged.
   */
  add(X: ArrayLike<number>, Y: ArrayLike<number>): this {
    const rows = rowsOf(X, this.features, 'X');
    const yRows = rowsOf(Y, this.outputs, 'Y');
    if (rows !== yRows) throw new RangeError(`X has ${rows} rows but Y has ${yRows}`);
    checkFinite(X, 'X', this.features);
    checkFinite(Y, 'Y', this.outputs);
    const { dim, features: f, outputs: m, xtx, xty } = this;
    // Four rows at a time: each XᵀX entry is loaded and stored once per four rows (half the time of
    // a row at a time; this runs on every episode's responses), the rows still added one after the
    // other so the sums are bit for bit those of a row at a time. Rows past a multiple of four are
    // padded with zeros, which add nothing.
    const B = 4, xs = new Float64Array(B * dim), ys = new Float64Array(B * m);
    for (let r = 0; r < rows; r += B) {
      xs.fill(0);
      ys.fill(0);
      for (let q = 0; q < B && r + q < rows; q++) {
        const o = q * dim, src = (r + q) * f;
        for (let i = 0; i < f; i++) xs[o + i] = X[src + i];
        if (this.bias) xs[o + f] = 1;
        for (let j = 0; j < m; j++) ys[q * m + j] = Y[(r + q) * m + j];
      }
      for (let i = 0; i < dim; i++) {
        const a0 = xs[i], a1 = xs[dim + i], a2 = xs[2 * dim + i], a3 = xs[3 * dim + i];
        const row = i * dim;
        for (let j = i; j < dim; j++) xtx[row + j] = xtx[row + j] + a0 * xs[j] + a1 * xs[dim + j] + a2 * xs[2 * dim + j] + a3 * xs[3 * dim + j];
        const yrow = i * m;
        for (let j = 0; j < m; j++) xty[yrow + j] = xty[yrow + j] + a0 * ys[j] + a1 * ys[m + j] + a2 * ys[2 * m + j] + a3 * ys[3 * m + j];
      }
    }
    this.n += rows;
    return this;
  }

  /** Adds another accumulator's sums (same features, outputs and bias) into this one. */
  merge(other: RidgeAccumulator): this {
    if (other.features !== this.features || other.outputs !== this.outputs || other.bias !== this.bias) {
      throw new RangeError(
        `cannot merge a ${other.features}x${other.outputs} (bias ${other.bias}) accumulator into a ${this.features}x${this.outputs} (bias ${this.bias}) one`,
      );
    }
    for (let k = 0; k < this.xtx.length; k++) this.xtx[k] += other.xtx[k];
    for (let k = 0; k < this.xty.length; k++) this.xty[k] += other.xty[k];
    this.n += other.n;
    return this;
  }

  /** The sums as plain numbers (the upper triangle of XᵀX, row by row), for a checkpoint; {@link fromJSON} restores them exactly. */
  toJSON(): RidgeAccumulatorJSON {
    const upper: number[] = [];
    for (let i = 0; i < this.dim; i++) for (let j = i; j < this.dim; j++) upper.push(this.xtx[i * this.dim + j]);
    return { format: 'ridge-sums/1', features: this.features, outputs: this.outputs, bias: this.bias, count: this.n, xtxUpper: upper, xty: Array.from(this.xty) };
  }

  /** An accumulator from {@link toJSON}'s output, every field checked (a checkpoint comes back from a database). */
  static fromJSON(json: unknown): RidgeAccumulator {
    const j = json as Partial<RidgeAccumulatorJSON> | null;
    if (j === null || typeof j !== 'object' || j.format !== 'ridge-sums/1') throw new TypeError(`not a ridge-sums/1 object (format ${JSON.stringify((j as { format?: unknown } | null)?.format)})`);
    if (typeof j.bias !== 'boolean') throw new TypeError(`bias must be a boolean, got ${JSON.stringify(j.bias)}`);
    const acc = new RidgeAccumulator(j.features as number, j.outputs as number, { bias: j.bias });
    if (!Number.isSafeInteger(j.count) || (j.count as number) < 0) throw new RangeError(`count must be a non-negative integer, got ${JSON.stringify(j.count)}`);
    const d = acc.dim, tri = (d * (d + 1)) / 2;
    const finite = (v: unknown, n: number, name: string): number[] => {
      if (!Array.isArray(v) || v.length !== n || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) throw new RangeError(`${name} must hold ${n} finite numbers`);
      return v as number[];
    };
    const upper = finite(j.xtxUpper, tri, 'xtxUpper');
    let k = 0;
    for (let i = 0; i < d; i++) for (let c = i; c < d; c++) acc.xtx[i * d + c] = upper[k++];
    acc.xty.set(finite(j.xty, d * acc.outputs, 'xty'));
    acc.n = j.count as number;
    return acc;
  }

  /**
   * Copies of the sums, for recording or persisting: XtX (dim x dim, symmetric, full) and
   * XtY (dim x outputs), where dim = features + 1 with a bias, whose column is the last.
   */
  statistics(): { count: number; dim: number; XtX: Float64Array; XtY: Float64Array } {
    const { dim } = this;
    const XtX = this.xtx.slice();
    for (let i = 0; i < dim; i++) for (let j = 0; j < i; j++) XtX[i * dim + j] = XtX[j * dim + i];
    return { count: this.n, dim, XtX, XtY: this.xty.slice() };
  }

  /**
   * Solves (XᵀX + λ·D) [W; bᵀ] = XᵀY by Cholesky, D = identity on the features and 0 on the
   * bias. The result is also kept for {@link predict}.
   *
   * @param lambda ridge parameter, finite and >= 0. With λ = 0 a singular XᵀX (collinear or
   *   constant features, fewer rows than features) is a RangeError; any λ > 0 makes the system
   *   positive definite once at least one row was added.
   */
  solve(lambda: number): RidgeWeights {
    this.solved = this.solveFor(lambda);
    return this.solved;
  }

  /**
   * Predictions for X (rows x features) with `weights`, by default those of the last
   * {@link solve}; rows x outputs, row-major.
   */
  predict(X: ArrayLike<number>, weights: RidgeWeights | undefined = this.solved): Float64Array {
    if (!weights) throw new Error('predict needs weights: call solve(lambda) first');
    return predictLinear(X, weights, this.features, this.outputs);
  }

  /**
   * Solves for each candidate λ and scores it on a validation set (X rows x features, Y rows x
   * outputs) by {@link nmse}; returns the λ with the lowest NMSE (the first one on a tie) and
   * every score. Does not change the weights kept by {@link solve}.
   */
  chooseLambda(X: ArrayLike<number>, Y: ArrayLike<number>, lambdas: readonly number[]): LambdaChoice {
    if (lambdas.length === 0) throw new RangeError('lambdas must not be empty');
    checkFinite(X, 'X', this.features);
    checkFinite(Y, 'Y', this.outputs);
    if (rowsOf(X, this.features, 'X') !== rowsOf(Y, this.outputs, 'Y')) throw new RangeError('validation X and Y have different row counts');
    const scores = lambdas.map((lambda) => ({
      lambda,
      nmse: nmse(predictLinear(X, this.solveFor(lambda), this.features, this.outputs), Y, this.outputs),
    }));
    let best = scores[0];
    for (const s of scores) if (s.nmse < best.nmse) best = s;
    return { ...best, scores };
  }

  private solveFor(lambda: number): RidgeWeights {
    if (!Number.isFinite(lambda) || lambda < 0) throw new RangeError(`lambda must be finite and >= 0, got ${String(lambda)}`);
    if (this.n === 0) throw new RangeError('no rows added: nothing to solve');
    const { dim, features: f, outputs: m } = this;
    // A = XᵀX + λD, lower triangle filled from the accumulated upper one.
    const L = new Float64Array(dim * dim);
    for (let i = 0; i < dim; i++) {
      for (let j = 0; j <= i; j++) L[i * dim + j] = this.xtx[j * dim + i];
      if (i < f) L[i * dim + i] += lambda;
    }
    choleskyInPlace(L, dim);
    const Wb = new Float64Array(dim * m);
    const z = new Float64Array(dim);
    for (let j = 0; j < m; j++) {
      for (let i = 0; i < dim; i++) z[i] = this.xty[i * m + j];
      choleskySolveInPlace(L, dim, z);
      for (let i = 0; i < dim; i++) Wb[i * m + j] = z[i];
    }
    const W = Wb.slice(0, f * m);
    const b = this.bias ? Wb.slice(f * m) : new Float64Array(m);
    return { W, b };
  }
}

/**
 * Overwrites the lower triangle of the symmetric positive definite n x n matrix A (row-major,
 * lower triangle read) with L, A = LLᵀ. A pivot at or below the rounding error of its diagonal
 * (n·ε·A_ii) means A is singular to working precision: RangeError.
 */
function choleskyInPlace(A: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) {
    const ajj = A[j * n + j];
    let d = ajj;
    for (let k = 0; k < j; k++) d -= A[j * n + k] ** 2;
    if (!(d > n * Number.EPSILON * Math.abs(ajj))) {
      throw new RangeError(
        `XᵀX + λD is singular at column ${j} (collinear or constant features, or too few rows); use lambda > 0`,
      );
    }
    const ljj = Math.sqrt(d);
    A[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = A[i * n + j];
      for (let k = 0; k < j; k++) s -= A[i * n + k] * A[j * n + k];
      A[i * n + j] = s / ljj;
    }
  }
}

/** Solves LLᵀz = rhs in place, L from {@link choleskyInPlace}. */
function choleskySolveInPlace(L: Float64Array, n: number, z: Float64Array): void {
  for (let i = 0; i < n; i++) {
    let s = z[i];
    for (let k = 0; k < i; k++) s -= L[i * n + k] * z[k];
    z[i] = s / L[i * n + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = z[i];
    for (let k = i + 1; k < n; k++) s -= L[k * n + i] * z[k];
    z[i] = s / L[i * n + i];
  }
}
