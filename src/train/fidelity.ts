/**
 * Gradient fidelity monitor: how well does the gradient the trainer uses (a surrogate's VJP) match
 * the device's true derivative at the current drives? Two checks, both in the trainers' units
 * (drives a ∈ [-1, 1], responses r ∈ [0, 1], upstream gradient dy = dL/dr of the episode loss):
 *
 * (a) {@link vjpFidelity}, simulators only: cosine between the surrogate's VJP and the exact VJP of
 *     the device's float64 twin (twin-grad.ts) for the same dy, and the ratio of their norms.
 * (b) {@link spotCheck}, any device: K random directions v (Rademacher, seeded) in drive space;
 *     the device is measured at clip(d + h v) and clip(d - h v) (2 K extra episodes, counted);
 *     measured change  m = dy · (r₊ - r₋)  versus the surrogate's prediction  p = g · (d₊ - d₋),
 *     g = surrogate VJP at d, d± the drives actually sent (after rounding and clipping). To first
 *     order both are the change of the loss along d₊ - d₋. Reported: m and p per direction, the
 *     least-squares slope Σmp/Σp² (1 when the surrogate's slope is right) and the cosine of the
 *     vectors (m_k) and (p_k) (±1 for K = 1: sign agreement). Noise and quantization enter m, so
 *     h must be well above the device's noise floor (default 0.05).
 *
 * {@link readoutUpstream} computes dy for the episode loss of pat (MSE of the training readout on
 * the scored rows), so a trainer can call both checks with what it already has.
 *
 * ```ts
 * const dy = readoutUpstream(readout.current, m.responses, washout, Y, co, outs);
 * const fid = await episodeFidelity({ surrogate, oracle, device, inChannels: ci, outChannels: co, drives: a, measured: m.responses, dy, rng, spot: { directions: 1 } });
 * record.fidelity = fid.record; samples += fid.samples;
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import type { Device } from '../device/client.js';
import type { Rng } from '../core/rng.js';
import type { DeviceSurrogate } from '../surrogate/narx.js';
import { type MeasureOptions, measure } from './hybrid.js';
import type { RidgeWeights } from './ridge.js';
import { cosineSimilarity } from './vjp-check.js';

/** Per-episode fidelity numbers (optional fields of an episode record). */
export interface FidelityRecord {
  /** (a) cosine between the surrogate VJP and the twin VJP. */
  vjpCosine?: number;
  /** (a) |surrogate VJP| / |twin VJP|. */
  vjpNormRatio?: number;
  /** (b) the directional spot check on the device. */
  spot?: SpotRecord;
}

/** The serialisable part of a spot check. */
export interface SpotRecord {
  /** Measured changes dy·(r₊ - r₋), one per direction. */
  measured: number[];
  /** The surrogate's predictions g·(d₊ - d₋). */
  predicted: number[];
  /** The twin's predictions, when a twin was given. */
  oracle?: number[];
  /** Σ measured·predicted / Σ predicted². */
  ratio: number;
  /** cosine of (measured) and (predicted); sign agreement for one direction. */
  cosine: number;
  /** Device samples the check cost. */
  samples: number;
}

/** Options of the spot check. */
export interface SpotOptions extends MeasureOptions {
  /** Directions K per check (2 K episodes). Defaults to 1. */
  directions?: number;
  /** Perturbation size h per drive (Rademacher ±h). Defaults to 0.05. */
  h?: number;
}

/** Everything {@link spotCheck} returns: the record plus the actual drive differences. */
export interface SpotCheck extends SpotRecord {
  /** d₊ - d₋ per direction (what was actually sent), [T * inChannels] each. */
  deltas: Float32Array[];
  /** State breaks recovered from. */
  breaks: number;
}

/**
 * dL/dr of L = mean over scored rows and outputs of (r W + b - y)², r = responses rows
 * [washout, washout + steps): zero on the washout rows. Float32Array [(washout + steps) * co].
 */
export function readoutUpstream(weights: RidgeWeights, responses: ArrayLike<number>, washout: number, Y: ArrayLike<number>, co: number, outs: number): Float32Array {
  const steps = Y.length / outs;
  const dy = new Float32Array((washout + steps) * co);
  const k = 2 / (steps * outs);
  const { W, b } = weights;
  for (let t = 0; t < steps; t++) {
    const row = (washout + t) * co;
    for (let o = 0; o < outs; o++) {
      let pred = b[o];
      for (let c = 0; c < co; c++) pred += responses[row + c] * W[c * outs + o];
      const e = k * (pred - Y[t * outs + o]);
      for (let c = 0; c < co; c++) dy[row + c] += e * W[c * outs + o];
    }
  }
  return dy;
}

/** A surrogate's VJP as a flat Float32Array [T * ci] (measured responses as the NARX history). */
export function surrogateVjp(surrogate: DeviceSurrogate, drives: ArrayLike<number>, dy: ArrayLike<number>, measured: ArrayLike<number>, ci: number, co: number): Float32Array {
  const T = drives.length / ci;
  const g = tf.tidy(() => surrogate.vjpSeq(tf.tensor2d(Float32Array.from(drives), [T, ci]), tf.tensor2d(Float32Array.from(dy), [T, co]),
    { measured: tf.tensor2d(Float32Array.from(measured), [T, co]) }));
  const out = g.dataSync() as Float32Array;
  g.dispose();
  return out;
}

/** (a): cosine and norm ratio of two VJPs (surrogate first, oracle second). */
export function vjpFidelity(gSurrogate: ArrayLike<number>, gOracle: ArrayLike<number>): { vjpCosine: number; vjpNormRatio: number } {
  const norm = (g: ArrayLike<number>): number => { let s = 0; for (let i = 0; i < g.length; i++) s += g[i] * g[i]; return Math.sqrt(s); };
  const no = norm(gOracle);
  return { vjpCosine: cosineSimilarity(gSurrogate, gOracle), vjpNormRatio: no > 0 ? norm(gSurrogate) / no : NaN };
}

