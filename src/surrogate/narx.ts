/**
 * A differentiable surrogate of a physical reservoir: a small NARX MLP fitted on observed
 * (drive, response) pairs, whose vector-Jacobian product stands in for the device's missing
 * derivative in the backward pass (see physical-layer.ts).
 *
 * Model, for each time step t (feature layout of windows.ts):
 *
 *     x(t)  = [d(t), d(t-1), …, d(t-W+1), y(t-1), …, y(t-R)]        raw features, F = W·in + R·out
 *     a_0   = (x(t) - μx) / σx                                        input normalisation
 *     a_i   = tanh(a_{i-1} W_i + b_i)        i = 1..H (H = 1 or 2)    hidden layers
 *     ŷ(t)  = (a_H W_o + b_o) ⊙ σy + μy                               linear output, de-normalised
 *
 * y(t-j) are the device's *measured* responses (teacher forcing): they are constants of the
 * prediction, so no gradient flows into them and backprop through time runs through the drive
 * window only.
 *
 * Normalisation: (μx, σx, μy, σy) are per-feature / per-channel mean and standard deviation,
 * computed by the first `fit` from its examples and frozen afterwards, so the weights learnt on
 * them stay valid across refits. `fit(…, { renormalize: true })` recomputes them from the new
 * examples and rescales the first and the output layer so that the function the surrogate
 * computes is unchanged by the switch (training then continues from the same function). A
 * feature with σ < 1e-6 gets σ = 1. Before any fit the normalisation is the identity.
 *
 * ```ts
 * const s = new NarxSurrogate({ inChannels: 1, outChannels: 4, window: 5, hidden: [64], seed: 1 });
 * s.fit(buffer.sample(4096, rng), { epochs: 20, seed: 2 });
 * const y = s.predictSeq(drives);            // [T, 4]
 * const g = s.vjpSeq(drives, dLdy);          // [T, 1] = dy·∂ŷ/∂d at these drives
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import { Rng, checkSeed } from '../core/rng.js';
import { channelErrors } from '../core/metrics.js';
import { checkWindowShape, rowLengths, type Examples, type WindowShape } from './windows.js';
import { NarxAdam, adamEpochs } from './adam-step.js';
import type { NarxJSON } from './narx-json.js';

/** Options of {@link NarxSurrogate}. */
export interface NarxOptions {
  /** Drive channels per step. */
  inChannels: number;
  /** Response channels per step. */
  outChannels: number;
  /** Drive window W ≥ 1. Defaults to 1. */
  window?: number;
  /** Measured-response lags R ≥ 0 (NARX inputs). Defaults to 0. */
  responseLags?: number;
  /** Sizes of the one or two tanh hidden layers. Defaults to [128]. */
  hidden?: number[];
  /** Seed of the Glorot-uniform initialisation. Defaults to 0. */
  seed?: number;
}

/**
 * What precedes and accompanies a drive sequence. Missing history is zero padding: the sequence
 * is predicted as if the device had been driven with 0 and had answered 0 before it.
 */
export interface SeqContext {
  /** The W-1 drives before the sequence, oldest first: [W-1, inChannels]. Defaults to zeros. */
  drives?: tf.Tensor2D;
  /** The R measured responses before the sequence, oldest first: [R, outChannels]. Defaults to zeros. */
  responses?: tf.Tensor2D;
  /**
   * The measured responses to this sequence, [T, outChannels]: row t feeds the response inputs of
   * rows t+1..t+R. Required when responseLags > 0 (the surrogate does not run closed-loop).
   */
  measured?: tf.Tensor2D;
  /**
   * vjpSeq: backpropagate through the response lags too, not only the drive window. The measured
   * response y(t-j) that step t reads is itself the device's answer to earlier drives; its
   * dependence on them is taken from the surrogate's own Jacobian at the measured point (an
   * adjoint sweep over the sequence, below), so a device whose memory lives in its state, not in
   * the drive window, gets a gradient along that memory. Defaults to false (the window only).
   */
  throughResponses?: boolean;
  /**
   * With throughResponses: the share of the adjoint passed back through each step of the response
   * lags, in [0, 1] (a lag of j steps passes responseDecay^j). 1 is the surrogate's whole Jacobian
   * along the state; 0 is the drive window only. Below 1 the gradient trusts the surrogate's state
   * Jacobian less the more steps it is chained over, where its errors compound. Defaults to 1.
   */
  responseDecay?: number;
}

