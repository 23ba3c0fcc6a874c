import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type Ack, type Boot, CAPABILITY, type ConfigParam, ERROR_CODE, type ErrorMessage, FLAG_RESPONSE, type Frame, type Info, MESSAGE_TYPE, type Pong,
  type Result, SAMPLE_SIZE, type Status,
} from '../../src/protocol/index.js';
import { createMemoryPair } from '../../src/transport/memory.js';
import {
  type ReservoirModel, SimDevice, type SimDeviceOptions, createModel, openSimLink, wireFormatFor,
} from '../../src/sim/index.js';
import { TestHost, rawFrame, sleep } from './device-host.js';
import { drives, rangeErrorNaming } from './helpers.js';

function open(profile: string, seed = 7, device: SimDeviceOptions = {}, overrides = {}) {
  const sim = openSimLink(profile, { seed, device, overrides });
  return { ...sim, host: new TestHost(sim.link) };
}

function msg<M>(f: Frame): M {
  return f.message as M;
}

/** PROCESS of `vectors` (each inChannels long) in the model's wire format. */
function processOf(model: ReservoirModel, batchId: number, vectors: Float32Array[]) {
  const format = wireFormatFor(model.inRange);
  const samples = (format === 'u16' ? Uint16Array : Int16Array).from(vectors.flatMap((v) => Array.from(v)));
  return { kind: 'process' as const, batchId, count: vectors.length, channels: model.inChannels, format, samples };
}

/** What the device should send for `vectors`: an identical model stepped directly, outputs rounded and clipped to the wire format. */
function expected(ref: ReservoirModel, vectors: Float32Array[]): { samples: number[]; status: number } {
  const format = wireFormatFor(ref.outRange);
  const [lo, hi] = format === 'u16' ? [0, 65535] : [-32768, 32767];
  const y = new Float32Array(ref.outChannels);
  const samples: number[] = [];
  let status = 0;
  for (const v of vectors) {
    status |= ref.step(v, y);
    for (const x of y) samples.push(Math.min(hi, Math.max(lo, Math.round(x))));
  }
  return { samples, status };
}

function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'Immediate').length;
}

test('BOOT is the first frame: unsolicited, power-on, bootCount and epoch of the device', async () => {
  const { host, device } = open('analog');
  const f = await host.next();
  const boot = msg<Boot>(f);
  assert.is(boot.kind, 'boot');
  assert.is(f.seq, 0);
  assert.is(f.flags, 0);
  assert.is(boot.reason, 0);
  assert.is(boot.bootCount, 1);
  assert.is(boot.epoch, device.epoch);
  await device.detach();
});

test('HELLO -> INFO with the model\'s channels, wire formats, ranges, credits and a maxBatch that fits maxFrame', async () => {
  const cases: [string, 'u16' | 'i16', number, number][] = [['analog', 'u16', 1, 50], ['optical', 'u16', 64, 128], ['fpga', 'i16', 1, 100]];
  for (const [profile, format, inCh, outCh] of cases) {
    const { host, device, model } = open(profile, 3, { credits: 6 });
    await host.next();
    const f = await host.request({ kind: 'hello', minVersion: 1, maxVersion: 1 });
    assert.is(f.flags, FLAG_RESPONSE);
    assert.is(f.seq, 0);
    const info = msg<Info>(f);
    assert.is(info.kind, 'info');
    assert.is(info.protocolVersion, 1);
    assert.is(info.inFormat, format);
    assert.is(info.outFormat, format);
    assert.is(info.inChannels, inCh);
    assert.is(info.outChannels, outCh);
    assert.is(info.credits, 6);
    assert.equal([info.inMin, info.inMax, info.outMin, info.outMax], [...model.inRange, ...model.outRange]);
    assert.is(info.samplePeriodNs, Math.round(model.samplePeriodNs));
    assert.is(info.model, `sim-${model.name}`);
    assert.is(info.vendor, 'reservoir-hil');
    assert.is(info.serial, 'SIM-00000003');
    const s = SAMPLE_SIZE[format];
    const fits = (n: number) => 21 + n * inCh * s <= info.maxFrame && 35 + n * outCh * s <= info.maxFrame;
    assert.ok(fits(info.maxBatch), `${profile}: maxBatch ${info.maxBatch} does not fit`);
    assert.ok(info.maxBatch === 4096 || !fits(info.maxBatch + 1), `${profile}: maxBatch ${info.maxBatch} is not the largest`);
    await device.detach();
  }
});

