/**
 * A board that stops answering (hangAfterBatches). The host sees a PROCESS timeout (a break),
 * then a RESET_STATE without reply and PINGs without PONG: a hang, one per injected hang
 * (detected = injected). Over TCP a new connection reboots the simulator (as a board behind an
 * Ethernet bridge whose link reset restarts it), so reconnecting recovers; on a pty nothing
 * restarts a wedged board, so reconnecting fails within its bounds and the run stops clearly.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DeviceClient, DeviceLostError, DeviceTimeoutError } from '../../src/device/index.js';
import { measure } from '../../src/train/hybrid.js';
import { SHORT_IDENTITY, checkRun, connectTo, measureRecorded, openReconnecting, row, segmentDrives, servePty, serveTcp, sleep, tempDir } from './harness.js';

const CONNECT = { timeoutMs: 150, processTimeoutMs: 150, helloAttempts: 2 };
const simOpts = { seed: 13, overrides: { units: 8, density: 0.5 }, device: { ...SHORT_IDENTITY, maxBatch: 16, faults: { hangAfterBatches: 11 } } };

test('hang over TCP with reconnect: each hang detected, the session replaced, the segment re-measured; nothing wrong recorded', async () => {
  const tmp = tempDir();
  const served = await serveTcp(simOpts);
  try {
    const dev = await openReconnecting(served.address, { attempts: 3, initialDelayMs: 10 }, CONNECT);
    const r = await measureRecorded(dev, `${tmp.dir}/run.db`, 12, 64);
    await sleep(50);
    const stats = structuredClone(dev.stats);
    await dev.close();
    // The simulator counts a hang when it wedges; the host notices at its next request, so a hang
    // after the very last batch would go unseen: 12 x 4 batches is not a multiple of 11.
    const injected = served.sim.device.faults.hangs;
    const checked = await checkRun(`${tmp.dir}/run.db`, r, 64, simOpts);
    row({ kind: 'hang', transport: 'tcp', rate: simOpts.device.faults, injected, detected: stats.faults.hang, reconnects: stats.reconnects,
      processTimeouts: stats.faults.timeout, remeasured: r.remeasured, recorded: checked.recorded, wrong: checked.wrongRecorded + checked.wrongSegments,
      verify: checked.verify.ok });
    assert.ok(injected >= 4, `${injected} hangs`);
    assert.is(stats.faults.hang, injected);
    assert.is(stats.reconnects, injected);
    assert.ok(r.remeasured >= injected - 1, `${r.remeasured} re-measured`);
    assert.is(stats.faults.lostReply, 0, 'a hang is not taken for a lost reply');
    assert.is(checked.wrongSegments + checked.wrongRecorded, 0);
    assert.ok(checked.verify.ok, checked.verify.problems.join('\n'));
  } finally {
    await served.close();
    tmp.remove();
  }
});

test('hang on a pty: reconnecting fails within its bounds (the board stays wedged) and the run stops with DeviceLostError', async () => {
  const tmp = tempDir();
  const served = await servePty(simOpts);
  try {
    const dev = await openReconnecting(served.address, { attempts: 3, initialDelayMs: 20 }, CONNECT);
    const t0 = performance.now();
    const err = await measureRecorded(dev, `${tmp.dir}/run.db`, 12, 64).catch((e: unknown) => e);
    const s = (performance.now() - t0) / 1000;
    assert.instance(err, DeviceLostError);
    assert.is((err as DeviceLostError).kind, 'hang');
    assert.is((err as DeviceLostError).attempts, 3);
    assert.match((err as Error).message, 'device stopped answering');
    assert.match((err as Error).message, '3 reconnect attempts');
    assert.match((err as Error).message, 'no reply to HELLO');
    assert.ok(s < 5, `${s} s`);
    assert.is(served.sim.device.faults.hangs, 1);
    assert.is(dev.stats.faults.hang, 1);
    const checked = await checkRun(`${tmp.dir}/run.db`, { runId: 1, responses: [], remeasured: 0 }, 64, simOpts);
    assert.ok(checked.verify.ok, checked.verify.problems.join('\n'));
  } finally {
    await served.close();
    tmp.remove();
  }
});

test('hang with reconnect off, and on a bare DeviceClient: the run stops with an error that names it', async () => {
  const served = await servePty(simOpts);
  try {
    const dev = await openReconnecting(served.address, { attempts: 0 }, CONNECT);
    let err: unknown;
    for (let k = 0; k < 12 && !err; k++) err = await measure(dev, segmentDrives(k, 64)).then(() => undefined, (e: unknown) => e);
    assert.instance(err, DeviceLostError);
    assert.match((err as Error).message, 'device stopped answering');
    assert.match((err as Error).message, 'reconnect is off');
  } finally {
    await served.close();
  }
  // Without the wrapper the client's own errors stop measure(): the reset that follows the
  // timed-out batch gets no reply either.
  const served2 = await servePty(simOpts);
  let client: DeviceClient | undefined;
  try {
    client = await connectTo(served2.address, CONNECT);
    let err: unknown;
    for (let k = 0; k < 12 && !err; k++) err = await measure(client, segmentDrives(k, 64)).then(() => undefined, (e: unknown) => e);
    assert.instance(err, DeviceTimeoutError);
    assert.match((err as Error).message, 'no reply to RESETSTATE');
  } finally {
    await client?.close();
    await served2.close();
  }
});

test.run();
