/**
 * Writes firmware-protocol/vectors/*.json from the TypeScript codec. Run after a deliberate
 * protocol change only (`npm run build && node dist/scripts/gen-vectors.js`); the committed
 * vectors are the contract that both the TypeScript and the C codec are tested against.
 */
import { writeFileSync } from 'node:fs';
import {
  type Frame, type Message, ERROR_CODE, FLAG_RESPONSE, CAPABILITY, RESULT_STATUS, MESSAGE_TYPE,
  FrameDecoder, FrameEncoder, cobsEncode, crc32c, frameToJson,
} from '../src/protocol/index.js';
import { fromHex, toHex } from '../src/protocol/json.js';
import { replayCase } from '../test/protocol/fuzz-engine.js';

const outDir = new URL('../../firmware-protocol/vectors/', import.meta.url);
const enc = new FrameEncoder();
const ascii = (s: string) => new TextEncoder().encode(s);

// --- CRC-32C
const crcInputs: [string, Uint8Array][] = [
  ['empty', new Uint8Array(0)],
  ['ascii 123456789 (check value)', ascii('123456789')],
  ['32 zero bytes', new Uint8Array(32)],
  ['32 0xFF bytes', new Uint8Array(32).fill(0xff)],
  ['bytes 0..255', Uint8Array.from({ length: 256 }, (_, i) => i)],
];
writeFileSync(new URL('crc32c.json', outDir), JSON.stringify({
  description: 'CRC-32C (Castagnoli), reflected poly 0x82F63B78, init/xorout 0xFFFFFFFF. SPEC.md 1.3',
  vectors: crcInputs.map(([name, data]) => ({ name, data: toHex(data), crc: crc32c(data) })),
}, null, 1) + '\n');

// --- COBS
const cobsInputs: [string, Uint8Array][] = [
  ['empty', new Uint8Array(0)],
  ['one zero', Uint8Array.of(0)],
  ['two zeros', Uint8Array.of(0, 0)],
  ['zero inside', Uint8Array.of(0x11, 0x22, 0x00, 0x33)],
  ['no zero', Uint8Array.of(0x11, 0x22, 0x33, 0x44)],
  ['trailing zero', Uint8Array.of(0x11, 0x00)],
  ['253 non-zero bytes', Uint8Array.from({ length: 253 }, (_, i) => i + 1)],
  ['254 non-zero bytes 01..FE', Uint8Array.from({ length: 254 }, (_, i) => i + 1)],
  ['255 bytes 00..FE', Uint8Array.from({ length: 255 }, (_, i) => i)],
  ['255 bytes 01..FF', Uint8Array.from({ length: 255 }, (_, i) => i + 1)],
  ['254 non-zero then zero', Uint8Array.from({ length: 255 }, (_, i) => (i < 254 ? 7 : 0))],
  ['600 non-zero bytes', new Uint8Array(600).fill(0x5a)],
];
writeFileSync(new URL('cobs.json', outDir), JSON.stringify({
  description: 'COBS encoding without the 0x00 delimiter. SPEC.md 1.2',
  vectors: cobsInputs.map(([name, data]) => ({ name, data: toHex(data), encoded: toHex(cobsEncode(data)) })),
}, null, 1) + '\n');