test('HELLO {2..3} -> ERROR UNSUPPORTED_VERSION with detail deviceMin | deviceMax << 8', async () => {
  const { host, device } = open('analog');
  await host.next();
  host.send({ kind: 'ping', data: new Uint8Array(0) });
  const f = await host.request({ kind: 'hello', minVersion: 2, maxVersion: 3 });
  assert.is(msg<Pong>(f).kind, 'pong');
  const e = await host.next();
  const err = msg<ErrorMessage>(e);
  assert.is(err.kind, 'error');
  assert.is(err.code, ERROR_CODE.UNSUPPORTED_VERSION);
  assert.is(err.detail, 0x0101);
  assert.is(err.refSeq, 1);
  assert.is(e.seq, 1);
  assert.is(err.refType, MESSAGE_TYPE.hello);
  await device.detach();
});

test('PROCESS -> RESULT equals an identical model stepped directly (analog u16, fpga i16), timestamps in device time', async () => {
  for (const profile of ['analog', 'fpga'] as const) {
    const { host, device, model } = open(profile, 11);
    const ref = createModel(profile, {}, 11);
    await host.next();
    const epoch = device.epoch;
    let t = 0;
    for (let b = 0; b < 3; b++) {
      const vecs = drives(ref, 25, 100 + b);
      if (b === 1) vecs[3] = vecs[3].map(() => (profile === 'analog' ? 60000 : -32768)) as Float32Array; // clipped by analog only
      const f = await host.request(processOf(model, 40 + b, vecs));
      const r = msg<Result>(f);
      const want = expected(ref, vecs);
      assert.is(r.kind, 'result');
      assert.is(r.batchId, 40 + b);
      assert.is(r.epoch, epoch);
      assert.is(r.count, 25);
      assert.is(r.channels, model.outChannels);
      assert.is(r.format, wireFormatFor(model.outRange));
      assert.equal(Array.from(r.samples), want.samples);
      assert.is(r.status, want.status);
      if (profile === 'analog' && b === 1) assert.ok(r.status & 1, 'INPUT_CLIPPED');
      assert.is(r.timestampUs, Math.floor(t / 1000));
      t += 25 * model.samplePeriodNs;
    }
    await device.detach();
  }
});

async function resultBytes(seed: number): Promise<Uint8Array[]> {
  const { host, device, model } = open('analog', seed, { seed: 5 });
  await host.next();
  for (let b = 0; b < 3; b++) await host.request(processOf(model, b, drives(model, 30, b)));
  await device.detach();
  return host.raw.slice(1);
}

test('the same seed gives byte-identical RESULT frames, a different seed different ones', async () => {
  const a = await resultBytes(21);
  const b = await resultBytes(21);
  const c = await resultBytes(22);
  assert.is(a.length, 3);
  assert.equal(a, b);
  assert.not.equal(a, c);
});

test('RESET_STATE resets the model, increments the epoch and ACKs the new epoch', async () => {
  const { host, device, model } = open('fpga', 2);
  await host.next();
  const vecs = drives(model, 10, 1);
  const r1 = msg<Result>(await host.request(processOf(model, 1, vecs)));
  const e0 = device.epoch;
  const ack = msg<Ack>(await host.request({ kind: 'resetState' }));
  assert.equal(ack, { kind: 'ack', ackedType: MESSAGE_TYPE.resetState, epoch: (e0 + 1) >>> 0 });
  const r2 = msg<Result>(await host.request(processOf(model, 2, vecs)));
  assert.equal(r2.samples, r1.samples, 'fpga is deterministic: after reset the same drive gives the same response');
  assert.is(r2.epoch, (e0 + 1) >>> 0);
  await device.detach();
});

test('credits+1 PROCESS back to back -> credits RESULTs then NO_CREDIT; the epoch and droppedBatches increment', async () => {
  const { host, device, model } = open('analog', 4, { credits: 4 });
  await host.next();
  const e0 = device.epoch;
  const seqs = [0, 1, 2, 3, 4].map((b) => host.send(processOf(model, b, drives(model, 5, b))));
  const replies = [];
  for (let i = 0; i < 5; i++) replies.push(await host.next());
  for (let i = 0; i < 4; i++) {
    const r = msg<Result>(replies[i]);
    assert.is(r.kind, 'result');
    assert.is(r.batchId, i);
    assert.is(r.epoch, e0);
  }
  const err = msg<ErrorMessage>(replies[4]);
  assert.equal([err.code, err.detail, err.refSeq, err.refType, replies[4].seq], [ERROR_CODE.NO_CREDIT, 4, seqs[4], MESSAGE_TYPE.process, seqs[4]]);
  const st = msg<Status>(await host.request({ kind: 'getStatus' }));
  assert.is(st.epoch, (e0 + 1) >>> 0);
  assert.is(st.droppedBatches, 1);
  assert.is(st.framesOk, 6);
  const r = msg<Result>(await host.request(processOf(model, 9, drives(model, 5, 9))));
  assert.is(r.epoch, (e0 + 1) >>> 0, 'credits are free again once replied');
  await device.detach();
});

