/**
 * Codec throughput (`npm run bench`): RESULT frames encoded and decoded by src/protocol, in MB/s
 * of wire bytes (1 MB = 10^6 bytes), next to Buffer.copy of the same byte count measured in the
 * same run. Options: --runs N (measured runs, default 7), --mb N (wire MB per run, default 32),
 * --only-decode (skip encode rows; handy under `node --cpu-prof`).
 *
 * Frames: RESULT with u16 samples, 64 vectors x 64 channels (8,227-byte frames) and 511 x 64
 * (65,443 bytes, just below MAX_FRAME), each with two sample distributions: 12-bit ADC values
 * (0..4095: the high byte is zero in 1 sample of 16, so COBS blocks average ~30 bytes) and
 * full-range u16 (a zero byte in 1 of 256, blocks mostly 254 bytes). Eight distinct frames per
 * case are cycled so the data is not one cached block.
 *
 * Decode is timed through FrameDecoder.push with one chunk holding the whole stream and with
 * 4 KiB chunks (a serial port's delivery). A second table splits decode into its stages on the
 * same data (delimiter scan, COBS, CRC-32C, payload parse + sample copy) to show where time goes.
 */
import { cpus } from 'node:os';
import {
  type Frame, type Result, FLAG_RESPONSE, FrameDecoder, FrameEncoder, MAX_FRAME, cobsDecodeInto, cobsMaxEncodedLength, crc32c,
} from '../../src/protocol/index.js';
import { readPayload } from '../../src/protocol/payload.js';
import { Rng } from '../../test/protocol/fuzz-engine.js';
import { timeCalls } from './harness.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : dflt; };
const RUNS = opt('--runs', 7);
const WARMUP = 2;
const TARGET_BYTES = opt('--mb', 32) * 1e6;
const ONLY_DECODE = args.includes('--only-decode');
const CHUNK = 4096;
const DISTINCT = 8;

type Values = '12-bit' | 'full-range';
interface Case { name: string; count: number; channels: number; values: Values }
const CASES: Case[] = [
  { name: 'RESULT 64x64 u16', count: 64, channels: 64, values: '12-bit' },
  { name: 'RESULT 64x64 u16', count: 64, channels: 64, values: 'full-range' },
  { name: 'RESULT 511x64 u16', count: 511, channels: 64, values: '12-bit' },
  { name: 'RESULT 511x64 u16', count: 511, channels: 64, values: 'full-range' },
];

function makeFrames(c: Case, rng: Rng): Frame<Result>[] {
  return Array.from({ length: DISTINCT }, (_, k) => {
    const samples = new Uint16Array(c.count * c.channels);
    for (let i = 0; i < samples.length; i++) samples[i] = c.values === '12-bit' ? rng.u32() & 0xfff : rng.u32() & 0xffff;
    return {
      seq: k + 1, flags: FLAG_RESPONSE,
      message: { kind: 'result', batchId: 1000 + k, epoch: 3, timestampUs: 1_700_000_000 + k * 6400, status: 0, count: c.count, channels: c.channels, format: 'u16', samples },
    };
  });
}

const time = (fn: () => void, runs = RUNS): [number, number] => timeCalls(fn, runs, WARMUP);

interface Row { frame: string; bytes: number; op: string; med: number; best: number; copy: number }
const rows: Row[] = [];
const stageRows: { frame: string; stage: string; med: number; share: string }[] = [];
let sink = 0;

