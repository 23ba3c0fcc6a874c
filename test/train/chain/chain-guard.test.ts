import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../src/core/backend.js';
import type { DeviceClient } from '../../../src/device/client.js';
import { type ChainCheckpoint, parseChainCheckpoint } from '../../../src/train/chain/checkpoint.js';
import { type ChainStep, type ChainTrainOptions, trainChain } from '../../../src/train/chain/train.js';
import type { ChainJSON } from '../../../src/train/chain/model.js';
import { QUIET_OPTICAL, openSim } from './helpers.js';

test.before(async () => {
  await selectBackend('wasm');
});

// chain-resume.test.ts's setting, oracle, 30 steps.
const { spec, data, overrides: QUIET } = QUIET_OPTICAL;

interface Run { steps: ChainStep[]; losses: number[]; checkpoints: ChainCheckpoint[]; weights: number[][]; probabilities: number[]; guard: unknown }

/** Trains on a fresh simulator; `nanAt` makes the device answer NaN to that training pass (process call, counted from 0). Checkpoints go through JSON, as a database keeps them. */
async function run(o: Partial<ChainTrainOptions>, nanAt?: number): Promise<Run> {
  const dev: DeviceClient = await openSim('optical', 3, QUIET);
  let calls = 0;
  const wrapped = {
    info: dev.info, maxBatch: dev.maxBatch, twin: dev.twin, resetState: () => dev.resetState(),
    process: async (x: Parameters<typeof dev.process>[0]) => {
      const res = await dev.process(x);
      return calls++ === nanAt ? { ...res, output: new Float32Array(res.output.length).fill(NaN) } : res;
    },
  };
  const steps: ChainStep[] = [];
  const checkpoints: ChainCheckpoint[] = [];
  try {
    const r = await trainChain({
      trainer: 'oracle', spec, data, devices: { 'sim:optical': wrapped as unknown as DeviceClient }, seed: 7, epochs: 3, batchSize: 32, learningRate: 1e-2,
      checkpointEvery: 1, onCheckpoint: (c) => checkpoints.push(JSON.parse(JSON.stringify(c)) as ChainCheckpoint), onStep: (s) => steps.push(s), ...o,
    });
    const weights = r.model.trainable('all').map((v) => Array.from(v.dataSync()));
    r.model.dispose();
    return { steps, losses: steps.map((s) => s.loss), checkpoints, weights, probabilities: Array.from(r.test.probabilities), guard: r.guard };
  } finally {
    await dev.close();
  }
}

/** Every dense layer's w and b in a checkpoint's model. */
const denseWeights = (m: ChainJSON): number[][] => m.layers.flatMap((l) => (l.kind === 'physical' ? [] : [l.w, l.b]));

test('at a good rate the guard never fires and the run is the unguarded one number for number (pipelined)', async () => {
  const on = await run({});
  const off = await run({ guard: false });
  assert.equal(on.guard, { learningRate: 0.01, rollbacks: 0, rollbackSteps: [] });
  assert.is(off.guard, undefined);
  assert.equal(on.steps.map((s) => s.learningRate), on.steps.map(() => 0.01));
  assert.ok(off.steps.every((s) => s.learningRate === undefined && s.rollbacks === undefined));
  assert.equal(on.losses, off.losses);
  assert.equal(on.weights, off.weights);
  assert.equal(on.probabilities, off.probabilities);
  assert.ok(on.checkpoints[0].guard && off.checkpoints[0].guard === undefined);
});

