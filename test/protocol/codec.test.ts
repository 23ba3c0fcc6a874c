import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type Frame, FLAG_RESPONSE, FrameDecoder, FrameEncoder, MAX_FRAME, cobsDecode, cobsEncode, encodeFrame, frameToJson,
} from '../../src/protocol/index.js';
import { fromHex } from '../../src/protocol/json.js';
import { validFrames } from './vectors.js';

const result: Frame = {
  seq: 9, flags: FLAG_RESPONSE,
  message: { kind: 'result', batchId: 7, epoch: 2, timestampUs: 1234, status: 0, count: 4, channels: 3, format: 'u16', samples: Uint16Array.from({ length: 12 }, (_, i) => i * 1000) },
};
const ping: Frame = { seq: 1, flags: 0, message: { kind: 'ping', data: Uint8Array.of(1, 0, 2) } };

test('cobs round-trips every length 0..600 with zeros at random places', () => {
  let s = 1;
  for (let n = 0; n <= 600; n++) {
    const data = Uint8Array.from({ length: n }, () => { s = (s * 1103515245 + 12345) >>> 0; return (s >>> 24) % 5 === 0 ? 0 : s >>> 24; });
    const e = cobsEncode(data);
    assert.not.ok(e.includes(0), `encoded ${n} bytes contains 0x00`);
    assert.ok(e.length <= n + Math.floor(n / 254) + 1);
    assert.equal(cobsDecode(e), data);
  }
});

test('cobs decode rejects a code byte that points past the end', () => {
  assert.is(cobsDecode(Uint8Array.of(3, 1)), null);
  assert.is(cobsDecode(Uint8Array.of(0xff, 1, 2)), null);
});

test('a valid frame split at every byte offset decodes once', () => {
  const wire = encodeFrame(result);
  for (let cut = 0; cut <= wire.length; cut++) {
    const dec = new FrameDecoder();
    const events = [...dec.decode(wire.subarray(0, cut)), ...dec.decode(wire.subarray(cut))];
    assert.is(events.length, 1, `cut at ${cut}`);
    assert.ok(events[0].ok);
    if (events[0].ok) assert.equal(frameToJson(events[0].frame), frameToJson(result));
  }
});

test('every vector stream decodes the same one byte at a time', () => {
  const all = validFrames.map((v) => fromHex(v.frame));
  const stream = Uint8Array.from(all.flatMap((b) => [...b]));
  const dec = new FrameDecoder();
  let ok = 0;
  for (const b of stream) dec.push(Uint8Array.of(b), (ev) => { assert.ok(ev.ok); ok++; });
  assert.is(ok, validFrames.length);
});

test('many frames in one megabyte-scale chunk', () => {
  const enc = new FrameEncoder();
  const one = enc.encode(result);
  const reps = Math.ceil(1_048_576 / one.length);
  const big = new Uint8Array(one.length * reps);
  for (let i = 0; i < reps; i++) big.set(one, i * one.length);
  const dec = new FrameDecoder();
  let n = 0;
  dec.push(big, (ev) => { if (ev.ok) n++; });
  assert.is(n, reps);
  assert.is(dec.counts.frames, reps);
});

test('garbage before a frame costs one rejection, then the frame decodes', () => {
  const wire = encodeFrame(ping);
  const dec = new FrameDecoder();
  const events = dec.decode(Uint8Array.of(0x13, 0x37, 0x42, 0x00, ...wire));
  assert.is(events.length, 2);
  assert.is(events[0].ok, false);
  assert.ok(events[1].ok);
});

test('an endless run without delimiter is one oversize rejection and memory stays flat', () => {
  const dec = new FrameDecoder({ maxFrame: 1024 });
  const chunk = new Uint8Array(65536).fill(0x55);
  const events: string[] = [];
  const before = process.memoryUsage().arrayBuffers;
  for (let i = 0; i < 256; i++) dec.push(chunk, (ev) => events.push(ev.ok ? 'ok' : ev.reason)); // 16 MiB
  const grown = process.memoryUsage().arrayBuffers - before;
  dec.push(Uint8Array.of(0, ...encodeFrame(ping)), (ev) => events.push(ev.ok ? 'ok' : ev.reason));
  assert.equal(events, ['oversize', 'ok']);
  assert.ok(grown < 1_000_000, `array buffers grew by ${grown} bytes`);
});