test('BAD_SHAPE and TOO_LARGE, checked in that order, each increment the epoch', async () => {
  const { host, device, model } = open('fpga', 4);
  await host.next();
  const info = msg<Info>(await host.request({ kind: 'hello', minVersion: 1, maxVersion: 1 }));
  const e0 = device.epoch;
  const wide = { kind: 'process' as const, batchId: 1, count: 2, channels: 2, format: 'i16' as const, samples: new Int16Array(4) };
  let err = msg<ErrorMessage>(await host.request(wide));
  assert.equal([err.code, err.detail], [ERROR_CODE.BAD_SHAPE, 1 | (1 << 16)]);
  const u16 = { kind: 'process' as const, batchId: 2, count: 2, channels: 1, format: 'u16' as const, samples: new Uint16Array(2) };
  err = msg<ErrorMessage>(await host.request(u16));
  assert.is(err.code, ERROR_CODE.BAD_SHAPE);
  const big = { kind: 'process' as const, batchId: 3, count: info.maxBatch + 1, channels: 1, format: 'i16' as const, samples: new Int16Array(info.maxBatch + 1) };
  err = msg<ErrorMessage>(await host.request(big));
  assert.equal([err.code, err.detail], [ERROR_CODE.TOO_LARGE, info.maxBatch]);
  const bigWide = { kind: 'process' as const, batchId: 4, count: info.maxBatch + 1, channels: 2, format: 'i16' as const, samples: new Int16Array(2 * info.maxBatch + 2) };
  err = msg<ErrorMessage>(await host.request(bigWide));
  assert.is(err.code, ERROR_CODE.BAD_SHAPE, 'shape is checked before size');
  assert.is(device.epoch, (e0 + 4) >>> 0);
  const st = msg<Status>(await host.request({ kind: 'getStatus' }));
  assert.is(st.droppedBatches, 4);
  assert.is(st.epoch, (e0 + 4) >>> 0);
  await device.detach();
});

test('unknown type, wrong-direction type, bad version and bad payload get ERRORs with the frame\'s seq', async () => {
  const { host, device } = open('analog');
  await host.next();
  host.writeRaw(rawFrame(1, 0x07, 300, new Uint8Array(0)));
  host.writeRaw(rawFrame(1, 0x81, 301, new Uint8Array(0)));
  host.writeRaw(rawFrame(2, 0x05, 302, new Uint8Array(0)));
  host.writeRaw(rawFrame(1, 0x01, 303, Uint8Array.of(3, 1))); // HELLO min > max: payload
  const got = [];
  for (let i = 0; i < 4; i++) got.push(await host.next());
  const errs = got.map((f) => [f.seq, msg<ErrorMessage>(f).code, msg<ErrorMessage>(f).refType, msg<ErrorMessage>(f).detail]);
  assert.equal(errs, [
    [300, ERROR_CODE.UNKNOWN_TYPE, 0x07, 0x07],
    [301, ERROR_CODE.UNKNOWN_TYPE, 0x81, 0x81],
    [302, ERROR_CODE.UNSUPPORTED_VERSION, 0x05, 0x0101],
    [303, ERROR_CODE.BAD_PAYLOAD, 0x01, 0],
  ]);
  const st = msg<Status>(await host.request({ kind: 'getStatus' }));
  assert.is(st.rejected, 4);
  assert.is(st.framesOk, 1);
  await device.detach();
});