// --- Frames
const valid: [string, Frame][] = [
  ['hello', { seq: 1, flags: 0, message: { kind: 'hello', minVersion: 1, maxVersion: 1 } }],
  ['hello offering versions 1..3', { seq: 2, flags: 0, message: { kind: 'hello', minVersion: 1, maxVersion: 3 } }],
  ['info', { seq: 1, flags: FLAG_RESPONSE, message: {
    kind: 'info', protocolVersion: 1, inFormat: 'u16', outFormat: 'u16', credits: 4, inChannels: 2, outChannels: 64,
    maxBatch: 256, maxFrame: 65547, samplePeriodNs: 10000, capabilities: CAPABILITY.TEMPERATURE | CAPABILITY.HW_TIMESTAMP,
    inMin: 0, inMax: 4095, outMin: 0, outMax: 4095, vendor: 'Acme Photonics', model: 'OR-1', serial: 'SN0042', firmware: '1.2.3',
  } }],
  ['info f32 with empty strings', { seq: 0x1234, flags: FLAG_RESPONSE, message: {
    kind: 'info', protocolVersion: 1, inFormat: 'f32', outFormat: 'i16', credits: 1, inChannels: 1, outChannels: 1,
    maxBatch: 1, maxFrame: 64, samplePeriodNs: 0, capabilities: 0, inMin: -1, inMax: 1, outMin: -32768, outMax: 32767,
    vendor: '', model: '', serial: '', firmware: '',
  } }],
  ['info whose maxBatch is the largest that fits maxFrame 64 (RESULT 35 + 14 x 2 = 63 bytes)', { seq: 0x0101, flags: FLAG_RESPONSE, message: {
    kind: 'info', protocolVersion: 1, inFormat: 'u16', outFormat: 'i16', credits: 1, inChannels: 1, outChannels: 1,
    maxBatch: 14, maxFrame: 64, samplePeriodNs: 0, capabilities: 0, inMin: 0, inMax: 4095, outMin: -32768, outMax: 32767,
    vendor: '', model: '', serial: '', firmware: '',
  } }],
  ['configure with every parameter type', { seq: 3, flags: 0, message: { kind: 'configure', params: [
    { name: 'feedback', type: 'bool', value: true },
    { name: 'exposure_us', type: 'i32', value: -1500 },
    { name: 'input_gain', type: 'f64', value: 0.625 },
    { name: 'mask', type: 'string', value: 'random:7' },
  ] } }],
  ['configure empty', { seq: 4, flags: 0, message: { kind: 'configure', params: [] } }],
  ['ack', { seq: 3, flags: FLAG_RESPONSE, message: { kind: 'ack', ackedType: MESSAGE_TYPE.configure, epoch: 7 } }],
  ['process u16 3x2', { seq: 5, flags: 0, message: { kind: 'process', batchId: 100, count: 3, channels: 2, format: 'u16', samples: Uint16Array.of(0, 4095, 256, 1, 65535, 0x8000) } }],
  ['process i16 2x2', { seq: 6, flags: 0, message: { kind: 'process', batchId: 0xfffffffe, count: 2, channels: 2, format: 'i16', samples: Int16Array.of(-32768, 32767, -1, 0) } }],
  ['process f32 1x3', { seq: 7, flags: 0, message: { kind: 'process', batchId: 1, count: 1, channels: 3, format: 'f32', samples: Float32Array.of(0.5, -1.25, 0) } }],
  ['process with 300 zero samples (long COBS runs)', { seq: 8, flags: 0, message: { kind: 'process', batchId: 2, count: 150, channels: 2, format: 'u16', samples: new Uint16Array(300) } }],
  ['process with 300 non-zero samples (0xFF blocks)', { seq: 9, flags: 0, message: { kind: 'process', batchId: 3, count: 100, channels: 3, format: 'u16', samples: new Uint16Array(300).fill(0x0101) } }],
  ['result u16 2x3 with clipping', { seq: 5, flags: FLAG_RESPONSE, message: { kind: 'result', batchId: 100, epoch: 3, timestampUs: 123456789012, status: RESULT_STATUS.INPUT_CLIPPED, count: 2, channels: 3, format: 'u16', samples: Uint16Array.of(1, 2, 3, 4095, 0, 77) } }],
  ['result f32 with large timestamp', { seq: 7, flags: FLAG_RESPONSE, message: { kind: 'result', batchId: 1, epoch: 0xffffffff, timestampUs: 2 ** 52 + 1, status: RESULT_STATUS.OUTPUT_SATURATED | RESULT_STATUS.OVERRUN, count: 1, channels: 2, format: 'f32', samples: Float32Array.of(1e-3, -2.5) } }],
  ['result i16', { seq: 6, flags: FLAG_RESPONSE, message: { kind: 'result', batchId: 0xfffffffe, epoch: 0, timestampUs: 0, status: 0, count: 1, channels: 1, format: 'i16', samples: Int16Array.of(-7) } }],
  ['resetState', { seq: 10, flags: 0, message: { kind: 'resetState' } }],
  ['ack of resetState', { seq: 10, flags: FLAG_RESPONSE, message: { kind: 'ack', ackedType: MESSAGE_TYPE.resetState, epoch: 8 } }],
  ['getStatus', { seq: 11, flags: 0, message: { kind: 'getStatus' } }],
  ['status with temperature', { seq: 11, flags: FLAG_RESPONSE, message: { kind: 'status', framesOk: 1000, crcErrors: 2, framingErrors: 3, rejected: 1, droppedBatches: 1, epoch: 8, bootCount: 12, uptimeUs: 5000000123, temperatureC: 36.5 } }],
  ['status without temperature', { seq: 12, flags: FLAG_RESPONSE, message: { kind: 'status', framesOk: 0, crcErrors: 0, framingErrors: 0, rejected: 0, droppedBatches: 0, epoch: 0, bootCount: 1, uptimeUs: 0, temperatureC: null } }],
  ['ping empty', { seq: 13, flags: 0, message: { kind: 'ping', data: new Uint8Array(0) } }],
  ['ping with data', { seq: 14, flags: 0, message: { kind: 'ping', data: Uint8Array.of(0, 1, 2, 0, 0xff) } }],
  ['pong with data', { seq: 14, flags: FLAG_RESPONSE, message: { kind: 'pong', data: Uint8Array.of(0, 1, 2, 0, 0xff) } }],
  ['boot', { seq: 0, flags: 0, message: { kind: 'boot', bootCount: 5, epoch: 0x50000, reason: 0 } }],
  ['error no credit', { seq: 20, flags: FLAG_RESPONSE, message: { kind: 'error', code: ERROR_CODE.NO_CREDIT, refSeq: 20, refType: MESSAGE_TYPE.process, detail: 4, text: 'no credit: 4 batches in flight' } }],
  ['error answering a frame of unknown type 0x7f (RESPONSE set, seq and refSeq of that frame)', { seq: 0x31, flags: FLAG_RESPONSE, message: { kind: 'error', code: ERROR_CODE.UNKNOWN_TYPE, refSeq: 0x31, refType: 0x7f, detail: 0x7f, text: 'unknown message type' } }],
  ['error unsolicited, utf-8 text', { seq: 0, flags: 0, message: { kind: 'error', code: ERROR_CODE.DEVICE_FAULT, refSeq: 0, refType: 0, detail: 0xdeadbeef, text: 'laser power low: 3.2 µW' } }],
];

