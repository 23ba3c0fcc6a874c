import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openDevice } from '../../src/device/index.js';
import type { Device } from '../../src/device/client.js';
import { selectBackend } from '../../src/core/backend.js';
import { Rng } from '../../src/core/rng.js';
import { generateTask } from '../../src/tasks/index.js';
import type { CustomTask, HeldOutScore, TrainOptions, TrainResult } from '../../src/train/common.js';
import { trainClassic, trainDigital, trainRandomFeatures } from '../../src/train/baselines.js';
import { sweep, tuneClassic, tuneDigital, tuneRandomFeatures, type SweepResult } from '../../src/train/tune.js';

test.before(async () => {
  await selectBackend('wasm');
});

const SMALL = { episodes: 6, steps: 150, washout: 30, trainSteps: 1200, fitSteps: 600, testSteps: 300, seed: 1 } satisfies Omit<TrainOptions, 'trainer' | 'task'>;
const HOLD = { steps: 300, every: 2 };

/**
 * NARMA10, except that with `scramble` the test sequence's targets (the only sequence of
 * washout + testSteps steps) are replaced by seeded noise: a choice that read the test set would
 * move with them.
 */
function narma(scramble: boolean): CustomTask {
  return {
    name: 'narma10',
    generate(n, { seed }) {
      const d = generateTask('narma10', n, {}, { seed });
      if (!scramble || n !== SMALL.washout + SMALL.testSteps) return d;
      const rng = new Rng(99);
      return { ...d, targets: d.targets.map(() => rng.range(0, 1)) };
    },
  };
}

/** The parts of a sweep that the choice may depend on: every candidate's held-out score and the winner. */
function choice<P>(s: SweepResult<P>): { best: P; heldOut: HeldOutScore[] } {
  return { best: s.best.params, heldOut: s.entries.map((e) => e.heldOut) };
}

test('tuneDigital: changing the test targets changes the test NMSE but not the held-out scores or the chosen rate', async () => {
  const opts = { ...SMALL, units: 12 };
  const tuning = { rates: [0.003, 0.03, 0.3], heldOut: HOLD };
  const a = await tuneDigital({ ...opts, task: narma(false) }, tuning);
  const b = await tuneDigital({ ...opts, task: narma(true) }, tuning);
  assert.equal(choice(b), choice(a));
  assert.is(b.best.heldOut.episodes, a.best.heldOut.episodes);
  assert.ok(Math.abs(a.best.result.test.value - b.best.result.test.value) > 0.05, `test ${a.best.result.test.value} vs ${b.best.result.test.value}`);
});

test('tuneClassic and tuneRandomFeatures: the chosen gain does not depend on the test targets', async () => {
  const gains = [0.25, 1, 4];
  const c: SweepResult<{ gain: number }>[] = [], f: SweepResult<{ gain: number }>[] = [];
  for (const scramble of [false, true]) {
    // A fresh simulator per variant: its noise advances with every measurement.
    const device = await openDevice('sim:analog-awg', { seed: 1 });
    try {
      c.push(await tuneClassic({ ...SMALL, task: narma(scramble), device }, { gains }));
      f.push(await tuneRandomFeatures({ ...SMALL, task: narma(scramble), units: device.info.outChannels }, { gains, heldOut: HOLD }));
    } finally {
      await device.close();
    }
  }
  assert.equal(choice(c[1]), choice(c[0]));
  assert.equal(choice(f[1]), choice(f[0]));
  assert.is.not(c[1].best.result.test.value, c[0].best.result.test.value);
  assert.is(c[0].deviceSamples, c[0].entries.reduce((a, e) => a + e.result.deviceSamples, 0));
});

test('sweep keeps the best held-out candidate, ignores NaN, and honours higherIsBetter', async () => {
  const fake = (value: number, higherIsBetter = false): TrainResult =>
    ({ trainer: 'digital', deviceSamples: 0, heldOut: { metric: 'nmse', value, higherIsBetter } } as unknown as TrainResult);
  const lower = await sweep([0.3, Number.NaN, 0.1, 0.2, 0.1], async (v) => fake(v));
  assert.is(lower.best.params, 0.1);
  assert.is(lower.entries.indexOf(lower.best), 2, 'the first of equals');
  assert.is(lower.atEdge, false);
  const higher = await sweep([0.3, 0.9, Number.NaN], async (v) => fake(v, true));
  assert.is(higher.best.params, 0.9);
  assert.is((await sweep([0.1, 0.2, 0.3], async (v) => fake(v))).atEdge, true, 'the best is the first of the grid');
  try {
    await sweep([Number.NaN], async (v) => fake(v));
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /NaN/);
  }
});