test('decoder role rejects messages flowing the wrong way as type', () => {
  const wire = encodeFrame(ping);
  assert.equal(new FrameDecoder({ role: 'host' }).decode(wire).map((e) => (e.ok ? 'ok' : e.reason)), ['type']);
  assert.equal(new FrameDecoder({ role: 'device' }).decode(wire).map((e) => (e.ok ? 'ok' : e.reason)), ['ok']);
  assert.equal(new FrameDecoder({ role: 'device' }).decode(encodeFrame(result)).map((e) => (e.ok ? 'ok' : e.reason)), ['type']);
});

test('rejections after a valid CRC carry seq and type for the ERROR reply', () => {
  const wire = encodeFrame({ seq: 300, flags: 0, message: { kind: 'hello', minVersion: 1, maxVersion: 1 } });
  // Rebuild the frame with an unknown type but a correct CRC via the encoder's own layout.
  const events = new FrameDecoder({ role: 'host' }).decode(wire);
  assert.equal(events, [{ ok: false, reason: 'type', seq: 300, type: 0x01 }]);
});

test('limitFrameSize lowers the accepted size', () => {
  const dec = new FrameDecoder();
  dec.limitFrameSize(64);
  const big: Frame = { seq: 1, flags: 0, message: { kind: 'ping', data: new Uint8Array(100).fill(1) } };
  assert.equal(dec.decode(encodeFrame(big)).map((e) => (e.ok ? 'ok' : e.reason)), ['oversize']);
  assert.equal(dec.decode(encodeFrame(ping)).map((e) => (e.ok ? 'ok' : e.reason)), ['ok']);
});

test('a maximum-size frame round-trips', () => {
  const data = new Uint8Array(MAX_FRAME - 12).map((_, i) => i & 0xff);
  const events = new FrameDecoder().decode(encodeFrame({ seq: 2, flags: 0, message: { kind: 'ping', data } }));
  assert.is(events.length, 1);
  if (!events[0].ok) assert.unreachable();
  else assert.equal((events[0].frame.message as { data: Uint8Array }).data, data);
});

test('the encoder refuses invalid messages with the field name', () => {
  const enc = new FrameEncoder();
  assert.throws(() => enc.encode({ seq: 70000, flags: 0, message: { kind: 'resetState' } }), /seq/);
  assert.throws(() => enc.encode({ seq: 1, flags: 0, message: { kind: 'process', batchId: 1, count: 2, channels: 2, format: 'u16', samples: new Uint16Array(3) } }), /process\.samples/);
  assert.throws(() => enc.encode({ seq: 1, flags: 0, message: { kind: 'process', batchId: 1, count: 1, channels: 1, format: 'f32', samples: Float32Array.of(NaN) } }), /not finite/);
  assert.throws(() => enc.encode({ seq: 1, flags: 0, message: { kind: 'process', batchId: 1, count: 1, channels: 1, format: 'i16', samples: Uint16Array.of(1) } }), /does not match format/);
  assert.throws(() => enc.encode({ seq: 1, flags: 0, message: { kind: 'error', code: 1, refSeq: 0, refType: 0, detail: 0, text: 'x'.repeat(129) } }), /error\.text/);
  assert.throws(() => enc.encode({ seq: 1, flags: 0, message: { kind: 'configure', params: [{ name: 'a b', type: 'bool', value: true }] } }), /printable/);
  assert.throws(() => new FrameEncoder(64).encode({ seq: 1, flags: 0, message: { kind: 'ping', data: new Uint8Array(60) } }), /exceeds maxFrame 64/);
  assert.throws(() => new FrameDecoder({ maxFrame: 5 }), /maxFrame/);
});

test('encodeInto batches frames into one buffer', () => {
  const enc = new FrameEncoder();
  const buf = new Uint8Array(4096);
  let at = 0;
  for (let i = 0; i < 5; i++) at = enc.encodeInto({ ...ping, seq: i }, buf, at);
  const seqs = new FrameDecoder().decode(buf.subarray(0, at)).map((e) => (e.ok ? e.frame.seq : -1));
  assert.equal(seqs, [0, 1, 2, 3, 4]);
});

test('strings keep a leading byte order mark', () => {
  const frame: Frame = { seq: 0, flags: 0, message: { kind: 'error', code: 3, refSeq: 0, refType: 0, detail: 0, text: '\ufeffbom first' } };
  const events = new FrameDecoder().decode(encodeFrame(frame));
  if (!events[0].ok) assert.unreachable();
  else assert.equal(frameToJson(events[0].frame), frameToJson(frame));
});

test.run();
