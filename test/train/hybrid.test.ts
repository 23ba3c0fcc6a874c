import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { openDevice } from '../../src/device/index.js';
import { selectBackend } from '../../src/core/backend.js';
import {
  RidgeReadout, TappedDense, drivesFromDeviceUnits, fromDeviceUnits, inputNorm, measure, tapFeatures, toDeviceUnits,
} from '../../src/train/hybrid.js';
import { RidgeAccumulator } from '../../src/train/ridge.js';
import { train } from '../../src/train/train.js';

test.before(async () => {
  await selectBackend('wasm');
});

test('toDeviceUnits maps [-1, 1] onto the input range, rounded and clipped for integer formats', () => {
  const u16 = { inFormat: 'u16' as const, inMin: 0, inMax: 4095 };
  assert.equal(Array.from(toDeviceUnits([-1, 0, 1, -2, 3, 0.0003, -0.9998], u16)), [0, 2048, 4095, 0, 4095, 2048, 0]);
  const i16 = { inFormat: 'i16' as const, inMin: -32768, inMax: 32767 };
  assert.equal(Array.from(toDeviceUnits([-1, 0, 1, 0.5], i16)), [-32768, 0, 32767, 16383]);
  const f32 = { inFormat: 'f32' as const, inMin: -2, inMax: 2 };
  assert.equal(Array.from(toDeviceUnits([-1, 0.25, 1, 5], f32)), [-2, 0.5, 2, 2]);
  for (const v of toDeviceUnits(Float32Array.from({ length: 200 }, (_, i) => -1.2 + i * 0.012), u16)) {
    assert.ok(Number.isInteger(v) && v >= 0 && v <= 4095);
  }
  assert.throws(() => toDeviceUnits([NaN], u16), /drive 0/);
  // Round trip up to half a code.
  const a = Float32Array.from([-0.7, -0.1, 0.33, 0.9]);
  const back = drivesFromDeviceUnits(toDeviceUnits(a, u16), u16);
  a.forEach((x, i) => assert.ok(Math.abs(back[i] - x) <= 1 / 4095 + 1e-7));
});

test('fromDeviceUnits scales responses to [0, 1] by outMin/outMax', () => {
  assert.equal(Array.from(fromDeviceUnits([0, 4095, 2047.5], { outMin: 0, outMax: 4095 })), [0, 1, 0.5]);
  assert.equal(Array.from(fromDeviceUnits([-32767, 32767, 0], { outMin: -32767, outMax: 32767 })), [0, 1, 0.5]);
  assert.throws(() => fromDeviceUnits([1], { outMin: 3, outMax: 3 }), /empty/);
});

test('tapped features and the input layer have the documented shapes and values', () => {
  const u = Float64Array.from([1, 2, 3, 4, 5]);
  const norm = inputNorm(u, 1);
  assert.equal(norm.shift, [3]);
  const f = tapFeatures(u, 1, 3, { shift: [0], scale: [1] }, 1, 3);
  assert.equal(Array.from(f), [2, 1, 0, 3, 2, 1, 4, 3, 2]);
  const two = tapFeatures(Float64Array.from([1, 10, 2, 20]), 2, 2, { shift: [0, 0], scale: [1, 10] }, 0, 2);
  assert.equal(Array.from(two), [1, 1, 0, 0, 2, 2, 1, 1]);
  assert.throws(() => tapFeatures(u, 1, 3, norm, 4, 2), /outside/);
  const before = tf.memory().numTensors;
  const layer = new TappedDense({ inChannels: 1, taps: 20, units: 1, seed: 3, norm });
  assert.equal(layer.W.shape, [20, 1]);
  assert.equal(layer.b.shape, [1]);
  const a = layer.run(Float64Array.from({ length: 100 }, (_, i) => Math.sin(i)), 0, 100);
  assert.is(a.length, 100);
  assert.ok(a.every((x) => x > -1 && x < 1));
  // Seeded init: the same seed gives the same weights, another seed different ones.
  const same = new TappedDense({ inChannels: 1, taps: 20, units: 1, seed: 3, norm });
  const other = new TappedDense({ inChannels: 1, taps: 20, units: 1, seed: 4, norm });
  assert.equal(same.toJSON().W, layer.toJSON().W);
  assert.not.equal(other.toJSON().W, layer.toJSON().W);
  for (const l of [layer, same, other]) l.dispose();
  assert.is(tf.memory().numTensors, before);
});

test('measure resets, keeps batches in order and returns scaled responses of one epoch', async () => {
  const dev = await openDevice('sim:analog', { seed: 5 });
  const a = Float32Array.from({ length: 1500 }, (_, i) => Math.sin(i / 7));   // > 2 batches of 655
  const m = await measure(dev, a);
  const again = await measure(dev, a);
  await dev.close();
  assert.is(m.samples, 1500);
  assert.is(m.responses.length, 1500 * 50);
  assert.ok(m.responses.every((y) => y >= 0 && y <= 1));
  assert.ok(again.epoch !== m.epoch);
  a.forEach((x, i) => assert.ok(Math.abs(m.drives[i] - x) <= 1 / 4095 + 1e-6));
  // Same drives from a reset: the same responses up to the simulator's 2-LSB noise.
  let maxDiff = 0;
  for (let i = 0; i < m.responses.length; i++) maxDiff = Math.max(maxDiff, Math.abs(m.responses[i] - again.responses[i]));
  assert.ok(maxDiff < 20 / 4095, `max difference ${maxDiff}`);
});

test('the readout only ever receives device responses (never the task input)', async () => {
  const added: { features: number; X: Float64Array }[] = [];
  class Spy extends RidgeAccumulator {
    override add(X: ArrayLike<number>, Y: ArrayLike<number>): this {
      added.push({ features: this.features, X: Float64Array.from(X) });
      return super.add(X, Y);
    }
  }
  const dev = await openDevice('sim:analog', { seed: 2 });
  const res = await train({
    task: 'narma10', device: dev, trainer: 'pat', seed: 2, episodes: 2, steps: 100, washout: 30, trainSteps: 600, fitSteps: 200, testSteps: 100,
    surrogate: { fitExamples: 128, hidden: [8], firstEpochs: 2, refitEpochs: 1 },
    readout: { accumulator: (f, o) => new Spy(f, o) },
  });
  await dev.close();
  assert.ok(added.length >= 3);
  for (const a of added) {
    assert.is(a.features, 50);                                            // the device's outChannels, no input column
    assert.ok(a.X.every((x) => x >= 0 && x <= 1));                         // scaled responses
  }
  assert.is(res.model.readout.features, 50);
  // Structurally: RidgeReadout's fitting methods take response rows and targets only.
  const r = new RidgeReadout(3, 1);
  assert.throws(() => r.fitSplit({ X: [1, 2], Y: [1] }));
});

test.run();