test('garbage then a valid frame: the frame is answered and STATUS counts the framing and CRC errors', async () => {
  const { host, device } = open('optical');
  await host.next();
  host.writeRaw(Uint8Array.of(0x05, 0x11, 0x22, 0)); // cobs: code points past the end
  host.writeRaw(Uint8Array.of(0x03, 0x11, 0x22, 0)); // short
  host.writeRaw(rawFrame(1, 0x06, 9, Uint8Array.of(1, 2, 3), 0x40)); // crc
  host.writeRaw(Uint8Array.of(0, 0)); // empty: not counted
  const pong = await host.request({ kind: 'ping', data: Uint8Array.of(7, 0, 7) });
  assert.equal(msg<Pong>(pong).data, Uint8Array.of(7, 0, 7));
  const st = msg<Status>(await host.request({ kind: 'getStatus' }));
  assert.is(st.framingErrors, 2);
  assert.is(st.crcErrors, 1);
  assert.is(st.framesOk, 2);
  assert.ok(st.temperatureC !== null && Math.abs(st.temperatureC - 25) < 1, `temperature ${st.temperatureC}`);
  await device.detach();
});

test('CONFIGURE without the CONFIGURE capability -> NOT_SUPPORTED, empty or not, epoch unchanged (as the C firmware)', async () => {
  const { host, device } = open('analog');
  await host.next();
  const e0 = device.epoch;
  assert.is(device.info.capabilities & CAPABILITY.CONFIGURE, 0);
  for (const params of [[], [{ name: 'input_gain', type: 'f64', value: 2 }]] as ConfigParam[][]) {
    const err = msg<ErrorMessage>(await host.request({ kind: 'configure', params }));
    assert.is(err.code, ERROR_CODE.NOT_SUPPORTED);
    assert.is(err.refType, MESSAGE_TYPE.configure);
    assert.is(err.detail, 0);
  }
  assert.is(device.epoch, e0);
  await device.detach();
});

test('outgoing bit flips and dropped bytes are counted and every corrupted frame is rejected by the host', async () => {
  const n = 40;
  for (const faults of [{ bitFlipRate: 2e-4 }, { dropByteRate: 2e-3 }]) {
    const { host, device } = open('analog', 8, { faults });
    const data = Uint8Array.from({ length: 120 }, (_, i) => i + 1);
    for (let i = 0; i < n; i++) host.send({ kind: 'ping', data });
    await sleep(60);
    const pongs = host.frames.filter((f) => f.message.kind === 'pong');
    for (const p of pongs) assert.equal(msg<Pong>(p).data, data);
    const sent = n + 1; // and the BOOT
    assert.ok(device.faults.corruptedFrames > 0, JSON.stringify(device.faults));
    assert.ok(device.faults.bitFlips + device.faults.droppedBytes >= device.faults.corruptedFrames);
    assert.ok(host.rejects.length > 0);
    assert.ok(host.frames.length <= sent - device.faults.corruptedFrames, `${host.frames.length} valid of ${sent}, ${device.faults.corruptedFrames} corrupted`);
    assert.ok(host.frames.length >= sent - 2 * device.faults.corruptedFrames - 1);
    await device.detach();
  }
});

test('incoming bit flips are counted and show up as device-side CRC or framing errors', async () => {
  const { host, device, model } = open('analog', 9, { faults: { inBitFlipRate: 3e-3 } });
  await host.next();
  for (let i = 0; i < 30; i++) host.send(processOf(model, i, drives(model, 1, i)));
  await sleep(40);
  assert.ok(device.faults.inBitFlips > 0);
  // Count from the device's own decoder through a clean STATUS: send until one arrives.
  let st: Status | undefined;
  for (let i = 0; i < 20 && !st; i++) {
    host.send({ kind: 'getStatus' });
    await sleep(5);
    st = host.frames.map((f) => f.message).find((m): m is Status => m.kind === 'status');
  }
  assert.ok(st);
  assert.ok(st.crcErrors + st.framingErrors + st.rejected > 0, JSON.stringify(st));
  await device.detach();
});

test('resetAfterBatches: RESULTs, then BOOT (reason 4, bootCount+1, new epoch), then RESULTs in the new epoch from t=0', async () => {
  const { host, device, model } = open('analog', 12, { faults: { resetAfterBatches: 2 } });
  const boot0 = msg<Boot>(await host.next());
  const r1 = msg<Result>(await host.request(processOf(model, 1, drives(model, 4, 1))));
  const r2 = msg<Result>(await host.request(processOf(model, 2, drives(model, 4, 2))));
  assert.is(r1.epoch, boot0.epoch);
  assert.is(r2.timestampUs, Math.floor((4 * model.samplePeriodNs) / 1000));
  const boot1 = msg<Boot>(await host.next());
  assert.is(boot1.kind, 'boot');
  assert.is(boot1.reason, 4);
  assert.is(boot1.bootCount, 2);
  assert.is.not(boot1.epoch, boot0.epoch);
  const r3 = msg<Result>(await host.request(processOf(model, 3, drives(model, 4, 3))));
  assert.is(r3.epoch, boot1.epoch);
  assert.is.not(r3.epoch, r2.epoch);
  assert.is(r3.timestampUs, 0);
  assert.is(device.faults.resets, 1);
  await device.detach();
});

