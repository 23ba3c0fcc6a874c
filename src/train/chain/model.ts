/**
 * A model as a declared chain of layers for static classification (issue 12): each example is a
 * feature vector, and one device time step per physical layer.
 *
 *     x ─► digital ─► … ─► physical (device k) ─► digital ─► … ─► readout (dense + softmax)
 *
 * - digital: h' = act(((h - μ) / σ) W + b), W [in, units] seeded Glorot-uniform, b = 0. (μ, σ) is
 *   the identity except after a physical layer, where it is set from the first responses the
 *   layer sees (`run(…, { calibrate: true })`) and then follows the responses' statistics as
 *   training moves them ({@link ChainModel.track}, after every step): a camera's responses are
 *   all positive with a small mean (sim:optical: about 0.1 ± 0.1), and standardising them keeps
 *   the next layer's Adam steps well conditioned. A digital layer whose output drives a physical
 *   layer has W rescaled at that calibration pass so its pre-activations have RMS `driveRms`
 *   (default {@link DRIVE_RMS}). The readout is the same dense without activation.
 * - physical: drives = clip(h, -1, 1) (a tanh digital layer keeps them inside already), one row
 *   per example; its value in the forward pass is what a {@link Responder} returns for them: the
 *   device's measured responses (training, predict) or the layer's surrogate's prediction (in
 *   silico). The backward pass is a VJP source's (physicalLayer's tf.customGrad): the layer's own
 *   surrogate, fitted on that layer's own (drive, response) pairs, or a twin (oracle).
 *
 * Two physical layers may name the same device: each is measured in its own segments and has its
 * own surrogate. A pass is asynchronous and sequential in the layers: layer k+1's drives exist
 * only once layer k has been measured; then the differentiable graph is built over the recorded
 * responses ({@link ChainModel.loss}).
 *
 * ```ts
 * const model = ChainModel.build(spec, { features: 784, classes: 10, devices: { 'sim:optical': dev.info }, seed: 1 });
 * const pass = await model.run(x, n, deviceResponder({ 'sim:optical': dev }));
 * const { value, grads } = tf.variableGrads(() => model.loss(xT, labelsT, pass, model.surrogates()), model.trainable());
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import { Rng, checkSeed } from '../../core/rng.js';
import { physicalLayer } from '../../surrogate/physical-layer.js';
import type { DeviceSurrogate } from '../../surrogate/narx.js';
import { surrogateFromJSON } from '../../surrogate/saved.js';
import type { ModelSpec, DigitalLayerSpec } from './spec-types.js';

/** A surrogate a physical layer can hold: a VJP source, predictive for the in-silico forward pass. */
export interface LayerSurrogate extends DeviceSurrogate {
  predictSeq?(drives: tf.Tensor2D): tf.Tensor2D;
  toJSON?(): unknown;
  dispose?(): void;
}

/** Channel counts of a device (its INFO). */
export interface DeviceChannels {
  inChannels: number;
  outChannels: number;
}

export type Activation = NonNullable<DigitalLayerSpec['activation']>;

/** A dense layer's parameters and its frozen input normalisation. */
interface Dense {
  w: tf.Variable<tf.Rank.R2>;
  b: tf.Variable<tf.Rank.R1>;
  shift: Float32Array;
  scale: Float32Array;
  /** The normalisation is set from the first responses after a physical layer. */
  afterPhysical: boolean;
  calibrated: boolean;
  /** The layer's output is a physical layer's drives: its weights are rescaled once, at calibration (see ChainModel.run). */
  drivesPhysical: boolean;
  gainSet: boolean;
}

export interface DigitalStage { kind: 'digital'; index: number; inWidth: number; units: number; activation: Activation; dense: Dense }
export interface PhysicalStage { kind: 'physical'; index: number; device: string; inChannels: number; outChannels: number; surrogate?: LayerSurrogate; design?: string }
export interface ReadoutStage { kind: 'readout'; index: number; inWidth: number; classes: number; dense: Dense }
export type Stage = DigitalStage | PhysicalStage | ReadoutStage;

/** One physical layer's answer to a segment of drives. */
export interface Response {
  /** Drives as sent (after the device's rounding), [rows * inChannels]. */
  drives: Float32Array;
  /** Responses in [0, 1], [rows * outChannels]. */
  responses: Float32Array;
  /** Device samples spent (0 for a surrogate). */
  samples: number;
}

