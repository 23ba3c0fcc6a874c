import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { DeviceClient } from '../../src/device/client.js';
import { openDevice } from '../../src/device/index.js';
import { openSimLink } from '../../src/sim/serve.js';
import { nmse } from '../../src/tasks/index.js';
import { ModelError, ModelStream, applyModel, checkModelDevice, loadModel } from '../../src/train/apply.js';
import { selectBackend } from '../../src/core/backend.js';
import { resolve, type TrainResult } from '../../src/train/common.js';
import { RidgeReadout, TappedDense, inputNorm, measure } from '../../src/train/hybrid.js';
import { train } from '../../src/train/train.js';

let pat: TrainResult & { deviceSpec: string };
let digital: TrainResult;
const testTask = resolve({ task: 'narma10', trainer: 'pat', seed: 1 }).test;
const WASHOUT = 50;

test.before(async () => {
  await selectBackend('wasm');
  const device = await openDevice('sim:analog', { seed: 1 });
  try {
    pat = { ...(await train({ task: 'narma10', trainer: 'pat', episodes: 2, seed: 1, device })), deviceSpec: 'sim:analog' };
  } finally {
    await device.close();
  }
  digital = await train({ task: 'narma10', trainer: 'digital', episodes: 2, seed: 1 });
});

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;
const afterWashout = (a: Float64Array, out = 1) => a.subarray(WASHOUT * out);

test('TappedDense.fromJSON and RidgeReadout.fromJSON round-trip exactly and name every bad field', () => {
  const norm = inputNorm(Float64Array.from([0.1, 0.4, 0.2, 0.3, 0.05, 0.45]), 2);
  const layer = new TappedDense({ inChannels: 2, taps: 3, units: 4, seed: 7, norm });
  const json = clone(layer.toJSON());
  const back = TappedDense.fromJSON(json);
  assert.equal(back.toJSON(), layer.toJSON());
  const u = Float64Array.from({ length: 40 }, (_, i) => Math.sin(i));
  assert.equal(Array.from(back.run(u, 0, 20)), Array.from(layer.run(u, 0, 20)));
  back.dispose();
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ format: 'x' }, /not a tapped-dense\/1/],
    [{ taps: 0 }, /taps must be a positive integer, got 0/],
    [{ units: 'four' }, /units must be a positive integer/],
    [{ norm: null }, /norm must be an object/],
    [{ norm: { shift: [0], scale: [1, 1] } }, /norm\.shift must hold 2 numbers, got 1/],
    [{ norm: { shift: [0, 0], scale: [1, 0] } }, /norm\.scale must be positive/],
    [{ W: json.W.slice(1) }, /W must hold 24 numbers, got 23/],
    [{ b: [0, 0, null, 0] }, /b\[2\] must be a finite number, got null/],
  ];
  for (const [patch, re] of bad) assert.throws(() => TappedDense.fromJSON({ ...clone(json), ...patch }), re);

  const readout = RidgeReadout.fromJSON(clone(pat.model.readout));
  assert.equal(readout.toJSON(), pat.model.readout);
  assert.is(readout.lambda, pat.model.readout.lambda);
  const r = clone(pat.model.readout);
  for (const [patch, re] of [
    [{ format: 'ridge-readout/2' }, /not a ridge-readout\/1/],
    [{ features: -1 }, /features must be a positive integer/],
    [{ lambda: null }, /lambda must be a finite number >= 0, got null/],
    [{ W: r.W.slice(0, 10) }, /W must hold 50 numbers, got 10/],
    [{ b: ['x'] }, /b\[0\] must be a finite number, got "x"/],
  ] as [Record<string, unknown>, RegExp][]) assert.throws(() => RidgeReadout.fromJSON({ ...r, ...patch }), re);
});

test('applyModel in chunks gives exactly what one measure() of the whole test sequence and the readout give', async () => {
  const model = loadModel(clone(pat));
  assert.is(model.washout, WASHOUT);
  assert.is(model.taps, 20);
  const steps = testTask.steps;

  const direct = await openDevice('sim:analog', { seed: 1 });
  const layer = TappedDense.fromJSON(pat.model.inputLayer);
  const readout = RidgeReadout.fromJSON(pat.model.readout);
  const m = await measure(direct, layer.run(testTask.inputs, 0, steps));
  const expected = readout.predict(m.responses);
  await direct.close();
  layer.dispose();

  // Chunks of 333 do not align with the device's batches nor with the taps: the stream must
  // carry tap history and reservoir state across them.
  const device = await openDevice('sim:analog', { seed: 1 });
  const applied = await applyModel(model, testTask.inputs, { device, chunk: 333 });
  await device.close();
  assert.is(applied.steps, steps);
  assert.is(applied.washout, WASHOUT);
  assert.is(applied.breaks, 0);
  assert.is(applied.samples, steps);
  assert.equal(Array.from(applied.predictions), Array.from(expected));
  const target = afterWashout(testTask.targets);
  const got = nmse(afterWashout(applied.predictions), target);
  assert.is(got, nmse(afterWashout(expected), target));
  // Same model, same kind of noise: the score is that of training's test, not a fresh fit's.
  assert.ok(Number.isFinite(got) && got < 1.5 * pat.test.value + 0.05, `applied ${got}, trained ${pat.test.value}`);
  model.dispose();
});

