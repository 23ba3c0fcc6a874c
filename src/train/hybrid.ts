/**
 * The pieces of a hybrid (digital + physical) model, in normalised units:
 *
 *     u (task input) ─► taps ─► dense ─► tanh ─► a ∈ [-1, 1]   (input layer, trainable)
 *     a ─► toDeviceUnits ─► device ─► fromDeviceUnits ─► r ∈ [0, 1]^outChannels
 *     r ─► ridge readout ─► ŷ                                   (readout, sees r only)
 *
 * - Tapped delays: row t of the features is x(t) = [ũ(t), ũ(t-1), …, ũ(t-D+1)] (channels inside
 *   each lag), ũ = (u - shift) / scale with a per-channel shift and scale fixed from the training
 *   sequence; steps before the sequence start are ũ = 0 (the training mean).
 * - {@link TappedDense}: a = tanh(x W + b), W [D·inChannels, units], b [units], seeded
 *   uniform init W ~ U(-g, g)·√(3/fanIn) (so x W has about unit variance times g), b = 0. The
 *   input layer is a TappedDense with units = the device's inChannels; the `digital` baseline
 *   uses one with units = the device's outChannels.
 * - Device glue: a ∈ [-1, 1] ↦ inMin + (a + 1)/2 (inMax - inMin), rounded and clipped for the
 *   integer formats (u16, i16); responses ↦ (y - outMin)/(outMax - outMin).
 * - {@link RidgeReadout}: a linear readout over the scaled responses, solved from summed
 *   statistics (RidgeAccumulator) with λ chosen on a validation slice. It is given the device's
 *   responses only, never the task input: every method takes response rows and nothing else.
 *
 * ```ts
 * const norm = inputNorm(task.inputs, task.inChannels);
 * const layer = new TappedDense({ inChannels: 1, taps: 20, units: dev.info.inChannels, seed: 1, norm });
 * const a = layer.drives(task.inputs, 0, 450);               // Float32Array [450 * inChannels]
 * const { responses } = await measure(dev, a);                // scaled, [450 * outChannels]
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import type { SegmentDevice } from '../device/device.js';
import { type Segment, measureSegment } from '../device/segment.js';
import type { AppliedCalibration } from '../calibration/apply.js';
import type { Info } from '../protocol/messages.js';
import { Rng, checkSeed } from '../core/rng.js';
import { nmse } from '../core/metrics.js';
import { checkInt } from '../core/validate.js';
import { RidgeAccumulator, type LambdaChoice, type RidgeWeights } from './ridge.js';

// ---- tapped delays ----------------------------------------------------------------------------

/** Per-channel affine normalisation of the task input: ũ = (u - shift) / scale. */
export interface InputNorm {
  shift: number[];
  scale: number[];
}

/** Mean and population standard deviation per channel of `inputs` (row-major, steps x channels); σ < 1e-12 gives 1. */
export function inputNorm(inputs: ArrayLike<number>, channels: number): InputNorm {
  const steps = Math.floor(inputs.length / channels);
  if (steps < 1) throw new RangeError('inputNorm needs at least one step');
  const shift: number[] = [], scale: number[] = [];
  for (let c = 0; c < channels; c++) {
    let m = 0;
    for (let t = 0; t < steps; t++) m += inputs[t * channels + c];
    m /= steps;
    let v = 0;
    for (let t = 0; t < steps; t++) v += (inputs[t * channels + c] - m) ** 2;
    const sd = Math.sqrt(v / steps);
    shift.push(m);
    scale.push(sd < 1e-12 ? 1 : sd);
  }
  return { shift, scale };
}

/**
 * Tapped-delay features of rows [start, start + length) of a sequence: row i holds
 * ũ(t), ũ(t-1), …, ũ(t-taps+1) for t = start + i (channels inside each lag), ũ = 0 before row 0.
 * @returns Float32Array [length, taps * channels], row-major
 */