/** Answers physical layer `stage`'s drives [rows * inChannels] (measured, or predicted by a surrogate). */
export type Responder = (stage: PhysicalStage, drives: Float32Array, rows: number) => Promise<Response>;

/** What a forward pass recorded: per physical layer (chain order) its drives and responses. */
export interface ChainPass {
  rows: number;
  layers: Response[];
  /** Device samples of the whole pass. */
  samples: number;
}

/** Options of {@link ChainModel.build}. */
export interface ChainBuildOptions {
  /** Input features per example. */
  features: number;
  /** Classes of the softmax readout. */
  classes: number;
  /** Channel counts of every device the spec names, keyed by the spec's device string. */
  devices: Readonly<Record<string, DeviceChannels>>;
  /** Seed of the dense layers' initialisation. */
  seed: number;
  /**
   * RMS of the pre-activations of a digital layer that drives a physical layer, over the
   * calibration pass: its Glorot weights are rescaled to it once (see {@link ChainModel.run}).
   * 0 keeps Glorot's scale. Defaults to {@link DRIVE_RMS}.
   */
  driveRms?: number;
}

/**
 * Default {@link ChainBuildOptions.driveRms}: a layer driving a device starts in the small-signal
 * range of both its activation (tanh(0.3) = 0.29, near linear) and the device (drives of RMS 0.3
 * in [-1, 1]: on sim:optical ±0.47 rad about the mid phase), whatever the scale of what feeds it,
 * and training widens the drives as far as the task needs. Glorot's scale assumes unit-variance
 * inputs: after a standardised physical layer (128 → 64) it gives pre-activations of RMS 1.15, so
 * the second of two optical layers started 10 % saturated and ended 70 % saturated; raw features
 * give whatever their scale gives (MNIST pixels: 0.43). 0.3 is the best of 0.15, 0.3, 0.5, 0.7 on
 * MNIST through sim:optical (with tracked normalisation; one and two layers), the only task it was
 * chosen on.
 */
export const DRIVE_RMS = 0.3;

const FORMAT = 'chain-model/1';

export interface ChainJSON {
  format: typeof FORMAT;
  spec: ModelSpec;
  features: number;
  classes: number;
  devices: Record<string, DeviceChannels>;
  seed: number;
  /** Absent in files written before it existed (then the default). */
  driveRms?: number;
  layers: ({ kind: 'digital' | 'readout'; w: number[]; b: number[]; shift: number[]; scale: number[]; calibrated: boolean; gainSet?: boolean } | { kind: 'physical'; design?: string; surrogate?: unknown })[];
}

export class ChainModel {
  readonly spec: ModelSpec;
  readonly features: number;
  readonly classes: number;
  readonly stages: readonly Stage[];
  private readonly devices: Record<string, DeviceChannels>;
  private readonly seed: number;
  private readonly driveRms: number;
  private disposed = false;

