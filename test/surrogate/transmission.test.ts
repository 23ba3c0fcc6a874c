import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { openDevice } from '../../src/device/index.js';
import { Rng } from '../../src/core/rng.js';
import { TransmissionSurrogate } from '../../src/surrogate/transmission.js';
import { cutWindows } from '../../src/surrogate/windows.js';
import { selectBackend } from '../../src/core/backend.js';
import { measure } from '../../src/train/hybrid.js';
import { fitJSONInSlices } from '../../src/surrogate/refit.js';
import { surrogateFromJSON } from '../../src/surrogate/saved.js';

/** Random drives and intensity-like targets, 3 in / 4 out. */
function examples(n: number, seed: number) {
  const rng = new Rng(seed);
  return { count: n, drives: Float32Array.from({ length: n * 3 }, () => rng.range(-1, 1)), history: new Float32Array(0), targets: Float32Array.from({ length: n * 4 }, () => rng.uniform()) };
}

test.before(async () => {
  await selectBackend('wasm');
});

test('VJP equals tf.grad of dy · predictSeq, shape and dtype included, and no tensor leaks', () => {
  const ci = 5, co = 7, T = 9;
  const s = new TransmissionSurrogate({ inChannels: ci, outChannels: co, seed: 3 });
  const rng = new Rng(2);
  const ex = { count: 40, drives: Float32Array.from({ length: 40 * ci }, () => rng.range(-1, 1)), history: new Float32Array(0), targets: Float32Array.from({ length: 40 * co }, () => rng.uniform()) };
  s.fit(ex, { epochs: 1 }); // initialises T, b, σy (else T = 0 and every gradient vanishes)
  const d = tf.tensor2d(Float32Array.from({ length: T * ci }, () => rng.range(-1, 1)), [T, ci]);
  const dy = tf.tensor2d(Float32Array.from({ length: T * co }, () => rng.normal()), [T, co]);
  const before = tf.memory().numTensors;
  const g = s.vjpSeq(d, dy);
  assert.equal(g.shape, [T, ci]);
  assert.is(g.dtype, 'float32');
  const ref = tf.grad((x) => tf.sum(tf.mul(s.predictSeq(x as tf.Tensor2D), dy)))(d);
  const a = g.dataSync(), b = ref.dataSync();
  const scale = Math.max(...Array.from(b, Math.abs));
  assert.ok(scale > 1e-3);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-4 * scale, `[${i}] ${a[i]} vs ${b[i]}`);
  g.dispose(); ref.dispose();
  assert.is(tf.memory().numTensors, before);
  d.dispose(); dy.dispose(); s.dispose();
});

test('fitted from (drive, response) pairs of sim:optical alone, it predicts held-out speckle', async () => {
  const dev = await openDevice('sim:optical', { seed: 5 });
  try {
    const rng = new Rng(8);
    const seg = async (T: number) => measure(dev, Float32Array.from({ length: T * 64 }, () => rng.range(-1, 1)));
    const train = await seg(1500), held = await seg(300);
    const s = new TransmissionSurrogate({ inChannels: 64, outChannels: 128, seed: 1 });
    s.fit(cutWindows(s.shape, train.drives, train.responses), { epochs: 20, seed: 2 });
    const e = s.evaluate(cutWindows(s.shape, held.drives, held.responses));
    assert.ok(e < 0.1, `held-out NMSE ${e}`); // the default NARX surrogate: 0.6 on optical (issue 11)
    s.dispose();
  } finally {
    await dev.close();
  }
});

test('toJSON -> fromJSON predicts the same; a damaged field is refused by name', () => {
  const s = new TransmissionSurrogate({ inChannels: 3, outChannels: 4, seed: 1 });
  s.fit(examples(50, 1), { epochs: 3 });
  const j = JSON.parse(JSON.stringify(s.toJSON()));
  const t = surrogateFromJSON(j) as TransmissionSurrogate;
  const d = tf.tensor2d(examples(5, 2).drives, [5, 3]);
  const a = s.predictSeq(d), b = t.predictSeq(d);
  assert.equal(Array.from(b.dataSync()), Array.from(a.dataSync()));
  assert.equal(t.toJSON(), j);
  tf.dispose([a, b, d]);
  for (const [field, value, why] of [['tr', [1, 2], /tr must be an array of 12 numbers/], ['yStd', [1, 1, 0, 1], /yStd must be positive/], ['omega', 'x', /omega must be a finite number/], ['ci', [0, 0, NaN, 0], /ci holds a value that is not a finite number/]] as const) {
    assert.throws(() => surrogateFromJSON({ ...j, [field]: value }), why as RegExp, field);
  }
  assert.throws(() => surrogateFromJSON({ format: 'x' }), /not a saved surrogate: format "x"/);
  s.dispose(); t.dispose();
});

test('a fit in slices from its JSON gives the fit in place, weights for weights', async () => {
  const inPlace = new TransmissionSurrogate({ inChannels: 3, outChannels: 4, seed: 2 });
  const start = inPlace.toJSON();
  const ex = examples(120, 3);
  const opts = { epochs: 3, batchSize: 16, learningRate: 0.02, seed: 5 };
  inPlace.fit(ex, opts);
  const before = tf.memory().numTensors;
  const sliced = await fitJSONInSlices(start, ex, { ...opts, sliceMs: 0 });
  assert.is(tf.memory().numTensors, before);
  assert.equal(sliced, inPlace.toJSON());
  inPlace.dispose();
});

test.run();