test('tuneDigital picks the rate and stopping point with the lowest held-out NMSE, and early stopping keeps those weights', async () => {
  const s = await tuneDigital({ ...SMALL, task: 'narma10', units: 12 }, { rates: [0.001, 0.03, 3], heldOut: HOLD });
  const min = Math.min(...s.entries.map((e) => e.heldOut.value));
  assert.is(s.best.heldOut.value, min);
  for (const e of s.entries) {
    const k = e.heldOut.episodes!;
    assert.ok(k === SMALL.episodes || k % HOLD.every === 0, `stopped after ${k} episodes`);
    assert.is(e.result.episodes.length, SMALL.episodes);
  }
  // The kept weights are those of the best check: rerunning for that many episodes gives the same layer.
  const b = s.best;
  const again = await trainDigital({ ...SMALL, task: 'narma10', units: 12, trainer: 'digital', learningRate: b.params.learningRate, episodes: b.heldOut.episodes!, heldOut: { ...HOLD, every: 1000 } });
  assert.equal(again.model.inputLayer.W, b.result.model.inputLayer.W);
  assert.is(again.test.value, b.result.test.value);
});

test('random features spend no device samples and never measure: the device is only read for its width', async () => {
  const fake = { info: { outChannels: 9, inChannels: 1 } } as unknown as Device;
  const r = await trainRandomFeatures({ ...SMALL, episodes: undefined, task: 'narma10', device: fake });
  assert.is(r.deviceSamples, 0);
  assert.is(r.device, null);
  assert.is(r.episodes.length, 0);
  assert.is(r.model.inputLayer.units, 9);
  assert.ok(r.test.value > 0 && r.test.value < 1, `test NMSE ${r.test.value}`);
  const s = await tuneRandomFeatures({ ...SMALL, task: 'narma10', device: fake }, { gains: [0.5, 2], heldOut: HOLD });
  assert.is(s.deviceSamples, 0);
});

test('bad tuning options are RangeErrors that name the option', async () => {
  const bad: [string, () => Promise<unknown>, RegExp][] = [
    ['no rates', () => tuneDigital({ ...SMALL, task: 'narma10' }, { rates: [] }), /rates must be a non-empty array/],
    ['zero rate', () => tuneDigital({ ...SMALL, task: 'narma10' }, { rates: [0.01, 0] }), /rates must hold positive finite numbers/],
    ['NaN gain', () => tuneRandomFeatures({ ...SMALL, task: 'narma10' }, { gains: [Number.NaN] }), /gains must hold positive finite numbers/],
    ['held-out steps too many', () => trainDigital({ ...SMALL, task: 'narma10', trainer: 'digital', heldOut: { steps: 700 } }), /heldOut\.steps 700 leaves 500 of trainSteps 1200/],
    ['held-out every 0', () => trainDigital({ ...SMALL, task: 'narma10', trainer: 'digital', heldOut: { steps: 300, every: 0 } }), /heldOut\.every must be an integer >= 1/],
    ['fraction 1.5', () => trainClassic({ ...SMALL, task: 'narma10', trainer: 'classic', device: { info: { inChannels: 1, outChannels: 4 } } as unknown as Device, heldOutFraction: 1.5 }), /heldOutFraction must be in \(0, 1\), got 1.5/],
    ['random features with episodes', () => trainRandomFeatures({ ...SMALL, task: 'narma10' }), /episodes must be 0 or absent, got 6/],
  ];
  for (const [what, f, message] of bad) {
    try {
      await f();
      assert.unreachable(what);
    } catch (e) {
      assert.instance(e, RangeError, what);
      assert.match((e as Error).message, message, what);
    }
  }
});

test.run();
