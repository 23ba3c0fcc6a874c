/**
 * Gradient fidelity monitor: how well does the gradient the trainer uses (a surrogate's VJP) match
 * the device's true derivative at the current drives? Two checks, both in the trainers' units
 * (drives a ∈ [-1, 1], responses r ∈ [0, 1], upstream gradient dy = dL/dr of the episode loss):
 *
 * (a) {@link vjpFidelity}, simulators only: cosine between the surrogate's VJP and the exact VJP of
 *     the device's float64 twin (twin-grad.ts) for the same dy, and the ratio of their norms.
 * (b) a device reading (spot-check.ts {@link gradientFidelity}), any device: K random directions,
 *     the step h sized from the response noise measured by repeating the episode's segment once
 *     (or given, e.g. by a calibration), and the slope of the device's measured directional
 *     derivatives on the surrogate's predictions, 1 when the surrogate's slope is right, with its
 *     standard error over the K directions. With a twin, the twin's exact directional derivatives
 *     along the same directions give `twinSlope`: what a noise-free device whose derivative is the
 *     twin's would read, which the device reading estimates.
 *
 * Cost of (b), counted in the samples returned: 2 K segments of the episode's length (d ± h v_k),
 * plus one repeat of the episode's segment for the noise unless `noise` is given (the episode's
 * own measurement is the other half of the pair). The trainers' default, K = 3 with the repeat,
 * is 7 segments per check: pat checks every 25 episodes, so about 28 % on top of the training
 * episodes' samples (the old single-direction check cost 2 segments and read noise: slopes from
 * -61 to +375 in one run). Fewer than 3 directions leave the standard error 1 degree of freedom.
 *
 * {@link readoutUpstream} computes dy for the episode loss of pat (MSE of the training readout on
 * the scored rows), so a trainer can call both checks with what it already has.
 *
 * ```ts
 * const dy = readoutUpstream(readout.current, m.responses, washout, Y, co, outs);
 * const fid = await episodeFidelity({ surrogate, oracle, device, inChannels: ci, outChannels: co, drives: m.drives, measured: m.responses, dy, rng, reading: { directions: 3 } });
 * samples += fid.samples;   // fid.record.reading: slope ± slopeSe over 3 directions
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import type { Device } from '../device/client.js';
import type { Rng } from '../core/rng.js';
import type { DeviceSurrogate, VjpPath } from '../surrogate/narx.js';
import type { MeasureOptions } from './hybrid.js';
import type { RidgeWeights } from './ridge.js';
import { type FidelityOptions, deviceMeasurer, gradientFidelity, predictAlong, slopeStats } from './spot-check.js';
import { cosineSimilarity } from './vjp-check.js';

/** Directions of a trainer's fidelity reading when none are given. */
export const DEFAULT_FIDELITY_DIRECTIONS = 3;

/** Per-episode fidelity numbers (optional fields of an episode record). */
export interface FidelityRecord {
  /** (a) cosine between the surrogate VJP and the twin VJP. */
  vjpCosine?: number;
  /** (a) |surrogate VJP| / |twin VJP|. */
  vjpNormRatio?: number;
  /** (b) the device reading. */
  reading?: ReadingRecord;
}

/** The serialisable part of a device reading (b). */
export interface ReadingRecord {
  /** Slope of measured on predicted directional derivatives (1: the surrogate's slope is right); NaN when the surrogate's gradient is 0. */
  slope: number;
  /** Its standard error over the directions. */
  slopeSe: number;
  /** Cosine of (measured) and (predicted). */
  cosine: number;
  /** Directions K. */
  directions: number;
  /** Step h, in drive units. */
  h: number;
  /** Per-sample response noise σ it was sized from. */
  noise: number;
  /** The device's directional derivatives of the loss, one per direction. */
  measured: number[];
  /** The surrogate's predictions of them. */
  predicted: number[];
  /** The twin's exact directional derivatives along the same directions, when a twin was given. */
  twin?: number[];
  /** Slope of `twin` on `predicted`: what the reading estimates, when a twin was given. */
  twinSlope?: number;
  /** Device samples the reading cost. */
  samples: number;
}

/** Options of the device reading (b): those of gradientFidelity but the baseline (the episode's own measurement), and of each measurement. */
export type ReadingOptions = Omit<FidelityOptions, 'baseline'> & MeasureOptions;

