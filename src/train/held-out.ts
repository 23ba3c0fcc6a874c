/**
 * Held-out scoring for hyper-parameter choices: a ridge readout fitted on some rows of the
 * training sequence and scored on other rows of it. Only training data enters, so a sweep that
 * ranks runs by this score cannot be steered by the test sequence.
 */
import type { TaskData } from '../tasks/index.js';
import type { HeldOutScore } from './common.js';
import { RidgeReadout, type RidgeReadoutOptions } from './hybrid.js';

export interface ScoredRows {
  /** Row-major rows x features. */
  X: ArrayLike<number>;
  /** Row-major rows x outChannels. */
  Y: Float64Array;
}

/** A readout fitted on `fit` (λ chosen on its own split, as the final readout's is) and scored on `held`. */
export function heldOutScore(data: TaskData, features: number, fit: ScoredRows, held: ScoredRows, readout: RidgeReadoutOptions): HeldOutScore {
  const r = new RidgeReadout(features, data.outChannels, readout);
  r.fitSplit(fit);
  return { metric: data.metric, value: data.score(r.predict(held.X), held.Y), higherIsBetter: data.higherIsBetter };
}

/** True if `a` is strictly better than `b` (or there is no `b`); a NaN score is never better. */
export function betterThan(a: HeldOutScore, b: HeldOutScore | undefined): boolean {
  if (Number.isNaN(a.value)) return false;
  if (!b || Number.isNaN(b.value)) return true;
  return a.higherIsBetter ? a.value > b.value : a.value < b.value;
}

/** Rows [from, from + n) of a row-major array with `cols` columns. */
export function rowSlice<T extends Float32Array | Float64Array>(a: T, from: number, n: number, cols: number): T {
  return a.subarray(from * cols, (from + n) * cols) as T;
}
