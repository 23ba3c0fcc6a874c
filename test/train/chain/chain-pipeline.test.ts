import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { selectBackend } from '../../../src/core/backend.js';
import type { DeviceClient } from '../../../src/device/client.js';
import { trainChain, type ChainTrainOptions, type ChainTrainResult } from '../../../src/train/chain/train.js';
import type { ModelSpec } from '../../../src/train/chain/spec-types.js';
import { blobs, openSim } from './helpers.js';

test.before(async () => {
  await selectBackend('wasm');
});

const OVERRIDES = { inChannels: 8, outChannels: 16 };
const two: ModelSpec = {
  layers: [
    { kind: 'digital', units: 8, activation: 'tanh' },
    { kind: 'physical', device: 'sim:optical', surrogate: 'transmission' },
    { kind: 'digital', units: 8, activation: 'tanh' },
    { kind: 'physical', device: 'sim:optical', surrogate: 'transmission' },
    { kind: 'readout', type: 'softmax' },
  ],
};
const one: ModelSpec = { layers: [two.layers[0], two.layers[1], two.layers[4]] };

interface Run { r: ChainTrainResult; losses: number[]; seen: number; json: string }

/** Trains on a fresh seeded simulator; `jitter` delays every result by a random few ms (Math.random: the timing differs run to run, the results must not). */
async function run(o: Omit<ChainTrainOptions, 'devices' | 'seed'>, jitter = false): Promise<Run> {
  const dev: DeviceClient = await openSim('optical', 3, OVERRIDES);
  let seen = 0;
  const wrapped = {
    info: dev.info, maxBatch: dev.maxBatch, twin: dev.twin, resetState: () => dev.resetState(),
    process: async (x: Parameters<typeof dev.process>[0]) => {
      seen += (x as ArrayLike<number>).length / dev.info.inChannels;
      const res = await dev.process(x);
      if (jitter) await new Promise((ok) => setTimeout(ok, Math.random() * 4));
      return res;
    },
  };
  const losses: number[] = [];
  try {
    const r = await trainChain({ ...o, devices: { 'sim:optical': wrapped as unknown as DeviceClient }, seed: 5, onStep: (s) => losses.push(s.loss) });
    const json = JSON.stringify(r.model.toJSON());
    r.model.dispose();
    return { r, losses, seen, json };
  } finally {
    await dev.close();
  }
}

test('pipelined pat on two physical layers: the same seed gives bit-identical results whatever the timing, the budget is respected and every sample counted', async () => {
  const data = blobs({ features: 6, classes: 3, train: 300, test: 100, spread: 0.8, seed: 4 });
  // explore 2 x 200 + test 2 x 100 + 20 steps x 2 x 20, and a little spare that buys no 21st step
  const budget = 400 + 200 + 20 * 40 + 30;
  const o = { trainer: 'pat' as const, spec: two, data, epochs: 2, batchSize: 20, learningRate: 1e-2, exploreRows: 200, refitEvery: 5, budget };
  const a = await run(o);
  const b = await run(o, true);
  const seq = await run({ ...o, pipeline: false });
  assert.ok(a.r.pipelined && !seq.r.pipelined);
  for (const x of [a, b, seq]) {
    assert.is(x.r.steps, 20);
    assert.equal(x.r.samples, { explore: 400, train: 800, evaluate: 200 });
    assert.is(x.r.deviceSamples, x.seen, 'every sample sent is counted');
    assert.ok(x.r.deviceSamples <= budget);
  }
  assert.equal(b.losses, a.losses);
  assert.equal(Array.from(b.r.test.probabilities), Array.from(a.r.test.probabilities));
  assert.is(b.json, a.json, 'the trained models are identical');
  assert.not.equal(seq.losses.slice(1), a.losses.slice(1), 'pipelined steps are one step stale, so they differ from sequential ones');
  assert.is(seq.losses[0], a.losses[0], 'the first batch is measured with the initial parameters either way');
});

test('classic freezes the digital layers, so pipelined it measures the same drives and gives exactly the sequential result', async () => {
  const data = blobs({ features: 6, classes: 3, train: 300, test: 100, spread: 0.8, seed: 4 });
  const o = { trainer: 'classic' as const, spec: two, data, epochs: 1, batchSize: 20, learningRate: 1e-2 };
  const a = await run(o), seq = await run({ ...o, pipeline: false });
  assert.equal(a.losses, seq.losses);
  assert.is(a.json, seq.json);
  assert.is(a.r.deviceSamples, seq.r.deviceSamples);
});

test('pipelined pat and oracle reach the sequential accuracy on a synthetic task (within 3 points)', async () => {
  const data = blobs({ features: 10, classes: 4, train: 1500, test: 400, spread: 1.2, seed: 11 });
  const acc: Record<string, number> = {};
  for (const trainer of ['pat', 'oracle'] as const) {
    for (const pipeline of [true, false]) {
      const x = await run({ trainer, spec: one, data, epochs: 3, batchSize: 32, learningRate: 1e-2, exploreRows: 1000, oracle: 'rows', pipeline });
      acc[`${trainer} ${pipeline ? 'pipelined' : 'sequential'}`] = x.r.test.accuracy;
    }
  }
  const msg = JSON.stringify(acc);
  console.log(`  accuracy: ${msg}`);
  assert.ok(acc['pat pipelined'] >= acc['pat sequential'] - 0.03, msg);
  assert.ok(acc['oracle pipelined'] >= acc['oracle sequential'] - 0.03, msg);
  assert.ok(acc['pat pipelined'] >= 0.85, msg);
});

test.run();