  private constructor(spec: ModelSpec, opts: ChainBuildOptions) {
    this.spec = structuredClone(spec);
    this.features = posInt(opts.features, 'features');
    this.classes = posInt(opts.classes, 'classes');
    if (this.classes < 2) throw new RangeError(`classes must be >= 2, got ${this.classes}`);
    this.seed = checkSeed(opts.seed);
    this.driveRms = opts.driveRms ?? DRIVE_RMS;
    if (!(Number.isFinite(this.driveRms) && this.driveRms >= 0)) throw new RangeError(`driveRms must be a finite number >= 0, got ${String(opts.driveRms)}`);
    // only the channel counts: they are what the chain's shapes depend on, and what toJSON keeps
    this.devices = Object.fromEntries(Object.entries(opts.devices ?? {}).map(([k, d]) => [k, { inChannels: posInt(d?.inChannels, `devices['${k}'].inChannels`), outChannels: posInt(d?.outChannels, `devices['${k}'].outChannels`) }]));
    const layers = spec?.layers;
    if (!Array.isArray(layers) || layers.length === 0) throw new RangeError('spec.layers must be a non-empty array');
    const rng = new Rng(this.seed);
    const stages: Stage[] = [];
    let width = this.features;
    let afterPhysical = false;
    layers.forEach((l, i) => {
      const where = `layers[${i}]`;
      switch (l?.kind) {
        case 'digital': {
          const units = posInt(l.units, `${where}.units`);
          const activation = l.activation ?? 'tanh';
          if (!['tanh', 'relu', 'linear', 'sigmoid'].includes(activation)) throw new RangeError(`${where}.activation: unknown activation '${String(activation)}'`);
          if ((l.taps ?? 1) !== 1) throw new RangeError(`${where}.taps: ${String(l.taps)} tapped delays need a time series; static classification has none (taps must be 1)`);
          stages.push({ kind: 'digital', index: i, inWidth: width, units, activation, dense: newDense(width, units, rng.fork(`layer${i}`), afterPhysical) });
          width = units;
          afterPhysical = false;
          break;
        }
        case 'physical': {
          const prev = stages[stages.length - 1];
          if (prev?.kind === 'digital') prev.dense.drivesPhysical = true;
          const ch = this.devices[l.device];
          if (!ch) throw new RangeError(`${where}.device: no device '${String(l.device)}' was given (have: ${Object.keys(this.devices).join(', ') || 'none'})`);
          if (width !== ch.inChannels) throw new RangeError(`${where}.device: '${l.device}' takes ${ch.inChannels} drive channels but the layer before gives ${width}`);
          stages.push({ kind: 'physical', index: i, device: l.device, inChannels: ch.inChannels, outChannels: ch.outChannels });
          width = ch.outChannels;
          afterPhysical = true;
          break;
        }
        case 'readout': {
          if (i !== layers.length - 1) throw new RangeError(`${where}.kind: the readout must be the last layer`);
          if (l.type !== 'softmax') throw new RangeError(`${where}.type: static classification needs a 'softmax' readout, got '${String(l.type)}'`);
          stages.push({ kind: 'readout', index: i, inWidth: width, classes: this.classes, dense: newDense(width, this.classes, rng.fork(`layer${i}`), afterPhysical) });
          break;
        }
        default: throw new RangeError(`${where}.kind: unknown layer kind '${String((l as { kind?: unknown })?.kind)}'`);
      }
    });
    if (stages[stages.length - 1].kind !== 'readout') throw new RangeError(`layers[${layers.length - 1}].kind: the last layer must be a readout`);
    this.stages = stages;
  }

  /** Every dense layer after a physical layer has its input normalisation (see {@link run}). */
  get calibrated(): boolean {
    return this.stages.every((s) => s.kind === 'physical' || ((!s.dense.afterPhysical || s.dense.calibrated) && (!s.dense.drivesPhysical || s.dense.gainSet)));
  }

  /**
   * Moves every calibrated normalisation after a physical layer toward the statistics of `pass`'s
   * responses (per channel mean and variance, exponential moving averages: new = momentum · old +
   * (1 - momentum) · pass's; σ ≥ 1e-3). A physical layer's responses widen or shift as the layers
   * before it train (sim:optical, two layers: the per-pixel σ after the first grows from 0.054 at
   * calibration to 0.086 after 5 epochs, so a frozen normalisation feeds the next layer inputs of
   * RMS 2.3 and it saturates); tracking keeps the next layer's inputs standardised. momentum 1
   * leaves them frozen. The arrays are replaced, not written into (a snapshot may share them).
   * `which` 'readout' tracks the readout's only (classic: the digital layers, their input
   * normalisations included, stay as initialised, so the drives do not move).
   */
  track(pass: ChainPass, momentum: number, which: 'all' | 'readout' = 'all'): void {
    this.live();
    if (!(momentum >= 0 && momentum <= 1)) throw new RangeError(`momentum must be in [0, 1], got ${String(momentum)}`);
    if (momentum === 1) return;
    let k = -1;
    for (const s of this.stages) {
      if (s.kind === 'physical') { k++; continue; }
      const d = s.dense;
      if (!d.afterPhysical || !d.calibrated || k < 0 || (which === 'readout' && s.kind !== 'readout')) continue;
      const r = pass.layers[k].responses, n = pass.rows, w = d.shift.length;
      if (r.length !== n * w) throw new RangeError(`layers[${s.index}]: the pass holds ${r.length} responses for ${n} rows of ${w} channels`);
      const shift = new Float32Array(w), scale = new Float32Array(w);
      for (let c = 0; c < w; c++) {
        let m = 0, q = 0;
        for (let i = 0; i < n; i++) { const v = r[i * w + c]; m += v; q += v * v; }
        m /= n;
        const v = Math.max(q / n - m * m, 0), s0 = d.shift[c], v0 = d.scale[c] * d.scale[c];
        shift[c] = momentum * s0 + (1 - momentum) * m;
        scale[c] = Math.max(Math.sqrt(momentum * v0 + (1 - momentum) * v), 1e-3);
      }
      d.shift = shift;
      d.scale = scale;
    }
  }

