import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { applyCalibration, loadPlan, runCalibration } from '../../src/calibration/index.js';
import { openDevice } from '../../src/device/index.js';
import { selectBackend } from '../../src/core/backend.js';
import { type TrainCheckpoint, type TrainOptions, TrainingInterrupted } from '../../src/train/common.js';
import { measure } from '../../src/train/hybrid.js';
import { train } from '../../src/train/train.js';

test.before(async () => {
  await selectBackend('wasm');
});

const SMALL: Omit<TrainOptions, 'trainer' | 'seed'> = {
  task: 'narma10', episodes: 6, steps: 100, washout: 20, trainSteps: 1000, fitSteps: 300, testSteps: 200,
  surrogate: { fitExamples: 256, hidden: [16], firstEpochs: 5 }, fidelityEvery: 3,
};

test('an aborted signal stops pat at an episode boundary with TrainingInterrupted carrying the episodes done', async () => {
  const device = await openDevice('sim:fpga', { seed: 1 });
  try {
    const ctl = new AbortController();
    const seen: number[] = [];
    const err = await train({
      ...SMALL, trainer: 'pat', seed: 1, device, signal: ctl.signal,
      onEpisode: (_r, i) => { seen.push(i); if (i === 1) ctl.abort(); },
    }).then(() => null, (e: unknown) => e);
    assert.instance(err, TrainingInterrupted);
    const ti = err as TrainingInterrupted;
    assert.equal(seen, [0, 1]);
    assert.is(ti.episodes.length, 2);
    // Episode 2 was already in flight (pipelining): its samples count, its result is not used.
    assert.ok(ti.deviceSamples >= 2 * 120, `samples ${ti.deviceSamples}`);
    // The device is still usable: nothing was left half-measured.
    const m = await measure(device, new Float32Array(10 * device.info.inChannels));
    assert.is(m.samples, 10);
  } finally {
    await device.close();
  }
});

test('checkpoints after each episode; resuming from one continues the count and ends like a full run in shape', async () => {
  const checkpoints: TrainCheckpoint[] = [];
  const dev1 = await openDevice('sim:fpga', { seed: 1 });
  let ctl = new AbortController();
  try {
    await train({
      ...SMALL, trainer: 'pat', seed: 1, device: dev1, signal: ctl.signal,
      onCheckpoint: (c) => { checkpoints.push(JSON.parse(JSON.stringify(c))); if (c.episode === 3) ctl.abort(); },
    }).then(() => assert.unreachable('should be interrupted'), (e: unknown) => assert.instance(e, TrainingInterrupted));
  } finally {
    await dev1.close();
  }
  assert.equal(checkpoints.map((c) => c.episode), [1, 2, 3]);
  const last = checkpoints[2];
  assert.is(last.episodes.length, 3);
  assert.ok(last.surrogate, 'the surrogate travels with the checkpoint');

  const dev2 = await openDevice('sim:fpga', { seed: 1 });
  ctl = new AbortController();
  const indices: number[] = [];
  try {
    const res = await train({ ...SMALL, trainer: 'pat', seed: 1, device: dev2, resume: last, onEpisode: (_r, i) => indices.push(i) });
    assert.equal(indices, [3, 4, 5]);
    assert.is(res.episodes.length, 6);
    assert.equal(res.episodes.slice(0, 3), last.episodes, 'the first part is kept as it was');
    assert.ok(res.deviceSamples > last.deviceSamples);
    assert.ok(Number.isFinite(res.test.value) && res.test.value < 1, `test NMSE ${res.test.value}`);
    // The resumed layer starts from the checkpoint's weights, not a fresh draw.
    assert.not.equal(res.model.inputLayer.W, last.inputLayer.W);
  } finally {
    await dev2.close();
  }
});

test('resume refuses a checkpoint of another task, seed or a damaged one, naming what differs', async () => {
  const device = await openDevice('sim:fpga', { seed: 1 });
  const checkpoints: TrainCheckpoint[] = [];
  try {
    await train({ ...SMALL, episodes: 1, trainer: 'pat', seed: 1, device, onCheckpoint: (c) => checkpoints.push(c) });
    const c = checkpoints[0];
    const tries: [TrainCheckpoint, RegExp][] = [
      [{ ...c, seed: 2 }, /seed 2 \(this run: 1\)/],
      [{ ...c, task: 'mackey-glass' }, /task mackey-glass/],
      [{ ...c, episode: 5 }, /episode 5 does not match its 1 episode records/],
      [{ ...c, inputLayer: { ...c.inputLayer, W: c.inputLayer.W.slice(1) } }, /weights are missing, of the wrong size/],
      [{ ...c, format: 'x' } as unknown as TrainCheckpoint, /not a rhil-checkpoint\/1/],
    ];
    for (const [bad, why] of tries) {
      const err = await train({ ...SMALL, trainer: 'pat', seed: 1, device, resume: bad }).then(() => null, (e: unknown) => e as Error);
      assert.ok(err, `accepted ${why}`);
      assert.match(err!.message, why);
    }
  } finally {
    await device.close();
  }
});

test('the result carries a trace of the test: drives, responses, target and prediction over the same steps', async () => {
  const device = await openDevice('sim:analog', { seed: 2 });
  try {
    const res = await train({ ...SMALL, episodes: 2, trainer: 'pat', seed: 2, device });
    const t = res.trace!;
    assert.is(t.steps, 200);
    assert.is(t.drive.length, 1);
    assert.is(t.response.length, 4, 'first four of 50 response channels');
    assert.is(t.target.length, 1);
    for (const ch of [...t.drive, ...t.response, ...t.target, ...t.prediction]) assert.is(ch.length, 200);
    let se = 0, v = 0;
    const y = t.target[0], p = t.prediction[0], m = y.reduce((s, x) => s + x, 0) / y.length;
    for (let i = 0; i < y.length; i++) { se += (y[i] - p[i]) ** 2; v += (y[i] - m) ** 2; }
    // The trace spans the whole 200-step test here, so its NMSE is the test's.
    assert.ok(Math.abs(se / v - res.test.value) < 1e-9, `trace NMSE ${se / v}, test ${res.test.value}`);
  } finally {
    await device.close();
  }
});

test('measure with a calibration linearises the drive and normalises the response', async () => {
  const device = await openDevice('sim:analog', { seed: 3 });
  try {
    const plan = await loadPlan('analog');
    const record = await runCalibration(device, plan, { seed: 3 });
    const cal = applyCalibration(record);
    const a = Float32Array.from({ length: 200 }, (_, i) => Math.sin(i / 9) * 0.8);
    const raw = await measure(device, a);
    const calibrated = await measure(device, a, { calibration: cal });
    // The drive actually sent differs (it went through the inverse table) but reads back as the linear drive asked for.
    let maxDiff = 0;
    for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(calibrated.drives[i] - a[i]));
    assert.ok(maxDiff < 0.02, `calibrated drives read back as asked (max error ${maxDiff})`);
    assert.not.equal(Array.from(calibrated.responses.slice(0, 50)), Array.from(raw.responses.slice(0, 50)));
    assert.ok(calibrated.responses.every(Number.isFinite));
  } finally {
    await device.close();
  }
});

test.run();