/** The message of the valid vector called `name`, so edits below do not depend on list order. */
function named(name: string): Message {
  const v = valid.find(([n]) => n === name);
  if (!v) throw new Error(`no valid vector named ${name}`);
  return v[1].message;
}

/** Unstuffed frame bytes, so invalid vectors can be built by editing fields before stuffing. */
function raw(message: Message, seq = 99): Uint8Array {
  const wire = enc.encode({ seq, flags: 0, message });
  const out = new Uint8Array(wire.length);
  const n = (function decode(): number {
    let i = 0, o = 0;
    const end = wire.length - 1;
    while (i < end) {
      const code = wire[i++];
      for (let k = 1; k < code; k++) out[o++] = wire[i++];
      if (code !== 0xff && i < end) out[o++] = 0;
    }
    return o;
  })();
  return out.slice(0, n);
}
function withCrc(f: Uint8Array): Uint8Array {
  const dv = new DataView(f.buffer, f.byteOffset, f.byteLength);
  dv.setUint32(f.length - 4, crc32c(f, 0, f.length - 4), true);
  return f;
}
const stuff = (f: Uint8Array) => Uint8Array.from([...cobsEncode(f), 0]);
const cat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));
const ping = { kind: 'ping', data: Uint8Array.of(0xab) } as const;
const resync = enc.encode({ seq: 0x77, flags: 0, message: ping });

