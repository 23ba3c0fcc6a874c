import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../src/core/backend.js';
import { ChainModel } from '../../../src/train/chain/model.js';
import { deviceResponder, surrogateResponder } from '../../../src/train/chain/responders.js';
import { trainChain, type ChainTrainerName } from '../../../src/train/chain/train.js';
import type { ModelSpec } from '../../../src/train/chain/spec-types.js';
import { blobs, openSim } from './helpers.js';

test.before(async () => {
  await selectBackend('wasm');
});

const OVERRIDES = { inChannels: 8, outChannels: 16 };
const oneLayer = (surrogate: 'auto' | 'memoryless' | 'transmission'): ModelSpec => ({
  layers: [
    { kind: 'digital', units: 8, activation: 'tanh' },
    { kind: 'physical', device: 'sim:optical', surrogate },
    { kind: 'readout', type: 'softmax' },
  ],
});

test('save -> load -> predict gives the same predictions (noise-free device), and the surrogate comes back; tensors flat across refits', async () => {
  const dev = await openSim('optical', 2, { ...OVERRIDES, shotNoise: 0, readNoiseSigma: 0 });
  try {
    const data = blobs({ features: 6, classes: 3, train: 300, test: 100, spread: 0.8, seed: 4 });
    const devices = { 'sim:optical': dev };
    const tensors: number[] = [];
    const r = await trainChain({
      trainer: 'pat', spec: oneLayer('memoryless'), data, devices, seed: 2, epochs: 1, batchSize: 30, exploreRows: 400, refitEvery: 3,
      onStep: () => tensors.push(tf.memory().numTensors),
    });
    assert.is(tensors.length, 10);
    assert.equal(new Set(tensors.slice(1)).size, 1, `tensors per step (refits after steps 3, 6, 9): ${tensors.join(' ')}`);
    const json = JSON.parse(JSON.stringify(r.model.toJSON()));
    const back = ChainModel.fromJSON(json);
    const respond = deviceResponder(devices);
    const a = await r.model.predict(data.test.x, data.test.count, respond);
    const b = await back.predict(data.test.x, data.test.count, respond);
    assert.equal(Array.from(b.probabilities), Array.from(a.probabilities));
    assert.is(a.samples, data.test.count);
    // the surrogate path too: the layer's surrogate was saved and predicts the same
    const sa = await r.model.predict(data.test.x, data.test.count, surrogateResponder());
    const sb = await back.predict(data.test.x, data.test.count, surrogateResponder());
    assert.equal(Array.from(sb.probabilities), Array.from(sa.probabilities));
    assert.is(back.physical[0].design, 'memoryless');
    r.model.dispose();
    back.dispose();
    try {
      ChainModel.fromJSON({ ...json, layers: json.layers.slice(1) });
      assert.unreachable();
    } catch (e) {
      assert.ok(e instanceof RangeError && /layers must hold 3 entries/.test(e.message), String(e));
    }
  } finally {
    await dev.close();
  }
});

test('pat on a synthetic task through a small sim:optical beats classic, reaches 85 %, on the same budget counted exactly', async () => {
  const data = blobs({ features: 10, classes: 4, train: 1500, test: 400, spread: 1.2, seed: 11 });
  const results: Record<string, { acc: number; samples: number; steps: number }> = {};
  let budget: number | undefined;
  for (const trainer of ['pat', 'classic', 'digital'] as ChainTrainerName[]) {
    const dev = await openSim('optical', 2, OVERRIDES);
    let seen = 0;
    const counted = { ...dev, info: dev.info, maxBatch: dev.maxBatch, process: (x: Parameters<typeof dev.process>[0]) => { seen += (x as ArrayLike<number>).length / dev.info.inChannels; return dev.process(x); }, resetState: () => dev.resetState() };
    try {
      const r = await trainChain({ trainer, spec: oneLayer('auto'), data, devices: { 'sim:optical': counted as typeof dev }, seed: 1, epochs: 3, batchSize: 32, learningRate: 1e-2, exploreRows: 1000, budget });
      results[trainer] = { acc: r.test.accuracy, samples: r.deviceSamples, steps: r.steps };
      assert.is(r.deviceSamples, seen, `${trainer}: every sample counted`);
      if (trainer === 'pat') {
        budget = r.deviceSamples;
        assert.is(r.surrogates[0].design, 'transmission', JSON.stringify(r.surrogates));
        assert.is(r.samples.explore, 1000);
      }
      r.model.dispose();
    } finally {
      await dev.close();
    }
  }
  const msg = JSON.stringify(results);
  assert.ok(results.pat.acc >= 0.85, msg);
  assert.ok(results.pat.acc > results.classic.acc + 0.05, msg);
  assert.ok(results.classic.samples <= budget!, msg);
  assert.is(results.digital.samples, 0);
});

test('insilico spends its budget on exploration, trains on the surrogates alone and is measured through the device', async () => {
  const data = blobs({ features: 10, classes: 4, train: 600, test: 200, spread: 1.2, seed: 11 });
  const dev = await openSim('optical', 2, OVERRIDES);
  try {
    const r = await trainChain({ trainer: 'insilico', spec: oneLayer('transmission'), data, devices: { 'sim:optical': dev }, seed: 1, epochs: 3, batchSize: 32, learningRate: 1e-2, budget: 1700 });
    assert.equal(r.samples, { explore: 1500, train: 0, evaluate: 200 });
    assert.is(r.deviceSamples, 1700);
    assert.is(r.surrogates[0].design, 'transmission');
    assert.ok(r.test.accuracy > 0.5, `${r.test.accuracy}`);
    r.model.dispose();
  } finally {
    await dev.close();
  }
});

test('bad options are refused by name', async () => {
  const data = blobs({ features: 6, classes: 3, train: 30, test: 10, spread: 1, seed: 1 });
  const refuses = async (o: Record<string, unknown>, re: RegExp): Promise<void> => {
    try {
      await trainChain({ trainer: 'digital', spec: oneLayer('auto'), data, devices: {}, seed: 1, ...o } as never);
      assert.unreachable();
    } catch (e) { assert.ok(e instanceof RangeError && re.test(e.message), String(e)); }
  };
  await refuses({ trainer: 'sgd' }, /^trainer: unknown chain trainer 'sgd'/);
  await refuses({ batchSize: 0 }, /^batchSize must be an integer >= 1/);
  await refuses({ data: { ...data, train: { ...data.train, labels: new Uint8Array(30).fill(7) } } }, /^data\.train\.labels\[0\] = 7/);
  await refuses({ trainer: 'pat', devices: {} }, /^layers\[1\]\.device: no device 'sim:optical' was opened/);
  const unused = { 'sim:optical': { info: { inChannels: 8, outChannels: 16 } } };
  await refuses({ trainer: 'pat', spec: oneLayer('narx' as never), devices: unused }, /^surrogate: 'narx' needs a time axis/);
  await refuses({ trainer: 'pat', spec: oneLayer('state' as never), devices: unused }, /^surrogate: 'state' needs a time axis/);
  await refuses({ trainer: 'classic', budget: 5, devices: unused }, /^budget 5 is below the 10 samples the test evaluation takes/);
});

test.run();
