import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { filter, firstValueFrom } from 'rxjs';
import {
  DeviceClient, DeviceRequestError, DeviceTimeoutError, IncompatibleDeviceError, LinkClosedError, ProtocolViolationError,
  StateBreakError, type DeviceEvent,
} from '../../src/device/index.js';
import { ERROR_CODE, MESSAGE_TYPE, cobsEncode, crc32c as crc } from '../../src/protocol/index.js';
import { ScriptedDevice } from './scripted-device.js';

const fast = { timeoutMs: 100, processTimeoutMs: 150 };

async function connected(dev: ScriptedDevice, opts = fast): Promise<DeviceClient> {
  return DeviceClient.connect(dev.host, opts);
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try { await p; } catch (e) { return e as Error; }
  throw new Error('expected a rejection');
}

test('connect reads INFO and a batch comes back with its own input', async () => {
  const dev = ScriptedDevice.pair();
  const c = await connected(dev);
  assert.is(c.info.outChannels, 2);
  assert.is(c.maxBatch, 64);
  const r = await c.process([10, 20, 30]);
  assert.equal(Array.from(r.input), [10, 20, 30]);
  assert.equal(Array.from(r.output), [10, 11, 20, 21, 30, 31]);
  assert.is(r.epoch, 5);
  assert.is(dev.received[0].message.kind, 'hello');
  await c.close();
});

test('requirements that INFO does not meet fail connect with every mismatch named, and close the link', async () => {
  const dev = ScriptedDevice.pair();
  const e = await rejection(DeviceClient.connect(dev.host, { ...fast, requires: { inChannels: 3, outFormat: 'f32', minBatch: 1000 } }));
  assert.instance(e, IncompatibleDeviceError);
  assert.match(e.message, /inChannels 1 \(need 3\)/);
  assert.match(e.message, /outFormat u16 \(need f32\)/);
  assert.match(e.message, /usable batch 64 \(need 1000\)/);
  assert.not.ok(dev.host.isOpen);
});

