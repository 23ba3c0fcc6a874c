/**
 * Error metrics for regression targets. All take `(pred, target)` of equal, non-zero length and
 * throw RangeError otherwise.
 *
 * ```ts
 * nmse(pred, target); // 0 for a perfect predictor, 1 for predicting mean(target)
 * ```
 */
import { checkInt, checkSameLength } from './validate.js';

/** Arithmetic mean of `x` (non-empty). */
export function mean(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s / x.length;
}

/** Population variance Var(x) = (1/N) sum_t (x(t) - mean(x))^2 of `x` (non-empty). */
/** Median (mean of the two middle values for an even count); NaN when empty. */
export function median(v: ArrayLike<number>): number {
  const s = Array.from(v).sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

export function variance(x: ArrayLike<number>): number {
  const m = mean(x);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] - m) ** 2;
  return s / x.length;
}

/** MSE = (1/N) sum_t (pred(t) - target(t))^2. */
export function mse(pred: ArrayLike<number>, target: ArrayLike<number>): number {
  const n = checkSameLength(pred, target);
  let s = 0;
  for (let i = 0; i < n; i++) s += (pred[i] - target[i]) ** 2;
  return s / n;
}

/**
 * NMSE of row-major data with `outputs` columns: for each column j, NMSE_j = MSE_j / Var_j(target)
 * (population variance), then the mean over the columns. One column is the textbook
 * MSE / Var(target). A constant target column has no NMSE: RangeError naming the column.
 */
export function nmse(pred: ArrayLike<number>, target: ArrayLike<number>, outputs = 1): number {
  checkInt(outputs, 'outputs', 1);
  const n = checkSameLength(pred, target);
  if (n % outputs !== 0) throw new RangeError(`target has length ${n}, not a multiple of its ${outputs} columns`);
  const { se, ss } = channelErrors(pred, target, outputs);
  let total = 0;
  for (let j = 0; j < outputs; j++) {
    if (!(ss[j] > 0)) throw new RangeError(`target column ${j} is constant: NMSE is undefined (it needs non-zero variance)`);
    total += se[j] / ss[j];
  }
  return total / outputs;
}

/** NRMSE = sqrt(NMSE) = sqrt(MSE / Var(target)), Var the population variance. */
export function nrmse(pred: ArrayLike<number>, target: ArrayLike<number>): number {
  return Math.sqrt(nmse(pred, target));
}

/**
 * Squared Pearson correlation r^2 = cov(a, b)^2 / (Var(a) Var(b)). RangeError when `b` (the
 * target) has zero variance; 0 when `a` (the prediction) is constant, since a constant carries
 * no information about the target.
 */
export function squaredCorrelation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = checkSameLength(a, b);
  const ma = mean(a);
  const mb = mean(b);
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma;
    const db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (!(sbb > 0)) throw new RangeError('target must have non-zero variance for a correlation');
  if (!(saa > 0)) return 0;
  return (sab * sab) / (saa * sbb);
}

/**
 * Per channel c of row-major data (rows x channels): se[c] = sum_t (pred - target)^2 and
 * ss[c] = sum_t (target - mean_t target)^2, so NMSE_c = se[c] / ss[c]. Callers choose what a
 * constant channel (ss = 0) means: an error, Infinity, or a channel to skip.
 */
export function channelErrors(pred: ArrayLike<number>, target: ArrayLike<number>, channels: number): { se: Float64Array; ss: Float64Array } {
  const n = Math.floor(target.length / channels);
  const se = new Float64Array(channels), ss = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += target[i * channels + c];
    mean /= n;
    let v = 0, e = 0;
    for (let i = 0; i < n; i++) {
      v += (target[i * channels + c] - mean) ** 2;
      e += (pred[i * channels + c] - target[i * channels + c]) ** 2;
    }
    se[c] = e;
    ss[c] = v;
  }
  return { se, ss };
}