test('a NaN pass rolls every layer back to the weights the best block started from, at half the rate; the checkpoint keeps the loss as null and resumes onto the same run', async () => {
  // The device's calls: 0 is batch 0's pass, then one per training batch (not pipelined); 13 is step 13's.
  const r = await run({ pipeline: false }, 13);
  assert.ok(Number.isNaN(r.losses[13]), `step 13's loss ${r.losses[13]}`);
  assert.is(r.steps[13].rollback, true);
  assert.equal(r.guard, { learningRate: 0.005, rollbacks: 1, rollbackSteps: [13] });
  assert.equal(r.steps.map((s) => s.learningRate).slice(12, 15), [0.01, 0.01, 0.005]);
  // The best of the complete blocks before it (steps 0-4, 5-9) by mean log loss; its start is the checkpoint after the step before it.
  const logMean = (b: number) => r.losses.slice(5 * b, 5 * b + 5).reduce((a, x) => a + Math.log(x), 0) / 5;
  const best = logMean(1) < logMean(0) ? 1 : 0;
  assert.is(best, 1, 'the second block is the better (the loss falls)');
  const afterRollback = r.checkpoints.find((c) => c.steps === 14)!;
  const bestStart = r.checkpoints.find((c) => c.steps === 5 * best)!;
  assert.equal(denseWeights(afterRollback.model), denseWeights(bestStart.model), 'every layer back at the best block\'s start, exactly');
  assert.is(denseWeights(bestStart.model).length, 4);
  // Saved: the NaN as null, allowed at the rolled-back step only; resumed, the rest of the run is the same.
  const ckpt = parseChainCheckpoint(afterRollback, 'oracle');
  assert.is(ckpt.losses[13], null);
  assert.equal(ckpt.rollbackSteps, [13]);
  const refuses = (c: unknown, re: RegExp): void => {
    try { parseChainCheckpoint(c, 'oracle'); assert.unreachable(); } catch (e) { assert.ok(e instanceof RangeError && re.test(e.message), String(e)); }
  };
  refuses({ ...ckpt, rollbackSteps: [12] }, /losses must be 14 finite numbers \(null, a non-finite loss, only at a step the guard rolled back\)/);
  refuses({ ...ckpt, guard: undefined, rollbackSteps: undefined }, /losses must be 14 finite numbers/);
  refuses({ ...ckpt, rollbackSteps: [13, 13] }, /rollbackSteps must list the guard's 1 rollbacks/);
  refuses({ ...ckpt, guard: undefined }, /rollbackSteps without a guard/);
  refuses({ ...ckpt, guard: null }, /guard must be a guard checkpoint/);
  const before = tf.memory().numTensors;
  const rest = await run({ pipeline: false, resume: ckpt });
  assert.is(tf.memory().numTensors, before, 'no tensors left behind');
  assert.equal(rest.losses, r.losses.slice(14));
  assert.equal(rest.steps.map((s) => s.learningRate), r.steps.slice(14).map((s) => s.learningRate));
  assert.equal(rest.weights, r.weights);
  assert.equal(rest.probabilities, r.probabilities);
  assert.equal(rest.guard, r.guard);
  // A malformed guard state is refused by name, as GuardedAdam refuses it.
  try {
    await run({ pipeline: false, resume: { ...ckpt, guard: { ...ckpt.guard!, state: { ...ckpt.guard!.state, rate: -1 } } } });
    assert.unreachable();
  } catch (e) {
    assert.ok(e instanceof TypeError && /guard state is malformed/.test((e as Error).message), String(e));
  }
  // Unguarded, the NaN pass poisons the weights for good, and such a checkpoint is refused.
  const off = await run({ pipeline: false, guard: false }, 13);
  assert.ok(off.losses.slice(13).every((v) => Number.isNaN(v)), 'unguarded: NaN from then on');
  refuses(off.checkpoints.find((c) => c.steps === 14), /losses must be 14 finite numbers/);
});

test('pipelined: the batch launched before the rolling-back step takes no step (stale), and a resumed run keeps the guard\'s rate', async () => {
  // Pipelined, the device's calls are in batch order too: call 13 is batch 13's pass.
  const r = await run({}, 13);
  assert.is(r.steps[13].rollback, true);
  assert.is(r.steps[14].stale, true, 'batch 14 was launched with the weights step 13 undid');
  assert.ok(Number.isFinite(r.losses[14]));
  assert.is(r.steps[15].stale, undefined);
  // The stale batch took no step: the weights after it are those the rollback restored.
  const at = (s: number) => denseWeights(r.checkpoints.find((c) => c.steps === s)!.model);
  assert.equal(at(15), at(14));
  const logMean = (b: number) => r.losses.slice(5 * b, 5 * b + 5).reduce((a, x) => a + Math.log(x), 0) / 5;
  assert.ok(logMean(1) < logMean(0), 'the second block is the better');
  assert.equal(at(14), at(5), 'rolled back to the best block\'s start');
  assert.not.equal(at(16), at(15));
  const rest = await run({ resume: parseChainCheckpoint(r.checkpoints.find((c) => c.steps === 20), 'oracle') });
  assert.ok(rest.steps.every((s) => s.learningRate === 0.005 && s.rollbacks === 1), JSON.stringify(rest.steps[0]));
});

test.run();