test('resetAfterBatches loses pending requests, like a reboot', async () => {
  const { host, device, model } = open('fpga', 12, { faults: { resetAfterBatches: 1, resetReason: 3 } });
  await host.next();
  host.send(processOf(model, 1, drives(model, 2, 1)));
  host.send(processOf(model, 2, drives(model, 2, 2)));
  host.send({ kind: 'ping', data: Uint8Array.of(1) });
  await sleep(20);
  assert.equal(host.inbox.map((f) => f.message.kind), ['result', 'boot']);
  assert.is(msg<Boot>(host.inbox[1]).reason, 3);
  await device.detach();
});

test('disconnectAfterBatches: the host sees the link close; re-attaching to a new link boots again', async () => {
  const { host, device, model } = open('optical', 13, { faults: { disconnectAfterBatches: 1 } });
  const boot0 = msg<Boot>(await host.next());
  const r = msg<Result>(await host.request(processOf(model, 1, drives(model, 3, 1))));
  assert.is(r.kind, 'result');
  await host.whenClosed();
  assert.ok(host.closed);
  assert.not.ok(device.attached);
  assert.is(device.faults.disconnects, 1);

  const [hostEnd, boardEnd] = createMemoryPair();
  const host2 = new TestHost(hostEnd);
  device.attach(boardEnd);
  const boot1 = msg<Boot>(await host2.next());
  assert.equal([boot1.kind, boot1.reason, boot1.bootCount], ['boot', 0, 2]);
  assert.is.not(boot1.epoch, boot0.epoch);
  const info = msg<Info>(await host2.request({ kind: 'hello', minVersion: 1, maxVersion: 1 }));
  assert.is(info.kind, 'info');
  const st = msg<Status>(await host2.request({ kind: 'getStatus' }));
  assert.is(st.framesOk, 2, 'counters restart at boot');
  await device.detach();
  assert.ok(host2.closed || (await host2.whenClosed(), host2.closed));
});

test('hangAfterBatches: after N batches nothing is answered', async () => {
  const { host, device, model } = open('analog', 14, { faults: { hangAfterBatches: 1 } });
  await host.next();
  const r = msg<Result>(await host.request(processOf(model, 1, drives(model, 3, 1))));
  assert.is(r.kind, 'result');
  host.send({ kind: 'ping', data: new Uint8Array(0) });
  try {
    await host.next(80);
    assert.unreachable('a hung device answered');
  } catch (e) {
    assert.match((e as Error).message, /no frame/);
  }
  assert.ok(device.isHung);
  assert.is(device.faults.hangs, 1);
  await device.detach();
});

test('pacing.samplePeriod: a RESULT takes at least count x samplePeriod of wall time, back-to-back batches queue up', async () => {
  const { host, device, model } = open('optical', 15, { pacing: { samplePeriod: true } }); // 1 ms per frame
  await host.next();
  const t0 = performance.now();
  host.send(processOf(model, 1, drives(model, 15, 1)));
  host.send(processOf(model, 2, drives(model, 15, 2)));
  const r1 = msg<Result>(await host.next());
  const t1 = performance.now() - t0;
  const r2 = msg<Result>(await host.next());
  const t2 = performance.now() - t0;
  assert.ok(t1 >= 15, `first RESULT after ${t1.toFixed(1)} ms`);
  assert.ok(t2 >= 30, `second RESULT after ${t2.toFixed(1)} ms`);
  assert.ok(r2.timestampUs - r1.timestampUs >= 15000);
  await device.detach();
});

test('pacing.baudRate delays bytes by 10 bits each; delayMs keeps replies in order', async () => {
  {
    const { host, device } = open('analog', 16, { pacing: { baudRate: 115200 } });
    await host.next();
    const t0 = performance.now();
    const pong = await host.request({ kind: 'ping', data: new Uint8Array(500).fill(1) });
    const dt = performance.now() - t0;
    assert.is(pong.message.kind, 'pong');
    assert.ok(dt >= (513 * 10 * 1000) / 115200, `${dt.toFixed(1)} ms`);
    await device.detach();
  }
  {
    const { host, device } = open('analog', 16, { faults: { delayMs: 10, jitterMs: 10 } });
    await host.next();
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) host.send({ kind: 'ping', data: Uint8Array.of(i + 1) });
    const got = [];
    for (let i = 0; i < 5; i++) got.push(msg<Pong>(await host.next()).data[0]);
    assert.equal(got, [1, 2, 3, 4, 5]);
    assert.ok(performance.now() - t0 >= 10);
    assert.is(device.faults.delayedFrames, 6);
    await device.detach();
  }
});

