/**
 * A structured surrogate for a scattering medium read by a camera: a fitted complex transmission
 * matrix with intensity readout, memoryless (window 1, no response lags). For one time step with
 * drives a [inChannels] in [-1, 1]:
 *
 *     E_m = Σ_j T_mj exp(i ω a_j) + c_m          field at camera pixel m (T, c complex, fitted)
 *     ŷ_m = |E_m|² + b_m                         intensity plus a fitted black level b
 *
 * the physics of a phase-only SLM in front of a random medium (src/sim/optical.ts simulates it),
 * but every parameter is fitted from (drive, response) pairs alone: T absorbs each pixel's phase
 * offset and the exposure, c the unmodulated light, b the camera's offset. ω, the phase per unit
 * drive, is fitted too; it starts at π/2, a phase-only SLM's usual calibration of its full drive
 * range to half a turn, because intensity fits are non-convex in ω far from the truth.
 *
 * Fit: Adam on the per-channel normalised MSE, mean over channels of ((ŷ - y) / σy)², with σy
 * the response standard deviation of the first fit's examples. T starts as complex Gaussian with
 * E|E|² equal to the mean response above its minimum (seeded).
 *
 * VJP in closed form (tf.grad cannot run inside a customGrad gradFunc): with C = cos(ω a),
 * S = sin(ω a), Re E = C Tr - S Ti + cr, Im E = C Ti + S Tr + ci, and gR = 2 dy ⊙ Re E,
 * gI = 2 dy ⊙ Im E:
 *
 *     dL/da = ω ( -S ⊙ (gR Trᵀ + gI Tiᵀ) + C ⊙ (gI Trᵀ - gR Tiᵀ) ).
 *
 * ```ts
 * const s = new TransmissionSurrogate({ inChannels: 64, outChannels: 128, seed: 1 });
 * s.fit(cutWindows(s.shape, drives, responses), { epochs: 60 });
 * const g = s.vjpSeq(tf.tensor2d(d, [T, 64]), tf.tensor2d(dy, [T, 128]));
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import { Rng, checkSeed } from '../core/rng.js';
import { channelErrors } from '../core/metrics.js';
import type { DeviceSurrogate, FitOptions } from './narx.js';
import { checkWindowShape, type Examples, type WindowShape } from './windows.js';

/** The learning rate a transmission fit takes by default (its parameters are O(1) fields, not MLP weights). */
export const TRANSMISSION_LEARNING_RATE = 2e-2;

const FORMAT = 'transmission-surrogate/1';

/** The saved form of a {@link TransmissionSurrogate} (plain JSON). */
export interface TransmissionJSON {
  format: typeof FORMAT;
  inChannels: number;
  outChannels: number;
  seed: number;
  /** Whether σy, b and T were set from data (NarxJSON's word for "fitted at least once"). */
  normalized: boolean;
  yStd: number[];
  /** Re and Im of T, [inChannels * outChannels] row-major; c (re, im) and b, [outChannels]; ω. */
  tr: number[];
  ti: number[];
  cr: number[];
  ci: number[];
  b: number[];
  omega: number;
}

/** Options of {@link TransmissionSurrogate}. */
export interface TransmissionOptions {
  /** SLM pixels (drive channels). */
  inChannels: number;
  /** Camera pixels (response channels). */
  outChannels: number;
  /** Seed of the initial T. Defaults to 0. */
  seed?: number;
}

export class TransmissionSurrogate implements DeviceSurrogate {
  readonly shape: WindowShape;
  private readonly tr: tf.Variable<tf.Rank.R2>;
  private readonly ti: tf.Variable<tf.Rank.R2>;
  private readonly cr: tf.Variable<tf.Rank.R1>;
  private readonly cim: tf.Variable<tf.Rank.R1>;
  private readonly b: tf.Variable<tf.Rank.R1>;
  private readonly omega: tf.Variable<tf.Rank.R0>;
  private yStd: Float32Array;
  private initialised = false;
  private disposed = false;
  private readonly seed: number;