  /** Builds the chain `spec` declares (RangeError naming the layer and field for a spec that does not connect). */
  static build(spec: ModelSpec, opts: ChainBuildOptions): ChainModel {
    return new ChainModel(spec, opts);
  }

  get physical(): PhysicalStage[] {
    return this.stages.filter((s): s is PhysicalStage => s.kind === 'physical');
  }

  /** The layers' own surrogates in chain order (RangeError if one has none yet). */
  surrogates(): LayerSurrogate[] {
    return this.physical.map((p) => {
      if (!p.surrogate) throw new RangeError(`layers[${p.index}]: the physical layer has no surrogate yet`);
      return p.surrogate;
    });
  }

  /** Every dense layer's variables (digital layers then readout, chain order), W then b. */
  trainable(which: 'all' | 'readout' = 'all'): tf.Variable[] {
    return this.stages.flatMap((s) => (s.kind === 'readout' || (s.kind === 'digital' && which === 'all') ? [s.dense.w, s.dense.b] : []));
  }

  /**
   * The forward pass that needs answers from outside: runs the chain on `x` [rows * features],
   * asking `respond` for every physical layer in order. With `calibrate`, a dense layer after a
   * physical layer whose input normalisation is not set yet takes it from this pass's responses
   * (per channel mean and standard deviation, σ ≥ 1e-3) before it runs, so the pass is recorded
   * with the normalisation it is then trained with.
   */
  async run(x: Float32Array, rows: number, respond: Responder, opts: { calibrate?: boolean } = {}): Promise<ChainPass> {
    this.live();
    if (!Number.isInteger(rows) || rows < 1 || x.length !== rows * this.features) {
      throw new RangeError(`x must hold rows * ${this.features} values with rows >= 1, got ${x.length} for rows ${String(rows)}`);
    }
    const layers: Response[] = [];
    let samples = 0;
    let h = tf.tensor2d(x, [rows, this.features]);
    try {
      for (const s of this.stages) {
        if (s.kind !== 'physical' && opts.calibrate && s.dense.afterPhysical && !s.dense.calibrated) calibrate(s.dense, layers[layers.length - 1].responses, rows);
        if (s.kind === 'digital' && opts.calibrate && s.dense.drivesPhysical && !s.dense.gainSet) setGain(s.dense, h, this.driveRms);
        if (s.kind === 'digital') {
          const next = tf.tidy(() => applyDense(s.dense, h, s.activation));
          h.dispose();
          h = next;
        } else if (s.kind === 'physical') {
          const drives = tf.tidy(() => tf.clipByValue(h, -1, 1).dataSync() as Float32Array);
          // Nothing held while the device answers: a pass in flight (pipelined training) leaves the tensor count flat.
          h.dispose();
          const r = await respond(s, drives, rows);
          if (r.responses.length !== rows * s.outChannels || r.drives.length !== rows * s.inChannels) {
            throw new RangeError(`layers[${s.index}]: the responder returned ${r.responses.length} responses for ${rows} rows of ${s.outChannels} channels`);
          }
          layers.push(r);
          samples += r.samples;
          h = tf.tensor2d(r.responses, [rows, s.outChannels]);
        }
      }
    } finally {
      h.dispose();
    }
    return { rows, layers, samples };
  }

  /**
   * Logits [rows, classes] over a recorded pass, differentiable: every physical layer's value is
   * its recorded response and its gradient `vjps[k]`'s VJP at the drives the graph computes
   * (equal to the drives the pass sent, as long as the weights have not changed since).
   */
  logits(x: tf.Tensor2D, pass: ChainPass, vjps: readonly DeviceSurrogate[]): tf.Tensor2D {
    this.live();
    const phys = this.physical;
    if (pass.layers.length !== phys.length || vjps.length !== phys.length) {
      throw new RangeError(`need one response and one VJP source per physical layer (${phys.length}), got ${pass.layers.length} and ${vjps.length}`);
    }
    return tf.tidy(() => {
      let h: tf.Tensor2D = x;
      let k = 0;
      for (const s of this.stages) {
        if (s.kind === 'digital') h = applyDense(s.dense, h, s.activation);
        else if (s.kind === 'readout') h = applyDense(s.dense, h, 'linear');
        else {
          const measured = tf.tensor2d(pass.layers[k].responses, [pass.rows, s.outChannels]);
          h = physicalLayer(vjps[k], measured)(tf.clipByValue(h, -1, 1));
          k++;
        }
      }
      return h;
    });
  }

