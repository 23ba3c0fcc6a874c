/**
 * Two small classifiers in plain JS for the tests of the classification data: a linear softmax
 * (logits = W x + b) and a one-hidden-layer tanh network, trained by minibatch Adam on softmax
 * cross-entropy. They exist only to measure what a linear model and a nonlinear one reach on a
 * data set; the product's trainers are tfjs chains elsewhere.
 */
import { Rng } from '../../src/core/rng.js';
import type { ClassSet, ClassSplit } from '../../src/tasks/classes.js';

export interface TinyNetOptions {
  /** Hidden tanh units; 0 is the linear softmax classifier. */
  hidden: number;
  epochs: number;
  batch?: number;
  lr?: number;
  seed: number;
}

/** Trains on `data.train` and returns the test logits (count x classes, row-major). */
export function trainTinyNet(data: ClassSet, opts: TinyNetOptions): { testLogits: Float64Array; trainLogits: Float64Array } {
  const { features: D, classes: C } = data;
  const H = opts.hidden;
  const batch = opts.batch ?? 32;
  const lr = opts.lr ?? 0.01;
  const rng = new Rng(opts.seed);
  const inner = H > 0 ? H : D; // the readout's input width
  // Parameters in one array so that one Adam loop updates them all.
  const sizes = H > 0 ? [H * D, H, C * H, C] : [C * D, C];
  const total = sizes.reduce((a, b) => a + b, 0);
  const p = new Float64Array(total);
  const offsets: number[] = [];
  let at = 0;
  for (const s of sizes) { offsets.push(at); at += s; }
  const [w1o, b1o, w2o, b2o] = H > 0 ? offsets : [-1, -1, offsets[0], offsets[1]];
  if (H > 0) for (let i = 0; i < H * D; i++) p[w1o + i] = rng.normal() / Math.sqrt(D);
  for (let i = 0; i < C * inner; i++) p[w2o + i] = rng.normal() / Math.sqrt(inner) * 0.1;
  const g = new Float64Array(total);
  const m = new Float64Array(total);
  const v = new Float64Array(total);
  let t = 0;

  const h = new Float64Array(inner);
  const z = new Float64Array(C);
  const dh = new Float64Array(inner);
  const forward = (x: Float32Array, row: number): void => {
    const xo = row * D;
    if (H > 0) {
      for (let j = 0; j < H; j++) {
        let a = p[b1o + j];
        for (let i = 0; i < D; i++) a += p[w1o + j * D + i] * x[xo + i];
        h[j] = Math.tanh(a);
      }
    } else {
      for (let i = 0; i < D; i++) h[i] = x[xo + i];
    }
    for (let c = 0; c < C; c++) {
      let s = p[b2o + c];
      for (let j = 0; j < inner; j++) s += p[w2o + c * inner + j] * h[j];
      z[c] = s;
    }
  };

  const { x, labels, count } = data.train;
  const order = Int32Array.from({ length: count }, (_, i) => i);
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    for (let i = count - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (let start = 0; start < count; start += batch) {
      const end = Math.min(count, start + batch);
      g.fill(0);
      for (let k = start; k < end; k++) {
        const n = order[k];
        forward(x, n);
        let max = -Infinity;
        for (let c = 0; c < C; c++) max = Math.max(max, z[c]);
        let sum = 0;
        for (let c = 0; c < C; c++) { z[c] = Math.exp(z[c] - max); sum += z[c]; }
        dh.fill(0);
        for (let c = 0; c < C; c++) {
          const dz = (z[c] / sum - (c === labels[n] ? 1 : 0)) / (end - start);
          g[b2o + c] += dz;
          for (let j = 0; j < inner; j++) {
            g[w2o + c * inner + j] += dz * h[j];
            dh[j] += dz * p[w2o + c * inner + j];
          }
        }
        if (H > 0) {
          for (let j = 0; j < H; j++) {
            const da = dh[j] * (1 - h[j] * h[j]);
            g[b1o + j] += da;
            for (let i = 0; i < D; i++) g[w1o + j * D + i] += da * x[n * D + i];
          }
        }
      }
      t++;
      const c1 = 1 - 0.9 ** t;
      const c2 = 1 - 0.999 ** t;
      for (let i = 0; i < total; i++) {
        m[i] = 0.9 * m[i] + 0.1 * g[i];
        v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
        p[i] -= (lr * m[i] / c1) / (Math.sqrt(v[i] / c2) + 1e-8);
      }
    }
  }
  const logitsOf = (split: ClassSplit): Float64Array => {
    const out = new Float64Array(split.count * C);
    for (let n = 0; n < split.count; n++) {
      forward(split.x, n);
      out.set(z, n * C);
    }
    return out;
  };
  return { testLogits: logitsOf(data.test), trainLogits: logitsOf(data.train) };
}
