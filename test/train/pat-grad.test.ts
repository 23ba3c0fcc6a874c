import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/core/rng.js';
import { NarxSurrogate } from '../../src/surrogate/narx.js';
import { physicalLayer } from '../../src/surrogate/physical-layer.js';
import { cutWindows } from '../../src/surrogate/windows.js';
import { TappedDense } from '../../src/train/hybrid.js';

test.before(async () => {
  await tf.setBackend('cpu');
});

test('the gradient into the input layer is the chain rule: readout, surrogate VJP, then the input layer VJP', () => {
  const rng = new Rng(7);
  const T = 12, washout = 3, co = 4, taps = 3;
  const u = Float64Array.from({ length: T }, () => rng.range(0, 0.5));
  const layer = new TappedDense({ inChannels: 1, taps, units: 1, seed: 9, gain: 1.5, norm: { shift: [0.25], scale: [0.15] } });
  const s = new NarxSurrogate({ inChannels: 1, outChannels: co, window: 2, responseLags: 1, hidden: [6], seed: 4 });
  const d0 = Float32Array.from({ length: 60 }, () => rng.range(-1, 1)), y0 = Float32Array.from({ length: 240 }, () => rng.uniform());
  s.fit(cutWindows(s.shape, d0, y0), { epochs: 1, seed: 1 });
  const measured = tf.tensor2d(Float32Array.from({ length: T * co }, () => rng.uniform()), [T, co]);
  const W = tf.tensor2d(Float32Array.from({ length: co }, () => rng.normal()), [co, 1]), b = tf.tensor1d([0.1]);
  const target = tf.tensor2d(Float32Array.from({ length: T - washout }, () => rng.uniform()), [T - washout, 1]);
  const x = layer.features2d(u, 0, T);
  const n = T - washout;
  const { value, grads } = tf.variableGrads(() => {
    const y = physicalLayer(s, measured)(layer.apply(x)).slice([washout, 0], [n, co]);
    return tf.mean(tf.squaredDifference(tf.add(tf.matMul(y, W), b), target)) as tf.Scalar;
  }, layer.variables);
  // By hand, in float64 where it matters.
  const a = layer.run(u, 0, T);
  const m = measured.arraySync(), w = W.dataSync(), tg = target.dataSync();
  const dy = new Float32Array(T * co);                        // dL/dr, zero on the washout rows
  let loss = 0;
  for (let t = 0; t < n; t++) {
    let pred = 0.1;
    for (let c = 0; c < co; c++) pred += m[washout + t][c] * w[c];
    const r = pred - tg[t];
    loss += r * r / n;
    for (let c = 0; c < co; c++) dy[(washout + t) * co + c] = (2 * r / n) * w[c];
  }
  const gdT = tf.tidy(() => s.vjpSeq(tf.tensor2d(a, [T, 1]), tf.tensor2d(dy, [T, co]), { measured }));
  const gd = gdT.dataSync();
  const feats = x.dataSync();
  const gW = new Float64Array(taps);
  let gb = 0;
  for (let t = 0; t < T; t++) {
    const gz = gd[t] * (1 - a[t] * a[t]);                     // through tanh
    gb += gz;
    for (let k = 0; k < taps; k++) gW[k] += feats[t * taps + k] * gz;
  }
  assert.ok(Math.abs(value.dataSync()[0] - loss) < 1e-6 * Math.max(1, loss));
  const got = grads[layer.W.name].dataSync();
  const scale = Math.max(...Array.from(gW, Math.abs), Math.abs(gb));
  assert.ok(scale > 1e-5, `degenerate case: gradient scale ${scale}`);
  for (let k = 0; k < taps; k++) assert.ok(Math.abs(got[k] - gW[k]) <= 1e-5 * scale + 1e-9, `W[${k}]: ${got[k]} vs ${gW[k]}`);
  assert.ok(Math.abs(grads[layer.b.name].dataSync()[0] - gb) <= 1e-5 * scale + 1e-9);
  tf.dispose([value, ...Object.values(grads), gdT, measured, W, b, target, x]);
  layer.dispose();
  s.dispose();
});

test.run();