  /** Mean softmax cross-entropy of {@link logits} against `labels` (int32 [rows]). */
  loss(x: tf.Tensor2D, labels: tf.Tensor1D, pass: ChainPass, vjps: readonly DeviceSurrogate[]): tf.Scalar {
    return tf.tidy(() => tf.losses.softmaxCrossEntropy(tf.oneHot(labels, this.classes), this.logits(x, pass, vjps)) as tf.Scalar);
  }

  /** Class probabilities [rows * classes] of a recorded pass. */
  probabilities(x: Float32Array, pass: ChainPass): Float32Array {
    return tf.tidy(() => {
      const xt = tf.tensor2d(x, [pass.rows, this.features]);
      const none: DeviceSurrogate = { vjpSeq: () => { throw new Error('no gradient in probabilities'); } };
      return tf.softmax<tf.Tensor2D>(this.logits(xt, pass, this.physical.map(() => none))).dataSync() as Float32Array;
    });
  }

  /**
   * Class probabilities [rows * classes] for `x`, through `respond` (the devices: see
   * deviceResponder) in segments of at most `segmentRows` examples. Also the samples spent.
   */
  async predict(x: Float32Array, rows: number, respond: Responder, segmentRows = 1000): Promise<{ probabilities: Float32Array; samples: number }> {
    posInt(segmentRows, 'segmentRows');
    const out = new Float32Array(rows * this.classes);
    let samples = 0;
    for (let i = 0; i < rows; i += segmentRows) {
      const n = Math.min(segmentRows, rows - i);
      const xs = x.subarray(i * this.features, (i + n) * this.features);
      const pass = await this.run(xs, n, respond);
      samples += pass.samples;
      out.set(this.probabilities(xs, pass), i * this.classes);
    }
    return { probabilities: out, samples };
  }

  /** Plain JSON: the spec, dense weights and normalisations, each surrogate that has toJSON. */
  toJSON(): ChainJSON {
    this.live();
    return {
      format: FORMAT, spec: structuredClone(this.spec), features: this.features, classes: this.classes, devices: structuredClone(this.devices), seed: this.seed, driveRms: this.driveRms,
      layers: this.stages.map((s) => s.kind === 'physical'
        ? { kind: 'physical' as const, design: s.design, surrogate: s.surrogate?.toJSON?.() }
        : { kind: s.kind, w: Array.from(s.dense.w.dataSync()), b: Array.from(s.dense.b.dataSync()), shift: Array.from(s.dense.shift), scale: Array.from(s.dense.scale), calibrated: s.dense.calibrated, gainSet: s.dense.gainSet }),
    };
  }

  /**
   * Rebuilds a model from {@link toJSON} output, every field checked (a file is untrusted input).
   * Each layer's surrogate comes back (NARX or transmission matrix, surrogate/saved.ts).
   */
  static fromJSON(json: unknown): ChainModel {
    const j = json as Partial<ChainJSON> | null;
    if (j === null || typeof j !== 'object' || j.format !== FORMAT) throw new TypeError(`not a ${FORMAT} object`);
    const m = new ChainModel(j.spec as ModelSpec, { features: j.features as number, classes: j.classes as number, devices: j.devices as Record<string, DeviceChannels>, seed: j.seed as number, driveRms: j.driveRms });
    try {
      if (!Array.isArray(j.layers) || j.layers.length !== m.stages.length) throw new RangeError(`layers must hold ${m.stages.length} entries`);
      m.stages.forEach((s, i) => {
        const l = j.layers![i] as Record<string, unknown>;
        if (l?.kind !== s.kind) throw new RangeError(`layers[${i}].kind must be '${s.kind}'`);
        if (s.kind === 'physical') {
          s.design = typeof l.design === 'string' ? l.design : undefined;
          if (l.surrogate !== undefined) s.surrogate = surrogateFromJSON(l.surrogate);
          return;
        }
        const d = s.dense, [fanIn, fanOut] = d.w.shape;
        tf.tidy(() => {
          d.w.assign(tf.tensor2d(vec(l.w, fanIn * fanOut, `layers[${i}].w`), [fanIn, fanOut]));
          d.b.assign(tf.tensor1d(vec(l.b, fanOut, `layers[${i}].b`)));
        });
        d.shift = vec(l.shift, fanIn, `layers[${i}].shift`);
        d.scale = vec(l.scale, fanIn, `layers[${i}].scale`);
        if (!d.scale.every((v) => v > 0)) throw new RangeError(`layers[${i}].scale must be positive`);
        d.calibrated = l.calibrated === true;
        // a file from before gainSet existed holds weights as trained: never rescale them
        d.gainSet = l.gainSet !== false;
      });
    } catch (e) {
      m.dispose();
      throw e;
    }
    return m;
  }