/** What a VJP goes through (the SeqContext fields a trainer chooses, not the sequence's data). */
export type VjpPath = Pick<SeqContext, 'throughResponses' | 'responseDecay'>;

/** Options of {@link NarxSurrogate.fit}. */
export interface FitOptions {
  /** Passes over the examples. Defaults to 20. */
  epochs?: number;
  /** Examples per Adam step. Defaults to 64. */
  batchSize?: number;
  /** Adam learning rate. Defaults to 1e-3. */
  learningRate?: number;
  /** Seed of the shuffling. Defaults to 0. */
  seed?: number;
  /** Recompute the normalisation from these examples (function-preserving). Defaults to false. */
  renormalize?: boolean;
}

/** Anything whose VJP can stand in for a device's derivative (see physical-layer.ts). */
export interface DeviceSurrogate {
  vjpSeq(drives: tf.Tensor2D, dy: tf.Tensor2D, ctx?: SeqContext): tf.Tensor2D;
}

export type { NarxJSON } from './narx-json.js';

const FORMAT = 'narx-surrogate/1';
const MIN_STD = 1e-6;

export class NarxSurrogate implements DeviceSurrogate {
  readonly shape: WindowShape;
  readonly hidden: readonly number[];
  /** Raw feature count F = W·inChannels + R·outChannels. */
  readonly features: number;
  private readonly ws: tf.Variable<tf.Rank.R2>[] = [];
  private readonly bs: tf.Variable<tf.Rank.R1>[] = [];
  private xMean: Float32Array;
  private xStd: Float32Array;
  private yMean: Float32Array;
  private yStd: Float32Array;
  private normalized = false;
  private disposed = false;

  constructor(opts: NarxOptions) {
    this.shape = checkWindowShape({
      inChannels: opts.inChannels, outChannels: opts.outChannels, window: opts.window ?? 1, responseLags: opts.responseLags ?? 0,
    });
    const hidden = opts.hidden ?? [128];
    if (!Array.isArray(hidden) || hidden.length < 1 || hidden.length > 2 || !hidden.every((h) => Number.isInteger(h) && h >= 1 && h <= 65536)) {
      throw new RangeError(`hidden must be one or two layer sizes in [1, 65536], got ${JSON.stringify(hidden)}`);
    }
    this.hidden = [...hidden];
    const len = rowLengths(this.shape);
    this.features = len.drives + len.history;
    this.xMean = new Float32Array(this.features);
    this.xStd = new Float32Array(this.features).fill(1);
    this.yMean = new Float32Array(this.shape.outChannels);
    this.yStd = new Float32Array(this.shape.outChannels).fill(1);
    const rng = new Rng(checkSeed(opts.seed ?? 0)).fork('glorot');
    const sizes = [this.features, ...this.hidden, this.shape.outChannels];
    for (let i = 0; i + 1 < sizes.length; i++) {
      const fanIn = sizes[i], fanOut = sizes[i + 1];
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      const w = new Float32Array(fanIn * fanOut);
      for (let j = 0; j < w.length; j++) w[j] = rng.range(-limit, limit);
      // tf.variable copies its initial value; free the initial tensors or they outlive dispose().
      const w0 = tf.tensor2d(w, [fanIn, fanOut]);
      const b0 = tf.zeros([fanOut]) as tf.Tensor1D;
      this.ws.push(tf.variable(w0, true, undefined, 'float32'));
      this.bs.push(tf.variable(b0, true, undefined, 'float32'));
      w0.dispose();
      b0.dispose();
    }
  }

  /** The trainable variables, hidden layers first, weights then bias per layer. */
  get variables(): tf.Variable[] {
    return this.ws.flatMap((w, i) => [w, this.bs[i]]);
  }

  /** Predicted responses ŷ [T, outChannels] to `drives` [T, inChannels]. The caller disposes it. */
  predictSeq(drives: tf.Tensor2D, ctx?: SeqContext): tf.Tensor2D {
    this.live();
    return tf.tidy(() => this.denorm(this.mlp(this.norm(this.windows(drives, ctx))).out));
  }

