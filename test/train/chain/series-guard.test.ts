import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { openDevice } from '../../../src/device/index.js';
import { selectBackend } from '../../../src/core/backend.js';
import { GuardedAdam } from '../../../src/train/guarded-adam.js';
import { TappedDense } from '../../../src/train/input-layer.js';
import { type SeriesChainOptions, trainSeriesChain } from '../../../src/train/chain/series.js';
import { type SeriesChainCheckpoint, parseSeriesChainCheckpoint } from '../../../src/train/chain/checkpoint.js';

test.before(async () => {
  await selectBackend('wasm');
});

test('GuardedAdam over several layers: a rollback restores every variable to the best block\'s start; its checkpoint round-trips; a malformed one is refused by name', () => {
  const a = new TappedDense({ inChannels: 1, taps: 3, units: 2, seed: 4 });
  const b = new TappedDense({ inChannels: 2, taps: 1, units: 3, seed: 5 });
  const vars = { 'first.W': a.W, 'first.b': a.b, 'between[0].W': b.W, 'between[0].b': b.b };
  const values = () => Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, Array.from(v.dataSync())]));
  const nudge = (k: number) => tf.tidy(() => { for (const v of Object.values(vars)) v.assign(tf.add(v, k)); });
  try {
    const opt = new GuardedAdam(vars, 0.04, {});
    for (let i = 0; i < 5; i++) { nudge(0.01); opt.after(1); }
    const startOfSecond = values();
    for (let i = 0; i < 5; i++) { nudge(0.01); opt.after(0.5); }   // the best block
    for (let i = 0; i < 4; i++) { nudge(1); opt.after(5); }
    nudge(1);
    assert.is(opt.after(5), 'rollback');
    assert.equal(values(), startOfSecond, 'every layer back at the best block\'s start');
    assert.is(opt.rate, 0.02);
    assert.is(opt.generation, 1);

    const saved = JSON.parse(JSON.stringify(opt.toJSON())) as NonNullable<ReturnType<GuardedAdam['toJSON']>>;
    assert.equal(Object.keys(saved.saved), Object.keys(vars));
    const again = new GuardedAdam(vars, 0.04, {}, saved);
    assert.is(again.rate, 0.02);
    assert.equal(again.toJSON(), opt.toJSON());
    again.dispose();
    const { 'between[0].b': _, ...missing } = saved.saved;
    assert.throws(() => new GuardedAdam(vars, 0.04, {}, { ...saved, saved: missing }), (e: Error) => e instanceof TypeError && /guard weights \(saved\) of 'between\[0\]\.b' are missing/.test(e.message));
    assert.throws(() => new GuardedAdam(vars, 0.04, {}, { ...saved, start: { ...saved.start, 'between[1].W': [0] } }), /guard weights \(start\) hold 'between\[1\]\.W'/);
    assert.throws(() => new GuardedAdam(vars, 0.04, {}, { ...saved, start: { ...saved.start, 'first.W': [1, 2] } }), /guard weights \(start\) of 'first\.W'/);
    assert.throws(() => new GuardedAdam(vars, 0.04, {}, { ...saved, saved: null as unknown as Record<string, number[]> }), /guard weights \(saved\) are missing/);
    opt.dispose();
  } finally {
    a.dispose();
    b.dispose();
  }
});

// Mackey-Glass through two layers of the memoryless optical profile: 0.01 trains (test NRMSE 0.14
// after 60 episodes, seed 1), 0.1 runs away.
const OPTICAL: Omit<SeriesChainOptions, 'devices' | 'learningRate' | 'guard'> = {
  task: 'mackey-glass', seed: 1, episodes: 60, steps: 100, washout: 20, trainSteps: 1500, fitSteps: 400, testSteps: 300,
  surrogate: { fitExamples: 512, hidden: [32], firstEpochs: 10 },
};

const blockMeans = (losses: number[]): number[] => {
  const out: number[] = [];
  for (let i = 0; i + 5 <= losses.length; i += 5) out.push(losses.slice(i, i + 5).reduce((a, b) => a + b, 0) / 5);
  return out;
};

