/**
 * Linear short-term memory capacity (Jaeger 2002, "Short term memory in echo state networks",
 * GMD Report 152): the input is i.i.d. u(t) ~ U[-1, 1], and the k-th target is the delayed input
 *
 *   y_k(t) = u(t - k),   k = 1..K,
 *
 * and the capacity is MC = sum_{k=1..K} r^2(yhat_k, y_k), the squared correlation coefficient
 * between the trained output for delay k and its target (so 0 <= MC <= K).
 *
 * Alignment: `u` has length n; `targets[k - 1][t] = u(t - k)`. For t < k the delayed value is a
 * real draw from before the window (K extra samples are drawn first and not returned as input),
 * so every target is defined; a trainer should skip a washout of at least K steps anyway.
 *
 * ```ts
 * const { u, targets } = memoryTask(4000, { maxDelay: 40 }, { seed: 5 });
 * memoryCapacity(predictions, targets); // predictions[k - 1] estimates u(t - k)
 * ```
 */
import { Rng, checkSeed } from '../core/rng.js';
import { squaredCorrelation } from '../core/metrics.js';
import { checkInt, checkKeys } from '../core/validate.js';

/** Memory-capacity options. */
export interface MemoryCapacityParams {
  /** Largest delay K; targets are u(t-1) .. u(t-K). Defaults to 20. */
  maxDelay?: number;
}

/** The defaults applied to every field of {@link MemoryCapacityParams}. */
export const memoryCapacityDefaults: Readonly<Required<MemoryCapacityParams>> = Object.freeze({ maxDelay: 20 });

/** Input and delayed-input targets; `targets[k - 1][t] = u(t - k)`. */
export interface MemoryTaskData {
  u: Float64Array;
  targets: Float64Array[];
}

/**
 * n inputs u(t) ~ U[-1, 1) and K targets u(t - k). Deterministic in `seed` (stream
 * `Rng(seed).fork('memory-capacity')`, whose first K draws are the pre-window history).
 */
export function memoryTask(n: number, params: MemoryCapacityParams = {}, { seed }: { seed: number }): MemoryTaskData {
  checkInt(n, 'n', 1);
  checkSeed(seed);
  checkKeys(params, Object.keys(memoryCapacityDefaults), 'memory-capacity');
  const K = checkInt(params.maxDelay ?? memoryCapacityDefaults.maxDelay, 'maxDelay', 1);
  const rng = new Rng(seed).fork('memory-capacity');
  const all = new Float64Array(K + n); // all[K + t] = u(t)
  for (let i = 0; i < all.length; i++) all[i] = rng.range(-1, 1);
  const targets: Float64Array[] = [];
  for (let k = 1; k <= K; k++) targets.push(all.slice(K - k, K - k + n));
  return { u: all.slice(K), targets };
}

/**
 * MC = sum_{k=1..K} r^2(predictions[k-1], targets[k-1]), r the Pearson correlation coefficient.
 * A constant prediction contributes 0. RangeError when the counts or lengths differ, or a target
 * has zero variance.
 */
export function memoryCapacity(predictions: readonly ArrayLike<number>[], targets: readonly ArrayLike<number>[]): number {
  if (predictions.length !== targets.length || targets.length === 0) {
    throw new RangeError(`predictions and targets must hold the same non-zero number of delays, got ${predictions.length} and ${targets.length}`);
  }
  let mc = 0;
  for (let k = 0; k < targets.length; k++) mc += squaredCorrelation(predictions[k], targets[k]);
  return mc;
}