/** g · Δ for each Δ of a spot check: the prediction of another gradient (e.g. the twin's). */
export function spotPredict(deltas: readonly Float32Array[], g: ArrayLike<number>): number[] {
  return deltas.map((d) => { let s = 0; for (let i = 0; i < d.length; i++) s += g[i] * d[i]; return s; });
}

/**
 * (b): the directional spot check (see the module comment).
 * @param drives d, [T * inChannels] in [-1, 1] (the drives the gradient is taken at)
 * @param dy dL/dr at d, [T * outChannels]
 * @param g the gradient under test at d (the surrogate VJP of dy), [T * inChannels]
 * @param rng seeded source of the directions (advanced)
 */
export async function spotCheck(device: Device, drives: ArrayLike<number>, dy: ArrayLike<number>, g: ArrayLike<number>, rng: Rng, opts: SpotOptions = {}): Promise<SpotCheck> {
  const K = opts.directions ?? 1, h = opts.h ?? 0.05;
  if (!Number.isInteger(K) || K < 1) throw new RangeError(`directions must be a positive integer, got ${String(K)}`);
  if (!(h > 0 && h <= 1)) throw new RangeError(`h must be in (0, 1], got ${String(h)}`);
  const n = drives.length;
  const measured: number[] = [], deltas: Float32Array[] = [];
  let samples = 0, breaks = 0;
  for (let k = 0; k < K; k++) {
    const v = Float32Array.from({ length: n }, () => (rng.uniform() < 0.5 ? -h : h));
    const plus = Float32Array.from({ length: n }, (_, i) => Math.min(1, Math.max(-1, drives[i] + v[i])));
    const minus = Float32Array.from({ length: n }, (_, i) => Math.min(1, Math.max(-1, drives[i] - v[i])));
    const mp = await measure(device, plus, opts);
    const mm = await measure(device, minus, opts);
    samples += mp.samples + mm.samples;
    breaks += mp.breaks + mm.breaks;
    let s = 0;
    for (let i = 0; i < dy.length; i++) s += dy[i] * (mp.responses[i] - mm.responses[i]);
    measured.push(s);
    deltas.push(Float32Array.from({ length: n }, (_, i) => mp.drives[i] - mm.drives[i]));
  }
  const predicted = spotPredict(deltas, g);
  return { ...spotStats(measured, predicted), measured, predicted, samples, deltas, breaks };
}

/** Slope Σmp/Σp² and cosine of measured against predicted changes. */
export function spotStats(measured: readonly number[], predicted: readonly number[]): { ratio: number; cosine: number } {
  let mp = 0, pp = 0;
  for (let i = 0; i < measured.length; i++) { mp += measured[i] * predicted[i]; pp += predicted[i] ** 2; }
  return { ratio: pp > 0 ? mp / pp : NaN, cosine: cosineSimilarity(measured, predicted) };
}

/** Inputs of {@link episodeFidelity}. */
export interface EpisodeFidelityInput {
  /** The surrogate whose gradient is under test. */
  surrogate: DeviceSurrogate;
  /** The exact gradient (a TwinGradient), simulators only: enables (a). */
  oracle?: DeviceSurrogate & { vjp?(drives: ArrayLike<number>, dy: ArrayLike<number>): ArrayLike<number> };
  /** The device: enables (b) when `spot` is given. */
  device?: Device;
  /** Channels of the drives and of the responses. */
  inChannels: number;
  outChannels: number;
  /** The episode's drives [T * ci] and measured responses [T * co]. */
  drives: ArrayLike<number>;
  measured: ArrayLike<number>;
  /** dL/dr at these drives (see readoutUpstream). */
  dy: ArrayLike<number>;
  /** Source of the spot-check directions. */
  rng: Rng;
  /** Spot-check options; absent: no spot check (no device samples). */
  spot?: SpotOptions;
  /** The surrogate's VJP if already computed. */
  gSurrogate?: ArrayLike<number>;
}

/**
 * (a) and/or (b) for one episode. Returns the record and the device samples it cost (0 without
 * a spot check); the caller adds those to its accounting.
 */
export async function episodeFidelity(x: EpisodeFidelityInput): Promise<{ record: FidelityRecord; samples: number; breaks: number }> {
  const cin = x.inChannels, co = x.outChannels;
  if (x.measured.length !== x.dy.length || x.drives.length / cin !== x.dy.length / co) throw new RangeError('drives, measured and dy do not describe the same steps');
  const gs = x.gSurrogate ?? surrogateVjp(x.surrogate, x.drives, x.dy, x.measured, cin, co);
  const record: FidelityRecord = {};
  let go: ArrayLike<number> | undefined;
  if (x.oracle) {
    go = x.oracle.vjp ? x.oracle.vjp(x.drives, x.dy) : surrogateVjp(x.oracle, x.drives, x.dy, x.measured, cin, co);
    Object.assign(record, vjpFidelity(gs, go));
  }
  let samples = 0, breaks = 0;
  if (x.spot && x.device) {
    const s = await spotCheck(x.device, x.drives, x.dy, gs, x.rng, x.spot);
    record.spot = { measured: s.measured, predicted: s.predicted, ratio: s.ratio, cosine: s.cosine, samples: s.samples };
    if (go) record.spot.oracle = spotPredict(s.deltas, go);
    samples = s.samples;
    breaks = s.breaks;
  }
  return { record, samples, breaks };
}
