import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng } from '../../src/core/rng.js';
import { ReplayBuffer } from '../../src/surrogate/replay.js';
import { cutWindows } from '../../src/surrogate/windows.js';

/** Drive d(t) = t + 0.5·c on channel c and response y(t) = -t - 0.25·c: every example names its step. */
function ramp(from: number, t: number, inCh: number, outCh: number): { d: Float32Array; y: Float32Array } {
  return {
    d: Float32Array.from({ length: t * inCh }, (_, i) => from + Math.floor(i / inCh) + 0.5 * (i % inCh)),
    y: Float32Array.from({ length: t * outCh }, (_, i) => -(from + Math.floor(i / outCh)) - 0.25 * (i % outCh)),
  };
}

const shape = { inChannels: 2, outChannels: 1, window: 3, responseLags: 2 };

/** Asserts every example in `ex` is a consistent window of consecutive steps within one segment. */
function assertContiguous(ex: { count: number; drives: Float32Array; history: Float32Array; targets: Float32Array }, segmentOf: (t: number) => number): void {
  for (let i = 0; i < ex.count; i++) {
    const t = -ex.targets[i];
    for (let k = 0; k < 3; k++) {
      assert.is(ex.drives[i * 6 + 2 * k], t - k);
      assert.is(ex.drives[i * 6 + 2 * k + 1], t - k + 0.5);
      assert.is(segmentOf(t - k), segmentOf(t), `example at ${t} crosses a segment start`);
    }
    for (let j = 1; j <= 2; j++) {
      assert.is(ex.history[i * 2 + j - 1], -(t - j));
      assert.is(segmentOf(t - j), segmentOf(t));
    }
  }
}

test('examples are cut inside a segment only; the same epoch continues it, a new one restarts', () => {
  const buf = new ReplayBuffer({ ...shape, recent: 1000, reservoir: 0 });
  // Segment A: steps 0..9 in two adds of epoch 1; segment B: steps 100..104 (epoch 2); C: 200..201 (no epoch).
  let a = ramp(0, 6, 2, 1);
  assert.is(buf.add(a.d, a.y, 1), 4);            // steps 2..5
  a = ramp(6, 4, 2, 1);
  assert.is(buf.add(a.d, a.y, 1), 4);            // steps 6..9: windows reach back into the first add
  const b = ramp(100, 5, 2, 1);
  assert.is(buf.add(b.d, b.y, 2), 3);            // steps 102..104
  const c = ramp(200, 2, 2, 1);
  assert.is(buf.add(c.d, c.y), 0);               // too short for a window
  const d = ramp(300, 1, 2, 1);
  assert.is(buf.add(d.d, d.y), 0);               // no epoch: never continues
  const ex = buf.newest(100);
  assert.is(ex.count, 11);
  assert.equal(Array.from(ex.targets, (v) => -v), [2, 3, 4, 5, 6, 7, 8, 9, 102, 103, 104]);
  assertContiguous(ex, (t) => Math.floor(t / 100));
  // cutWindows over the whole of segment A gives the same examples as the two adds.
  const whole = ramp(0, 10, 2, 1);
  const cut = cutWindows(shape, whole.d, whole.y);
  assert.equal(Array.from(cut.drives), Array.from(ex.drives.subarray(0, 8 * 6)));
});

test('a short continuation shorter than the window still joins up (tail shorter than max(W-1, R))', () => {
  const buf = new ReplayBuffer({ inChannels: 1, outChannels: 1, window: 5, responseLags: 0, recent: 100, reservoir: 0 });
  let n = 0;
  for (let t = 0; t < 12; t++) n += buf.add([t], [-t], 7);   // one step per add
  assert.is(n, 8);                                             // steps 4..11
  const ex = buf.newest(8);
  assert.equal(Array.from(ex.drives.subarray(0, 5)), [4, 3, 2, 1, 0]);
});

test('memory is bounded whatever is added; size = recent + reservoir once full', () => {
  const buf = new ReplayBuffer({ ...shape, recent: 50, reservoir: 200, seed: 1 });
  const bytes = buf.byteLength;
  for (let s = 0; s < 40; s++) {
    const seg = ramp(s * 1000, 500, 2, 1);
    buf.add(seg.d, seg.y, s);
    assert.is(buf.byteLength, bytes);
    assert.ok(buf.size <= 250);
  }
  assert.is(buf.seen, 40 * 498);
  assert.is(buf.size, 250);
  assert.is(bytes, 250 * (6 + 2 + 1) * 4 + 2 * (2 + 1) * 4);
  const all = buf.sample(10_000, new Rng(1));
  assert.is(all.count, 250);
  assertContiguous(all, (t) => Math.floor(t / 1000));
  const newest = buf.newest(50);
  assert.equal(Array.from(newest.targets, (v) => -v), Array.from({ length: 50 }, (_, i) => 39_000 + 450 + i));
});

test('the reservoir is a uniform sample of everything seen (chi-square over 10 bins, 40 seeds)', () => {
  const seenPerRun = 5000, m = 100, bins = 10, runs = 40;
  const counts = new Array<number>(bins).fill(0);
  for (let seed = 0; seed < runs; seed++) {
    const buf = new ReplayBuffer({ inChannels: 1, outChannels: 1, window: 1, responseLags: 0, recent: 0, reservoir: m, seed });
    for (let s = 0; s < 10; s++) {
      const seg = Float32Array.from({ length: seenPerRun / 10 }, (_, i) => s * 500 + i);
      buf.add(seg, seg, s);
    }
    const ex = buf.sample(m, new Rng(seed));
    assert.is(ex.count, m);
    assert.is(new Set(ex.targets).size, m, 'sample is without replacement');
    for (const t of ex.targets) counts[Math.floor((t * bins) / seenPerRun)]++;
  }
  const expected = (runs * m) / bins;
  const chi2 = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
  assert.ok(chi2 < 27.9, `chi-square ${chi2.toFixed(2)} (9 dof, p = 0.001 at 27.9); counts ${counts}`);
  if (process.env.SURROGATE_REPORT === '1') console.log('reservoir chi-square', chi2, counts);
});

test('seeded: the same seed gives the same reservoir; another seed a different one', () => {
  const fill = (seed: number) => {
    const buf = new ReplayBuffer({ inChannels: 1, outChannels: 1, window: 2, responseLags: 1, recent: 5, reservoir: 20, seed });
    const seg = ramp(0, 1000, 1, 1);
    buf.add(seg.d, seg.y);
    return Array.from(buf.sample(25, new Rng(3)).targets);
  };
  assert.equal(fill(1), fill(1));
  assert.not.equal(fill(1), fill(2));
});

test('bad options and mismatched lengths throw with the name in the message', () => {
  assert.throws(() => new ReplayBuffer({ ...shape, recent: -1, reservoir: 5 }), /recent/);
  assert.throws(() => new ReplayBuffer({ ...shape, recent: 0, reservoir: 0 }), /at least 1/);
  assert.throws(() => new ReplayBuffer({ ...shape, window: 0, recent: 1, reservoir: 1 }), /window/);
  const buf = new ReplayBuffer({ ...shape, recent: 10, reservoir: 10 });
  assert.throws(() => buf.add([1, 2, 3], [1]), /multiple of inChannels/);
  assert.throws(() => buf.add([1, 2], [1, 2]), /does not match/);
});

test.run();
