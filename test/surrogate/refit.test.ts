import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { Observable, from, interval, map, take, tap, type Subscription } from 'rxjs';
import { Rng } from '../../src/core/rng.js';
import { NarxSurrogate } from '../../src/surrogate/narx.js';
import { ContinuousRefitter, continuousRefit, type ObservedSegment, type RefitEvent, type RefitOptions } from '../../src/surrogate/refit.js';
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

function setup(opts: RefitOptions = {}): { surrogate: NarxSurrogate; buffer: ReplayBuffer; refitter: ContinuousRefitter; events: RefitEvent[] } {
  const surrogate = new NarxSurrogate({ ...SHAPE, hidden: [16], seed: 1 });
  const buffer = new ReplayBuffer({ ...SHAPE, recent: 1024, reservoir: 1024, seed: 2 });
  const events: RefitEvent[] = [];
  const refitter = new ContinuousRefitter(surrogate, buffer, { firstEpochs: 30, epochs: 4, examples: 512, learningRate: 1e-2, ...opts, onEvent: (e) => { events.push(e); opts.onEvent?.(e); } });
  return { surrogate, buffer, refitter, events };
}

const activeTimers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'Immediate').length;

test('refits after the first segment and then every K buffered pairs; held-out NMSE tracked per refit', async () => {
  // 200 steps: 20 held out, 180 buffered = 179 pairs per segment; K = 400 -> every third segment.
  const { surrogate, refitter, events } = setup({ every: 400 });
  for (const seg of segments(10, () => 1)) {
    refitter.observe(seg);
    await refitter.idle();
  }
  const refits = events.filter((e) => e.kind === 'refit');
  assert.equal(refits.map((e) => e.reason), ['first', 'every', 'every', 'every']);
  assert.equal(refits.map((e) => e.pairsSeen), [199, 4 * 199, 7 * 199, 10 * 199]);
  assert.is(refitter.stats.refits, 4);
  assert.is(refitter.stats.pairsSeen, 10 * 199);
  assert.ok(refits.every((e) => e.heldOutNmse !== undefined && e.heldOutNmse < 0.05), JSON.stringify(refits));
  assert.is(events.filter((e) => e.kind === 'drift').length, 0);
  surrogate.dispose();
});

test('drift: a gain change 1 -> 1.5 raises the alarm on the first changed segment and refits at once; none before', async () => {
  const { surrogate, refitter, events } = setup({ every: 600 });
  const reports = [];
  for (const seg of segments(16, (i) => (i < 10 ? 1 : 1.5))) {
    reports.push(refitter.observe(seg));
    await refitter.idle();
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
  surrogate.dispose();
});

test('freeze: fits once, never again; the newest error then grows with the drift and alarms keep firing', async () => {
  const { surrogate, refitter, events } = setup({ every: 200, freeze: true });
  const reports = [];
  for (const seg of segments(12, (i) => 1 + 0.05 * i)) {
    reports.push(refitter.observe(seg));
    await refitter.idle();
  }
  assert.is(refitter.stats.refits, 1);
  assert.ok(reports[11].newestNmse! > 5 * reports[1].newestNmse!, `${reports[1].newestNmse} -> ${reports[11].newestNmse}`);
  assert.ok(events.filter((e) => e.kind === 'drift').length >= 3);
  surrogate.dispose();
});

test('operator: a synchronous burst coalesces into the first fit plus one pending refit, then completes; deterministic', async () => {
  const run = async () => {
    const surrogate = new NarxSurrogate({ ...SHAPE, hidden: [16], seed: 1 });
    const buffer = new ReplayBuffer({ ...SHAPE, recent: 1024, reservoir: 1024, seed: 2 });
    const events: RefitEvent[] = [];
    await new Promise<void>((resolve, reject) => {
      from(segments(8, () => 1)).pipe(continuousRefit(surrogate, buffer, { every: 200, firstEpochs: 10, examples: 512 }))
        .subscribe({ next: (e) => events.push(e), error: reject, complete: resolve });
    });
    const w = surrogate.toJSON().layers[0].w;
    surrogate.dispose();
    return { events, w };
  };
  const a = await run(), b = await run();
  assert.equal(a.events.map((e) => [e.kind, e.reason, e.pairsSeen]), [['refit', 'first', 8 * 199], ['refit', 'every', 8 * 199]]);
  assert.equal(a, b);
});

test('operator: the upstream is never stalled while a refit runs (values keep arriving, gaps stay small)', async () => {
  const surrogate = new NarxSurrogate({ ...SHAPE, hidden: [32], seed: 1 });
  const buffer = new ReplayBuffer({ ...SHAPE, recent: 2048, reservoir: 2048, seed: 2 });
  const segs = segments(60, () => 1);
  const arrivals: number[] = [];
  let firstRefitDone = NaN;
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    interval(4).pipe(take(segs.length), map((i) => segs[i]), tap(() => arrivals.push(performance.now() - t0)),
      continuousRefit(surrogate, buffer, { every: 400, firstEpochs: 150, examples: 2048 }))
      .subscribe({ next: (e) => { if (Number.isNaN(firstRefitDone)) firstRefitDone = performance.now() - t0; void e; }, error: reject, complete: resolve });
  });
  const during = arrivals.filter((t) => t < firstRefitDone);
  const gaps = arrivals.slice(1).map((t, i) => t - arrivals[i]);
  console.log(`    first fit (150 epochs x 2048) took ${firstRefitDone.toFixed(0)} ms; ${during.length} segments arrived meanwhile; max gap ${Math.max(...gaps).toFixed(1)} ms`);
  assert.ok(firstRefitDone > 100, `the first fit should take a while, took ${firstRefitDone}`);
  assert.ok(during.length >= 10, `${during.length} arrivals during the first fit`);
  assert.ok(Math.max(...gaps) < 60, `max gap ${Math.max(...gaps)} ms`);
  surrogate.dispose();
});

