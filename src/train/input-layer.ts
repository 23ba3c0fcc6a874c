/**
 * The trainable input layer: tapped delays of the task input, dense, tanh (see hybrid.ts for the
 * whole model). Row t of the features is x(t) = [ũ(t), ũ(t-1), …, ũ(t-D+1)] (channels inside
 * each lag), ũ = (u - shift) / scale; a = tanh(x W + b).
 */
import * as tf from '@tensorflow/tfjs';
import { Rng, checkSeed } from '../core/rng.js';
import { checkFiniteVector, checkInt } from '../core/validate.js';

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

  /** A copy of the weights, to {@link restore} later (early stopping keeps the best ones). */
  snapshot(): { W: Float32Array; b: Float32Array } {
    return { W: Float32Array.from(this.W.dataSync()), b: Float32Array.from(this.b.dataSync()) };
  }

  /** Sets the weights to `w` (a {@link snapshot}, or checked weights of a model file). */
  restore(w: { W: Float32Array; b: Float32Array }): void {
    tf.tidy(() => {
      this.W.assign(tf.tensor2d(w.W, this.W.shape));
      this.b.assign(tf.tensor1d(w.b));
    });
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
    const shift = checkFiniteVector(j.norm.shift, ci, 'norm.shift');
    const scale = checkFiniteVector(j.norm.scale, ci, 'norm.scale');
    if (!scale.every((x) => x > 0)) throw new RangeError('norm.scale must be positive');
    const W = checkFiniteVector(j.W, taps * ci * units, 'W');
    const b = checkFiniteVector(j.b, units, 'b');
    const layer = new TappedDense({ inChannels: ci, taps, units, norm: { shift: [...shift], scale: [...scale] } });
    layer.restore({ W: Float32Array.from(W), b: Float32Array.from(b) });
    return layer;
  }

  dispose(): void {
    this.W.dispose();
    this.b.dispose();
  }
}