function edited(message: Message, edit: (f: Uint8Array, dv: DataView) => void, fixCrc = true): Uint8Array {
  const f = raw(message);
  edit(f, new DataView(f.buffer));
  return stuff(fixCrc ? withCrc(f) : f);
}

let rng = 0x2545f491;
function nextByte(): number {
  rng ^= rng << 13; rng ^= rng >>> 17; rng ^= rng << 5;
  return (rng >>> 0) & 0xff;
}
const goodResult = enc.encode({ seq: 1, flags: 1, message: named('result u16 2x3 with clipping') });

const invalid: [string, Uint8Array, number?][] = [
  ['empty frame', Uint8Array.of(0)],
  ['cobs code byte past the end', Uint8Array.of(0x05, 0x11, 0x22, 0x00)],
  ['short: 5 decoded bytes', stuff(Uint8Array.of(1, 6, 0, 0, 1))],
  ['crc: last CRC byte wrong', edited(ping, (f) => { f[f.length - 1] ^= 0x01; }, false)],
  ['crc: one payload bit flipped', edited(ping, (f) => { f[8] ^= 0x10; }, false)],
  ['length: header says 2, payload is 1', edited(ping, (_, dv) => dv.setUint16(6, 2, true))],
  ['version 2', edited(ping, (f) => { f[0] = 2; })],
  ['version 0', edited(ping, (f) => { f[0] = 0; })],
  ['unknown type 0x7f', edited(ping, (f) => { f[1] = 0x7f; })],
  ['unknown type 0x84', edited(ping, (f) => { f[1] = 0x84; })],
  ['payload: hello minVersion 0', edited({ kind: 'hello', minVersion: 1, maxVersion: 1 }, (f) => { f[8] = 0; })],
  ['payload: hello maxVersion < minVersion', edited({ kind: 'hello', minVersion: 2, maxVersion: 3 }, (f) => { f[9] = 1; })],
  ['payload: getStatus with a byte', edited({ kind: 'ping', data: Uint8Array.of(1) }, (f) => { f[1] = MESSAGE_TYPE.getStatus; })],
  ['payload: process count*channels disagrees with length', edited(named('process u16 3x2'), (_, dv) => dv.setUint16(12, 2, true))],
  ['payload: process count 0', edited({ kind: 'process', batchId: 1, count: 1, channels: 1, format: 'u16', samples: Uint16Array.of(5) }, (_, dv) => { dv.setUint16(12, 0, true); dv.setUint16(14, 2, true); })],
  ['payload: process format 3', edited(named('process u16 3x2'), (f) => { f[16] = 3; })],
  ['payload: process f32 NaN sample', edited(named('process f32 1x3'), (_, dv) => dv.setFloat32(17, NaN, true))],
  ['payload: process f32 infinite sample', edited(named('process f32 1x3'), (_, dv) => dv.setFloat32(21, -Infinity, true))],
  ['payload: result truncated by one sample byte', edited({ kind: 'ping', data: raw(named('result u16 2x3 with clipping')).subarray(8, 8 + 23 + 11) }, (f) => { f[1] = MESSAGE_TYPE.result; })],
  ['payload: info maxFrame 63', edited(named('info'), (_, dv) => dv.setUint32(20, 63, true))],
  ['payload: info credits 0', edited(named('info'), (f) => { f[11] = 0; })],
  ['payload: info inMin >= inMax', edited(named('info'), (_, dv) => dv.setFloat32(32, 5000, true))],
  ['payload: info vendor string runs past the end', edited(named('info f32 with empty strings'), (f) => { f[8 + 40] = 10; })],
  ['payload: info maxBatch 600 whose RESULT (35 + 600 x 64 x 2 bytes) does not fit maxFrame 65547', edited(named('info'), (_, dv) => dv.setUint16(16, 600, true))],
  ['payload: info maxBatch 11 whose PROCESS (21 + 11 x 4 bytes) does not fit maxFrame 64', edited(named('info f32 with empty strings'), (_, dv) => dv.setUint16(16, 11, true))],
  ['payload: info maxBatch 15, one more than fits maxFrame 64', edited(named('info whose maxBatch is the largest that fits maxFrame 64 (RESULT 35 + 14 x 2 = 63 bytes)'), (_, dv) => dv.setUint16(16, 15, true))],
  ['payload: configure 17 parameters', edited({ kind: 'configure', params: [] }, (f) => { f[8] = 17; })],
  ['payload: configure name with a space', edited({ kind: 'configure', params: [{ name: 'in_gain', type: 'bool', value: true }] }, (f) => { f[8 + 1 + 1 + 2] = 0x20; })],
  ['payload: configure unknown parameter type 5', edited({ kind: 'configure', params: [{ name: 'x', type: 'bool', value: true }] }, (f) => { f[8 + 3] = 5; })],
  ['payload: configure bool value 2', edited({ kind: 'configure', params: [{ name: 'x', type: 'bool', value: true }] }, (f) => { f[8 + 4] = 2; })],
  ['payload: error text invalid utf-8', edited({ kind: 'error', code: 1, refSeq: 0, refType: 0, detail: 0, text: 'ab' }, (f) => { f[8 + 10] = 0xc3; f[8 + 11] = 0x28; })],
  ['payload: error text 129 bytes', edited({ kind: 'ping', data: cat(new Uint8Array(9), Uint8Array.of(129), new Uint8Array(129).fill(0x41)) }, (f) => { f[1] = MESSAGE_TYPE.error; })],
  ['payload: ack one byte short', edited({ kind: 'ping', data: Uint8Array.of(1, 2, 3, 4) }, (f) => { f[1] = MESSAGE_TYPE.ack; })],
  ['oversize: 200 bytes without delimiter at maxFrame 64', new Uint8Array(200).fill(0x42).map((b, i) => (i === 199 ? 0 : b)), 64],
  ['oversize: valid 70-byte frame at maxFrame 64', enc.encode({ seq: 1, flags: 0, message: { kind: 'ping', data: new Uint8Array(58).fill(1) } }), 64],
  ['garbage without zeros, then a delimiter', cat(Uint8Array.from({ length: 40 }, () => nextByte() | 1), Uint8Array.of(0))],
  ['truncated result (first half, then a delimiter)', cat(goodResult.subarray(0, 20), Uint8Array.of(0))],
  ['result with one flipped bit', flipUntil('crc')],
  ['result with one flipped bit in a COBS code byte', flipUntil('cobs')],
  ['64 random bytes, zeros included', Uint8Array.from({ length: 64 }, () => (nextByte() < 32 ? 0 : nextByte()))],
];

