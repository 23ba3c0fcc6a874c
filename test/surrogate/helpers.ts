import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/core/rng.js';
import { cutWindows, type Examples, type WindowShape } from '../../src/surrogate/windows.js';

/** A [rows, cols] tensor of N(mean, sd) draws from `rng`. */
export function randn(rng: Rng, rows: number, cols: number, mean = 0, sd = 1): tf.Tensor2D {
  const a = new Float32Array(rows * cols);
  for (let i = 0; i < a.length; i++) a[i] = mean + sd * rng.normal();
  return tf.tensor2d(a, [rows, cols]);
}

/** Random examples of `shape` with non-trivial means and spreads, to give a surrogate a normalisation. */
export function randomExamples(shape: WindowShape, count: number, rng: Rng): Examples {
  const t = count + Math.max(shape.window - 1, shape.responseLags);
  const d = Float32Array.from({ length: t * shape.inChannels }, (_, i) => 0.3 + 0.7 * rng.normal() + 0.1 * (i % shape.inChannels));
  const y = Float32Array.from({ length: t * shape.outChannels }, (_, i) => -0.5 + 2 * rng.normal() + 0.2 * (i % shape.outChannels));
  return cutWindows(shape, d, y);
}

/** Max |a - b| and max |b| over two tensors. */
export function diff(a: tf.Tensor, b: tf.Tensor): { maxAbs: number; scale: number; relNorm: number } {
  const x = a.dataSync(), y = b.dataSync();
  let maxAbs = 0, scale = 0, num = 0, den = 0;
  for (let i = 0; i < x.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(x[i] - y[i]));
    scale = Math.max(scale, Math.abs(y[i]));
    num += (x[i] - y[i]) ** 2;
    den += y[i] ** 2;
  }
  return { maxAbs, scale, relNorm: Math.sqrt(num / den) };
}

/**
 * Central finite differences of dy·f(d) with respect to every element of d:
 * g_i = Σ dy ⊙ (f(d + eps e_i) - f(d - eps e_i)) / (2 eps), summed in float64.
 */
export function finiteDiffVjp(f: (d: tf.Tensor2D) => tf.Tensor2D, d: tf.Tensor2D, dy: tf.Tensor2D, eps: number): tf.Tensor2D {
  const base = Float32Array.from(d.dataSync()), w = dy.dataSync();
  const g = new Float32Array(base.length);
  const eval_ = (x: Float32Array): Float32Array => tf.tidy(() => f(tf.tensor2d(x, d.shape)).dataSync() as Float32Array);
  for (let i = 0; i < base.length; i++) {
    const p = base.slice(); p[i] += eps;
    const m = base.slice(); m[i] -= eps;
    const fp = eval_(p), fm = eval_(m);
    let s = 0;
    for (let j = 0; j < fp.length; j++) s += w[j] * (fp[j] - fm[j]);
    g[i] = s / (2 * eps);
  }
  return tf.tensor2d(g, d.shape);
}

/** Flat uniform drives in [-1, 1): [t * ch]. */
export function uniformDrives(rng: Rng, t: number, ch: number): Float32Array {
  return Float32Array.from({ length: t * ch }, () => rng.range(-1, 1));
}

/** y_c(t) = tanh(0.8 d_c(t) + 0.5 d_c(t-1)), with d(-1) = 0: a memory-1 system, one output per input channel. */
export function tanhMemory1(d: Float32Array, ch: number): Float32Array {
  const y = new Float32Array(d.length);
  for (let i = 0; i < d.length; i++) y[i] = Math.tanh(0.8 * d[i] + 0.5 * (i >= ch ? d[i - ch] : 0));
  return y;
}

/**
 * A small leaky echo-state network (ReservoirPy's form):
 *   s(t) = (1 - a) s(t-1) + a tanh(W s(t-1) + Win d(t) + b),   y(t) = C s(t)
 * W is Gaussian rescaled to spectral-norm-ish radius `rho` (via the row-sum bound), seeded.
 */
export class SmallEsn {
  readonly units: number;
  private readonly w: Float64Array;
  private readonly win: Float64Array;
  private readonly b: Float64Array;
  private readonly c: Float64Array;
  private readonly leak: number;
  constructor(readonly inCh: number, readonly outCh: number, opts: { units: number; leak: number; rho: number; seed: number }) {
    const rng = new Rng(opts.seed);
    const n = (this.units = opts.units);
    this.w = Float64Array.from({ length: n * n }, () => rng.normal());
    // Scale by the largest absolute row sum (an upper bound of the spectral radius): contraction guaranteed.
    let maxRow = 0;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += Math.abs(this.w[i * n + j]);
      maxRow = Math.max(maxRow, s);
    }
    for (let i = 0; i < n * n; i++) this.w[i] *= opts.rho / maxRow;
    this.win = Float64Array.from({ length: n * inCh }, () => rng.range(-1, 1));
    this.b = Float64Array.from({ length: n }, () => 0.2 * rng.normal());
    this.c = Float64Array.from({ length: outCh * n }, () => rng.normal() / Math.sqrt(n));
    this.leak = opts.leak;
  }

  /** Responses [t * outCh] to drives [t * inCh] from the zero state. */
  run(d: Float32Array): Float32Array {
    const n = this.units, t = d.length / this.inCh;
    let s = new Float64Array(n);
    const y = new Float32Array(t * this.outCh);
    for (let k = 0; k < t; k++) {
      const next = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let z = this.b[i];
        for (let j = 0; j < n; j++) z += this.w[i * n + j] * s[j];
        for (let j = 0; j < this.inCh; j++) z += this.win[i * this.inCh + j] * d[k * this.inCh + j];
        next[i] = (1 - this.leak) * s[i] + this.leak * Math.tanh(z);
      }
      s = next;
      for (let o = 0; o < this.outCh; o++) {
        let v = 0;
        for (let i = 0; i < n; i++) v += this.c[o * n + i] * s[i];
        y[k * this.outCh + o] = v;
      }
    }
    return y;
  }
}
