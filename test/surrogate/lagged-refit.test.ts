import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/core/rng.js';
import { LaggedRefitter, RefitterClosed, liveRefitWorkers, type LaggedRefitOptions } from '../../src/surrogate/lagged-refit.js';
import { NarxSurrogate, type NarxJSON } from '../../src/surrogate/narx.js';
import type { ObservedSegment, RefitEvent, SegmentReport } from '../../src/surrogate/refit.js';
import { ReplayBuffer } from '../../src/surrogate/replay.js';
import { isTransmissionJSON } from '../../src/surrogate/saved.js';
import { TransmissionSurrogate } from '../../src/surrogate/transmission.js';
import { tanhMemory1, uniformDrives } from './helpers.js';

test.before(async () => {
  await tf.setBackend('cpu');
});

const SHAPE = { inChannels: 2, outChannels: 2, window: 2, responseLags: 1 };

/** y = gain tanh(0.8 d(t) + 0.5 d(t-1)) + N(0, 0.02²) per channel, 200-step segments. */
function segments(count: number, gain: (i: number) => number = () => 1): ObservedSegment[] {
  const rng = new Rng(1);
  return Array.from({ length: count }, (_, i) => {
    const drives = uniformDrives(rng, 200, 2);
    const responses = tanhMemory1(drives, 2).map((y) => gain(i) * y + 0.02 * rng.normal());
    return { drives, responses, epoch: i + 1 };
  });
}

