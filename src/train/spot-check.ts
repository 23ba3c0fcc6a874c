/**
 * A gradient-fidelity reading that a real board can give: does the gradient the trainer uses (a
 * surrogate's VJP g at drives d) predict how the device's loss actually changes? Device queries
 * only, no twin. In the trainers' units (drives in [-1, 1], responses in [0, 1], dy = dL/dr).
 *
 * For K random directions v_k (Rademacher, seeded) over the whole drive segment [T * inChannels]:
 *
 *     measured   m_k = dy · (r(d₊) - r(d₋)) / (2h)      r(d±) measured on the device, d± = clip(d ± h v_k)
 *     predicted  p_k = g · (d₊ - d₋) / (2h)             d± as actually sent (after rounding and clipping)
 *
 * To first order both are the directional derivative of the loss along v_k. Reported: the slope
 * β = Σ m p / Σ p² of measured on predicted (1 when g has the device's slope) with its standard
 * error SE(β) = sqrt(Σ (m - β p)² / (K - 1) / Σ p²), which carries everything that makes m differ
 * from β p (noise, quantization, curvature, a wrong direction of g); the cosine of (m_k) and
 * (p_k); and per direction the noise part of m_k's uncertainty, σ √2 |dy| / (2h).
 *
 * Step size: the per-sample response noise σ is measured by repeating the segment once (or taken
 * from a calibration), and h is chosen so that the noise in m_k is 1/snr of the expected signal
 * |g| (E (g·v)² = |g|² for Rademacher v):  h = snr σ |dy| / (√2 |g|),  clamped to [hMin, hMax].
 * hMin keeps h above the input and internal quantization of a board whose repeats show no noise
 * (a fixed-point board repeats exactly, but its tanh table is flat below a bin); hMax bounds the
 * curvature error, O(h²).
 *
 * Cost: 2 K segments, one repeat of d for the noise unless `noise` is given, and one more segment
 * at d when neither `noise` nor `baseline` (the trainer's own measurement at d) is given. Every
 * sample is returned in `samples` so budgets count it.
 *
 * ```ts
 * const g = surrogateVjp(surrogate, drives, dy, measured, ci, co);
 * const f = await gradientFidelity(deviceMeasurer(device), drives, dy, g, rng.fork('fidelity'), { baseline: measured });
 * samples += f.samples;  record.fidelity = { slope: f.slope, slopeSe: f.slopeSe, cosine: f.cosine };
 * ```
 */
import type { Device } from '../device/client.js';
import type { Rng } from '../core/rng.js';
import { type MeasureOptions, measure } from './hybrid.js';
import { cosineSimilarity } from './vjp-check.js';

/** One measured segment, as {@link measure} returns it. */
export interface Measured {
  /** Drives as sent, in [-1, 1]. */
  drives: Float32Array;
  /** Responses in [0, 1]. */
  responses: Float32Array;
  /** Device samples spent, re-measurements included. */
  samples: number;
  /** State breaks recovered from. */
  breaks: number;
}

/** Measures one segment from a reset (drives [T * inChannels] in [-1, 1]). */
export type Measurer = (drives: Float32Array) => Promise<Measured>;

/** A {@link Measurer} over a device (resetState, batches, re-measure after a state break). */
export function deviceMeasurer(device: Device, opts: MeasureOptions = {}): Measurer {
  return (drives) => measure(device, drives, opts);
}

/** Options of {@link gradientFidelity}. */
export interface FidelityOptions {
  /** Random directions K >= 2 (2 K segments). Defaults to 8. */
  directions?: number;
  /** Per-sample response noise σ in [0, 1] units, e.g. from a calibration; skips the repeat. Defaults to measuring it. */
  noise?: number;
  /** Responses already measured at `drives` (the trainer's episode): saves one segment. Defaults to none. */
  baseline?: ArrayLike<number>;
  /** Wanted ratio of the expected signal |g| to the noise in one m_k. Defaults to 10. */
  snr?: number;
  /** Smallest step, in drive units. Defaults to 0.02 (1 % of the drive range). */
  hMin?: number;
  /** Largest step. Defaults to 0.25. */
  hMax?: number;
}

/** The reading (serialisable except `deltas`). */
export interface FidelityReading {
  /** Step h used. */
  h: number;
  /** Per-sample response noise σ (measured or given). */
  noise: number;
  /** m_k, the device's directional derivatives of the loss. */
  measured: number[];
  /** p_k, the gradient's predictions of them. */
  predicted: number[];
  /** Noise standard error of each m_k, σ √2 |dy| / (2h) (0 on a board that repeats exactly). */
  noiseSe: number[];
  /** β = Σ m p / Σ p² (1: the gradient has the device's slope). NaN if every p_k is 0. */
  slope: number;
  /** Standard error of β over the K directions. */
  slopeSe: number;
  /** cos((m_k), (p_k)). */
  cosine: number;
  /** Device samples spent (noise repeat included). */
  samples: number;
  /** State breaks recovered from. */
  breaks: number;
  /** (d₊ - d₋) / (2h) per direction, as sent: {@link predictAlong} gives another gradient's p_k. */
  deltas: Float32Array[];
}

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Per-sample noise σ from two measurements of the same segment: mean (r1 - r2)² / 2. */
export function repeatNoise(r1: ArrayLike<number>, r2: ArrayLike<number>): number {
  if (r1.length !== r2.length || r1.length === 0) throw new RangeError('repeats must have the same non-zero length');
  let s = 0;
  for (let i = 0; i < r1.length; i++) s += (r1[i] - r2[i]) ** 2;
  return Math.sqrt(s / (2 * r1.length));
}

