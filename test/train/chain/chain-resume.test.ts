import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../src/core/backend.js';
import { type ChainCheckpoint, parseChainCheckpoint } from '../../../src/train/chain/checkpoint.js';
import { trainChain, type ChainTrainOptions } from '../../../src/train/chain/train.js';
import { QUIET_OPTICAL, openSim } from './helpers.js';

test.before(async () => {
  await selectBackend('wasm');
});

const { spec, data, overrides: QUIET } = QUIET_OPTICAL;

/** Trains with `o`, on a fresh simulator; the checkpoints it hands out (through JSON, as a database keeps them) and the result's figures. */
async function run(o: Partial<ChainTrainOptions>): Promise<{ checkpoints: ChainCheckpoint[]; probabilities: number[]; losses: number[]; steps: number; samples: ChainTrainOptionsSamples; weights: number[] }> {
  const dev = await openSim('optical', 3, QUIET);
  const checkpoints: ChainCheckpoint[] = [];
  const losses: number[] = [];
  try {
    const r = await trainChain({
      trainer: 'oracle', spec, data, devices: { 'sim:optical': dev }, seed: 7, epochs: 3, batchSize: 32, learningRate: 1e-2, exploreRows: 300, refitEvery: 4,
      checkpointEvery: 10, onCheckpoint: (c) => checkpoints.push(JSON.parse(JSON.stringify(c)) as ChainCheckpoint),
      onStep: (s) => losses.push(s.loss), ...o,
    });
    const weights = Array.from(r.model.trainable('all')[0].dataSync());
    r.model.dispose();
    return { checkpoints, probabilities: Array.from(r.test.probabilities), losses, steps: r.steps, samples: r.samples, weights };
  } finally {
    await dev.close();
  }
}
type ChainTrainOptionsSamples = { explore: number; train: number; evaluate: number };

test('oracle, not pipelined, on a deterministic device: resumed from a checkpoint it ends exactly where the uninterrupted run ends (Adam state and shuffle restored)', async () => {
  const whole = await run({ pipeline: false });
  assert.is(whole.steps, 30);
  assert.equal(whole.checkpoints.map((c) => c.steps), [10, 20]);
  const ckpt = parseChainCheckpoint(whole.checkpoints[0], 'oracle');
  const before = tf.memory().numTensors;
  const rest = await run({ pipeline: false, resume: ckpt });
  assert.is(tf.memory().numTensors, before, 'no tensors left behind by a resume');
  assert.is(rest.steps, 30);
  assert.equal(rest.losses, whole.losses.slice(10));
  assert.equal(rest.weights, whole.weights);
  assert.equal(rest.probabilities, whole.probabilities);
  assert.equal(rest.samples, whole.samples);
  // A fresh Adam (its moments dropped) does not end there: the state is what the test checks.
  const fresh = await run({ pipeline: false, resume: { ...ckpt, optimizer: [] } });
  assert.not.equal(fresh.weights, whole.weights);
});

test('pat resumed: no second exploration, the saved surrogate design, the planned steps, samples continued', async () => {
  const whole = await run({ trainer: 'pat' });
  const ckpt = parseChainCheckpoint(whole.checkpoints[1], 'pat');
  assert.is(ckpt.samples.explore, 300);
  assert.is(ckpt.surrogates[0].design, 'transmission');
  const rest = await run({ trainer: 'pat', resume: ckpt });
  assert.is(rest.steps, 30);
  assert.is(rest.losses.length, 10);
  assert.equal(rest.samples, whole.samples, 'the same steps measure the same samples; exploration is not repeated');
  const agree = rest.probabilities.filter((p, i) => Math.abs(p - whole.probabilities[i]) < 0.1).length / rest.probabilities.length;
  assert.ok(agree > 0.9, `resumed predictions agree with the uninterrupted run's on ${agree}`);
});

test('a checkpoint that does not fit is refused by name', async () => {
  const whole = await run({ pipeline: false, epochs: 2 });
  const ckpt = whole.checkpoints[0];
  const refuses = (f: () => unknown, re: RegExp): void => {
    try { f(); assert.unreachable(); } catch (e) { assert.ok(e instanceof RangeError && re.test(e.message), String(e)); }
  };
  refuses(() => parseChainCheckpoint(ckpt, 'pat'), /saved by trainer 'oracle', not 'pat'/);
  refuses(() => parseChainCheckpoint({ ...ckpt, losses: [1] }, 'oracle'), /losses must be 10 finite numbers/);
  refuses(() => parseChainCheckpoint({ ...ckpt, optimizer: [{ name: 'x', shape: [2], values: [1] }] }, 'oracle'), /optimizer\[0\] \(x\) must hold 2 finite numbers/);
  refuses(() => parseChainCheckpoint({ ...ckpt, format: 'x' }, 'oracle'), /not a rhil-chain-checkpoint\/1 object/);
  const bad = async (c: ChainCheckpoint, re: RegExp): Promise<void> => {
    try { await run({ pipeline: false, resume: c }); assert.unreachable(); } catch (e) { assert.ok(e instanceof RangeError && re.test(e.message), String(e)); }
  };
  await bad({ ...ckpt, optimizer: ckpt.optimizer.slice(0, 3) }, /optimizer state holds 3 tensors; this chain's 4 variables need 9/);
  const moved = { ...ckpt, optimizer: [ckpt.optimizer[0], ...ckpt.optimizer.slice(1).reverse()] };
  await bad(moved, /optimizer tensor \S+ is \d+(x\d+)*, its variable \d+(x\d+)*/);
});

test.run();