test('a two-layer series chain at 10x a good rate: the loss runs away unguarded; the guard rolls every layer back to the best block\'s start, backs off and ends better; a resumed run goes on at its rate', async () => {
  const run = async (o: Partial<SeriesChainOptions>) => {
    const dev = await openDevice('sim:optical', { seed: 1 });
    try {
      return await trainSeriesChain({ ...OPTICAL, learningRate: 0.1, devices: [dev, dev], ...o });
    } finally {
      await dev.close();
    }
  };
  const checkpoints: SeriesChainCheckpoint[] = [];
  const plain = await run({ guard: false });
  const guarded = await run({ checkpointEvery: 1, onCheckpoint: (c) => { checkpoints.push(JSON.parse(JSON.stringify(c)) as SeriesChainCheckpoint); } });
  const pb = blockMeans(plain.episodes.map((e) => e.loss)), gb = blockMeans(guarded.episodes.map((e) => e.loss));
  const best = Math.min(...pb);
  console.log(`    unguarded: best block ${best.toExponential(2)}, last ${pb.at(-1)!.toExponential(2)}, test ${plain.test.value.toFixed(3)}; guarded: last ${gb.at(-1)!.toExponential(2)}, test ${guarded.test.value.toFixed(3)}, rollbacks ${guarded.episodes.at(-1)!.rollbacks}, rate ${guarded.episodes.at(-1)!.learningRate}`);
  assert.ok(pb.at(-1)! > 3 * best, `unguarded: the last block ${pb.at(-1)} should be far above the best ${best}`);
  assert.ok(plain.episodes.every((e) => e.rollbacks === undefined && e.learningRate === undefined));
  assert.ok(guarded.episodes.every((e) => e.rollbacks !== undefined && e.learningRate !== undefined));
  const r = guarded.episodes.findIndex((e) => e.rollback);
  assert.ok(r >= 0, 'the guard rolled back');
  assert.ok(guarded.episodes.at(-1)!.learningRate! <= 0.05, `rate ${guarded.episodes.at(-1)!.learningRate}`);
  assert.ok(gb.at(-1)! < pb.at(-1)! / 2, `the last block guarded ${gb.at(-1)} against unguarded ${pb.at(-1)}`);
  assert.ok(guarded.test.value < 0.6 * plain.test.value, `test NRMSE ${guarded.test.value} guarded against ${plain.test.value}`);
  // Until the first rollback both runs are the same run.
  assert.equal(guarded.episodes.slice(0, r + 1).map((e) => e.loss), plain.episodes.slice(0, r + 1).map((e) => e.loss));

  // The rollback put every digital layer back at the weights the best block started from. Block j
  // (episodes 5j..5j+4, no rollback before) started from the weights after step 5j - 1, which the
  // pipelined episode 5j + 1 was launched with: the `ahead` weights of the checkpoint after episode 5j.
  assert.is(r % 5, 4, 'the first rollback completes a block');
  const logMean = (j: number) => guarded.episodes.slice(5 * j, 5 * j + 5).reduce((s, e) => s + Math.log(e.loss), 0) / 5;
  let j = 0;
  for (let k = 1; k < (r + 1) / 5 - 1; k++) if (logMean(k) < logMean(j)) j = k;
  const at = checkpoints[r], from = checkpoints[5 * j];
  assert.is(at.episode, r + 1);
  assert.is(from.episode, 5 * j + 1);
  assert.equal(at.first.W, from.ahead!.first.W);
  assert.equal(at.first.b, from.ahead!.first.b);
  assert.equal(at.between.map((l) => [l.W, l.b]), from.ahead!.between.map((l) => [l.W, l.b]));
  assert.not.equal(at.first.W, checkpoints[r - 1].first.W, 'the weights moved');
  // The checkpoint carries the guard: its state at the reduced rate, the weights it would go back to, and the episode measured ahead of the rollback marked stale.
  assert.is(at.guard!.state.rate, 0.05);
  assert.is(at.guard!.state.rollbacks, 1);
  assert.equal(at.guard!.saved['first.W'], from.ahead!.first.W);
  assert.equal(at.ring, [], 'the readout statistics of the undone weights are dropped');
  assert.is(at.aheadStale, true);
  // That episode was measured with the undone weights: no step, no readout.
  assert.is(guarded.episodes[r + 1].readoutNmse, undefined);
  assert.is(guarded.episodes[r + 1].learningRate, 0.05);

  // Resumed from that checkpoint (through JSON) the run goes on at the reduced rate with the rollbacks so far.
  const resumed = await run({ episodes: r + 4, resume: parseSeriesChainCheckpoint(at, { gradient: 'pat', task: 'mackey-glass', seed: 1, layers: 2 }) });
  assert.is(resumed.episodes.length, r + 4);
  assert.is(resumed.episodes[r + 1].readoutNmse, undefined, 'the stale episode ahead stays stale after the resume');
  assert.equal(resumed.episodes.slice(r + 1).map((e) => [e.learningRate, e.rollbacks]), guarded.episodes.slice(r + 1, r + 4).map((e) => [e.learningRate, e.rollbacks]));
  const bad = await run({ episodes: r + 4, resume: { ...at, guard: { ...at.guard!, saved: { ...at.guard!.saved, 'first.W': [0] } } } }).then(() => null, (e: unknown) => e);
  assert.match(String(bad), /guard weights \(saved\) of 'first\.W'/);
});

test('a two-layer series chain at a good rate, where the guard never fires, is the unguarded run number for number', async () => {
  const run = async (guard: boolean) => {
    const dev = await openDevice('sim:analog-awg', { seed: 2 });
    try {
      return await trainSeriesChain({
        task: 'narma10', seed: 2, episodes: 12, learningRate: 0.05, steps: 150, washout: 30, taps: 10, trainSteps: 1200, fitSteps: 600, testSteps: 300,
        surrogate: { fitExamples: 256, hidden: [16], firstEpochs: 10 }, devices: [dev, dev], guard,
      });
    } finally {
      await dev.close();
    }
  };
  const on = await run(true), off = await run(false);
  assert.ok(on.episodes.every((e) => e.rollbacks === 0 && e.learningRate === 0.05));
  assert.equal(on.episodes.map((e) => [e.loss, e.readoutNmse, e.deviceSamples]), off.episodes.map((e) => [e.loss, e.readoutNmse, e.deviceSamples]));
  assert.is(on.test.value, off.test.value);
  assert.equal(on.model, off.model);
});

test.run();
