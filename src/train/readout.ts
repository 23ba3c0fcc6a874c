/**
 * The ridge readout over device responses only (never the task input), solved from summed
 * statistics (ridge.ts RidgeAccumulator) with λ chosen on a validation slice.
 */
import * as tf from '@tensorflow/tfjs';
import { nmse } from '../core/metrics.js';
import { checkFiniteVector, checkInt } from '../core/validate.js';
import { RidgeAccumulator, type LambdaChoice, type RidgeWeights } from './ridge.js';

/** Rows of a readout problem: X [rows, features] responses, Y [rows, outputs] targets, row-major. */
export interface Rows {
  X: ArrayLike<number>;
  Y: ArrayLike<number>;
}

/** Options of {@link RidgeReadout}. */
export interface RidgeReadoutOptions {
  /** Candidate ridge parameters. Defaults to 1e-9, 1e-8, …, 1. */
  lambdas?: readonly number[];
  /** Creates every accumulator the readout uses (instrumentation and tests). Defaults to `new RidgeAccumulator(f, o)`. */
  accumulator?: (features: number, outputs: number) => RidgeAccumulator;
}

/** Serialised readout weights. */
export interface ReadoutJSON {
  format: 'ridge-readout/1';
  features: number;
  outputs: number;
  lambda: number;
  /** [features * outputs], row-major. */
  W: number[];
  b: number[];
}

export const DEFAULT_LAMBDAS: readonly number[] = Object.freeze([1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1]);

/** A ridge readout over device responses only; see the module comment. */
export class RidgeReadout {
  readonly lambdas: readonly number[];
  private readonly make: (features: number, outputs: number) => RidgeAccumulator;
  private weights: RidgeWeights | undefined;
  private chosen = NaN;

  constructor(readonly features: number, readonly outputs: number, opts: RidgeReadoutOptions = {}) {
    checkInt(features, 'features', 1);
    checkInt(outputs, 'outputs', 1);
    this.lambdas = opts.lambdas ?? DEFAULT_LAMBDAS;
    if (this.lambdas.length === 0) throw new RangeError('lambdas must not be empty');
    this.make = opts.accumulator ?? ((f, o) => new RidgeAccumulator(f, o));
  }

  /** A fresh accumulator holding `rows` (one episode's statistics). */
  accumulate(rows: Rows): RidgeAccumulator {
    return this.make(this.features, this.outputs).add(rows.X, rows.Y);
  }

  /**
   * Refreshes the weights from the summed statistics of `parts`, with λ chosen on `val`
   * (rows not in `parts`) by chooseLambda, then, if `alsoFitVal`, solved again with that λ on
   * `parts` plus `val`. Returns the choice (its nmse is the validation NMSE before adding `val`).
   */
  refresh(parts: readonly RidgeAccumulator[], val: Rows, alsoFitVal = true): LambdaChoice {
    if (parts.length === 0) throw new RangeError('refresh needs at least one accumulator');
    const acc = this.make(this.features, this.outputs);
    for (const p of parts) acc.merge(p);
    const choice = acc.chooseLambda(val.X, val.Y, this.lambdas);
    if (alsoFitVal) acc.add(val.X, val.Y);
    this.weights = acc.solve(choice.lambda);
    this.chosen = choice.lambda;
    return choice;
  }

  /**
   * Fits on one block of rows: λ chosen on the last `valFraction` of them with the rest as
   * training rows, then solved on all of them with that λ.
   */
  fitSplit(rows: Rows, valFraction = 0.2): LambdaChoice {
    const n = rows.X.length / this.features;
    const cut = Math.max(1, Math.min(n - 1, Math.round(n * (1 - valFraction))));
    const f = this.features, o = this.outputs;
    const head = this.accumulate({ X: slice(rows.X, 0, cut * f), Y: slice(rows.Y, 0, cut * o) });
    return this.refresh([head], { X: slice(rows.X, cut * f, n * f), Y: slice(rows.Y, cut * o, n * o) });
  }

  /** The λ of the last refresh (NaN before one). */
  get lambda(): number {
    return this.chosen;
  }

  /** Whether it has weights (after a refresh or fitSplit). */
  get fitted(): boolean {
    return this.weights !== undefined;
  }

  /** The current weights; Error before the first refresh. */
  get current(): RidgeWeights {
    if (!this.weights) throw new Error('readout has no weights yet: refresh or fitSplit first');
    return this.weights;
  }

  /** ŷ = Wᵀr + b for response rows X [rows, features]; Float64Array [rows, outputs]. */
  predict(X: ArrayLike<number>): Float64Array {
    return this.make(this.features, this.outputs).predict(X, this.current);
  }

  /** NMSE of the prediction on `rows`. */
  score(rows: Rows): number {
    return nmse(this.predict(rows.X), rows.Y, this.outputs);
  }

  /** The weights as constant tensors (W [features, outputs], b [outputs]); the caller disposes them. */
  tensors(): { W: tf.Tensor2D; b: tf.Tensor1D } {
    const { W, b } = this.current;
    return { W: tf.tensor2d(Float32Array.from(W), [this.features, this.outputs]), b: tf.tensor1d(Float32Array.from(b)) };
  }

  toJSON(): ReadoutJSON {
    const { W, b } = this.current;
    return { format: 'ridge-readout/1', features: this.features, outputs: this.outputs, lambda: this.chosen, W: Array.from(W), b: Array.from(b) };
  }

  /** Rebuilds a fitted readout from {@link toJSON} output; every field is checked (a model file is untrusted input). */
  static fromJSON(json: unknown, opts: RidgeReadoutOptions = {}): RidgeReadout {
    const j = json as Partial<ReadoutJSON> | null;
    if (j === null || typeof j !== 'object' || j.format !== 'ridge-readout/1') {
      throw new TypeError(`not a ridge-readout/1 object (format ${JSON.stringify((j as { format?: unknown } | null)?.format)})`);
    }
    for (const k of ['features', 'outputs'] as const) {
      if (!Number.isInteger(j[k]) || (j[k] as number) < 1) throw new RangeError(`${k} must be a positive integer, got ${JSON.stringify(j[k])}`);
    }
    if (typeof j.lambda !== 'number' || !(j.lambda >= 0) || !Number.isFinite(j.lambda)) throw new RangeError(`lambda must be a finite number >= 0, got ${JSON.stringify(j.lambda)}`);
    const r = new RidgeReadout(j.features!, j.outputs!, opts);
    r.weights = { W: Float64Array.from(checkFiniteVector(j.W, j.features! * j.outputs!, 'W')), b: Float64Array.from(checkFiniteVector(j.b, j.outputs!, 'b')) };
    r.chosen = j.lambda;
    return r;
  }
}

function slice(a: ArrayLike<number>, from: number, to: number): Float64Array {
  const out = new Float64Array(to - from);
  for (let i = 0; i < out.length; i++) out[i] = a[from + i];
  return out;
}