  /**
   * dy·∂ŷ/∂d: the vector-Jacobian product of `predictSeq(drives, ctx)` with respect to `drives`,
   * in closed form (tf.grad cannot run inside a customGrad gradFunc). Back through the MLP by
   * hand, then the adjoint of the window building: lag k of step t was d(t-k), so its gradient
   * slice is added back to step t-k; lags that reach into `ctx.drives` are dropped (constants).
   * @param dy [T, outChannels]
   * @returns [T, inChannels], float32
   */
  vjpSeq(drives: tf.Tensor2D, dy: tf.Tensor2D, ctx?: SeqContext): tf.Tensor2D {
    this.live();
    const [t, ci] = [drives.shape[0], this.shape.inChannels];
    if (dy.rank !== 2 || dy.shape[0] !== t || dy.shape[1] !== this.shape.outChannels) {
      throw new RangeError(`dy must be [${t}, ${this.shape.outChannels}], got [${dy.shape.join(', ')}]`);
    }
    if (ctx?.throughResponses && this.shape.responseLags > 0) return this.vjpThroughResponses(drives, dy, ctx);
    return tf.tidy(() => {
      const { acts } = this.mlp(this.norm(this.windows(drives, ctx)));
      let g = tf.mul(dy.toFloat(), tf.tensor1d(this.yStd)) as tf.Tensor2D;   // ∂L/∂(normalised output)
      for (let i = this.ws.length - 1; i >= 0; i--) {
        g = tf.matMul(g, this.ws[i], false, true);                         // ∂L/∂a_i
        if (i > 0) g = tf.mul(g, tf.sub(1, tf.square(acts[i])));           // through tanh: 1 - a_i²
      }
      const gx: tf.Tensor2D = tf.div(g, tf.tensor1d(this.xStd));                      // ∂L/∂x (raw features)
      let gd: tf.Tensor2D = gx.slice([0, 0], [t, ci]);                     // lag 0 is d(t) itself
      for (let k = 1; k < this.shape.window && k < t; k++) {
        const lag = gx.slice([k, k * ci], [t - k, ci]);                    // rows t' ≥ k used d(t'-k)
        gd = tf.add(gd, tf.pad(lag, [[0, k], [0, 0]]));                    // scatter-add to row t'-k
      }
      return gd;
    });
  }

  /**
   * vjpSeq with SeqContext.throughResponses: the adjoint sweep of the teacher-forced model, with
   * B_t(u) the MLP's input gradient at step t's features for an output gradient u (linear in u):
   *
   *     λ(t) = dy(t) + Σ_{j=1..R} ρ^j [B_{t+j}(λ(t+j))]_{response lag j}      for t = T-1 … 0   (ρ = responseDecay)
   *     g(t) = Σ_{k=0..W-1} [B_{t+k}(λ(t+k))]_{drive lag k}
   *
   * The hidden activations come from one batched forward pass; the sweep itself is sequential
   * (λ(t) needs λ(t+1..t+R)), written in plain loops over Float32Arrays: (F + outChannels)
   * · hidden multiply-adds per step.
   */
  private vjpThroughResponses(drives: tf.Tensor2D, dy: tf.Tensor2D, ctx: SeqContext): tf.Tensor2D {
    const { inChannels: ci, outChannels: co, window: w, responseLags: r } = this.shape;
    const t = drives.shape[0], f = this.features;
    const decay = ctx.responseDecay ?? 1;
    if (!(decay >= 0 && decay <= 1)) throw new RangeError(`responseDecay must be in [0, 1], got ${String(ctx.responseDecay)}`);
    const acts = tf.tidy(() => this.mlp(this.norm(this.windows(drives, ctx))).acts.slice(1).map((a) => a.dataSync() as Float32Array));
    const ws = this.ws.map((v) => v.dataSync() as Float32Array);
    const sizes = [f, ...this.hidden, co];
    const lam = Float32Array.from(dy.dataSync());
    const g = new Float32Array(t * ci);
    const top = Math.max(...sizes);
    let cur = new Float32Array(top), next = new Float32Array(top);
    for (let s = t - 1; s >= 0; s--) {
      // ∂L/∂(normalised output) at step s, then back through the layers to the raw features.
      for (let c = 0; c < co; c++) cur[c] = lam[s * co + c] * this.yStd[c];
      for (let i = ws.length - 1; i >= 0; i--) {
        const fanIn = sizes[i], fanOut = sizes[i + 1], wi = ws[i];
        for (let a = 0; a < fanIn; a++) {
          let sum = 0;
          const row = a * fanOut;
          for (let b = 0; b < fanOut; b++) sum += wi[row + b] * cur[b];
          next[a] = sum;
        }
        if (i > 0) {
          const h = acts[i - 1], off = s * fanIn;
          for (let a = 0; a < fanIn; a++) next[a] *= 1 - h[off + a] * h[off + a];
        }
        [cur, next] = [next, cur];
      }
      for (let k = 0; k < w && s - k >= 0; k++) {
        for (let c = 0; c < ci; c++) g[(s - k) * ci + c] += cur[k * ci + c] / this.xStd[k * ci + c];
      }
      for (let j = 1, share = decay; j <= r && s - j >= 0; j++, share *= decay) {
        const off = w * ci + (j - 1) * co;
        if (share !== 0) for (let c = 0; c < co; c++) lam[(s - j) * co + c] += (share * cur[off + c]) / this.xStd[off + c];
      }
    }
    return tf.tensor2d(g, [t, ci]);
  }