export function tapFeatures(inputs: ArrayLike<number>, channels: number, taps: number, norm: InputNorm, start: number, length: number): Float32Array {
  const steps = inputs.length / channels;
  if (!Number.isInteger(start) || !Number.isInteger(length) || start < 0 || length < 0 || start + length > steps) {
    throw new RangeError(`rows [${start}, ${start + length}) are outside the sequence of ${steps} steps`);
  }
  const f = taps * channels;
  const out = new Float32Array(length * f);
  for (let i = 0; i < length; i++) {
    const t = start + i;
    for (let k = 0; k < taps && t - k >= 0; k++) {
      for (let c = 0; c < channels; c++) out[i * f + k * channels + c] = (inputs[(t - k) * channels + c] - norm.shift[c]) / norm.scale[c];
    }
  }
  return out;
}

/** Options of {@link TappedDense}. */
export interface TappedDenseOptions {
  /** Task input channels. */
  inChannels: number;
  /** Tapped delays D ≥ 1 per channel. Defaults to 20. */
  taps?: number;
  /** Output units (tanh). */
  units: number;
  /** Seed of the initial weights. Defaults to 0. */
  seed?: number;
  /** Init gain g: W ~ U(-g, g)·√(3/fanIn). Defaults to 1. */
  gain?: number;
  /** Input normalisation (see {@link inputNorm}). Defaults to the identity. */
  norm?: InputNorm;
}

/** Serialised {@link TappedDense}. */
export interface TappedDenseJSON {
  format: 'tapped-dense/1';
  inChannels: number;
  taps: number;
  units: number;
  norm: InputNorm;
  /** [taps * inChannels * units], row-major. */
  W: number[];
  b: number[];
}

/** a = tanh(x W + b) over tapped delays x of the task input; see the module comment. */
export class TappedDense {
  readonly inChannels: number;
  readonly taps: number;
  readonly units: number;
  readonly norm: InputNorm;
  readonly W: tf.Variable<tf.Rank.R2>;
  readonly b: tf.Variable<tf.Rank.R1>;

  constructor(opts: TappedDenseOptions) {
    this.inChannels = checkInt(opts.inChannels, 'inChannels', 1);
    this.taps = checkInt(opts.taps ?? 20, 'taps', 1);
    this.units = checkInt(opts.units, 'units', 1);
    const gain = opts.gain ?? 1;
    if (!(gain >= 0 && Number.isFinite(gain))) throw new RangeError(`gain must be finite and >= 0, got ${String(gain)}`);
    this.norm = opts.norm ?? { shift: new Array(this.inChannels).fill(0), scale: new Array(this.inChannels).fill(1) };
    if (this.norm.shift.length !== this.inChannels || this.norm.scale.length !== this.inChannels) throw new RangeError(`norm must have ${this.inChannels} channels`);
    const fanIn = this.features;
    const rng = new Rng(checkSeed(opts.seed ?? 0)).fork('tapped-dense');
    const lim = gain * Math.sqrt(3 / fanIn);
    const w = Float32Array.from({ length: fanIn * this.units }, () => rng.range(-lim, lim));
    // tf.variable shares the initial tensor's data and leaves that tensor registered: dispose it.
    const w0 = tf.tensor2d(w, [fanIn, this.units]), b0 = tf.zeros([this.units]);
    this.W = tf.variable(w0, true) as tf.Variable<tf.Rank.R2>;
    this.b = tf.variable(b0, true) as tf.Variable<tf.Rank.R1>;
    tf.dispose([w0, b0]);
  }

  /** Features per row: taps · inChannels. */
  get features(): number {
    return this.taps * this.inChannels;
  }

  get variables(): tf.Variable[] {
    return [this.W, this.b];
  }

  /** Tapped features of rows [start, start + length) of `inputs` (see {@link tapFeatures}). */
  features2d(inputs: ArrayLike<number>, start: number, length: number): tf.Tensor2D {
    return tf.tensor2d(tapFeatures(inputs, this.inChannels, this.taps, this.norm, start, length), [length, this.features]);
  }