  constructor(opts: TransmissionOptions) {
    this.shape = checkWindowShape({ inChannels: opts.inChannels, outChannels: opts.outChannels, window: 1, responseLags: 0 });
    this.seed = checkSeed(opts.seed ?? 0);
    const { inChannels: ci, outChannels: co } = this.shape;
    const v = <R extends tf.Rank>(t: tf.Tensor<R>): tf.Variable<R> => { const x = tf.variable(t, true); t.dispose(); return x; };
    this.tr = v(tf.zeros([ci, co]) as tf.Tensor2D);
    this.ti = v(tf.zeros([ci, co]) as tf.Tensor2D);
    this.cr = v(tf.zeros([co]) as tf.Tensor1D);
    this.cim = v(tf.zeros([co]) as tf.Tensor1D);
    this.b = v(tf.zeros([co]) as tf.Tensor1D);
    this.omega = v(tf.scalar(Math.PI / 2));
    this.yStd = new Float32Array(co).fill(1);
  }

  /** The trainable variables. */
  get variables(): tf.Variable[] {
    return [this.tr, this.ti, this.cr, this.cim, this.b, this.omega];
  }

  /** ŷ [T, outChannels] for drives [T, inChannels] (ctx is not needed: the medium has no memory). The caller disposes it. */
  predictSeq(drives: tf.Tensor2D): tf.Tensor2D {
    this.live();
    this.checkDrives(drives);
    return tf.tidy(() => this.forward(drives.toFloat()).y);
  }

  /** dy · ∂ŷ/∂a in closed form (module comment). @returns [T, inChannels] */
  vjpSeq(drives: tf.Tensor2D, dy: tf.Tensor2D): tf.Tensor2D {
    this.live();
    const t = this.checkDrives(drives);
    if (dy.rank !== 2 || dy.shape[0] !== t || dy.shape[1] !== this.shape.outChannels) {
      throw new RangeError(`dy must be [${t}, ${this.shape.outChannels}], got [${dy.shape.join(', ')}]`);
    }
    return tf.tidy(() => {
      const { re, im, c, s } = this.forward(drives.toFloat());
      const gR = tf.mul(tf.mul(dy.toFloat(), re), 2), gI = tf.mul(tf.mul(dy.toFloat(), im), 2);
      const gC = tf.add(tf.matMul(gR, this.tr, false, true), tf.matMul(gI, this.ti, false, true));
      const gS = tf.sub(tf.matMul(gI, this.tr, false, true), tf.matMul(gR, this.ti, false, true));
      return tf.mul(tf.sub(tf.mul(gS, c), tf.mul(gC, s)), this.omega) as tf.Tensor2D;
    });
  }

  /** Adam on the normalised MSE (module comment). Examples must have window 1 and no lags. @returns the last epoch's mean loss */
  fit(examples: Examples, opts: FitOptions = {}): number {
    const steps = this.fitSteps(examples, opts);
    for (let r = steps.next(); ; r = steps.next()) if (r.done) return r.value;
  }

