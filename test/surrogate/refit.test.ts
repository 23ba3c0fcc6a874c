import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/core/rng.js';
import { NarxSurrogate } from '../../src/surrogate/narx.js';
import { LaggedRefitter } from '../../src/surrogate/lagged-refit.js';
import type { ObservedSegment, RefitEvent, RefitOptions } from '../../src/surrogate/refit.js';
import { ReplayBuffer } from '../../src/surrogate/replay.js';
import { tanhMemory1, uniformDrives } from './helpers.js';

test.before(async () => {
  await tf.setBackend('cpu');
});

const SHAPE = { inChannels: 2, outChannels: 2, window: 2, responseLags: 0 };

/** A synthetic device: y = gain tanh(0.8 d(t) + 0.5 d(t-1)) + N(0, 0.02²) per channel, 200-step segments. */
function segments(count: number, gain: (i: number) => number, seed = 1): ObservedSegment[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, (_, i) => {
    const drives = uniformDrives(rng, 200, 2);
    const responses = tanhMemory1(drives, 2).map((y) => gain(i) * y + 0.02 * rng.normal());
    return { drives, responses, epoch: i + 1 };
  });
}

function setup(opts: RefitOptions = {}): { surrogate: NarxSurrogate; buffer: ReplayBuffer; refitter: LaggedRefitter; events: RefitEvent[] } {
  const surrogate = new NarxSurrogate({ ...SHAPE, hidden: [16], seed: 1 });
  const buffer = new ReplayBuffer({ ...SHAPE, recent: 1024, reservoir: 1024, seed: 2 });
  const events: RefitEvent[] = [];
  const refitter = new LaggedRefitter(surrogate, buffer, { firstEpochs: 30, epochs: 4, examples: 512, learningRate: 1e-2, ...opts, onEvent: (e) => { events.push(e); opts.onEvent?.(e); } });
  return { surrogate, buffer, refitter, events };
}

test('refits after the first segment and then every K buffered pairs; held-out NMSE tracked per refit', async () => {
  // 200 steps: 20 held out, 180 buffered = 179 pairs per segment; K = 400 -> every third segment.
  const { refitter, events } = setup({ every: 400 });
  for (const seg of segments(10, () => 1)) {
    await refitter.observe(seg);
    await refitter.settle();
  }
  const refits = events.filter((e) => e.kind === 'refit');
  assert.equal(refits.map((e) => e.reason), ['first', 'every', 'every', 'every']);
  assert.equal(refits.map((e) => e.pairsSeen), [199, 4 * 199, 7 * 199, 10 * 199]);
  assert.is(refitter.stats.refits, 4);
  assert.is(refitter.stats.pairsSeen, 10 * 199);
  assert.ok(refits.every((e) => e.heldOutNmse !== undefined && e.heldOutNmse < 0.05), JSON.stringify(refits));
  assert.is(events.filter((e) => e.kind === 'drift').length, 0);
  await refitter.close();
});

test('drift: a gain change 1 -> 1.5 raises the alarm on the first changed segment and refits at once; none before', async () => {
  const { refitter, events } = setup({ every: 600 });
  const reports = [];
  for (const seg of segments(16, (i) => (i < 10 ? 1 : 1.5))) {
    reports.push(await refitter.observe(seg));
    await refitter.settle();
  }
  const drift = events.filter((e) => e.kind === 'drift');
  const first = drift[0];
  assert.ok(first !== undefined, JSON.stringify(events));
  assert.is(first.pairsSeen, 11 * 199, 'on the first segment with the new gain');
  assert.ok(first.newestNmse! > 2 * first.heldOutNmse!);
  assert.ok(reports.slice(3, 10).every((r) => !r.drift), JSON.stringify(reports.slice(0, 10)));
  // The drift refit follows the alarm, and the surrogate adapts: the newest error falls back.
  const after = events.slice(events.indexOf(first));
  assert.is(after[1]?.kind, 'refit');
  assert.is(after[1]?.reason, 'drift');
  assert.ok(reports[15].newestNmse! < 0.5 * reports[10].newestNmse!, `${reports[10].newestNmse} -> ${reports[15].newestNmse}`);
  console.log(`    newest NMSE before ${reports[9].newestNmse?.toFixed(4)}, at the change ${reports[10].newestNmse?.toFixed(4)}, 5 segments on ${reports[15].newestNmse?.toFixed(4)}; alarms ${drift.length}`);
  await refitter.close();
});

test('freeze: fits once, never again; the newest error then grows with the drift and alarms keep firing', async () => {
  const { refitter, events } = setup({ every: 200, freeze: true });
  const reports = [];
  for (const seg of segments(12, (i) => 1 + 0.05 * i)) {
    reports.push(await refitter.observe(seg));
    await refitter.settle();
  }
  assert.is(refitter.stats.refits, 1);
  assert.ok(reports[11].newestNmse! > 5 * reports[1].newestNmse!, `${reports[1].newestNmse} -> ${reports[11].newestNmse}`);
  assert.ok(events.filter((e) => e.kind === 'drift').length >= 3);
  await refitter.close();
});

test('options are checked', () => {
  const surrogate = new NarxSurrogate({ ...SHAPE, hidden: [4], seed: 1 });
  const buffer = new ReplayBuffer({ ...SHAPE, recent: 16, reservoir: 16, seed: 2 });
  assert.throws(() => new LaggedRefitter(surrogate, buffer, { every: 0 }), /every/);
  assert.throws(() => new LaggedRefitter(surrogate, buffer, { driftFactor: 0.5 }), /driftFactor/);
  assert.throws(() => new LaggedRefitter(surrogate, buffer, { holdOut: 0.9 }), /holdOut/);
  const other = new ReplayBuffer({ ...SHAPE, window: 3, recent: 16, reservoir: 16 });
  assert.throws(() => new LaggedRefitter(surrogate, other), /window shape/);
  surrogate.dispose();
});

test.run();
