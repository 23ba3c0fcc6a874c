/**
 * Adam steps on a NarxSurrogate's normalised-output MSE (the loss of NarxSurrogate.fit), with
 * the backward pass written out and Adam run on plain arrays. What it saves over tf.variableGrads
 * and tf.train.adam, per step of a refit (batch 64, the default 51 -> 64 -> 50 surrogate, wasm):
 * - the weight gradients aᵀg and gWᵀ as an explicit transpose and a plain matMul, which the wasm
 *   backend runs on XNNPACK, where a transposed matMul (what autodiff of matMul asks for) falls
 *   back to a naive loop about 3x slower;
 * - Adam's dozen tensor ops per variable, replaced by one loop over the ~7,000 weights;
 * - the tape, and normalising every batch: the examples are normalised once.
 * The model is the one narx.ts documents: a_0 = (x - μx)/σx, a_i = tanh(a_{i-1} W_i + b_i),
 * output a_H W_o + b_o in normalised units; the loss mean((out - (y - μy)/σy)²). Adam is
 * tf.train.adam's: β1 0.9, β2 0.999, ε the backend's epsilon, bias-corrected.
 *
 * The weights live here, in plain arrays, from a surrogate or its JSON (normalised already) to
 * {@link store} or {@link toJSON}: between steps it holds no tensor.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng, checkSeed } from '../core/rng.js';
import type { NarxJSON } from './narx-json.js';
import { rowLengths, type Examples, type WindowShape } from './windows.js';

const BETA1 = 0.9, BETA2 = 0.999;

export class NarxAdam {
  /** Normalised features [count, F] and targets [count, outChannels] of the examples. */
  private readonly x: Float32Array;
  private readonly y: Float32Array;
  private readonly sizes: number[];
  /** Per layer (hidden layers, then output): weights [fanIn * fanOut], biases [fanOut], and their Adam moments. */
  private readonly params: { w: Float32Array; b: Float32Array; mw: Float32Array; vw: Float32Array; mb: Float32Array; vb: Float32Array }[];
  private readonly eps: number;
  private t = 0;

  /** Takes the normalisation (set it first) and weights of a surrogate or of its JSON. */
  constructor(from: { toJSON(): NarxJSON } | NarxJSON, examples: Examples, private readonly learningRate: number) {
    const j = 'format' in from ? from : from.toJSON();
    const shape: WindowShape = j, len = rowLengths(shape), f = len.drives + len.history, co = j.outChannels, n = examples.count;
    this.sizes = [f, ...j.hidden, co];
    if (j.layers.length !== this.sizes.length - 1) throw new RangeError('NarxAdam: the surrogate\'s layers do not match its hidden sizes');
    if (examples.drives.length !== n * len.drives || examples.history.length !== n * len.history || examples.targets.length !== n * co) {
      throw new RangeError('NarxAdam: the examples do not match the surrogate\'s window shape');
    }
    this.params = j.layers.map((l) => ({
      w: Float32Array.from(l.w), b: Float32Array.from(l.b),
      mw: new Float32Array(l.w.length), vw: new Float32Array(l.w.length), mb: new Float32Array(l.b.length), vb: new Float32Array(l.b.length),
    }));
    this.x = new Float32Array(n * f);
    this.y = new Float32Array(n * co);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < f; k++) {
        const v = k < len.drives ? examples.drives[i * len.drives + k] : examples.history[i * len.history + k - len.drives];
        this.x[i * f + k] = (v - j.xMean[k]) / j.xStd[k];
      }
      for (let c = 0; c < co; c++) this.y[i * co + c] = (examples.targets[i * co + c] - j.yMean[c]) / j.yStd[c];
    }
    this.eps = tf.backend().epsilon();
  }

  /**
   * One Adam step on the examples `rows` (indices into the examples).
   * @returns the batch's mean loss (normalised MSE)
   */
  step(rows: Int32Array): number {
    const f = this.sizes[0], co = this.sizes[this.sizes.length - 1], n = rows.length;
    const xb = new Float32Array(n * f), yb = new Float32Array(n * co);
    rows.forEach((r, i) => {
      xb.set(this.x.subarray(r * f, (r + 1) * f), i * f);
      yb.set(this.y.subarray(r * co, (r + 1) * co), i * co);
    });
    const out = tf.tidy(() => {
      const ws = this.params.map((p, i) => tf.tensor2d(p.w, [this.sizes[i], this.sizes[i + 1]]));
      const bs = this.params.map((p) => tf.tensor1d(p.b));
      const acts: tf.Tensor2D[] = [tf.tensor2d(xb, [n, f])];
      const last = ws.length - 1;
      for (let i = 0; i < last; i++) acts.push(tf.tanh(tf.add<tf.Tensor2D>(tf.matMul(acts[i], ws[i]), bs[i])));
      const diff = tf.sub(tf.add(tf.matMul(acts[last], ws[last]), bs[last]), tf.tensor2d(yb, [n, co]));
      const loss = tf.mean(tf.square(diff));
      // d loss / d out = 2 diff / (n co); then back through the layers, gradients of the weights as aᵀ g.
      let g: tf.Tensor2D = tf.mul(diff, 2 / (n * co));
      const grads: tf.Tensor[] = [];
      for (let i = last; i >= 0; i--) {
        if (i < last) g = tf.mul(g, tf.sub(1, tf.square(acts[i + 1])));   // through tanh: 1 - a²
        grads[2 * i] = tf.matMul(tf.transpose(acts[i]), g);
        grads[2 * i + 1] = tf.sum(g, 0);
        if (i > 0) g = tf.matMul(g, tf.transpose(ws[i]));
      }
      return [loss, ...grads];
    });
    const values = out.map((t) => t.dataSync() as Float32Array);
    tf.dispose(out);
    this.t++;
    const c1 = 1 - BETA1 ** this.t, c2 = 1 - BETA2 ** this.t;
    this.params.forEach((p, i) => {
      adam(p.w, p.mw, p.vw, values[1 + 2 * i], this.learningRate, c1, c2, this.eps);
      adam(p.b, p.mb, p.vb, values[2 + 2 * i], this.learningRate, c1, c2, this.eps);
    });
    return values[0][0];
  }

  /** Writes the weights into `surrogate` (the one they came from, or one of the same architecture). */
  store(surrogate: { readonly variables: tf.Variable[] }): void {
    const vars = surrogate.variables;
    tf.tidy(() => this.params.forEach((p, i) => {
      vars[2 * i].assign(tf.tensor2d(p.w, [this.sizes[i], this.sizes[i + 1]]));
      vars[2 * i + 1].assign(tf.tensor1d(p.b));
    }));
  }

  /** `start` (the JSON the weights came from) with the weights now. */
  toJSON(start: NarxJSON): NarxJSON {
    return { ...start, layers: this.params.map((p) => ({ w: Array.from(p.w), b: Array.from(p.b) })) };
  }
}