  /**
   * Adam on the MSE in normalised output space over `examples`, through NarxAdam (adam-step.ts:
   * the backward pass written out, tested against tf.variableGrads). The first fit (or
   * `renormalize`) sets the normalisation first; see the module comment.
   * @returns the mean training loss (normalised MSE) of the last epoch; NaN if epochs = 0
   */
  fit(examples: Examples, opts: FitOptions = {}): number {
    this.live();
    const epochs = intOpt(opts.epochs, 20, 'epochs', 0);
    const batchSize = intOpt(opts.batchSize, 64, 'batchSize', 1);
    const lr = opts.learningRate ?? 1e-3;
    if (!(lr > 0 && Number.isFinite(lr))) throw new RangeError(`learningRate must be positive, got ${String(lr)}`);
    const n = this.checkExamples(examples);
    if (n === 0) throw new RangeError('fit needs at least one example');
    if (!this.normalized || opts.renormalize) this.setNormalization(examples);
    if (epochs === 0) return NaN;
    const adam = new NarxAdam(this, examples, lr);
    const steps = adamEpochs(adam, n, epochs, batchSize, checkSeed(opts.seed ?? 0));
    let r = steps.next();
    while (!r.done) r = steps.next();
    adam.store(this);
    return r.value;
  }

  /** Predictions [count, outChannels] for examples in the windows.ts layout. The caller disposes it. */
  predictExamples(examples: Examples): tf.Tensor2D {
    this.live();
    this.checkExamples(examples);
    return tf.tidy(() => this.denorm(this.mlp(this.norm(this.exampleFeatures(examples))).out));
  }

  /**
   * Normalised mean squared error: per channel c, NMSE_c = mean_t (ŷ_c - y_c)² / Var_t(y_c) with
   * the population variance of the targets of these examples; the result is the mean over channels.
   * 0 is perfect, 1 is as good as predicting each channel's mean. A constant channel gives
   * Infinity (NaN if predicted exactly). This is the surrogate's drift alarm on `buffer.newest(k)`.
   */
  evaluate(examples: Examples): number {
    const pred = this.predictExamples(examples);
    const p = pred.dataSync();
    pred.dispose();
    const co = this.shape.outChannels;
    const { se, ss } = channelErrors(p, examples.targets.subarray(0, examples.count * co), co);
    let total = 0;
    for (let c = 0; c < co; c++) total += se[c] / ss[c];
    return total / co;
  }

  /** Plain JSON of the architecture, normalisation and weights (float32 values round-trip exactly). */
  toJSON(): NarxJSON {
    this.live();
    return {
      format: FORMAT,
      ...this.shape,
      hidden: [...this.hidden],
      normalized: this.normalized,
      xMean: Array.from(this.xMean), xStd: Array.from(this.xStd), yMean: Array.from(this.yMean), yStd: Array.from(this.yStd),
      layers: this.ws.map((w, i) => ({ w: Array.from(w.dataSync()), b: Array.from(this.bs[i].dataSync()) })),
    };
  }