test('a digital model needs no device; the washout option only changes what is flagged', async () => {
  const model = loadModel(clone(digital));
  assert.ok(model.digital);
  const a = await applyModel(model, testTask.inputs, { washout: 7 });
  assert.is(a.washout, 7);
  assert.is(a.samples, 0);
  const layer = TappedDense.fromJSON(digital.model.inputLayer);
  const expected = RidgeReadout.fromJSON(digital.model.readout).predict(layer.run(testTask.inputs, 0, testTask.steps));
  layer.dispose();
  assert.equal(Array.from(a.predictions), Array.from(expected));
  model.dispose();
});

test('after a state break the stream resets, washes in with its recent drives, and carries on', async () => {
  const model = loadModel(clone(pat));
  // The simulated board reboots every 3 batches of 100: each push of 100 steps is one batch,
  // so breaks recur, and each recovery replays the last 50 drives before re-sending the chunk.
  const { link } = openSimLink('analog', { seed: 1, device: { maxBatch: 100, faults: { resetAfterBatches: 3 } } });
  const device = await DeviceClient.connect(link);
  const stream = await ModelStream.open(model, { device, maxRetries: 5 });
  const preds: number[] = [];
  for (let s = 0; s < testTask.steps; s += 100) preds.push(...await stream.push(testTask.inputs.subarray(s, Math.min(s + 100, testTask.steps))));
  await device.close();
  assert.ok(stream.breaks >= 3, `breaks ${stream.breaks}`);
  assert.ok(stream.samples > testTask.steps);
  const got = nmse(afterWashout(Float64Array.from(preds)), afterWashout(testTask.targets));
  assert.ok(got < 1.5 * pat.test.value + 0.1, `with breaks ${got}, trained ${pat.test.value}`);
  model.dispose();
});

test('loadModel names the bad field; a device of another shape is refused; non-finite input is refused', async () => {
  const bad: [(j: Record<string, any>) => void, RegExp][] = [
    [(j) => { j.trainer = 'magic'; }, /trainer must be one of pat, classic, digital/],
    [(j) => { delete j.task; }, /task must be an object/],
    [(j) => { j.task.washout = -1; }, /task\.washout must be an integer >= 0/],
    [(j) => { delete j.model; }, /model must be an object/],
    [(j) => { j.device = null; }, /device must be an object/],
    [(j) => { j.model.inputLayer.W.pop(); }, /model\.inputLayer: W must hold 20 numbers, got 19/],
    [(j) => { j.model.readout.b = []; }, /model\.readout: b must hold 1 numbers, got 0/],
    [(j) => { j.model.readout.features = 49; j.model.readout.W.pop(); }, /model\.readout\.features \(49\) must equal device\.outChannels \(50\)/],
    [(j) => { j.model.surrogate.layers = []; }, /model\.surrogate: layers must hold/],
    [(j) => { j.seed = -2; }, /seed must be an integer >= 0/],
  ];
  for (const [edit, re] of bad) {
    const j = clone(pat) as unknown as Record<string, any>;
    edit(j);
    assert.throws(() => loadModel(j), (e: Error) => e instanceof ModelError && re.test(e.message), String(re));
  }
  assert.throws(() => loadModel([1, 2]), /JSON object/);
  const before = tf.memory().numTensors;
  assert.throws(() => loadModel({ ...clone(pat), model: { ...clone(pat.model), readout: null } }), (e: Error) => e instanceof ModelError && /model\.readout: not a ridge-readout/.test(e.message));
  assert.is(tf.memory().numTensors, before, 'a refused file leaves no tensors behind');

  const model = loadModel(clone(pat));
  const fpga = await openDevice('sim:fpga', { seed: 1 });
  try {
    await ModelStream.open(model, { device: fpga });
    assert.unreachable('opened on a device of another shape');
  } catch (e) {
    assert.instance(e, ModelError);
    assert.match((e as Error).message, /needs a device with 1 input and 50 output channels \(trained on reservoir-hil sim-analog\); reservoir-hil sim-fpga has 1 and 100/);
  }
  await fpga.close();
  const other = await openDevice('sim:analog', { seed: 2 });
  assert.equal(checkModelDevice(model, other.info), ['device serial is "SIM-00000002", the model was trained on "SIM-00000001"']);
  const stream = await ModelStream.open(model, { device: other });
  try {
    await stream.push([0.1, NaN]);
    assert.unreachable('accepted NaN');
  } catch (e) {
    assert.match((e as Error).message, /row 1, channel 0 is NaN/);
  }
  await other.close();
  try {
    await ModelStream.open(model, {});
    assert.unreachable('opened without a device');
  } catch (e) {
    assert.match((e as Error).message, /pat model is applied through a device/);
  }
  model.dispose();
});

test.run();