  /** tanh(x W + b): [rows, units], differentiable with respect to W and b. */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tanh(tf.add<tf.Tensor2D>(tf.matMul(x, this.W), this.b));
  }

  /** The layer's outputs for rows [start, start + length) of `inputs`, as a flat Float32Array [length * units]. */
  run(inputs: ArrayLike<number>, start: number, length: number): Float32Array {
    return this.runFeatures(tapFeatures(inputs, this.inChannels, this.taps, this.norm, start, length));
  }

  /** The layer's outputs for tapped features x [rows * features] (see {@link tapFeatures}): Float32Array [rows * units]. */
  runFeatures(x: Float32Array): Float32Array {
    const a = tf.tidy(() => this.apply(tf.tensor2d(x, [x.length / this.features, this.features])));
    const out = a.dataSync() as Float32Array;
    a.dispose();
    return out;
  }

  toJSON(): TappedDenseJSON {
    return {
      format: 'tapped-dense/1', inChannels: this.inChannels, taps: this.taps, units: this.units,
      norm: { shift: [...this.norm.shift], scale: [...this.norm.scale] },
      W: Array.from(this.W.dataSync()), b: Array.from(this.b.dataSync()),
    };
  }

  /** Rebuilds a layer from {@link toJSON} output; every field is checked (a model file is untrusted input). */
  static fromJSON(json: unknown): TappedDense {
    const j = json as Partial<TappedDenseJSON> | null;
    if (j === null || typeof j !== 'object' || j.format !== 'tapped-dense/1') {
      throw new TypeError(`not a tapped-dense/1 object (format ${JSON.stringify((j as { format?: unknown } | null)?.format)})`);
    }
    const ints = { inChannels: j.inChannels, taps: j.taps, units: j.units };
    for (const [k, v] of Object.entries(ints)) if (!Number.isInteger(v) || (v as number) < 1) throw new RangeError(`${k} must be a positive integer, got ${JSON.stringify(v)}`);
    const ci = j.inChannels!, taps = j.taps!, units = j.units!;
    if (j.norm === null || typeof j.norm !== 'object') throw new RangeError('norm must be an object { shift, scale }');
    const shift = finiteVector(j.norm.shift, ci, 'norm.shift');
    const scale = finiteVector(j.norm.scale, ci, 'norm.scale');
    if (!scale.every((x) => x > 0)) throw new RangeError('norm.scale must be positive');
    const W = finiteVector(j.W, taps * ci * units, 'W');
    const b = finiteVector(j.b, units, 'b');
    const layer = new TappedDense({ inChannels: ci, taps, units, norm: { shift: [...shift], scale: [...scale] } });
    tf.tidy(() => {
      layer.W.assign(tf.tensor2d(Float32Array.from(W), [taps * ci, units]));
      layer.b.assign(tf.tensor1d(Float32Array.from(b)));
    });
    return layer;
  }

  dispose(): void {
    this.W.dispose();
    this.b.dispose();
  }
}

// ---- device glue ------------------------------------------------------------------------------

type InRange = Pick<Info, 'inFormat' | 'inMin' | 'inMax'>;
type OutRange = Pick<Info, 'outMin' | 'outMax'>;

/**
 * Drives a ∈ [-1, 1] to device units: inMin + (a + 1)/2 (inMax - inMin); for u16 and i16 rounded
 * to the nearest integer and clipped to [inMin, inMax] (a outside [-1, 1] is clipped too).
 * A non-finite drive is a RangeError.
 */
export function toDeviceUnits(a: ArrayLike<number>, info: InRange): Float64Array {
  const out = new Float64Array(a.length);
  const span = info.inMax - info.inMin;
  const integer = info.inFormat !== 'f32';
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) throw new RangeError(`drive ${i} is ${String(a[i])}`);
    let v = info.inMin + ((a[i] + 1) / 2) * span;
    if (integer) v = Math.round(v);
    out[i] = Math.min(info.inMax, Math.max(info.inMin, v));
  }
  return out;
}

/** Inverse of {@link toDeviceUnits} on device units (what was actually sent, as a ∈ [-1, 1]). */
export function drivesFromDeviceUnits(samples: ArrayLike<number>, info: InRange): Float32Array {
  const span = info.inMax - info.inMin;
  return Float32Array.from({ length: samples.length }, (_, i) => (2 * (samples[i] - info.inMin)) / span - 1);
}

/** Responses in device units to [0, 1]: (y - outMin) / (outMax - outMin). */
export function fromDeviceUnits(response: ArrayLike<number>, info: OutRange): Float32Array {
  const span = info.outMax - info.outMin;
  if (!(span > 0)) throw new RangeError(`device output range [${info.outMin}, ${info.outMax}] is empty`);
  return Float32Array.from({ length: response.length }, (_, i) => (response[i] - info.outMin) / span);
}