/** The first single-bit flip of goodResult (past its header) that the decoder rejects for `reason`. */
function flipUntil(reason: string): Uint8Array {
  for (let i = 12; i < goodResult.length - 1; i++) {
    const b = goodResult.slice();
    b[i] ^= 0x04;
    const evs = new FrameDecoder().decode(b);
    if (evs.length === 1 && !evs[0].ok && evs[0].reason === reason) return b;
  }
  throw new Error(`no single flip gives ${reason}`);
}

// Seeded fuzz cases (small ones) as a differential check: the C decoder must reject them for
// exactly the reasons the TypeScript decoder gives.
for (let i = 0, kept = 0; kept < 150 && i < 5000; i++) {
  const t = replayCase(0xd1ff, i);
  if (t.mutation === 'none' || t.input.length > 1200) continue;
  const bytes = cat(fromHex(t.input), Uint8Array.of(0));
  if (new FrameDecoder().decode(bytes).every((e) => e.ok)) continue; // the mutation happened to keep it valid
  invalid.push([`fuzz seed 0xd1ff case ${i} (${t.mutation})`, bytes]);
  kept++;
}

const decodeAll = (bytes: Uint8Array, maxFrame: number) => new FrameDecoder({ maxFrame }).decode(bytes);
const invalidJson = invalid.map(([name, bad, maxFrame = 65547]) => {
  const bytes = cat(bad, resync);
  const events = decodeAll(bytes, maxFrame);
  const rejects = events.filter((e) => !e.ok).map((e) => (e.ok ? '' : e.reason));
  const validAfter = events.filter((e) => e.ok).length;
  if (rejects.length === 0 || validAfter < 1) throw new Error(`vector "${name}" does not reject then resync: ${JSON.stringify(events)}`);
  return { name, maxFrame, bytes: toHex(bytes), rejects, validAfter };
});