/** Segments of the episode's length a reading with these options costs (re-measurements after state breaks aside). */
export function readingSegments(opts: Pick<ReadingOptions, 'directions' | 'noise'>): number {
  return 2 * (opts.directions ?? DEFAULT_FIDELITY_DIRECTIONS) + (opts.noise === undefined ? 1 : 0);
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

/** A surrogate's VJP as a flat Float32Array [T * ci] (measured responses as the NARX history; through them as `path` says). */
export function surrogateVjp(surrogate: DeviceSurrogate, drives: ArrayLike<number>, dy: ArrayLike<number>, measured: ArrayLike<number>, ci: number, co: number, path: VjpPath = {}): Float32Array {
  const T = drives.length / ci;
  const g = tf.tidy(() => surrogate.vjpSeq(tf.tensor2d(Float32Array.from(drives), [T, ci]), tf.tensor2d(Float32Array.from(dy), [T, co]),
    { ...path, measured: tf.tensor2d(Float32Array.from(measured), [T, co]) }));
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

/** Inputs of {@link episodeFidelity}. */
export interface EpisodeFidelityInput {
  /** The surrogate whose gradient is under test. */
  surrogate: DeviceSurrogate;
  /** The exact gradient (a TwinGradient), simulators only: enables (a) and the reading's twinSlope. */
  oracle?: DeviceSurrogate & { vjp?(drives: ArrayLike<number>, dy: ArrayLike<number>): ArrayLike<number> };
  /** The device: enables (b) when `reading` is given. */
  device?: Device;
  /** Channels of the drives and of the responses. */
  inChannels: number;
  outChannels: number;
  /** The episode's drives as sent [T * ci] and the responses measured at them [T * co]. */
  drives: ArrayLike<number>;
  measured: ArrayLike<number>;
  /** dL/dr at these drives (see readoutUpstream). */
  dy: ArrayLike<number>;
  /** Source of the reading's directions (advanced). */
  rng: Rng;
  /** Options of the device reading (b); absent: no reading (no device samples). */
  reading?: ReadingOptions;
  /** The surrogate's VJP if already computed. */
  gSurrogate?: ArrayLike<number>;
  /** What the surrogate's VJP goes through: the one the trainer steps with (SurrogateTrainOptions.throughResponses, responseDecay). */
  vjp?: VjpPath;
}

/**
 * (a) and/or (b) for one episode. Returns the record and the device samples it cost (0 without
 * a reading); the caller adds those to its accounting.
 */
export async function episodeFidelity(x: EpisodeFidelityInput): Promise<{ record: FidelityRecord; samples: number; breaks: number }> {
  const cin = x.inChannels, co = x.outChannels;
  if (x.measured.length !== x.dy.length || x.drives.length / cin !== x.dy.length / co) throw new RangeError('drives, measured and dy do not describe the same steps');
  const gs = x.gSurrogate ?? surrogateVjp(x.surrogate, x.drives, x.dy, x.measured, cin, co, x.vjp);
  const record: FidelityRecord = {};
  let go: ArrayLike<number> | undefined;
  if (x.oracle) {
    go = x.oracle.vjp ? x.oracle.vjp(x.drives, x.dy) : surrogateVjp(x.oracle, x.drives, x.dy, x.measured, cin, co);
    Object.assign(record, vjpFidelity(gs, go));
  }
  if (!x.reading || !x.device) return { record, samples: 0, breaks: 0 };
  const { directions = DEFAULT_FIDELITY_DIRECTIONS, noise, snr, hMin, hMax, ...measureOpts } = x.reading;
  const f = await gradientFidelity(deviceMeasurer(x.device, measureOpts), x.drives, x.dy, gs, x.rng, { directions, noise, snr, hMin, hMax, baseline: x.measured });
  const reading: ReadingRecord = {
    slope: f.slope, slopeSe: f.slopeSe, cosine: f.cosine, directions, h: f.h, noise: f.noise, measured: f.measured, predicted: f.predicted, samples: f.samples,
  };
  if (go) {
    reading.twin = predictAlong(f, go);
    reading.twinSlope = slopeStats(reading.twin, f.predicted).slope;
  }
  record.reading = reading;
  return { record, samples: f.samples, breaks: f.breaks };
}