/** Drives a ∈ [-1, 1] to device units, through a calibration's inverse transfer tables when given. */
export function driveUnits(a: ArrayLike<number>, info: InRange, calibration?: AppliedCalibration): Float64Array {
  const linear = toDeviceUnits(a, info);
  // The table rounds for integer formats itself.
  return calibration ? Float64Array.from(calibration.linearizeDrive(linear)) : linear;
}

/**
 * Raw responses to the [0, 1] scale the trainers use: over INFO's output range, or, through a
 * calibration, normalised per channel ((y - offset) / gain, in drive units) and scaled over the
 * drive range.
 */
export function scaleResponses(raw: ArrayLike<number>, info: InRange & OutRange, calibration?: AppliedCalibration): Float32Array {
  return calibration ? fromDeviceUnits(calibration.normalizeResponse(raw), { outMin: info.inMin, outMax: info.inMax }) : fromDeviceUnits(raw, info);
}

/** What {@link measure} returns. */
export interface Measurement {
  /** The drives actually sent, back in [-1, 1] (after rounding and clipping): [steps * inChannels]. */
  drives: Float32Array;
  /** The responses scaled to [0, 1]: [steps * outChannels]. */
  responses: Float32Array;
  /** The state epoch of the segment (every batch of it shares it). */
  epoch: number;
  /** Device samples (vectors) sent, re-measurements included. */
  samples: number;
  /** State breaks met and recovered from by re-measuring. */
  breaks: number;
}

/** Options of {@link measure}. */
export interface MeasureOptions {
  /** Re-measurements after a state break. Defaults to 3. */
  maxRetries?: number;
  /**
   * A calibration of this device: drives in [-1, 1] are then linear drives (mapped onto the device
   * through the calibration's inverse transfer tables) and responses are normalised per channel,
   * (y - offset) / gain, before the [0, 1] scaling (over the drive range, as the normalised
   * response is in drive units). Defaults to none: raw device units.
   */
  calibration?: AppliedCalibration;
  /** Aborts before the segment is sent (a segment in flight always finishes). Defaults to none. */
  signal?: AbortSignal;
}

/**
 * Measures drives `a` ([steps * inChannels] in [-1, 1]) as one fresh segment (device/segment.ts:
 * reset, batches within credits, epoch checks, re-measured from a reset after a state break).
 */
export async function measure(device: SegmentDevice, a: ArrayLike<number>, opts: MeasureOptions & { onSent?: () => void } = {}): Promise<Measurement> {
  const info = device.info, cal = opts.calibration;
  const seg = await measureSegment(device, driveUnits(a, info, cal), { maxRetries: opts.maxRetries, signal: opts.signal, onSent: opts.onSent });
  return measurement(seg, info, cal);
}

/** A measured segment in the trainers' units: drives back in [-1, 1] as sent, responses in [0, 1]. */
export function measurement(seg: Segment, info: Info, cal?: AppliedCalibration): Measurement {
  const drives = drivesFromDeviceUnits(cal ? cal.delinearizeDrive(seg.sent) : seg.sent, info);
  return { drives, responses: scaleResponses(seg.raw, info, cal), epoch: seg.epoch, samples: seg.samples, breaks: seg.breaks };
}

// ---- readout ----------------------------------------------------------------------------------

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
    r.weights = { W: Float64Array.from(finiteVector(j.W, j.features! * j.outputs!, 'W')), b: Float64Array.from(finiteVector(j.b, j.outputs!, 'b')) };
    r.chosen = j.lambda;
    return r;
  }
}

// ---- helpers ----------------------------------------------------------------------------------

function slice(a: ArrayLike<number>, from: number, to: number): Float64Array {
  return Float64Array.from({ length: to - from }, (_, i) => a[from + i]);
}

/** `v` as exactly `n` finite numbers, or a RangeError naming `name`. */
function finiteVector(v: unknown, n: number, name: string): number[] {
  if (!Array.isArray(v) || v.length !== n) throw new RangeError(`${name} must hold ${n} numbers, got ${Array.isArray(v) ? v.length : typeof v}`);
  const bad = v.findIndex((x) => typeof x !== 'number' || !Number.isFinite(x));
  if (bad >= 0) throw new RangeError(`${name}[${bad}] must be a finite number, got ${JSON.stringify(v[bad])}`);
  return v as number[];
}
