/**
 * Unplug and replug: `rhil sim --pty --link PATH` in a child process, SIGKILLed mid-segment and
 * started again on the same path (a cable yanked and put back, a board power-cycled), and a
 * simulator that drops its TCP connection (disconnectAfterBatches). detected = injected: every
 * kill or drop is one lost session; with reconnect on, each is one successful reconnect and the
 * cut segment is measured again from a reset; with it off, the run stops with DeviceLostError.
 * A kill is nearly always seen as the link closing ('unplug'); now and then the pty reports the
 * closure only after a request has gone unanswered and the PINGs after it too, and the same loss
 * is counted as a 'hang' (a board whose port stays open and says nothing looks just like that).
 */
import { spawn } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DeviceChangedError, DeviceLostError } from '../../src/device/index.js';
import { openRecordDb, verifyRun, getRun } from '../../src/record/index.js';
import {
  type ChildSim, SHORT_IDENTITY, checkRun, killChild, measureRecorded, openReconnecting, row, serveTcp, sleep, startChildSim, tempDir,
} from './harness.js';

const CONNECT = { timeoutMs: 300, processTimeoutMs: 300, helloAttempts: 3 };
const RECONNECT = { attempts: 12, initialDelayMs: 50, backoff: 1.5, maxDelayMs: 500 };
/** Six batches of the fpga profile's 327 vectors: a kill after the first leaves some unsent. */
const STEPS = 1900;

test('simulator killed and restarted on the same pty path, twice: in-flight batches re-measured after a reconnect, nothing wrong recorded', async () => {
  const tmp = tempDir();
  const link = `${tmp.dir}/board`;
  let child: ChildSim = await startChildSim(link, ['--seed', '5']);
  let kills = 0;
  let restarting: Promise<void> = Promise.resolve();
  try {
    const dev = await openReconnecting(link, RECONNECT, CONNECT);
    let accepted = 0;
    dev.results$.subscribe(() => {
      accepted++;
      if (accepted !== 3 && accepted !== 20) return;
      kills++;
      restarting = (async () => {
        await killChild(child);
        await sleep(200);
        child = await startChildSim(link, ['--seed', '5']);
      })();
      // Awaited after the run; until then a failed restart must not end the test process.
      restarting.catch(() => undefined);
    });
    const r = await measureRecorded(dev, `${tmp.dir}/run.db`, 8, STEPS);
    await restarting;
    const stats = structuredClone(dev.stats);
    await dev.close();
    const checked = await checkRun(`${tmp.dir}/run.db`, r, STEPS, { seed: 5 });
    row({ kind: 'unplug/replug (kill -9, restart)', transport: 'pty', injected: kills, detected: stats.faults.unplug + stats.faults.hang,
      asUnplug: stats.faults.unplug, asHang: stats.faults.hang, reconnects: stats.reconnects,
      failedAttempts: stats.failedAttempts, remeasured: r.remeasured, recorded: checked.recorded, recordedReconnectEvents: checked.events.reconnect,
      wrong: checked.wrongRecorded + checked.wrongSegments, verify: checked.verify.ok });
    assert.is(kills, 2);
    assert.is(stats.faults.unplug + stats.faults.hang, kills, 'one lost session per kill');
    assert.is(stats.reconnects, kills);
    assert.ok(r.remeasured >= 1, 'a kill mid-segment costs a re-measurement');
    assert.ok((checked.events.reconnect ?? 0) >= kills, 'the reconnects are in the recording');
    assert.is(checked.wrongSegments + checked.wrongRecorded, 0);
    assert.ok(checked.verify.ok, checked.verify.problems.join('\n'));
  } finally {
    await restarting.catch(() => undefined);
    await killChild(child);
    tmp.remove();
  }
});

