import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openDevice } from '../../src/device/index.js';
import { selectBackend } from '../../src/core/backend.js';
import type { TrainCheckpoint, TrainOptions } from '../../src/train/common.js';
import { GuardedAdam } from '../../src/train/guarded-adam.js';
import { TappedDense } from '../../src/train/input-layer.js';
import { train } from '../../src/train/train.js';

test.before(async () => {
  await selectBackend('wasm');
});

// Mackey-Glass through the memoryless optical profile: 0.003 is a good rate there, 0.03 runs away.
const OPTICAL: Omit<TrainOptions, 'learningRate' | 'guard'> = {
  task: 'mackey-glass', trainer: 'pat', seed: 1, episodes: 60, steps: 100, washout: 20, trainSteps: 1500, fitSteps: 400, testSteps: 300,
  fidelityEvery: 0, surrogate: { fitExamples: 512, hidden: [32], firstEpochs: 10 },
};

const blockMeans = (losses: number[]): number[] => {
  const out: number[] = [];
  for (let i = 0; i + 5 <= losses.length; i += 5) out.push(losses.slice(i, i + 5).reduce((a, b) => a + b, 0) / 5);
  return out;
};

test('pat at 10x a good learning rate: the loss runs away unguarded; the guard rolls back, backs off and keeps it down', async () => {
  const run = async (guard: boolean) => {
    const device = await openDevice('sim:optical', { seed: 1 });
    try {
      return await train({ ...OPTICAL, learningRate: 0.03, guard: guard ? {} : false, device });
    } finally {
      await device.close();
    }
  };
  const plain = await run(false), guarded = await run(true);
  const pb = blockMeans(plain.episodes.map((e) => e.loss)), gb = blockMeans(guarded.episodes.map((e) => e.loss));
  const best = Math.min(...pb);
  console.log(`    unguarded: best block ${best.toExponential(2)}, last ${pb.at(-1)!.toExponential(2)}, test ${plain.test.value.toFixed(3)}; guarded: last ${gb.at(-1)!.toExponential(2)}, test ${guarded.test.value.toFixed(3)}, rollbacks ${guarded.episodes.at(-1)!.rollbacks}`);
  assert.ok(pb.at(-1)! > 5 * best, `unguarded: the last block ${pb.at(-1)} should be far above the best ${best}`);
  assert.ok(plain.episodes.every((e) => e.rollbacks === undefined && e.learningRate === undefined));
  const rolled = guarded.episodes.filter((e) => e.rollback);
  assert.ok(rolled.length >= 1, 'the guard rolled back');
  assert.ok(guarded.episodes.at(-1)!.learningRate! <= 0.015, `rate ${guarded.episodes.at(-1)!.learningRate}`);
  assert.ok(gb.at(-1)! < pb.at(-1)! / 4, `the last block guarded ${gb.at(-1)} against unguarded ${pb.at(-1)}`);
  assert.ok(guarded.test.value < 0.5 * plain.test.value, `test NRMSE ${guarded.test.value} guarded against ${plain.test.value}`);
  // Until the first rollback both runs are the same run.
  const first = guarded.episodes.findIndex((e) => e.rollback);
  assert.equal(guarded.episodes.slice(0, first + 1).map((e) => e.loss), plain.episodes.slice(0, first + 1).map((e) => e.loss));
});

test('GuardedAdam: a rollback restores the weights the best block started from, halves the rate with a fresh Adam; its checkpoint resumes the same state', () => {
  const layer = new TappedDense({ inChannels: 1, taps: 3, units: 2, seed: 4 });
  try {
    const opt = new GuardedAdam(layer, 0.04, {});
    const nudge = (k: number) => layer.restore({ W: layer.snapshot().W.map((w) => w + k), b: layer.snapshot().b });
    for (let i = 0; i < 5; i++) { nudge(0.01); opt.after(1); }   // block 1: the best; it started at the initial weights
    const startOfSecond = layer.snapshot();
    for (let i = 0; i < 5; i++) { nudge(0.01); opt.after(0.5); } // block 2: better; it started at startOfSecond
    const before = opt.optimizer;
    for (let i = 0; i < 4; i++) { nudge(1); opt.after(5); }
    nudge(1);
    assert.is(opt.after(5), 'rollback');
    assert.equal(layer.snapshot(), startOfSecond);
    assert.is(opt.rate, 0.02);
    assert.is(opt.generation, 1);
    assert.is(opt.rollbacks, 1);
    assert.ok(opt.optimizer !== before, 'a fresh optimizer');
    assert.is((opt.optimizer as unknown as { learningRate: number }).learningRate, 0.02);

    const saved = JSON.parse(JSON.stringify(opt.toJSON())) as ReturnType<GuardedAdam['toJSON']> & object;
    const again = new GuardedAdam(layer, 0.04, {}, saved);
    assert.is(again.rate, 0.02);
    assert.is(again.rollbacks, 1);
    assert.equal(again.toJSON(), opt.toJSON());
    again.dispose();
    assert.throws(() => new GuardedAdam(layer, 0.04, {}, { ...saved, saved: { W: [1, 2], b: [0, 0] } }), /guard weights/);
    assert.throws(() => new GuardedAdam(layer, 0.04, {}, { ...saved, state: { ...saved.state, rate: -1 } }), /guard state/);
    opt.dispose();
    const off = new GuardedAdam(layer, 0.04, false);
    assert.is(off.after(Number.NaN), 'hold');
    assert.is(off.toJSON(), undefined);
    off.dispose();
  } finally {
    layer.dispose();
  }
});

test('a pat checkpoint carries the guard, and a resumed run goes on from its rate', async () => {
  const checkpoints: TrainCheckpoint[] = [];
  const dev1 = await openDevice('sim:optical', { seed: 1 });
  try {
    await train({ ...OPTICAL, episodes: 40, learningRate: 0.03, device: dev1, onCheckpoint: (c) => checkpoints.push(JSON.parse(JSON.stringify(c))) });
  } finally {
    await dev1.close();
  }
  const after = checkpoints.find((c) => (c.guard?.state.rollbacks ?? 0) >= 1);
  assert.ok(after, 'a checkpoint after a rollback');
  assert.is(after.guard!.state.rate, 0.015);
  const dev2 = await openDevice('sim:optical', { seed: 1 });
  try {
    const res = await train({ ...OPTICAL, episodes: after.episode + 2, learningRate: 0.03, device: dev2, resume: after });
    assert.is(res.episodes.at(-1)!.learningRate, 0.015);
    assert.is(res.episodes.at(-1)!.rollbacks, after.guard!.state.rollbacks);
    const bad = { ...after, guard: { ...after.guard!, start: { W: [0], b: [] } } };
    const err = await train({ ...OPTICAL, episodes: after.episode + 2, learningRate: 0.03, device: dev2, resume: bad }).then(() => null, (e: unknown) => e);
    assert.match(String(err), /guard weights/);
  } finally {
    await dev2.close();
  }
});

test.run();