writeFileSync(new URL('frames.json', outDir), JSON.stringify({
  description: 'Protocol v1 frames. valid: encode(seq, flags, message) == frame and decode(frame) == message. invalid: decoding bytes with the given maxFrame gives rejects in order, then validAfter valid frames. SPEC.md section 10',
  protocolVersion: 1,
  valid: valid.map(([name, f]) => ({ name, frame: toHex(enc.encode(f)), ...frameToJson(f) })),
  invalid: invalidJson,
}, null, 1) + '\n');
console.log(`wrote ${crcInputs.length} crc, ${cobsInputs.length} cobs, ${valid.length} valid and ${invalid.length} invalid frame vectors`);

// --- Device behaviour (SPEC 1.4, 2, 3, 5, 6): requests to a freshly booted reference device and
// the replies it must send. Checked against the simulator (TypeScript) and the C dispatcher.
const request = (seq: number, message: Message) => enc.encode({ seq, flags: 0, message });
function editedRequest(seq: number, message: Message, edit: (f: Uint8Array, dv: DataView) => void): Uint8Array {
  const f = raw(message, seq);
  edit(f, new DataView(f.buffer));
  return stuff(withCrc(f));
}
const u16Process = (batchId: number, count: number, channels: number): Message =>
  ({ kind: 'process', batchId, count, channels, format: 'u16', samples: new Uint16Array(count * channels).fill(100) });
