/**
 * Byte faults on the wire (bit flips, dropped bytes, delay and jitter), through a real pty and
 * over TCP, in a recorded run of measured segments. What "detected = injected" means here:
 * - every frame the simulator damaged (its FaultCounts.corruptedFrames) is seen damaged on the
 *   wire by the tap, one write per frame, so the injector's count is the wire's;
 * - the host's decoder accepts exactly the wire's intact pieces and rejects exactly the damaged
 *   ones (the stream cut at 0x00: a lost delimiter merges frames into one rejected piece, a new
 *   0x00 splits one into two), so no damaged byte reaches a result and none goes uncounted;
 * - each lost reply shows as a timeout, an out-of-order reply or a lost control reply, and the
 *   segment it hit is measured again from a reset;
 * - nothing wrong is kept: the run verifies, and every recorded batch and every measured segment
 *   equals what a clean simulator of the same seed gives for the same drive from a reset.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { FaultOptions } from '../../src/sim/index.js';
import {
  SHORT_IDENTITY, type ServedSim, checkRun, measureRecorded, openReconnecting, rejections, row, servePty, serveTcp, sleep, tempDir,
} from './harness.js';

interface Case {
  kind: string;
  transport: 'pty' | 'tcp';
  faults: FaultOptions;
  /** Reservoir units (output channels) and vectors per batch: smaller frames for higher rates. */
  units: number;
  maxBatch: number;
  steps: number;
  segments: number;
  /** Damaged frames the case must at least meet, so it tests something. */
  minCorrupted: number;
}

async function runCase(c: Case): Promise<void> {
  const tmp = tempDir();
  const simOpts = { seed: 7, overrides: { units: c.units, density: 0.5 }, device: { ...SHORT_IDENTITY, maxBatch: c.maxBatch, faults: c.faults } };
  const served: ServedSim = c.transport === 'pty' ? await servePty(simOpts) : await serveTcp(simOpts);
  const db = `${tmp.dir}/run.db`;
  try {
    // Four unanswered PINGs before calling it a hang: at 1e-3 a PONG is lost one time in six.
    const dev = await openReconnecting(served.address, { attempts: 3, probes: 4 });
    const r = await measureRecorded(dev, db, c.segments, c.steps);
    await sleep(50);
    const rejects = dev.rejects;
    const stats = structuredClone(dev.stats);
    await dev.close();

    const injected = served.sim.device.faults;
    const wire = served.taps.reduce((s, t) => ({ c: s.c + t.corrupted, f: s.f + t.frames }), { c: 0, f: 0 });
    const pieces = served.taps.map((t) => t.pieces(served.sim.device.info.maxFrame)).reduce((s, p) => ({ good: s.good + p.good, bad: s.bad + p.bad }));
    const checked = await checkRun(db, r, c.steps, simOpts);
    const lost = stats.faults.timeout + stats.faults.order + stats.faults.lostReply + stats.faults.epoch;
    row({
      kind: c.kind, transport: c.transport, rate: c.faults, framesSent: wire.f, injectedCorruptedFrames: injected.corruptedFrames,
      bitFlips: injected.bitFlips, droppedBytes: injected.droppedBytes, delayedFrames: injected.delayedFrames,
      wireBadPieces: pieces.bad, hostRejected: rejections(rejects), hostAccepted: rejects.frames, lostRepliesNoticed: lost,
      breaks: stats.faults, remeasured: r.remeasured, recorded: checked.recorded, wrong: checked.wrongRecorded + checked.wrongSegments,
      verify: checked.verify.ok ? 'ok' : checked.verify.problems.slice(0, 3),
    });

    assert.is(wire.c, injected.corruptedFrames, 'the injector counted every frame it damaged, and only those');
    assert.ok(injected.corruptedFrames >= c.minCorrupted, `only ${injected.corruptedFrames} damaged frames: the case tests too little`);
    assert.is(rejections(rejects), pieces.bad, 'the host rejected exactly the damaged pieces of the stream');
    assert.is(rejects.frames, pieces.good, 'the host accepted exactly the intact frames');
    if (injected.corruptedFrames > 0) {
      assert.ok(lost >= 1, 'lost replies were noticed');
      assert.ok(r.remeasured >= 1, 'segments hit by a lost reply were measured again');
    }
    assert.is(stats.reconnects, 0, 'byte faults never pass for a lost session');
    assert.is(checked.wrongSegments, 0, 'every measured segment equals the clean device');
    assert.is(checked.wrongRecorded, 0, 'every recorded batch equals the clean device from a reset');
    assert.ok(checked.recorded >= c.segments * Math.ceil(c.steps / c.maxBatch));
    assert.ok(checked.verify.ok, checked.verify.problems.join('\n'));
  } finally {
    await served.close();
    tmp.remove();
  }
}