  /**
   * {@link fit} one Adam step at a time, yielding after each (the refit scheduler runs it in
   * slices between device events); run to the end it is fit. `return()` it to stop early: its
   * optimizer and tensors are released either way.
   */
  *fitSteps(examples: Examples, opts: FitOptions = {}): Generator<void, number> {
    this.live();
    const n = this.checkExamples(examples);
    if (n === 0) throw new RangeError('fit needs at least one example');
    const epochs = opts.epochs ?? 30, batchSize = opts.batchSize ?? 100, lr = opts.learningRate ?? TRANSMISSION_LEARNING_RATE;
    if (!Number.isInteger(epochs) || epochs < 0) throw new RangeError(`epochs must be an integer >= 0, got ${String(epochs)}`);
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${String(batchSize)}`);
    if (!(lr > 0 && Number.isFinite(lr))) throw new RangeError(`learningRate must be positive, got ${String(lr)}`);
    if (!this.initialised || opts.renormalize) this.initialise(examples);
    const { inChannels: ci, outChannels: co } = this.shape;
    const x = tf.tensor2d(examples.drives.subarray(0, n * ci), [n, ci]);
    const y = tf.tensor2d(examples.targets.subarray(0, n * co), [n, co]);
    const inv = tf.tensor1d(this.yStd.map((v) => 1 / v));
    const optimizer: tf.Optimizer = tf.train.adam(lr);
    const rng = new Rng(checkSeed(opts.seed ?? 0)).fork('shuffle');
    const order = Int32Array.from({ length: n }, (_, i) => i);
    let last = NaN;
    try {
      for (let e = 0; e < epochs; e++) {
        for (let i = n - 1; i > 0; i--) { const j = rng.int(i + 1); const t = order[i]; order[i] = order[j]; order[j] = t; }
        let sum = 0;
        for (let s = 0; s < n; s += batchSize) {
          const idx = order.subarray(s, Math.min(n, s + batchSize));
          const loss = tf.tidy(() => {
            const ib = tf.tensor1d(idx, 'int32');
            const xb = tf.gather(x, ib) as tf.Tensor2D, yb = tf.gather(y, ib);
            const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(tf.mul(tf.sub(this.forward(xb).y, yb), inv))) as tf.Scalar, this.variables);
            optimizer.applyGradients(grads);
            return value;
          });
          sum += loss.dataSync()[0] * idx.length;
          loss.dispose();
          yield;
        }
        last = sum / n;
      }
    } finally {
      optimizer.dispose();
      x.dispose(); y.dispose(); inv.dispose();
    }
    return last;
  }

  /** Mean over channels of MSE / Var(target) on `examples` (as NarxSurrogate.evaluate). */
  evaluate(examples: Examples): number {
    const n = this.checkExamples(examples);
    const co = this.shape.outChannels;
    const p = tf.tidy(() => this.forward(tf.tensor2d(examples.drives, [n, this.shape.inChannels])).y.dataSync());
    const { se, ss } = channelErrors(p, examples.targets.subarray(0, n * co), co);
    let total = 0;
    for (let c = 0; c < co; c++) total += se[c] / ss[c];
    return total / co;
  }

  toJSON(): TransmissionJSON {
    this.live();
    const a = (t: tf.Tensor): number[] => Array.from(t.dataSync());
    const { inChannels, outChannels } = this.shape;
    return {
      format: FORMAT, inChannels, outChannels, seed: this.seed, normalized: this.initialised, yStd: Array.from(this.yStd),
      tr: a(this.tr), ti: a(this.ti), cr: a(this.cr), ci: a(this.cim), b: a(this.b), omega: this.omega.dataSync()[0],
    };
  }

  /** Rebuilds a surrogate from {@link toJSON} output; every field is checked (a file is untrusted input). */
  static fromJSON(json: unknown): TransmissionSurrogate {
    const j = json as Partial<TransmissionJSON> | null;
    if (j === null || typeof j !== 'object' || j.format !== FORMAT) throw new TypeError(`not a ${FORMAT} object`);
    const int = (v: unknown, name: string, hi: number): number => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > hi) throw new RangeError(`${FORMAT}: ${name} must be an integer in [1, ${hi}], got ${String(v)}`);
      return v;
    };
    const ci = int(j.inChannels, 'inChannels', 4096), co = int(j.outChannels, 'outChannels', 4096);
    const arr = (v: unknown, name: string, n: number): Float32Array => {
      if (!Array.isArray(v) || v.length !== n) throw new RangeError(`${FORMAT}: ${name} must be an array of ${n} numbers`);
      if (!v.every((x) => typeof x === 'number' && Number.isFinite(x))) throw new RangeError(`${FORMAT}: ${name} holds a value that is not a finite number`);
      return Float32Array.from(v as number[]);
    };
    if (typeof j.normalized !== 'boolean') throw new RangeError(`${FORMAT}: normalized must be true or false`);
    if (typeof j.omega !== 'number' || !Number.isFinite(j.omega)) throw new RangeError(`${FORMAT}: omega must be a finite number`);
    const yStd = arr(j.yStd, 'yStd', co);
    if (!yStd.every((v) => v > 0)) throw new RangeError(`${FORMAT}: yStd must be positive`);
    const s = new TransmissionSurrogate({ inChannels: ci, outChannels: co, seed: checkSeed(j.seed ?? 0) });
    try {
      const [tr, ti, cr, cim, b] = [arr(j.tr, 'tr', ci * co), arr(j.ti, 'ti', ci * co), arr(j.cr, 'cr', co), arr(j.ci, 'ci', co), arr(j.b, 'b', co)];
      tf.tidy(() => {
        s.tr.assign(tf.tensor2d(tr, [ci, co])); s.ti.assign(tf.tensor2d(ti, [ci, co]));
        s.cr.assign(tf.tensor1d(cr)); s.cim.assign(tf.tensor1d(cim)); s.b.assign(tf.tensor1d(b)); s.omega.assign(tf.scalar(j.omega!));
      });
      s.yStd = yStd;
      s.initialised = j.normalized;
      return s;
    } catch (e) {
      s.dispose();
      throw e;
    }
  }

  /** Releases the parameters; any later call throws. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of this.variables) v.dispose();
  }

  private forward(a: tf.Tensor2D): { re: tf.Tensor2D; im: tf.Tensor2D; c: tf.Tensor2D; s: tf.Tensor2D; y: tf.Tensor2D } {
    const phase = tf.mul(a, this.omega);
    const c = tf.cos(phase) as tf.Tensor2D, s = tf.sin(phase) as tf.Tensor2D;
    const re = tf.add(tf.sub(tf.matMul(c, this.tr), tf.matMul(s, this.ti)), this.cr) as tf.Tensor2D;
    const im = tf.add(tf.add(tf.matMul(c, this.ti), tf.matMul(s, this.tr)), this.cim) as tf.Tensor2D;
    return { re, im, c, s, y: tf.add(tf.add(tf.square(re), tf.square(im)), this.b) as tf.Tensor2D };
  }

  /** σy per channel, b at the channel minimum, T with E|E|² = mean(y) - min(y). */
  private initialise(ex: Examples): void {
    const { inChannels: ci, outChannels: co } = this.shape;
    const n = ex.count;
    const mean = new Float64Array(co), sq = new Float64Array(co), lo = new Float64Array(co).fill(Infinity);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < co; c++) {
        const v = ex.targets[i * co + c];
        mean[c] += v / n; sq[c] += (v * v) / n; lo[c] = Math.min(lo[c], v);
      }
    }
    this.yStd = Float32Array.from(mean, (m, c) => Math.max(Math.sqrt(Math.max(sq[c] - m * m, 0)), 1e-6));
    let signal = 0;
    for (let c = 0; c < co; c++) signal += (mean[c] - lo[c]) / co;
    const sigma = Math.sqrt(Math.max(signal, 1e-6) / (2 * ci));
    const rng = new Rng(this.seed).fork('transmission');
    const gauss = (): Float32Array => Float32Array.from({ length: ci * co }, () => sigma * rng.normal());
    tf.tidy(() => {
      this.tr.assign(tf.tensor2d(gauss(), [ci, co]));
      this.ti.assign(tf.tensor2d(gauss(), [ci, co]));
      this.b.assign(tf.tensor1d(Float32Array.from(lo)));
    });
    this.initialised = true;
  }

  private live(): void {
    if (this.disposed) throw new Error('TransmissionSurrogate is disposed');
  }

  private checkDrives(d: tf.Tensor2D): number {
    if (d.rank !== 2 || d.shape[1] !== this.shape.inChannels) throw new RangeError(`drives must be [T, ${this.shape.inChannels}], got [${d.shape.join(', ')}]`);
    return d.shape[0];
  }

  private checkExamples(ex: Examples): number {
    const { inChannels: ci, outChannels: co } = this.shape;
    const n = ex.count;
    if (!Number.isInteger(n) || n < 0 || ex.drives.length !== n * ci || ex.history.length !== 0 || ex.targets.length !== n * co) {
      throw new RangeError(`examples must have window 1, no response lags and channels ${ci}/${co}`);
    }
    return n;
  }
}