const answer = (seq: number, message: Record<string, unknown>) => ({ seq, flags: FLAG_RESPONSE, message });
const deviceCases: { name: string; requests: Uint8Array; replies: ReturnType<typeof answer>[] }[] = [
  {
    name: 'CONFIGURE without the CONFIGURE capability: NOT_SUPPORTED, with or without parameters, epoch unchanged',
    requests: cat(request(1, { kind: 'configure', params: [{ name: 'input_gain', type: 'f64', value: 2 }] }), request(2, { kind: 'configure', params: [] }), request(3, { kind: 'getStatus' })),
    replies: [
      answer(1, { kind: 'error', code: ERROR_CODE.NOT_SUPPORTED, refSeq: 1, refType: MESSAGE_TYPE.configure, detail: 0 }),
      answer(2, { kind: 'error', code: ERROR_CODE.NOT_SUPPORTED, refSeq: 2, refType: MESSAGE_TYPE.configure, detail: 0 }),
      answer(3, { kind: 'status', epochChange: 0, droppedBatches: 0 }),
    ],
  },
  {
    name: 'PROCESS rejected for its payload: BAD_PAYLOAD with RESPONSE set, and the epoch moves as for any unprocessed PROCESS',
    requests: cat(editedRequest(4, u16Process(1, 2, 1), (_, dv) => dv.setUint16(12, 3, true)), request(5, { kind: 'getStatus' })),
    replies: [
      answer(4, { kind: 'error', code: ERROR_CODE.BAD_PAYLOAD, refSeq: 4, refType: MESSAGE_TYPE.process, detail: 0 }),
      answer(5, { kind: 'status', epochChange: 1, droppedBatches: 1 }),
    ],
  },
  {
    name: 'a frame of unknown type is answered ERROR UNKNOWN_TYPE with RESPONSE set and its seq',
    requests: editedRequest(6, { kind: 'ping', data: Uint8Array.of(1) }, (f) => { f[1] = 0x7f; }),
    replies: [answer(6, { kind: 'error', code: ERROR_CODE.UNKNOWN_TYPE, refSeq: 6, refType: 0x7f, detail: 0x7f })],
  },
  {
    name: 'a frame of header version 2 is answered ERROR UNSUPPORTED_VERSION with RESPONSE set and its seq',
    requests: editedRequest(7, { kind: 'ping', data: Uint8Array.of(1) }, (f) => { f[0] = 2; }),
    replies: [answer(7, { kind: 'error', code: ERROR_CODE.UNSUPPORTED_VERSION, refSeq: 7, refType: MESSAGE_TYPE.ping, detail: 0x0101 })],
  },
  {
    name: 'PROCESS check order: BAD_SHAPE before TOO_LARGE; each unprocessed PROCESS moves the epoch',
    requests: cat(request(8, u16Process(2, 5, 2)), request(9, u16Process(3, 5, 1)), request(10, { kind: 'getStatus' })),
    replies: [
      answer(8, { kind: 'error', code: ERROR_CODE.BAD_SHAPE, refSeq: 8, refType: MESSAGE_TYPE.process, detail: 1 }),
      answer(9, { kind: 'error', code: ERROR_CODE.TOO_LARGE, refSeq: 9, refType: MESSAGE_TYPE.process, detail: 4 }),
      answer(10, { kind: 'status', epochChange: 2, droppedBatches: 2 }),
    ],
  },
  {
    name: 'RESET_STATE moves the epoch by one; a processed batch does not, and its RESULT carries the epoch it ran in',
    requests: cat(request(11, { kind: 'resetState' }), request(12, u16Process(4, 2, 1))),
    replies: [
      answer(11, { kind: 'ack', ackedType: MESSAGE_TYPE.resetState, epochChange: 1 }),
      answer(12, { kind: 'result', batchId: 4, epochChange: 1, count: 2, channels: 1, format: 'u16' }),
    ],
  },
];
writeFileSync(new URL('device.json', outDir), JSON.stringify({
  description: 'Device behaviour. Each case: a freshly booted device described by `device` receives `requests` (wire bytes, hex) and MUST send, after its BOOT, exactly `replies` in order: seq, flags and the fields named in message (others are free; epochChange = epoch - the BOOT epoch). SPEC.md section 10',
  device: { inFormat: 'u16', outFormat: 'u16', inChannels: 1, outChannels: 1, credits: 2, maxBatch: 4, maxFrame: 256, capabilities: 0 },
  cases: deviceCases.map((c) => ({ name: c.name, requests: toHex(c.requests), replies: c.replies })),
}, null, 1) + '\n');

// --- Host behaviour (SPEC 1.4, 6): scripts of host calls, the frames the device answers with,
// and the verdict the host must reach. Checked against the TypeScript device client.
type HostFrame = { seq: number | 'request'; flags: number; message: Record<string, unknown> };
const result = (timestampUs: number, epoch = 10, seq: number | 'request' = 'request', flags = FLAG_RESPONSE, batchId: number | 'request' = 'request'): HostFrame =>
  ({ seq, flags, message: { kind: 'result', batchId, epoch, timestampUs, status: 0, count: 1, channels: 1, format: 'u16', samples: [7] } });