function adam(w: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, lr: number, c1: number, c2: number, eps: number): void {
  for (let k = 0; k < w.length; k++) {
    const mk = BETA1 * m[k] + (1 - BETA1) * g[k], vk = BETA2 * v[k] + (1 - BETA2) * g[k] * g[k];
    m[k] = mk;
    v[k] = vk;
    w[k] -= (lr * (mk / c1)) / (Math.sqrt(vk / c2) + eps);
  }
}

/**
 * `epochs` shuffled passes of Adam steps over the examples (batches of `batchSize`): the one fit
 * loop, run straight through by NarxSurrogate.fit and in slices by refit.ts. It yields after
 * every step so a caller can pause there; its return value is the last epoch's mean loss.
 */
export function* adamEpochs(adam: NarxAdam, n: number, epochs: number, batchSize: number, seed: number): Generator<void, number> {
  const rng = new Rng(checkSeed(seed)).fork('shuffle');
  const order = new Int32Array(n).map((_, i) => i);
  let last = NaN;
  for (let e = 0; e < epochs; e++) {
    for (let i = n - 1; i > 0; i--) { const j = rng.int(i + 1); const x = order[i]; order[i] = order[j]; order[j] = x; }
    let sum = 0;
    for (let s = 0; s < n; s += batchSize) {
      const batch = order.subarray(s, Math.min(n, s + batchSize));
      sum += adam.step(batch) * batch.length;
      yield;
    }
    last = sum / n;
  }
  return last;
}