function refitter(opts: LaggedRefitOptions, events: RefitEvent[] = [], transmission = false): LaggedRefitter {
  const shape = transmission ? { ...SHAPE, window: 1, responseLags: 0 } : SHAPE;
  const surrogate = transmission ? new TransmissionSurrogate({ inChannels: 2, outChannels: 2, seed: 1 }) : new NarxSurrogate({ ...SHAPE, hidden: [16], seed: 1 });
  const buffer = new ReplayBuffer({ ...shape, recent: 1024, reservoir: 1024, seed: 2 });
  return new LaggedRefitter(surrogate, buffer, {
    every: 150, firstEpochs: 20, epochs: 4, examples: 512, learningRate: 1e-2, seed: 3, ...opts, onEvent: (e) => events.push(e),
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const weights = (r: LaggedRefitter): number[] => {
  const j = r.surrogate.toJSON();
  return isTransmissionJSON(j) ? [...j.tr, ...j.ti, ...j.cr, ...j.ci, ...j.b, j.omega] : (j as NarxJSON).layers.flatMap((l) => [...l.w, ...l.b]);
};

async function untilReady(r: LaggedRefitter): Promise<void> {
  for (let i = 0; i < 600 && r.mode === 'starting'; i++) await sleep(25);
  assert.is(r.mode, 'worker', `the worker did not start: ${r.fallbackReason}`);
}

interface Run { reports: SegmentReport[]; refits: number[]; weights: number[][]; events: [string, string, number][]; ran: { worker: number; main: number } }

/** Observes 8 segments (gain step 1 -> 1.6 at the sixth), `pause` ms after each observe; the final settle publishes the last refit. */
async function run(opts: LaggedRefitOptions, pause: number, ready = false, transmission = false): Promise<Run> {
  const events: RefitEvent[] = [];
  const r = refitter(opts, events, transmission);
  try {
    if (ready) await untilReady(r);
    const out: Run = { reports: [], refits: [], weights: [], events: [], ran: { worker: 0, main: 0 } };
    for (const seg of segments(8, (i) => (i < 5 ? 1 : 1.6))) {
      out.reports.push(await r.observe(seg));
      out.refits.push(r.stats.refits);
      out.weights.push(weights(r));
      if (pause > 0) await sleep(pause);
    }
    await r.settle();
    out.weights.push(weights(r));
    out.events = events.map((e) => [e.kind, e.reason, e.refits]);
    out.ran = r.ran;
    return out;
  } finally {
    await r.close();
  }
}

test('the surrogate in use after observing segment e is the refit on segments up to e-1, however long refits take (this thread)', async () => {
  const waited = await run({}, 0);
  const idle = await run({}, 150);   // every refit done long before the next observe
  assert.equal(idle, waited);
  // observe(e) publishes the refit observe(e-1) started: e refits in use, none before the first fit.
  assert.equal(waited.refits, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.is(waited.reports[0].newestNmse, undefined);
  assert.ok(waited.reports.slice(1).every((x) => x.newestNmse !== undefined && Number.isFinite(x.newestNmse)), JSON.stringify(waited.reports));
  // Nothing is published before the next observe: segment 0's first fit is not in use after observe(0).
  assert.equal(waited.weights[0], (await initialWeights()));
  assert.not.equal(waited.weights[1], waited.weights[0]);
  // The gain step raises the alarm on its first segment; that refit is 'drift' and follows in the next publish.
  const drift = waited.events.findIndex((e) => e[0] === 'drift');
  assert.ok(waited.reports[5].drift, JSON.stringify(waited.reports.map((x) => x.drift)));
  assert.equal(waited.events[drift + 1], ['refit', 'drift', 6]);
  assert.equal(waited.events[0], ['refit', 'first', 1]);
  assert.is(waited.events.filter((e) => e[0] === 'refit').length, 8, 'the settle published the eighth');
  assert.equal(waited.ran, { worker: 0, main: 8 });
});

test('publishWhenDue: a refit is published when the next one is due, so it may run across the segments until then (the first fit at the next observe)', async () => {
  // every 300 pairs: segments of 200 steps (180 buffered) make a refit due every second segment.
  const r = refitter({ every: 300, publishWhenDue: true });
  const inUse: number[] = [];
  try {
    for (const seg of segments(7)) {
      await r.observe(seg);
      inUse.push(r.stats.refits);
    }
    // Started at 0 (first), 2, 4, 6: the first published at observe(1), the others at the next due point.
    assert.equal(inUse, [0, 1, 1, 1, 2, 2, 3]);
    await r.settle();
    assert.is(r.stats.refits, 4, 'settle publishes the last one');
  } finally {
    await r.close();
  }
});

async function initialWeights(): Promise<number[]> {
  const s = new NarxSurrogate({ ...SHAPE, hidden: [16], seed: 1 });
  const w = s.toJSON().layers.flatMap((l) => [...l.w, ...l.b]);
  s.dispose();
  return w;
}

test('a worker gives the same weights, reports and events as this thread, and runs the refits once it is up', async () => {
  const here = await run({}, 0);
  const there = await run({ worker: true }, 0, true);
  assert.equal(there.ran, { worker: 8, main: 0 });
  assert.equal({ ...there, ran: here.ran }, here);
  assert.is(liveRefitWorkers(), 0);
});

test('a transmission-matrix surrogate is refitted too: in a worker, the same weights and reports as on this thread', async () => {
  const here = await run({ learningRate: 2e-2 }, 0, false, true);
  const there = await run({ learningRate: 2e-2, worker: true }, 0, true, true);
  assert.equal(there.ran, { worker: 8, main: 0 });
  assert.equal({ ...there, ran: here.ran }, here);
  assert.ok(here.reports.at(-1)!.newestNmse! < 0.5, `newest NMSE ${here.reports.at(-1)!.newestNmse}`);
  assert.is(liveRefitWorkers(), 0);
});

test('a worker that cannot load falls back to this thread with the same numbers; so does one that dies mid-run (its refit is rerun here)', async () => {
  const here = await run({}, 0);
  const broken = refitter({ worker: true, workerUrl: new URL('./refit-worker-broken.js', import.meta.url) });
  for (let i = 0; i < 200 && broken.mode === 'starting'; i++) await sleep(25);
  assert.is(broken.mode, 'main');
  assert.match(broken.fallbackReason ?? '', /no tfjs in this worker/);
  await broken.close();
  const fallen = await run({ worker: true, workerUrl: new URL('./refit-worker-broken.js', import.meta.url) }, 0);
  assert.equal({ ...fallen, ran: here.ran }, here);
  const crashed = await run({ worker: true, workerUrl: new URL('./refit-worker-crashing.js', import.meta.url) }, 0, true);
  assert.equal(crashed.ran, { worker: 2, main: 6 }, 'two refits in the worker, the third rerun here and the rest here');
  assert.equal({ ...crashed, ran: here.ran }, here);
  assert.is(liveRefitWorkers(), 0);
});

test('close() mid-refit: the worker is gone, a refit on this thread stops, no timer or tensor is left, observe rejects', async () => {
  const tensors = tf.memory().numTensors;
  const timers = (): number => process.getActiveResourcesInfo().filter((x) => x === 'Timeout' || x === 'Immediate').length;
  const before = timers();
  for (const opts of [{}, { worker: true }] as LaggedRefitOptions[]) {
    const r = refitter({ ...opts, firstEpochs: 100000 });
    if (opts.worker) await untilReady(r);
    await r.observe(segments(1)[0]);   // starts a first fit that would take minutes
    await sleep(30);
    assert.is(liveRefitWorkers(), opts.worker ? 1 : 0);
    await r.close();
    assert.is(liveRefitWorkers(), 0);
    assert.is(timers(), before, JSON.stringify(process.getActiveResourcesInfo()));
    assert.is(tf.memory().numTensors, tensors, 'surrogate, refit copy and optimiser released');
    await r.observe(segments(2)[1]).then(() => assert.unreachable('observe after close'), (e: unknown) => assert.instance(e, RefitterClosed));
    await r.close();   // idempotent
  }
});

test('one observe at a time', async () => {
  const r = refitter({});
  try {
    const [a, b] = segments(2);
    await r.observe(a);
    const first = r.observe(b);
    await r.observe(a).then(() => assert.unreachable(), (e: unknown) => assert.match((e as Error).message, /one observe or settle at a time/));
    await first;
  } finally {
    await r.close();
  }
});

test.run();