test('an INFO whose maxBatch does not fit its maxFrame is refused at once, naming both fields', async () => {
  const dev = ScriptedDevice.pair({}, (f, d) => {
    if (f.message.kind !== 'hello') return null;
    d.sendRaw(rawInfo(f.seq, (v) => { v.setUint16(8, 60000, true); v.setUint32(12, 1000, true); v.setUint16(6, 16, true); }));
    return [];
  });
  const e = await rejection(DeviceClient.connect(dev.host, { timeoutMs: 5000, helloAttempts: 3 }));
  assert.instance(e, ProtocolViolationError);
  assert.match(e.message, /INFO answering HELLO \(seq 1\) was rejected: payload \(info\.maxBatch 60000 does not fit info\.maxFrame 1000/);
  // Refused on the rejected reply: no second HELLO, as after a timeout.
  assert.is(dev.received.filter((f) => f.message.kind === 'hello').length, 1);
  assert.not.ok(dev.host.isOpen);
});

test('a device that never answers HELLO gives a timeout error after the retries', async () => {
  const dev = ScriptedDevice.pair({}, () => []);
  const e = await rejection(DeviceClient.connect(dev.host, { timeoutMs: 30, helloAttempts: 2 }));
  assert.instance(e, DeviceTimeoutError);
  assert.match(e.message, /no reply to HELLO/);
  assert.is(dev.received.filter((f) => f.message.kind === 'hello').length, 2);
});

/**
 * A frame with a correct CRC around an INFO (valid: 1 u16 in, 1 u16 out, maxBatch 1, maxFrame
 * 4096, ranges [0, 1]) that `edit` may break; the client's own encoder would refuse to send it.
 */
function rawInfo(seq: number, edit: (payload: DataView) => void): Uint8Array {
  const payload = new Uint8Array(44);
  const v = new DataView(payload.buffer);
  v.setUint8(0, 1); v.setUint8(3, 1); v.setUint16(4, 1, true); v.setUint16(6, 1, true); v.setUint16(8, 1, true);
  v.setUint32(12, 4096, true); v.setFloat32(24, 0, true); v.setFloat32(28, 1, true); v.setFloat32(32, 0, true); v.setFloat32(36, 1, true);
  edit(v);
  const frame = new Uint8Array(8 + payload.length + 4);
  frame.set([1, 0x81, 1, 0, seq & 0xff, seq >> 8]);
  new DataView(frame.buffer).setUint16(6, payload.length, true);
  frame.set(payload, 8);
  new DataView(frame.buffer).setUint32(8 + payload.length, crc(frame.subarray(0, 8 + payload.length)), true);
  return Uint8Array.from([...cobsEncode(frame), 0]);
}

test('an absurd INFO (maxFrame beyond the protocol) is a counted rejection that fails HELLO at once with the field named', async () => {
  const dev = ScriptedDevice.pair({}, (f, d) => {
    if (f.message.kind !== 'hello') return null;
    d.sendRaw(rawInfo(f.seq, (v) => v.setUint32(12, 0xffffffff, true)));
    return [];
  });
  const c = DeviceClient.connect(dev.host, { timeoutMs: 5000, helloAttempts: 3 });
  const e = await rejection(c);
  assert.instance(e, ProtocolViolationError);
  assert.match(e.message, /info\.maxFrame 4294967295 is outside 64\.\.65547/);
  assert.not.match(e.message, /no reply/);
});

test('a device speaking another version is reported as incompatible', async () => {
  const dev = ScriptedDevice.pair({}, (f) => (f.message.kind === 'hello'
    ? [{ kind: 'error', code: ERROR_CODE.UNSUPPORTED_VERSION, refSeq: f.seq, refType: 1, detail: 2 | (3 << 8), text: 'v2..3 only' }] : null));
  const e = await rejection(connected(dev));
  assert.instance(e, IncompatibleDeviceError);
  assert.match(e.message, /device speaks protocol 2..3, host speaks 1/);
});

test('never more PROCESS frames in flight than the credits, and results stay in order', async () => {
  const dev = ScriptedDevice.pair({ credits: 3 });
  dev.holdProcess = true;
  const c = await connected(dev);
  const all = Promise.all(Array.from({ length: 20 }, (_, i) => c.process([i])));
  const held: number[] = [];
  for (let answered = 0; answered < 20; answered += held[held.length - 1]) {
    while (dev.heldCount === 0) await new Promise((r) => setTimeout(r, 1));
    await new Promise((r) => setTimeout(r, 5)); // room for a (wrong) fourth frame to arrive
    held.push(dev.heldCount);
    dev.release([...Array(dev.heldCount).keys()]);
  }
  const results = await all;
  assert.ok(held.every((n) => n <= 3), `held ${held}`);
  assert.is(Math.max(...held), 3);
  assert.is(held.reduce((a, b) => a + b, 0), 20);
  assert.equal(results.map((r) => r.input[0]), Array.from({ length: 20 }, (_, i) => i));
  assert.equal(results.map((r) => r.output[0]), Array.from({ length: 20 }, (_, i) => i));
  await c.close();
});

test('a reset or configure called while batches wait for a credit is written after them: requests reach the device in call order', async () => {
  const dev = ScriptedDevice.pair({ credits: 2 });
  dev.holdProcess = true;
  const c = await connected(dev);
  const batches = Array.from({ length: 5 }, (_, i) => c.process([i]));
  const reset = c.resetState();
  const more = c.process([9]);
  for (let answered = 0; answered < 6;) {
    while (dev.heldCount === 0) await new Promise((r) => setTimeout(r, 1));
    answered += dev.heldCount;
    dev.release([...Array(dev.heldCount).keys()]);
  }
  await Promise.all([...batches, more]);
  await reset;
  const order = dev.received.map((f) => f.message).filter((m) => m.kind === 'process' || m.kind === 'resetState')
    .map((m) => (m.kind === 'process' ? m.samples[0] : 'reset'));
  assert.equal(order, [0, 1, 2, 3, 4, 'reset', 9]);
  await c.close();
});

test('a RESULT with the wrong batch id breaks the state; PROCESS is refused until resetState', async () => {
  const dev = ScriptedDevice.pair({}, (f, d) => {
    const m = d.reply(f);
    if (m?.kind === 'result') m.batchId += 7;
    return m ? [m] : [];
  });
  const c = await connected(dev);
  const events: DeviceEvent[] = [];
  c.events$.subscribe((e) => events.push(e));
  const e = await rejection(c.process([1]));
  assert.instance(e, StateBreakError);
  assert.is((e as StateBreakError).reason, 'order');
  assert.match(e.message, /batch id/);
  const again = await rejection(c.process([2]));
  assert.is((again as StateBreakError).reason, 'unresolved');
  dev.responder = null;
  const epoch = await c.resetState();
  assert.is(epoch, 6);
  assert.is((await c.process([3])).epoch, 6);
  assert.ok(events.some((ev) => ev.type === 'break' && ev.reason === 'order'));
  await c.close();
});

test('a RESULT with the wrong number of vectors or channels is never handed out', async () => {
  for (const [what, mutate] of [
    ['vectors', (m: { count: number; samples: Uint16Array }) => { m.count = 1; m.samples = m.samples.subarray(0, 2); }],
    ['channels', (m: { channels: number; samples: Uint16Array }) => { m.channels = 1; m.samples = m.samples.subarray(0, 2); }],
  ] as const) {
    const dev = ScriptedDevice.pair({}, (f, d) => {
      const m = d.reply(f);
      if (m?.kind === 'result') mutate(m as never);
      return m ? [m] : [];
    });
    const c = await connected(dev);
    const e = await rejection(c.process([1, 2]));
    assert.instance(e, StateBreakError, what);
    assert.match(e.message, what === 'vectors' ? /1 vectors, sent 2/ : /1 channels, INFO says 2/);
    await c.close();
  }
});

test('results out of order break the state instead of being attributed to the wrong drive', async () => {
  const dev = ScriptedDevice.pair({ credits: 2 });
  dev.holdProcess = true;
  const c = await connected(dev);
  const a = c.process([1]);
  const b = c.process([2]);
  a.catch(() => {}); b.catch(() => {});
  while (dev.heldCount < 2) await new Promise((r) => setTimeout(r, 1));
  dev.release([1, 0]);
  const [ea, eb] = [await rejection(a), await rejection(b)];
  assert.instance(ea, StateBreakError);
  assert.instance(eb, StateBreakError);
  assert.is((eb as StateBreakError).reason, 'order');
  await c.close();
});

test('an epoch change between results is a break', async () => {
  const dev = ScriptedDevice.pair();
  const c = await connected(dev);
  await c.process([1]);
  dev.epoch = 9;
  const e = await rejection(c.process([2]));
  assert.is((e as StateBreakError).reason, 'epoch');
  assert.match(e.message, /epoch changed from 5 to 9/);
  await c.close();
});

test('a device clock that goes backwards is a break', async () => {
  const dev = ScriptedDevice.pair();
  const c = await connected(dev);
  await c.process([1]);
  dev.clockUs = 0;
  const e = await rejection(c.process([2]));
  assert.is((e as StateBreakError).reason, 'clock');
  await c.close();
});

test('a device clock that restarts after an acknowledged RESET_STATE, with no BOOT, is a break (a reboot whose BOOT was lost)', async () => {
  const dev = ScriptedDevice.pair();
  const c = await connected(dev);
  const events: DeviceEvent[] = [];
  c.events$.subscribe((e) => events.push(e));
  await c.resetState();
  const kept = await c.process([1, 2, 3]);
  await c.resetState();
  dev.clockUs = 0; // the board rebooted between segments and its BOOT frame was lost
  const e = await rejection(c.process([4]));
  assert.instance(e, StateBreakError);
  assert.is((e as StateBreakError).reason, 'clock');
  assert.match(e.message, /device clock went back from 1000 to 0 us .*no BOOT received/);
  assert.equal(Array.from(kept.output), [1, 2, 2, 3, 3, 4], 'the results acquired before the break stay as they were');
  // After the next reset the host follows the restarted clock: no endless breaks.
  await c.resetState();
  assert.ok((await c.process([5])).timestampUs >= 1);
  assert.is(events.filter((ev) => ev.type === 'break').length, 1);
  await c.close();
});

test('a BOOT restarts the expected clock: a lower timestamp after it is no second break', async () => {
  const dev = ScriptedDevice.pair();
  const c = await connected(dev);
  await c.process([1]);
  dev.clockUs = 0;
  const booted = firstValueFrom(c.events$.pipe(filter((ev) => ev.type === 'break')));
  dev.send({ kind: 'boot', bootCount: 2, epoch: 77, reason: 0 }, 0, 0);
  await booted;
  assert.is(c.pendingBreak?.reason, 'boot');
  await c.resetState();
  assert.is((await c.process([2])).timestampUs, 0);
  await c.close();
});

test('a duplicate RESULT is counted, recorded as an event and breaks the segment', async () => {
  const dev = ScriptedDevice.pair({}, (f, d) => {
    if (f.message.kind !== 'process') return null;
    const r = d.reply(f)!;
    return [r, r];
  });
  const c = await connected(dev);
  const events: DeviceEvent[] = [];
  c.events$.subscribe((e) => events.push(e));
  const broke = firstValueFrom(c.events$.pipe(filter((ev) => ev.type === 'break')));
  const first = await c.process([7]);
  assert.equal(Array.from(first.output), [7, 8], 'the first reply is the batch\'s result');
  await broke;
  const d = events.find((ev) => ev.type === 'discarded');
  assert.ok(d && d.type === 'discarded' && d.cause === 'duplicate' && d.count === 1 && d.kind === 'result', JSON.stringify(events));
  const b = events.find((ev) => ev.type === 'break');
  assert.ok(b && b.type === 'break' && b.reason === 'order' && /duplicate RESULT/.test(b.message));
  assert.is((await rejection(c.process([8]))).constructor, StateBreakError);
  await c.close();
});

test('a RESULT for no outstanding request is counted as unmatched and breaks the segment', async () => {
  const dev = ScriptedDevice.pair();
  const c = await connected(dev);
  const events: DeviceEvent[] = [];
  c.events$.subscribe((e) => events.push(e));
  await c.process([1]);
  const broke = firstValueFrom(c.events$.pipe(filter((ev) => ev.type === 'break')));
  dev.send({ kind: 'result', batchId: 99, epoch: 5, timestampUs: 5000, status: 0, count: 1, channels: 2, format: 'u16', samples: new Uint16Array(2) }, 4321);
  await broke;
  const d = events.find((ev) => ev.type === 'discarded');
  assert.ok(d && d.type === 'discarded' && d.cause === 'unmatched' && d.seq === 4321);
  assert.is(c.pendingBreak?.reason, 'order');
  await c.resetState();
  assert.is((await c.process([2])).output.length, 2, 'a reset opens a clean segment');
  await c.close();
});

test('a RESULT rejected for its payload fails its batch at once, naming the rejection, not a timeout', async () => {
  const dev = ScriptedDevice.pair({}, (f, d) => {
    if (f.message.kind !== 'process') return null;
    // RESULT header claims 1 vector x 2 channels but carries 3 samples: CRC valid, payload wrong.
    const payload = new Uint8Array(23 + 6);
    const v = new DataView(payload.buffer);
    v.setUint32(0, f.message.batchId, true); v.setUint32(4, 5, true); v.setUint16(18, 1, true); v.setUint16(20, 2, true);
    const frame = new Uint8Array(8 + payload.length + 4);
    frame.set([1, 0x83, 1, 0, f.seq & 0xff, f.seq >> 8]);
    new DataView(frame.buffer).setUint16(6, payload.length, true);
    frame.set(payload, 8);
    new DataView(frame.buffer).setUint32(8 + payload.length, crc(frame.subarray(0, 8 + payload.length)), true);
    d.sendRaw(Uint8Array.from([...cobsEncode(frame), 0]));
    return [];
  });
  const c = await connected(dev, { timeoutMs: 100, processTimeoutMs: 5000 });
  const e = await rejection(c.process([1]));
  assert.instance(e, StateBreakError);
  assert.match(e.message, /batch 1 lost its reply: RESULT answering PROCESS \(seq 2\) was rejected: payload \(result length 29 is not 23 \+ count 1 x channels 2 x 2 = 27\)/);
  await c.close();
});

test('a PROCESS timeout names the frames rejected while it waited', async () => {
  const dev = ScriptedDevice.pair({}, (f, d) => {
    if (f.message.kind !== 'process') return null;
    d.sendRaw(Uint8Array.of(5, 1, 2, 3, 4, 0)); // a frame too short to be anything
    return [];
  });
  const c = await connected(dev, { timeoutMs: 100, processTimeoutMs: 40 });
  const e = await rejection(c.process([1]));
  assert.is((e as StateBreakError).reason, 'timeout');
  assert.match(e.message, /batch 1 got no reply within \d+ ms; meanwhile frames from the device were rejected \(short 1\)/);
  await c.close();
});

test('a PROCESS without reply times out as a break, and its late reply is discarded', async () => {
  const dev = ScriptedDevice.pair();
  dev.holdProcess = true;
  const c = await connected(dev, { timeoutMs: 100, processTimeoutMs: 30 });
  const events: DeviceEvent[] = [];
  c.events$.subscribe((e) => events.push(e));
  const e = await rejection(c.process([1]));
  assert.is((e as StateBreakError).reason, 'timeout');
  dev.holdProcess = false;
  dev.release([0]);
  await c.resetState();
  assert.ok(events.some((ev) => ev.type === 'discarded'));
  assert.is(c.inFlightCount, 0);
  assert.ok((await c.process([4])).output.length === 2);
  await c.close();
});

test('ERROR in answer to PROCESS is a break carrying the device error', async () => {
  const dev = ScriptedDevice.pair({}, (f) => (f.message.kind === 'process'
    ? [{ kind: 'error', code: ERROR_CODE.DEVICE_FAULT, refSeq: f.seq, refType: MESSAGE_TYPE.process, detail: 0, text: 'laser off' }] : null));
  const c = await connected(dev);
  const e = await rejection(c.process([1]));
  assert.is((e as StateBreakError).reason, 'error');
  assert.match(e.message, /laser off/);
  await c.close();
});

test('ERROR in answer to a control request rejects it with the code', async () => {
  const dev = ScriptedDevice.pair({}, (f) => (f.message.kind === 'configure'
    ? [{ kind: 'error', code: ERROR_CODE.BAD_PARAM, refSeq: f.seq, refType: MESSAGE_TYPE.configure, detail: 0, text: 'unknown parameter gain' }] : null));
  const c = await connected(dev);
  const e = await rejection(c.configure([{ name: 'gain', type: 'f64', value: 2 }]));
  assert.instance(e, DeviceRequestError);
  assert.is((e as DeviceRequestError).code, ERROR_CODE.BAD_PARAM);
  await c.close();
});

test('BOOT mid-stream is surfaced as an event and breaks the state', async () => {
  const dev = ScriptedDevice.pair();
  dev.holdProcess = true;
  const c = await connected(dev);
  const events: DeviceEvent[] = [];
  c.events$.subscribe((e) => events.push(e));
  const p = c.process([1]);
  while (dev.heldCount < 1) await new Promise((r) => setTimeout(r, 1));
  dev.send({ kind: 'boot', bootCount: 2, epoch: 100, reason: 1 }, 0, 0);
  const e = await rejection(p);
  assert.is((e as StateBreakError).reason, 'boot');
  assert.ok(events.some((ev) => ev.type === 'boot' && ev.bootCount === 2));
  assert.is(c.inFlightCount, 0);
  await c.close();
});

test('garbage and unknown message types from the device are counted, the session goes on', async () => {
  const dev = ScriptedDevice.pair();
  const c = await connected(dev);
  dev.sendRaw(Uint8Array.of(0x13, 0x37, 0xff, 0x00, 0x05, 0x01, 0x00));
  dev.send({ kind: 'hello', minVersion: 1, maxVersion: 1 }, 3, 1); // host-bound HELLO: wrong direction
  const r = await c.process([42]);
  assert.is(r.output[0], 42);
  assert.ok(c.rejects.cobs + c.rejects.short + c.rejects.crc >= 1);
  assert.is(c.rejects.type, 1);
  await c.close();
});

test('ping echoes, status reads counters', async () => {
  const dev = ScriptedDevice.pair();
  const c = await connected(dev);
  assert.equal(Array.from(await c.ping(Uint8Array.of(1, 0, 2))), [1, 0, 2]);
  assert.is((await c.getStatus()).epoch, 5);
  await c.close();
});

test('a malformed drive batch is refused before anything is sent', async () => {
  const dev = ScriptedDevice.pair();
  const c = await connected(dev);
  const before = dev.received.length;
  assert.match((await rejection(c.process([1.5]))).message, /not a u16 value/);
  assert.match((await rejection(c.process([70000]))).message, /not a u16 value/);
  assert.match((await rejection(c.process([]))).message, /positive multiple/);
  assert.is(dev.received.length, before);
  await c.close();
});

test('closing rejects pending requests with LinkClosedError; a peer close does too', async () => {
  const dev = ScriptedDevice.pair();
  dev.holdProcess = true;
  const c = await connected(dev);
  const p = c.process([1]);
  await dev.link.close();
  const e = await rejection(p);
  assert.instance(e, LinkClosedError);
  assert.not.ok(c.isOpen);
});

test.run();
