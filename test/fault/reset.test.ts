/**
 * A board that reboots by itself mid-run (resetAfterBatches: BOOT, new epoch, queue lost).
 * detected = injected: every reboot the simulator counts arrives as one BOOT the host breaks on
 * and records; a segment it cuts is measured again from a reset. Reconnecting is not involved:
 * the session survives a reboot, so this runs with reconnect off.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SHORT_IDENTITY, checkRun, measureRecorded, openReconnecting, row, servePty, sleep, tempDir } from './harness.js';

test('device reset mid-run: each BOOT detected and recorded, cut segments re-measured, nothing wrong recorded', async () => {
  const tmp = tempDir();
  const simOpts = { seed: 11, overrides: { units: 16, density: 0.5 }, device: { ...SHORT_IDENTITY, maxBatch: 32, faults: { resetAfterBatches: 13 } } };
  const served = await servePty(simOpts);
  try {
    const dev = await openReconnecting(served.address, { attempts: 0 });
    const r = await measureRecorded(dev, `${tmp.dir}/run.db`, 20, 256);
    await sleep(50);
    const stats = structuredClone(dev.stats);
    await dev.close();
    const injected = served.sim.device.faults.resets;
    const checked = await checkRun(`${tmp.dir}/run.db`, r, 256, simOpts);
    row({ kind: 'device reset', transport: 'pty', rate: simOpts.device.faults, injected, detected: stats.faults.boot,
      recordedBoots: checked.events.boot ?? 0, remeasured: r.remeasured, recorded: checked.recorded, wrong: checked.wrongRecorded + checked.wrongSegments,
      verify: checked.verify.ok, segments: checked.verify.segments });
    assert.ok(injected >= 8, `${injected} resets`);
    assert.is(stats.faults.boot, injected, 'one BOOT break per reboot');
    assert.is(checked.events.boot, injected, 'every BOOT is in the recording');
    // A reboot right after a segment's last batch cuts nothing; one inside a segment cuts it.
    assert.ok(r.remeasured >= 1 && r.remeasured <= injected, `${r.remeasured} re-measured`);
    assert.is(stats.reconnects, 0);
    assert.is(checked.wrongSegments + checked.wrongRecorded, 0);
    assert.ok(checked.verify.ok, checked.verify.problems.join('\n'));
  } finally {
    await served.close();
    tmp.remove();
  }
});

test.run();