test('reconnect off: killing the simulator stops the recorded run with DeviceLostError; what was recorded verifies', async () => {
  const tmp = tempDir();
  const link = `${tmp.dir}/board`;
  const child = await startChildSim(link, ['--seed', '5']);
  try {
    const dev = await openReconnecting(link, { attempts: 0 }, CONNECT);
    let accepted = 0;
    dev.results$.subscribe(() => { if (++accepted === 3) void killChild(child); });
    const err = await measureRecorded(dev, `${tmp.dir}/run.db`, 8, STEPS).catch((e: unknown) => e);
    assert.instance(err, DeviceLostError);
    // Named by what the host saw: the link closing, or (when the pty reports it late) silence.
    const kind = (err as DeviceLostError).kind;
    assert.match((err as Error).message, kind === 'unplug' ? `${link}: link lost (` : `${link}: device stopped answering (`);
    assert.match((err as Error).message, 'not reconnecting (reconnect is off)');
    assert.is(dev.stats.faults.unplug + dev.stats.faults.hang, 1);
    const db = openRecordDb(`${tmp.dir}/run.db`);
    try {
      const v = verifyRun(db, 1);
      assert.is(getRun(db, 1)!.status, 'failed');
      assert.ok(v.ok && v.batches >= 3, v.problems.join('\n'));
    } finally {
      db.close();
    }
  } finally {
    await killChild(child);
    tmp.remove();
  }
});

test('another board on the path after a replug: DeviceChangedError, never a result from it', async () => {
  const tmp = tempDir();
  const link = `${tmp.dir}/board`;
  let child = await startChildSim(link, ['--seed', '5']);
  try {
    const dev = await openReconnecting(link, RECONNECT, CONNECT);
    let fromOther = 0;
    await dev.resetState();
    await dev.process([1, 2, 3]);
    dev.results$.subscribe(() => { fromOther++; });
    await killChild(child);
    child = await startChildSim(link, ['--seed', '6']);
    const err = await dev.resetState().catch((e: unknown) => e);
    assert.instance(err, DeviceChangedError);
    assert.match((err as Error).message, 'serial "SIM-00000006" (was "SIM-00000005")');
    assert.instance(await dev.process([1]).catch((e: unknown) => e), DeviceChangedError);
    assert.is(fromOther, 0);
  } finally {
    await killChild(child);
    tmp.remove();
  }
});

test('simulator drops its TCP connection every 9 batches: each drop detected, reconnected, re-measured; nothing wrong recorded', async () => {
  const tmp = tempDir();
  const simOpts = { seed: 9, overrides: { units: 8, density: 0.5 }, device: { ...SHORT_IDENTITY, maxBatch: 16, faults: { disconnectAfterBatches: 9 } } };
  const served = await serveTcp(simOpts);
  try {
    const dev = await openReconnecting(served.address, { attempts: 5, initialDelayMs: 10 });
    const r = await measureRecorded(dev, `${tmp.dir}/run.db`, 12, 64);
    // A drop right after the last batch is still being reconnected; let it finish before counting.
    await sleep(300);
    const stats = structuredClone(dev.stats);
    await dev.close();
    const accepted = dev.rejects.frames;
    const intact = served.taps.reduce((n, t) => n + t.pieces(served.sim.device.info.maxFrame).good, 0);
    const injected = served.sim.device.faults.disconnects;
    const checked = await checkRun(`${tmp.dir}/run.db`, r, 64, simOpts);
    row({ kind: 'disconnect', transport: 'tcp', rate: simOpts.device.faults, injected, detected: stats.faults.unplug, reconnects: stats.reconnects,
      remeasured: r.remeasured, recorded: checked.recorded, wrong: checked.wrongRecorded + checked.wrongSegments, verify: checked.verify.ok });
    assert.ok(injected >= 4, `${injected} drops`);
    assert.is(stats.faults.unplug, injected);
    assert.is(stats.reconnects, injected);
    assert.is(accepted, intact, 'frames accepted, summed over every session, are the frames the board sent');
    assert.is(served.taps.length, injected + 1);
    assert.ok(r.remeasured >= 1);
    assert.is(checked.wrongSegments + checked.wrongRecorded, 0);
    assert.ok(checked.verify.ok, checked.verify.problems.join('\n'));
  } finally {
    await served.close();
    tmp.remove();
  }
});

test('rhil sim --link: a path socat would misread, or --link without --pty, is a usage error (exit 2)', async () => {
  const run = (args: string[]) => new Promise<{ code: number | null; err: string }>((resolve) => {
    const c = spawn(process.execPath, ['dist/src/cli/main.js', 'sim', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    c.once('exit', (code) => resolve({ code, err }));
  });
  const bad = await run(['--pty', '--link', '/tmp/a,b']);
  assert.is(bad.code, 2);
  assert.match(bad.err, '--link');
  const noPty = await run(['--listen', '127.0.0.1:0', '--link', '/tmp/x']);
  assert.is(noPty.code, 2);
  assert.match(noPty.err, '--link needs --pty');
});

test.run();