const BIG = { units: 16, maxBatch: 32, steps: 256 };
const MID = { units: 8, maxBatch: 16, steps: 64 };
const SMALL = { units: 4, maxBatch: 4, steps: 8 };

const cases: Case[] = [
  { kind: 'bit flips', transport: 'pty', faults: { bitFlipRate: 1e-5 }, ...BIG, segments: 30, minCorrupted: 5 },
  { kind: 'bit flips', transport: 'pty', faults: { bitFlipRate: 1e-4 }, ...MID, segments: 20, minCorrupted: 5 },
  { kind: 'bit flips', transport: 'pty', faults: { bitFlipRate: 1e-3 }, ...SMALL, segments: 10, minCorrupted: 5 },
  { kind: 'dropped bytes', transport: 'pty', faults: { dropByteRate: 5e-4 }, ...MID, segments: 20, minCorrupted: 3 },
  { kind: 'bit flips', transport: 'tcp', faults: { bitFlipRate: 1e-4 }, ...MID, segments: 20, minCorrupted: 5 },
  { kind: 'bit flips', transport: 'tcp', faults: { bitFlipRate: 1e-3 }, ...SMALL, segments: 10, minCorrupted: 5 },
  { kind: 'dropped bytes', transport: 'tcp', faults: { dropByteRate: 5e-4 }, ...MID, segments: 20, minCorrupted: 3 },
];

for (const c of cases) {
  test(`${c.kind} ${JSON.stringify(c.faults)} over ${c.transport}: every damaged frame is rejected, lost replies re-measured, nothing wrong recorded`, async () => {
    const t0 = performance.now();
    await runCase(c);
    console.log(`  (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  });
}

test('delay 3 ms and jitter 20 ms within the timeouts: every delayed frame accepted, nothing breaks, nothing wrong', async () => {
  const tmp = tempDir();
  const simOpts = { seed: 3, overrides: { units: 16, density: 0.5 }, device: { ...SHORT_IDENTITY, maxBatch: 32, faults: { delayMs: 3, jitterMs: 20 } } };
  const served = await servePty(simOpts);
  try {
    const dev = await openReconnecting(served.address, { attempts: 3 });
    const r = await measureRecorded(dev, `${tmp.dir}/run.db`, 10, 256);
    const rejects = dev.rejects;
    const stats = structuredClone(dev.stats);
    await dev.close();
    const checked = await checkRun(`${tmp.dir}/run.db`, r, 256, simOpts);
    const delayed = served.sim.device.faults.delayedFrames;
    row({ kind: 'delay+jitter', transport: 'pty', rate: simOpts.device.faults, delayedFrames: delayed, hostAccepted: rejects.frames,
      hostRejected: rejections(rejects), breaks: stats.faults, remeasured: r.remeasured, recorded: checked.recorded, verify: checked.verify.ok });
    assert.ok(delayed >= 10 * 9, `${delayed} delayed frames`);
    assert.is(rejections(rejects), 0);
    assert.is(rejects.frames, served.taps[0].frames, 'every delayed frame the host was sent, it accepted');
    assert.is(r.remeasured, 0);
    assert.is(checked.wrongSegments + checked.wrongRecorded, 0);
    assert.ok(checked.verify.ok, checked.verify.problems.join('\n'));
  } finally {
    await served.close();
    tmp.remove();
  }
});

test.run();