for (const c of CASES) {
  const rng = new Rng(0xbe4c4 + c.count * 7 + (c.values === '12-bit' ? 1 : 2));
  const frames = makeFrames(c, rng);
  const enc = new FrameEncoder();
  const wires = frames.map((f) => enc.encode(f).slice());
  const frameBytes = wires[0].length;
  const perRun = Math.max(DISTINCT, Math.round(TARGET_BYTES / frameBytes / DISTINCT) * DISTINCT);
  const maxWire = cobsMaxEncodedLength(MAX_FRAME) + 1;
  const streamCap = new Uint8Array(perRun * maxWire);
  let streamLen = 0;
  for (let i = 0; i < perRun; i++) { streamCap.set(wires[i % DISTINCT], streamLen); streamLen += wires[i % DISTINCT].length; }
  const stream = streamCap.subarray(0, streamLen);
  const label = `${c.name} ${c.values}`;
  let zeros = 0;
  for (const f of frames) for (const b of new Uint8Array(f.message.samples.buffer)) if (b === 0) zeros++;
  const zeroShare = zeros / frames.reduce((s, f) => s + f.message.samples.byteLength, 0);
  const desc = `${label} (${frameBytes.toLocaleString('en-US')} B per frame on the wire, ${(zeroShare * 100).toFixed(1)}% zero sample bytes)`;

  // Baseline: Buffer.copy of the same number of bytes.
  const src = Buffer.from(stream.buffer, stream.byteOffset, streamLen);
  const dst = Buffer.allocUnsafe(streamLen);
  // The copy takes milliseconds, so it gets more runs to keep its median steady on a busy machine.
  const copyTimes = time(() => { src.copy(dst); }, RUNS * 5);
  const copy = streamLen / copyTimes[0] / 1e6;
  const add = (op: string, [med, best]: [number, number]) => rows.push({ frame: desc, bytes: streamLen, op, med: streamLen / med / 1e6, best: streamLen / best / 1e6, copy });
  add('Buffer.copy (baseline)', copyTimes);

  if (!ONLY_DECODE) {
    const out = new Uint8Array(streamLen + maxWire);
    add('encodeInto (one buffer)', time(() => {
      let at = 0;
      for (let i = 0; i < perRun; i++) at = enc.encodeInto(frames[i % DISTINCT], out, at);
      if (at !== streamLen) throw new Error(`encodeInto wrote ${at} bytes, expected ${streamLen}`);
    }));
    add('encode (new array/frame)', time(() => {
      let n = 0;
      for (let i = 0; i < perRun; i++) n += enc.encode(frames[i % DISTINCT]).length;
      sink += n;
    }));
  }

  const dec = new FrameDecoder({ role: 'host' });
  let ok = 0;
  const onEvent = (ev: { ok: boolean }) => { if (ev.ok) ok++; };
  const checked = (fn: () => void) => () => {
    ok = 0;
    fn();
    if (ok !== perRun) throw new Error(`decoded ${ok} frames, expected ${perRun}`);
  };
  add('decode push (one chunk)', time(checked(() => dec.push(stream, onEvent))));
  add('decode push (4 KiB chunks)', time(checked(() => {
    for (let at = 0; at < streamLen; at += CHUNK) dec.push(stream.subarray(at, Math.min(at + CHUNK, streamLen)), onEvent);
  })));

  // Decode stages on the same data, each alone (sum ~ decode push (one chunk)).
  const frameBuf = new Uint8Array(MAX_FRAME);
  const view = new DataView(frameBuf.buffer);
  const bounds: [number, number][] = [];
  for (let at = 0; at < streamLen;) { const z = stream.indexOf(0, at); bounds.push([at, z]); at = z + 1; }
  const unstuffed = wires.map((w) => { const u = new Uint8Array(MAX_FRAME); const n = cobsDecodeInto(w, 0, w.length - 1, u, MAX_FRAME); return u.subarray(0, n); });
  const n = unstuffed[0].length;
  const stages: [string, [number, number]][] = [
    ['scan for 0x00 (indexOf)', time(() => { let at = 0, k = 0; while (at < streamLen) { at = stream.indexOf(0, at) + 1; k++; } sink += k; })],
    ['COBS decode (cobsDecodeInto)', time(() => { for (const [a, b] of bounds) sink += cobsDecodeInto(stream, a, b, frameBuf, MAX_FRAME); })],
    ['CRC-32C (crc32c)', time(() => { for (let i = 0; i < perRun; i++) sink += crc32c(unstuffed[i % DISTINCT], 0, n - 4); })],
    ['payload parse + sample copy (readPayload)', time(() => {
      for (let i = 0; i < perRun; i++) {
        frameBuf.set(unstuffed[i % DISTINCT]);
        sink += readPayload('result', frameBuf, view, 8, n - 4) ? 1 : 0;
      }
    })],
  ];
  // readPayload's row includes one frame-sized set() to stage its input; subtract a copy of it.
  const [stageCopy] = time(() => { for (let i = 0; i < perRun; i++) frameBuf.set(unstuffed[i % DISTINCT]); });
  stages[3][1] = [Math.max(0, stages[3][1][0] - stageCopy), Math.max(0, stages[3][1][1] - stageCopy)];
  const total = stages.reduce((s, [, [m]]) => s + m, 0);
  for (const [stage, [med]] of stages) stageRows.push({ frame: label, stage, med: streamLen / med / 1e6, share: `${((med / total) * 100).toFixed(0)}%` });
}

const f0 = (x: number) => x.toLocaleString('en-US', { maximumFractionDigits: 0 });
console.log(`codec throughput, MB/s of wire bytes (1 MB = 1e6 B), median and best of ${RUNS} runs after ${WARMUP} warm-up, ~${TARGET_BYTES / 1e6} MB per run`);
let last = '';
for (const r of rows) {
  if (r.frame !== last) { console.log(`\n${r.frame}, ${(r.bytes / 1e6).toFixed(1)} MB per run`); console.log(`  ${'operation'.padEnd(28)} ${'MB/s med'.padStart(9)} ${'MB/s best'.padStart(10)} ${'x copy'.padStart(8)}`); last = r.frame; }
  console.log(`  ${r.op.padEnd(28)} ${f0(r.med).padStart(9)} ${f0(r.best).padStart(10)} ${(r.med / r.copy).toFixed(4).padStart(8)}`);
}
console.log('\ndecode stages alone on the same data (MB/s of wire bytes, median; share of their summed time)');
last = '';
for (const r of stageRows) {
  if (r.frame !== last) { console.log(`  ${r.frame}`); last = r.frame; }
  console.log(`    ${r.stage.padEnd(42)} ${f0(r.med).padStart(9)} ${r.share.padStart(5)}`);
}
const decodeRows = rows.filter((r) => r.op.startsWith('decode'));
const worst = Math.min(...decodeRows.map((r) => r.med));
console.log(`\ndecode target >= 200 MB/s: ${worst >= 200 ? 'met' : 'NOT met'} (slowest decode row ${f0(worst)} MB/s)`);
console.log(`${new Date().toISOString()}  ${cpus()[0]?.model ?? 'unknown cpu'} x${cpus().length}  node ${process.version}  (checksum ${sink % 1000})`);
