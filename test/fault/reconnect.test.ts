/**
 * ReconnectingDevice against scripted boards over memory links: how it tells an unplug, a hang
 * and a lost reply apart, what it does with batches in flight, and when it refuses to go on.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DeviceChangedError, DeviceClient, type DeviceEvent, DeviceLostError, ReconnectingDevice, StateBreakError,
} from '../../src/device/index.js';
import type { Info } from '../../src/protocol/index.js';
import { ScriptedDevice } from '../device/scripted-device.js';

const OPTS = { timeoutMs: 60, processTimeoutMs: 60, helloAttempts: 1 };

/** A bench of boards: each connect plugs in the next (or the current one again, if still up). */
class Bench {
  boards: ScriptedDevice[] = [];
  connects = 0;
  /** Info of the next board to answer; null: nothing there (connect fails). */
  next: Partial<Info> | null = {};

  connect = async (): Promise<DeviceClient> => {
    this.connects++;
    if (this.next === null) throw new Error('no such port');
    const b = ScriptedDevice.pair(this.next);
    this.boards.push(b);
    return DeviceClient.connect(b.host, OPTS);
  };

  get board(): ScriptedDevice { return this.boards[this.boards.length - 1]; }
}

function collect(dev: ReconnectingDevice): DeviceEvent[] {
  const ev: DeviceEvent[] = [];
  dev.events$.subscribe((e) => ev.push(e));
  return ev;
}

test('options are checked before anything is opened', async () => {
  const bench = new Bench();
  for (const bad of [{ attempts: -1 }, { attempts: 1.5 }, { backoff: 0.5 }, { probes: 0 }, { totalMs: NaN }]) {
    const err = await ReconnectingDevice.open(bench.connect, bad).catch((e: unknown) => e);
    assert.instance(err, RangeError);
    assert.match((err as Error).message, `reconnect.${Object.keys(bad)[0]}`);
  }
  assert.is(bench.connects, 0);
});

test('unplug: batches in flight fail with reason reconnect, the next reset opens a fresh segment on a new session', async () => {
  const bench = new Bench();
  const dev = await ReconnectingDevice.open(bench.connect, { initialDelayMs: 5 });
  const ev = collect(dev);
  const results: number[] = [];
  dev.results$.subscribe((r) => results.push(r.batchId));
  await dev.resetState();
  await dev.process([1, 2]);
  const first = bench.board;
  first.holdProcess = true;
  const inFlight = dev.process([3, 4]);
  await new Promise((r) => setTimeout(r, 5));
  await first.link.close();
  const err = await inFlight.catch((e: unknown) => e);
  assert.instance(err, StateBreakError);
  assert.is((err as StateBreakError).reason, 'reconnect');
  assert.match((err as Error).message, 'link lost');
  // Until the caller resets, nothing is processed: the old segment's state is gone.
  const refused = await dev.process([5]).catch((e: unknown) => e);
  assert.is((refused as StateBreakError).reason, 'unresolved');
  await dev.resetState();
  const r = await dev.process([6]);
  assert.is(r.batchId, 1, 'a new session numbers its batches from 1');
  assert.is(bench.boards.length, 2);
  assert.equal(results, [1, 1], 'results$ runs on across sessions');
  assert.is(dev.stats.reconnects, 1);
  assert.is(dev.stats.faults.unplug, 1);
  const kinds = ev.map((e) => e.type);
  assert.ok(kinds.indexOf('break') < kinds.indexOf('reconnect'), kinds.join(','));
  assert.ok(ev.some((e) => e.type === 'reconnect' && e.ok), 'a reconnect event says the board is back');
  assert.not.ok(kinds.includes('closed'), 'the device is not closed by a recovered loss');
  await dev.close();
  assert.is(ev[ev.length - 1].type, 'closed');
});

test('a session lost again before the caller\'s reset is replaced too', async () => {
  const bench = new Bench();
  const dev = await ReconnectingDevice.open(bench.connect, { initialDelayMs: 5 });
  await dev.resetState();
  await bench.board.link.close();
  await new Promise((r) => setTimeout(r, 30));
  assert.is(dev.stats.reconnects, 1);
  await bench.board.link.close();
  await dev.resetState();
  assert.is(dev.stats.reconnects, 2);
  assert.is(dev.stats.faults.unplug, 2);
  assert.ok((await dev.process([1])).count === 1);
  await dev.close();
});

test('a board that comes back in the epoch it had before the loss is reset once more', async () => {
  const bench = new Bench();
  const dev = await ReconnectingDevice.open(bench.connect, { initialDelayMs: 5 });
  const e1 = await dev.resetState();
  await dev.process([1]);
  await bench.board.link.close();
  await new Promise((r) => setTimeout(r, 20));
  // The scripted board starts every session at epoch 5, so its first reset repeats e1.
  const e2 = await dev.resetState();
  assert.is.not(e2, e1);
  assert.is(e2, e1 + 1);
  await dev.close();
});

test('a lost reply to a control request is sent again when the board still answers PING', async () => {
  const bench = new Bench();
  const dev = await ReconnectingDevice.open(bench.connect, {});
  let swallowed = 0;
  bench.board.responder = (f) => (f.message.kind === 'resetState' && swallowed++ === 0 ? [] : null);
  const epoch = await dev.resetState();
  assert.is(swallowed, 2);
  assert.is(epoch, 6, 'the board reset once (the first request never arrived in its state machine here)');
  assert.is(dev.stats.faults.lostReply, 1);
  assert.is(dev.stats.faults.hang, 0);
  assert.is(bench.connects, 1);
  await dev.close();
});

