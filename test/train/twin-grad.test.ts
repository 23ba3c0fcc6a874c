import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { openDevice } from '../../src/device/index.js';
import { createModel } from '../../src/sim/profiles.js';
import { Rng } from '../../src/core/rng.js';
import { NarxSurrogate } from '../../src/surrogate/narx.js';
import { cutWindows } from '../../src/surrogate/windows.js';
import { selectBackend } from '../../src/core/backend.js';
import { measure } from '../../src/train/hybrid.js';
import { TwinGradient, bruteForceTwinVjp, twinMismatch, twinModelFor } from '../../src/train/twin-grad.js';
import { cosineSimilarity } from '../../src/train/vjp-check.js';

test.before(async () => {
  await selectBackend('wasm');
});

const smooth = (rng: Rng, T: number, ci: number): Float64Array => {
  const a = new Float64Array(T * ci);
  let x = 0;
  for (let i = 0; i < a.length; i++) { x = 0.7 * x + 0.5 * rng.normal(); a[i] = Math.tanh(x); }
  return a;
};

test('twin VJP (adjoint over analytic or FD step Jacobians) equals the brute-force VJP of the whole episode map on tiny episodes', () => {
  const rng = new Rng(5);
  for (const method of ['analytic', 'fd'] as const) for (const [profile, lat] of [['analog', 0], ['fpga', 0], ['analog', 2], ['optical-feedback', 0]] as const) {
    const model = createModel(profile, lat ? { latencySamples: lat } : {}, 3);
    const o = new TwinGradient({ model, method });
    assert.is(o.latency, lat);
    const T = 12, ci = o.inChannels, co = o.outChannels;
    const a = smooth(rng, T, ci);
    const dy = Float64Array.from({ length: T * co }, () => rng.normal());
    const g = o.vjp(a, dy), bf = bruteForceTwinVjp(o, a, dy);
    const scale = Math.max(...Array.from(bf, Math.abs));
    assert.ok(scale > 1e-6, `${profile}: degenerate`);
    for (let i = 0; i < g.length; i++) assert.ok(Math.abs(g[i] - bf[i]) <= 1e-5 * scale, `${method} ${profile} [${i}]: ${g[i]} vs ${bf[i]}`);
    if (lat) for (let i = (T - lat) * ci; i < T * ci; i++) assert.is(g[i], 0);
  }
});

test('the twin matches the device (analog: noise and quantization only) and openDevice hands the simulator\'s model over as its twin (a real device has none)', async () => {
  const dev = await openDevice('sim:analog', { seed: 7 });
  try {
    const model = twinModelFor(dev, {});
    const o = new TwinGradient({ model, scaling: dev.info });
    const a = Float32Array.from(smooth(new Rng(1), 300, 1));
    const m = await measure(dev, a);
    const mis = twinMismatch(o, m.drives, m.responses);
    assert.ok(mis < 0.01, `mismatch ${mis}`);
    // A different seed is a different mask: clearly not the device.
    const other = new TwinGradient({ model: createModel('analog', {}, 8) });
    assert.ok(twinMismatch(other, m.drives, m.responses) > 0.3);
  } finally {
    await dev.close();
  }
  assert.throws(() => twinModelFor(undefined, {}), /simulated device/);
  assert.throws(() => twinModelFor({ twin: undefined }), /real device has no twin/);
});

test('a well-fitted surrogate VJP points the same way as the twin VJP (cosine near 1)', () => {
  const model = createModel('analog', { noiseSigma: 0 }, 2);
  const o = new TwinGradient({ model });
  const rng = new Rng(3);
  const T = 3000, co = o.outChannels;
  const a = smooth(rng, T, 1);
  const r = o.respond(a);
  const s = new NarxSurrogate({ inChannels: 1, outChannels: co, window: 12, responseLags: 0, hidden: [64], seed: 1 });
  try {
    s.fit(cutWindows(s.shape, Float32Array.from(a), Float32Array.from(r)), { epochs: 30, learningRate: 3e-3, seed: 1 });
    const Te = 200, ae = smooth(rng, Te, 1), re = o.respond(ae);
    const dy = Float64Array.from({ length: Te * co }, (_, i) => (i < 50 * co ? 0 : rng.normal()));
    const gs = tf.tidy(() => s.vjpSeq(tf.tensor2d(Float32Array.from(ae), [Te, 1]), tf.tensor2d(Float32Array.from(dy), [Te, co]),
      { measured: tf.tensor2d(Float32Array.from(re), [Te, co]) }));
    const cos = cosineSimilarity(gs.dataSync(), o.vjp(ae, dy));
    gs.dispose();
    console.log(`    surrogate vs twin VJP cosine ${cos.toFixed(4)}`);
    assert.ok(cos > 0.9, `cosine ${cos}`);
  } finally {
    s.dispose();
  }
});

test.run();