test('no timers are left after close, with paced batches and delayed replies in flight', async () => {
  await sleep(5);
  const before = activeTimers();
  const { host, device, model } = open('optical', 17, { pacing: { samplePeriod: true, baudRate: 9600 }, faults: { delayMs: 50 } });
  for (let i = 0; i < 3; i++) host.send(processOf(model, i, drives(model, 40, i)));
  await sleep(10);
  assert.ok(activeTimers() > before);
  await device.detach();
  await sleep(2);
  await new Promise((r) => setImmediate(r));
  assert.is(activeTimers(), before, JSON.stringify(process.getActiveResourcesInfo()));
  assert.ok(host.closed);

  // The peer closing the link releases everything too.
  const b = open('analog', 18, { pacing: { samplePeriod: true }, faults: { delayMs: 30 } });
  b.host.send(processOf(b.model, 1, drives(b.model, 3, 1)));
  await sleep(5);
  await b.link.close();
  await sleep(2);
  await new Promise((r) => setImmediate(r));
  assert.not.ok(b.device.attached);
  assert.is(activeTimers(), before, JSON.stringify(process.getActiveResourcesInfo()));
});

test('options are validated at construction with the option named', () => {
  const m = createModel('analog', {}, 1);
  const bad: [SimDeviceOptions, string][] = [
    [{ credits: 0 }, 'credits'],
    [{ credits: 256 }, 'credits'],
    [{ maxFrame: 63 }, 'maxFrame'],
    [{ maxFrame: 100 }, 'maxFrame'], // cannot hold one 50-channel RESULT vector
    [{ maxBatch: 100000 }, 'maxBatch'],
    [{ seed: -1 }, 'seed'],
    [{ vendor: 'x'.repeat(65) }, 'vendor'],
    [{ bootCount: 1.5 }, 'bootCount'],
    [{ temperatureC: Number.NaN }, 'temperatureC'],
    [{ pacing: { baudRate: 0 } }, 'pacing.baudRate'],
    [{ faults: { bitFlipRate: 2 } }, 'faults.bitFlipRate'],
    [{ faults: { delayMs: -1 } }, 'faults.delayMs'],
    [{ faults: { resetAfterBatches: 0 } }, 'faults.resetAfterBatches'],
    [{ faults: { resetReason: 1 as 3 } }, 'faults.resetReason'],
    [{ bogus: 1 } as SimDeviceOptions, 'bogus'],
  ];
  for (const [opts, name] of bad) assert.throws(() => new SimDevice(m, opts), rangeErrorNaming(name), name);
  const small = new SimDevice(m, { maxFrame: 256, maxBatch: 2 });
  assert.is(small.info.maxBatch, 2);
  assert.is(new SimDevice(m, { temperatureC: null }).info.capabilities & 1, 0);
  assert.throws(() => openSimLink('nope'), (e: unknown) => e instanceof RangeError);
});

test('a device with a small maxFrame keeps its INFO and ERROR frames inside it', async () => {
  const ids = { vendor: 'r', model: 's', serial: 'x', firmware: 'f' };
  const { host, device, model } = open('analog', 19, { maxFrame: 80, ...ids }, { nodes: 10 });
  await host.next();
  const info = msg<Info>(await host.request({ kind: 'hello', minVersion: 1, maxVersion: 1 }));
  assert.is(info.maxBatch, 2); // 35 + 3 x 20 bytes > 80
  const err = msg<ErrorMessage>(await host.request({ kind: 'configure', params: [{ name: 'a'.repeat(32), type: 'bool', value: true }] }));
  assert.is(err.code, ERROR_CODE.NOT_SUPPORTED);
  assert.ok(12 + 10 + 1 + Buffer.byteLength(err.text) <= 80, err.text);
  assert.throws(() => new SimDevice(model, { maxFrame: 80 }), rangeErrorNaming('maxFrame'), 'INFO with the default strings does not fit');
  const r = msg<Result>(await host.request(processOf(model, 1, drives(model, 1, 1))));
  assert.is(r.count, 1);
  await device.detach();
});

test.run();
