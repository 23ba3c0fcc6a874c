import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../src/core/backend.js';
import { Rng } from '../../../src/core/rng.js';
import type { DeviceClient } from '../../../src/device/client.js';
import { TwinGradient } from '../../../src/train/twin-grad.js';
import { ChainModel } from '../../../src/train/chain/model.js';
import { deviceResponder } from '../../../src/train/chain/responders.js';
import { RowTwinGradient } from '../../../src/train/chain/row-twin.js';
import { chainGradients, trainChain, vjpSources } from '../../../src/train/chain/train.js';
import type { ModelSpec } from '../../../src/train/chain/spec-types.js';
import { blobs, openSim } from './helpers.js';

test.before(async () => {
  await selectBackend('wasm');
});

const OVERRIDES = { inChannels: 8, outChannels: 16 };
// the same device as both physical layers, each layer its own segments
const spec: ModelSpec = {
  layers: [
    { kind: 'digital', units: 8, activation: 'tanh' },
    { kind: 'physical', device: 'sim:optical' },
    { kind: 'digital', units: 8, activation: 'tanh' },
    { kind: 'physical', device: 'sim:optical' },
    { kind: 'readout', type: 'softmax' },
  ],
};

const maxAbs = (a: ArrayLike<number>): number => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i])); return m; };
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i])); return m; };

test("with each layer's twin as its surrogate, pat's gradients equal oracle's, through both physical layers", async () => {
  const dev = await openSim('optical', 2, OVERRIDES);
  try {
    const devices = { 'sim:optical': dev };
    const model = ChainModel.build(spec, { features: 5, classes: 3, devices: { 'sim:optical': dev.info }, seed: 4 });
    // pat's surrogates: twins built apart from the oracle's (from the device's model, default scaling)
    model.physical.forEach((p) => { p.surrogate = new TwinGradient({ model: dev.twin! }); });
    const rng = new Rng(5), rows = 20;
    const x = Float32Array.from({ length: rows * 5 }, () => rng.normal());
    const labels = Uint8Array.from({ length: rows }, () => rng.int(3));
    const pass = await model.run(x, rows, deviceResponder(devices), { calibrate: true });
    assert.is(pass.samples, 2 * rows);
    const pat = chainGradients(model, x, labels, pass, vjpSources('pat', model, devices));
    const oracle = chainGradients(model, x, labels, pass, vjpSources('oracle', model, devices));
    const rowsOracle = chainGradients(model, x, labels, pass, vjpSources('oracle', model, devices, 'rows'));
    assert.is(pat.loss, oracle.loss);
    assert.ok(maxAbs(pat.grads[0]) > 1e-4, 'the first layer gets a gradient through both devices');
    pat.grads.forEach((g, i) => {
      assert.ok(maxDiff(g, oracle.grads[i]) <= 1e-6 * Math.max(1, maxAbs(g)), `variable ${i}`);
      assert.ok(maxDiff(g, rowsOracle.grads[i]) <= 1e-5 * Math.max(1, maxAbs(g)), `variable ${i} (rows oracle)`);
    });
    model.dispose();
  } finally {
    await dev.close();
  }
});

test('the row-by-row twin VJP equals the segment one on memoryless optical, and refuses a twin with memory', async () => {
  const dev = await openSim('optical', 3, OVERRIDES);
  try {
    const rng = new Rng(6), T = 10;
    const d = Float32Array.from({ length: T * 8 }, () => rng.range(-1, 1));
    const dy = Float32Array.from({ length: T * 16 }, () => rng.normal());
    const a = new TwinGradient({ model: dev.twin!, scaling: dev.info }).vjp(d, dy);
    const b = new RowTwinGradient({ model: dev.twin!, scaling: dev.info }).vjp(d, dy);
    assert.ok(maxAbs(a) > 1e-3 && maxDiff(a, b) < 1e-6 * maxAbs(a), `${maxDiff(a, b)} of ${maxAbs(a)}`);
    const c = new RowTwinGradient({ model: dev.twin!, scaling: dev.info, method: 'fd' }).vjp(d, dy);
    assert.ok(maxDiff(a, c) < 1e-6 * maxAbs(a), `fd rows: ${maxDiff(a, c)} of ${maxAbs(a)}`);
  } finally {
    await dev.close();
  }
  const fb = await openSim('optical', 3, { ...OVERRIDES, feedback: 0.3 });
  try {
    assert.throws(() => new RowTwinGradient({ model: fb.twin!, scaling: fb.info }), (e: Error) => e instanceof RangeError && /the twin has memory/.test(e.message));
  } finally {
    await fb.close();
  }
});

test('pat with twins as surrogates trains exactly as oracle (same device noise: same seed), and tensors stay flat per step', async () => {
  const data = blobs({ features: 5, classes: 3, train: 200, test: 50, spread: 0.8, seed: 9 });
  const run = async (trainer: 'pat' | 'oracle'): Promise<{ w: Float32Array[]; acc: number; samples: number; tensors: number[] }> => {
    const dev = await openSim('optical', 2, OVERRIDES);
    try {
      const tensors: number[] = [];
      const r = await trainChain({
        trainer, spec, data, devices: { 'sim:optical': dev }, seed: 1, epochs: 1, batchSize: 20,
        surrogates: trainer === 'pat' ? [new TwinGradient({ model: dev.twin! }), new TwinGradient({ model: dev.twin! })] : undefined,
        onStep: () => tensors.push(tf.memory().numTensors),
      });
      const w = r.model.trainable().map((v) => Float32Array.from(v.dataSync()));
      r.model.dispose();
      return { w, acc: r.test.accuracy, samples: r.deviceSamples, tensors };
    } finally {
      await dev.close();
    }
  };
  const before = tf.memory().numTensors;
  const p = await run('pat'), o = await run('oracle');
  assert.is(p.tensors.length, 10);
  assert.equal(new Set(p.tensors.slice(1)).size, 1, `tensors per step: ${p.tensors.join(' ')}`);
  assert.is(tf.memory().numTensors, before, 'the disposed models leave no tensor behind');
  assert.is(p.samples, 10 * 20 * 2 + 50 * 2);
  assert.is(p.samples, o.samples);
  assert.is(p.acc, o.acc);
  p.w.forEach((w, i) => assert.ok(maxDiff(w, o.w[i]) <= 1e-5 * Math.max(1, maxAbs(w)), `variable ${i}: ${maxDiff(w, o.w[i])}`));
});

test.run();