test('hang: no reply and no PONG is a lost session; the board on the next connect is used after a check', async () => {
  const bench = new Bench();
  const dev = await ReconnectingDevice.open(bench.connect, { initialDelayMs: 5, probes: 2 });
  const ev = collect(dev);
  await dev.resetState();
  bench.board.responder = () => [];
  const lost = await dev.process([1]).catch((e: unknown) => e);
  assert.is((lost as StateBreakError).reason, 'timeout', 'a PROCESS timeout alone is a break, not yet a hang');
  await dev.resetState();
  assert.is(dev.stats.faults.hang, 1);
  assert.is(dev.stats.reconnects, 1);
  assert.ok(ev.some((e) => e.type === 'break' && e.reason === 'reconnect' && e.message.includes('stopped answering')));
  assert.ok((await dev.process([2])).output.length > 0);
  await dev.close();
});

test('a different board after the loss stops the device with DeviceChangedError naming what differs', async () => {
  const bench = new Bench();
  const dev = await ReconnectingDevice.open(bench.connect, { initialDelayMs: 5 });
  await dev.resetState();
  bench.next = { serial: '2' };
  await bench.board.link.close();
  const err = await dev.resetState().catch((e: unknown) => e);
  assert.instance(err, DeviceChangedError);
  assert.match((err as Error).message, 'serial "2" (was "1")');
  assert.match((err as Error).message, 'not continuing on another board');
  assert.not.ok(dev.isOpen);
  assert.instance(await dev.process([1]).catch((e: unknown) => e), DeviceChangedError);
  assert.not.ok(bench.board.host.isOpen, 'the other board was let go');
});

test('reconnect off: the first loss stops the device with DeviceLostError naming the fault', async () => {
  const bench = new Bench();
  const dev = await ReconnectingDevice.open(bench.connect, { attempts: 0 });
  const ev = collect(dev);
  await dev.resetState();
  bench.board.holdProcess = true;
  const inFlight = dev.process([1]);
  await bench.board.link.close();
  const err = await inFlight.catch((e: unknown) => e);
  assert.instance(err, DeviceLostError);
  assert.is((err as DeviceLostError).kind, 'unplug');
  assert.match((err as Error).message, 'reconnect is off');
  assert.is(bench.connects, 1);
  assert.is(ev[ev.length - 1].type, 'closed');

  const bench2 = new Bench();
  const dev2 = await ReconnectingDevice.open(bench2.connect, { attempts: 0 });
  bench2.board.responder = () => [];
  const hung = await dev2.resetState().catch((e: unknown) => e);
  assert.instance(hung, DeviceLostError);
  assert.is((hung as DeviceLostError).kind, 'hang');
  assert.match((hung as Error).message, 'device stopped answering (');
  assert.match((hung as Error).message, 'no reply to RESETSTATE');
});

test('attempts and total time are bounded; the error names the last attempt\'s failure', async () => {
  const bench = new Bench();
  const dev = await ReconnectingDevice.open(bench.connect, { attempts: 3, initialDelayMs: 10, backoff: 2 });
  const ev = collect(dev);
  await dev.resetState();
  bench.next = null;
  const t0 = performance.now();
  await bench.board.link.close();
  const err = await dev.resetState().catch((e: unknown) => e);
  const ms = performance.now() - t0;
  assert.instance(err, DeviceLostError);
  assert.is((err as DeviceLostError).attempts, 3);
  assert.match((err as Error).message, '3 reconnect attempts');
  assert.match((err as Error).message, 'no such port');
  assert.ok(ms >= 10 + 20 + 40 && ms < 2000, `${ms} ms`);
  assert.is(ev.filter((e) => e.type === 'reconnect' && !e.ok).length, 3);
  assert.is(dev.stats.failedAttempts, 3);

  const bench2 = new Bench();
  const dev2 = await ReconnectingDevice.open(bench2.connect, { attempts: 100, initialDelayMs: 20, backoff: 1, totalMs: 100 });
  await dev2.resetState();
  bench2.next = null;
  await bench2.board.link.close();
  const err2 = await dev2.resetState().catch((e: unknown) => e);
  assert.instance(err2, DeviceLostError);
  assert.ok((err2 as DeviceLostError).attempts <= 5, `${(err2 as DeviceLostError).attempts} attempts within 100 ms`);
});

test('parameters applied by configure are applied again on the new session', async () => {
  const bench = new Bench();
  const dev = await ReconnectingDevice.open(bench.connect, { initialDelayMs: 5 });
  await dev.configure([{ name: 'gain', type: 'i32', value: 2 }]);
  await dev.configure([{ name: 'bias', type: 'f64', value: 1 }, { name: 'gain', type: 'i32', value: 3 }]);
  await bench.board.link.close();
  await dev.resetState();
  const replayed = bench.board.received.filter((f) => f.message.kind === 'configure');
  assert.is(replayed.length, 1);
  const params = (replayed[0].message as { params: { name: string; value: number }[] }).params.map((p) => `${p.name}=${p.value}`);
  assert.equal(params, ['bias=1', 'gain=3']);
  await dev.close();
});

test('close() during a reconnect stops it and ends the streams', async () => {
  const bench = new Bench();
  const dev = await ReconnectingDevice.open(bench.connect, { initialDelayMs: 200 });
  let completed = false;
  dev.results$.subscribe({ complete: () => { completed = true; } });
  await bench.board.link.close();
  await new Promise((r) => setTimeout(r, 5));
  assert.ok(dev.reconnecting);
  await dev.close();
  assert.ok(completed);
  assert.is(bench.connects, 1);
});

test.run();