test('operator: unsubscribing mid-refit unsubscribes the source, stops the refit, leaves no timer, and the weights stop changing', async () => {
  const surrogate = new NarxSurrogate({ ...SHAPE, hidden: [32], seed: 1 });
  const buffer = new ReplayBuffer({ ...SHAPE, recent: 2048, reservoir: 2048, seed: 2 });
  const before = activeTimers();
  const tensors = tf.memory().numTensors;
  let sourceSubscribed = 0, sourceUnsubscribed = 0;
  const source = new Observable<ObservedSegment>((sub) => {
    sourceSubscribed++;
    for (const s of segments(3, () => 1)) sub.next(s);   // never completes
    return () => { sourceUnsubscribed++; };
  });
  const events: RefitEvent[] = [];
  const sub: Subscription = source.pipe(continuousRefit(surrogate, buffer, { firstEpochs: 1000, examples: 2048 })).subscribe((e) => events.push(e));
  assert.is(sourceSubscribed, 1);
  await new Promise((r) => setTimeout(r, 50));   // the first fit is running, in slices
  const w1 = surrogate.toJSON().layers[0].w;
  await new Promise((r) => setTimeout(r, 20));
  const w2 = surrogate.toJSON().layers[0].w;
  assert.not.equal(w1, w2, 'the refit runs in the background');
  sub.unsubscribe();
  assert.is(sourceUnsubscribed, 1);
  assert.is(activeTimers(), before, JSON.stringify(process.getActiveResourcesInfo()));
  const w3 = surrogate.toJSON().layers[0].w;
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(surrogate.toJSON().layers[0].w, w3, 'no refit after unsubscribe');
  assert.is(events.length, 0);
  assert.is(tf.memory().numTensors, tensors, 'the refit released its tensors');
  surrogate.dispose();
});

test('options are checked', () => {
  const surrogate = new NarxSurrogate({ ...SHAPE, hidden: [4], seed: 1 });
  const buffer = new ReplayBuffer({ ...SHAPE, recent: 16, reservoir: 16, seed: 2 });
  assert.throws(() => new ContinuousRefitter(surrogate, buffer, { every: 0 }), /every/);
  assert.throws(() => new ContinuousRefitter(surrogate, buffer, { driftFactor: 0.5 }), /driftFactor/);
  assert.throws(() => new ContinuousRefitter(surrogate, buffer, { holdOut: 0.9 }), /holdOut/);
  const other = new ReplayBuffer({ ...SHAPE, window: 3, recent: 16, reservoir: 16 });
  assert.throws(() => new ContinuousRefitter(surrogate, other), /window shape/);
  surrogate.dispose();
});

test.run();