/** h = snr σ |dy| / (√2 |g|) clamped to [hMin, hMax] (see the module comment). */
export function stepFromNoise(noise: number, dyNorm: number, gNorm: number, snr: number, hMin: number, hMax: number): number {
  const h = gNorm > 0 ? (snr * noise * dyNorm) / (Math.SQRT2 * gNorm) : hMax;
  return Math.min(hMax, Math.max(hMin, Number.isFinite(h) ? h : hMax));
}

/** β, SE(β) and the cosine of measured against predicted directional derivatives. */
export function slopeStats(m: readonly number[], p: readonly number[]): { slope: number; slopeSe: number; cosine: number } {
  const K = m.length;
  const mp = dot(m, p), pp = dot(p, p);
  const slope = pp > 0 ? mp / pp : NaN;
  let rss = 0;
  for (let k = 0; k < K; k++) rss += (m[k] - slope * p[k]) ** 2;
  return { slope, slopeSe: pp > 0 && K > 1 ? Math.sqrt(rss / (K - 1) / pp) : NaN, cosine: cosineSimilarity(m, p) };
}

/** Another gradient's predictions p_k along the directions of a reading (e.g. a twin's, in tests). */
export function predictAlong(reading: Pick<FidelityReading, 'deltas'>, g: ArrayLike<number>): number[] {
  return reading.deltas.map((d) => dot(g, d));
}

/**
 * The reading described in the module comment.
 * @param drives d, [T * inChannels] in [-1, 1]
 * @param dy dL/dr at d, [T * outChannels]
 * @param g the gradient under test at d, [T * inChannels]
 * @param rng source of the directions (advanced)
 */
export async function gradientFidelity(measureSeg: Measurer, drives: ArrayLike<number>, dy: ArrayLike<number>, g: ArrayLike<number>, rng: Rng, opts: FidelityOptions = {}): Promise<FidelityReading> {
  const K = opts.directions ?? 8, snr = opts.snr ?? 10, hMin = opts.hMin ?? 0.02, hMax = opts.hMax ?? 0.25;
  if (!Number.isInteger(K) || K < 2) throw new RangeError(`directions must be an integer >= 2, got ${String(K)}`);
  if (!(snr > 0)) throw new RangeError(`snr must be positive, got ${String(snr)}`);
  if (!(hMin > 0 && hMin <= hMax && hMax <= 1)) throw new RangeError(`need 0 < hMin <= hMax <= 1, got ${String(hMin)}, ${String(hMax)}`);
  if (g.length !== drives.length) throw new RangeError(`g must hold ${drives.length} values, got ${g.length}`);
  const n = drives.length;
  let samples = 0, breaks = 0;
  const take = async (a: Float32Array): Promise<Measured> => {
    const r = await measureSeg(a);
    samples += r.samples;
    breaks += r.breaks;
    if (r.responses.length !== dy.length) throw new RangeError(`dy must hold ${r.responses.length} values, got ${dy.length}`);
    return r;
  };
  const d0 = Float32Array.from(drives);
  let noise = opts.noise;
  if (noise === undefined) {
    const first = opts.baseline ?? (await take(d0)).responses;
    noise = repeatNoise(first, (await take(d0)).responses);
  }
  if (!(noise >= 0)) throw new RangeError(`noise must be >= 0, got ${String(noise)}`);
  const dyNorm = norm(dy);
  const h = stepFromNoise(noise, dyNorm, norm(g), snr, hMin, hMax);
  const measured: number[] = [], deltas: Float32Array[] = [];
  for (let k = 0; k < K; k++) {
    const plus = new Float32Array(n), minus = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const v = rng.uniform() < 0.5 ? -h : h;
      plus[i] = Math.min(1, Math.max(-1, drives[i] + v));
      minus[i] = Math.min(1, Math.max(-1, drives[i] - v));
    }
    const mp = await take(plus), mm = await take(minus);
    let s = 0;
    for (let i = 0; i < dy.length; i++) s += dy[i] * (mp.responses[i] - mm.responses[i]);
    measured.push(s / (2 * h));
    deltas.push(Float32Array.from({ length: n }, (_, i) => (mp.drives[i] - mm.drives[i]) / (2 * h)));
  }
  const predicted = predictAlong({ deltas }, g);
  const noiseSe = measured.map(() => (noise * Math.SQRT2 * dyNorm) / (2 * h));
  return { h, noise, measured, predicted, noiseSe, ...slopeStats(measured, predicted), samples, breaks, deltas };
}