  /** Rebuilds a surrogate from {@link toJSON} output; every field is checked (a file is untrusted input). */
  static fromJSON(json: unknown): NarxSurrogate {
    const j = json as Partial<NarxJSON> | null;
    if (j === null || typeof j !== 'object' || j.format !== FORMAT) throw new TypeError(`not a ${FORMAT} object`);
    const s = new NarxSurrogate({
      inChannels: j.inChannels as number, outChannels: j.outChannels as number, window: j.window, responseLags: j.responseLags, hidden: j.hidden,
    });
    try {
      const vec = (v: unknown, n: number, name: string): Float32Array => {
        if (!Array.isArray(v) || v.length !== n || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
          throw new RangeError(`${name} must be ${n} finite numbers`);
        }
        return Float32Array.from(v as number[]);
      };
      s.xMean = vec(j.xMean, s.features, 'xMean');
      s.xStd = vec(j.xStd, s.features, 'xStd');
      s.yMean = vec(j.yMean, s.shape.outChannels, 'yMean');
      s.yStd = vec(j.yStd, s.shape.outChannels, 'yStd');
      if (![...s.xStd, ...s.yStd].every((x) => x > 0)) throw new RangeError('xStd and yStd must be positive');
      s.normalized = j.normalized === true;
      if (!Array.isArray(j.layers) || j.layers.length !== s.ws.length) throw new RangeError(`layers must hold ${s.ws.length} layers`);
      j.layers.forEach((l, i) => {
        const [fanIn, fanOut] = s.ws[i].shape as [number, number];
        tf.tidy(() => {
          s.ws[i].assign(tf.tensor2d(vec(l?.w, fanIn * fanOut, `layers[${i}].w`), [fanIn, fanOut]));
          s.bs[i].assign(tf.tensor1d(vec(l?.b, fanOut, `layers[${i}].b`)));
        });
      });
    } catch (e) {
      s.dispose();
      throw e;
    }
    return s;
  }

  /** Releases the weights; any later call throws. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of [...this.ws, ...this.bs]) v.dispose();
  }

  // ---- internals ----

  private live(): void {
    if (this.disposed) throw new Error('NarxSurrogate is disposed');
  }

  /** Raw features [T, F] of a drive sequence: lag k of row t is row t+W-1-k of [ctx.drives; drives]. */
  private windows(drives: tf.Tensor2D, ctx: SeqContext = {}): tf.Tensor2D {
    const { inChannels: ci, outChannels: co, window: w, responseLags: r } = this.shape;
    expectShape(drives, [-1, ci], 'drives');
    const t = drives.shape[0];
    const cols: tf.Tensor2D[] = [];
    const past = ctx.drives ? expectShape(ctx.drives, [w - 1, ci], 'ctx.drives') : tf.zeros([w - 1, ci]) as tf.Tensor2D;
    const d = w > 1 ? tf.concat([past.toFloat(), drives.toFloat()], 0) : drives.toFloat();
    for (let k = 0; k < w; k++) cols.push(d.slice([w - 1 - k, 0], [t, ci]));
    if (r > 0) {
      if (!ctx.measured) throw new RangeError(`ctx.measured [${t}, ${co}] is required when responseLags > 0`);
      const m = expectShape(ctx.measured, [t, co], 'ctx.measured');
      const before = ctx.responses ? expectShape(ctx.responses, [r, co], 'ctx.responses') : tf.zeros([r, co]) as tf.Tensor2D;
      const y = tf.concat([before.toFloat(), m.toFloat()], 0);
      for (let j = 1; j <= r; j++) cols.push(y.slice([r - j, 0], [t, co]));
    }
    return cols.length === 1 ? cols[0] : tf.concat(cols, 1);
  }

  private exampleFeatures(ex: Examples): tf.Tensor2D {
    const len = rowLengths(this.shape);
    const d = tf.tensor2d(ex.drives, [ex.count, len.drives]);
    return len.history === 0 ? d : tf.concat([d, tf.tensor2d(ex.history, [ex.count, len.history])], 1);
  }

  private norm(x: tf.Tensor2D): tf.Tensor2D {
    return tf.div(tf.sub(x, tf.tensor1d(this.xMean)), tf.tensor1d(this.xStd));
  }

  private denorm(y: tf.Tensor2D): tf.Tensor2D {
    return tf.add(tf.mul(y, tf.tensor1d(this.yStd)), tf.tensor1d(this.yMean));
  }