const ackReset = (epoch: number): HostFrame => ({ seq: 'request', flags: FLAG_RESPONSE, message: { kind: 'ack', ackedType: MESSAGE_TYPE.resetState, epoch } });
const hostCases = [
  {
    name: 'a device clock that restarts across segments without a BOOT is a break (rule 5)',
    steps: [
      { call: 'resetState', device: [ackReset(10)], expect: 'ok' },
      { call: 'process', device: [result(5000)], expect: 'ok' },
      { call: 'resetState', device: [ackReset(11)], expect: 'ok' },
      { call: 'process', device: [result(40, 11)], expect: { break: 'clock' } },
    ],
  },
  {
    name: 'after a BOOT the clock may restart: no break beyond the boot itself',
    steps: [
      { call: 'resetState', device: [ackReset(10)], expect: 'ok' },
      { call: 'process', device: [result(5000), { seq: 0, flags: 0, message: { kind: 'boot', bootCount: 2, epoch: 500, reason: 0 } }], expect: { break: 'boot' } },
      { call: 'resetState', device: [ackReset(501)], expect: 'ok' },
      { call: 'process', device: [result(40, 501)], expect: 'ok' },
    ],
  },
  {
    name: 'a second RESULT for the same batch is a break (rule 6)',
    steps: [
      { call: 'resetState', device: [ackReset(10)], expect: 'ok' },
      { call: 'process', device: [result(100), result(100)], expect: { break: 'order' } },
    ],
  },
  {
    name: 'a RESULT whose seq was never sent is a break (rule 6)',
    steps: [
      { call: 'resetState', device: [ackReset(10)], expect: 'ok' },
      { call: 'process', device: [result(100), result(200, 10, 4242, FLAG_RESPONSE, 77)], expect: { break: 'order' } },
    ],
  },
  {
    name: 'timestamps that do not follow samplePeriodNs are no break (samplePeriodNs is nominal)',
    steps: [
      { call: 'resetState', device: [ackReset(10)], expect: 'ok' },
      { call: 'process', device: [result(0)], expect: 'ok' },
      { call: 'process', device: [result(0)], expect: 'ok' },
      { call: 'process', device: [result(987654)], expect: 'ok' },
    ],
  },
  {
    name: 'an ERROR with RESPONSE clear is no answer to the PROCESS in flight',
    steps: [
      { call: 'resetState', device: [ackReset(10)], expect: 'ok' },
      { call: 'process', device: [{ seq: 0, flags: 0, message: { kind: 'error', code: ERROR_CODE.DEVICE_FAULT, refSeq: 0, refType: 0, detail: 0, text: 'fan slow' } }, result(100)], expect: 'ok' },
    ],
  },
  {
    name: 'an ERROR with RESPONSE set answering a PROCESS is a break (rule 3)',
    steps: [
      { call: 'resetState', device: [ackReset(10)], expect: 'ok' },
      { call: 'process', device: [{ seq: 'request', flags: FLAG_RESPONSE, message: { kind: 'error', code: ERROR_CODE.BAD_PAYLOAD, refSeq: 'request', refType: MESSAGE_TYPE.process, detail: 0, text: 'bad payload' } }], expect: { break: 'error' } },
    ],
  },
];
writeFileSync(new URL('host.json', outDir), JSON.stringify({
  description: 'Host behaviour. A device with the INFO `info` answers each host call (`resetState`, or `process` of one vector) with `device` frames in order (seq/refSeq/batchId "request": those of the request the call sent); after the call the host MUST have concluded `expect`: ok, or the break named. SPEC.md section 10',
  info: { protocolVersion: 1, inFormat: 'u16', outFormat: 'u16', credits: 1, inChannels: 1, outChannels: 1, maxBatch: 4, maxFrame: 256, samplePeriodNs: 1000, capabilities: 0, inMin: 0, inMax: 4095, outMin: 0, outMax: 4095, vendor: 'vectors', model: 'host', serial: '1', firmware: '1' },
  cases: hostCases,
}, null, 1) + '\n');
console.log(`wrote ${deviceCases.length} device and ${hostCases.length} host behaviour vectors`);