  /** Releases the dense variables and every surrogate the layers hold; any later call throws. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of this.trainable()) v.dispose();
    for (const p of this.physical) p.surrogate?.dispose?.();
  }

  private live(): void {
    if (this.disposed) throw new Error('ChainModel is disposed');
  }
}

/** Sets a dense layer's input normalisation from responses [rows * inWidth] (see ChainModel.run). */
function calibrate(d: Dense, r: Float32Array, n: number): void {
  const w = d.shift.length;
  for (let c = 0; c < w; c++) {
    let m = 0, q = 0;
    for (let i = 0; i < n; i++) { const v = r[i * w + c]; m += v; q += v * v; }
    m /= n;
    d.shift[c] = m;
    d.scale[c] = Math.max(Math.sqrt(Math.max(q / n - m * m, 0)), 1e-3);
  }
  d.calibrated = true;
}

/**
 * Rescales a dense layer's W so its pre-activations over `h` (the calibration pass's inputs to
 * it, before normalisation) have RMS `rms` (nothing for 0 or all-zero pre-activations).
 */
function setGain(d: Dense, h: tf.Tensor2D, rms: number): void {
  d.gainSet = true;
  if (rms === 0) return;
  tf.tidy(() => {
    const z = tf.matMul(normalised(d, h), d.w);
    const now = Math.sqrt(tf.mean(tf.square(z)).dataSync()[0]);
    if (now > 0 && Number.isFinite(now)) d.w.assign(tf.mul(d.w, rms / now));
  });
}

/** Glorot-uniform W, b = 0, identity normalisation. */
function newDense(fanIn: number, fanOut: number, rng: Rng, afterPhysical: boolean): Dense {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  const w0 = tf.tensor2d(Float32Array.from({ length: fanIn * fanOut }, () => rng.range(-limit, limit)), [fanIn, fanOut]);
  const b0 = tf.zeros([fanOut]) as tf.Tensor1D;
  // tf.variable copies its initial value; free the initial tensors
  const w = tf.variable(w0, true), b = tf.variable(b0, true);
  w0.dispose(); b0.dispose();
  return { w, b, shift: new Float32Array(fanIn), scale: new Float32Array(fanIn).fill(1), afterPhysical, calibrated: false, drivesPhysical: false, gainSet: false };
}

function normalised(d: Dense, h: tf.Tensor2D): tf.Tensor2D {
  return d.afterPhysical ? tf.div(tf.sub(h, tf.tensor1d(d.shift)), tf.tensor1d(d.scale)) : h;
}

function applyDense(d: Dense, h: tf.Tensor2D, activation: Activation): tf.Tensor2D {
  return tf.tidy(() => {
    const z = tf.add(tf.matMul(normalised(d, h), d.w), d.b) as tf.Tensor2D;
    switch (activation) {
      case 'tanh': return tf.tanh(z);
      case 'relu': return tf.relu(z);
      case 'sigmoid': return tf.sigmoid(z);
      default: return z;
    }
  });
}

function posInt(v: unknown, name: string): number {
  if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 1 << 24) throw new RangeError(`${name} must be a positive integer, got ${String(v)}`);
  return v as number;
}

function vec(v: unknown, n: number, name: string): Float32Array {
  if (!Array.isArray(v) || v.length !== n || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) throw new RangeError(`${name} must be ${n} finite numbers`);
  return Float32Array.from(v as number[]);
}