  /** a_0 = x; a_i = tanh(a_{i-1} W_i + b_i); out = a_H W_o + b_o. Returns every a_i and out. */
  private mlp(x: tf.Tensor2D): { acts: tf.Tensor2D[]; out: tf.Tensor2D } {
    const acts: tf.Tensor2D[] = [x];
    for (let i = 0; i + 1 < this.ws.length; i++) acts.push(tf.tanh(tf.add<tf.Tensor2D>(tf.matMul(acts[i], this.ws[i]), this.bs[i])));
    const o = this.ws.length - 1;
    return { acts, out: tf.add(tf.matMul(acts[o], this.ws[o]), this.bs[o]) };
  }

  private checkExamples(ex: Examples): number {
    const len = rowLengths(this.shape);
    const n = ex.count;
    if (!Number.isInteger(n) || n < 0 || ex.drives.length !== n * len.drives || ex.history.length !== n * len.history || ex.targets.length !== n * len.targets) {
      throw new RangeError(`examples do not match window ${this.shape.window}, responseLags ${this.shape.responseLags}, channels ${this.shape.inChannels}/${this.shape.outChannels}`);
    }
    return n;
  }

  /**
   * Sets (μx, σx, μy, σy) from `ex`. If a normalisation was already in use, the first layer and
   * the output layer are rescaled so the function is unchanged:
   *   W1' = diag(σx'/σx) W1,  b1' = b1 + ((μx' - μx)/σx) W1,
   *   Wo' = Wo diag(σy/σy'),  bo' = (bo ⊙ σy + μy - μy') / σy'.
   */
  private setNormalization(ex: Examples): void {
    const len = rowLengths(this.shape);
    const feats = (i: number, f: number): number => f < len.drives ? ex.drives[i * len.drives + f] : ex.history[i * len.history + f - len.drives];
    const stats = (n: number, dim: number, get: (i: number, f: number) => number): [Float32Array, Float32Array] => {
      const mean = new Float32Array(dim), std = new Float32Array(dim);
      for (let f = 0; f < dim; f++) {
        let m = 0;
        for (let i = 0; i < n; i++) m += get(i, f);
        m /= n;
        let v = 0;
        for (let i = 0; i < n; i++) v += (get(i, f) - m) ** 2;
        const sd = Math.sqrt(v / n);
        mean[f] = m;
        std[f] = sd < MIN_STD ? 1 : sd;
      }
      return [mean, std];
    };
    const co = this.shape.outChannels;
    const [xm, xs] = stats(ex.count, this.features, feats);
    const [ym, ys] = stats(ex.count, co, (i, c) => ex.targets[i * co + c]);
    if (this.normalized) {
      const o = this.ws.length - 1;
      tf.tidy(() => {
        const [oxm, oxs, oym, oys] = [this.xMean, this.xStd, this.yMean, this.yStd].map((a) => tf.tensor1d(a));
        const [nxm, nxs, nym, nys] = [xm, xs, ym, ys].map((a) => tf.tensor1d(a));
        const w1 = this.ws[0], b1 = this.bs[0], wo = this.ws[o], bo = this.bs[o];
        const shift = tf.div(tf.sub(nxm, oxm), oxs).reshape([1, -1]) as tf.Tensor2D;
        const b1n = tf.add<tf.Tensor1D>(b1, tf.matMul(shift, w1).reshape([-1]));
        const w1n = tf.mul<tf.Tensor2D>(w1, tf.div(nxs, oxs).reshape([-1, 1]));
        const won = tf.mul<tf.Tensor2D>(wo, tf.div(oys, nys));   // o ≥ 1: there is always a hidden layer
        const bon = tf.div<tf.Tensor1D>(tf.sub(tf.add(tf.mul(bo, oys), oym), nym), nys);
        w1.assign(w1n); b1.assign(b1n);
        wo.assign(won); bo.assign(bon);
      });
    }
    [this.xMean, this.xStd, this.yMean, this.yStd] = [xm, xs, ym, ys];
    this.normalized = true;
  }
}

function intOpt(v: number | undefined, dflt: number, name: string, min: number): number {
  const x = v ?? dflt;
  if (!Number.isInteger(x) || x < min) throw new RangeError(`${name} must be an integer ≥ ${min}, got ${String(v)}`);
  return x;
}

function expectShape<T extends tf.Tensor>(x: T, shape: number[], name: string): T {
  if (x.rank !== shape.length || shape.some((n, i) => n >= 0 && x.shape[i] !== n)) {
    throw new RangeError(`${name} must be [${shape.map((n) => (n < 0 ? 'T' : n)).join(', ')}], got [${x.shape.join(', ')}]`);
  }
  return x;
}

