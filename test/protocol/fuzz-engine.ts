/**
 * Seeded fuzz engine for the TypeScript codec (src/protocol). Deterministic: every case draws
 * from its own PRNG seeded by (seed, case index), so a violation reported as "case i of seed s"
 * replays alone with `replayCase(s, i)` whatever the slicing or worker split of the run was.
 * Nothing here uses Math.random.
 *
 * Per case: build a random valid frame (`randomFrame`), encode it with FrameEncoder, check the
 * wire bytes against an independent reference COBS/CRC-32C (written from SPEC.md 1.2/1.3, not
 * from src/), apply one mutation, then feed `mutated bytes + 0x00 + sentinel frame` in random
 * chunks into ONE long-lived FrameDecoder. Properties (SPEC.md 1-3):
 *   (a) the decoder never throws;
 *   (b) an unmutated frame decodes as exactly one ok event deep-equal (frameToJson) to the original;
 *   (c) the sentinel is always the last event of the case (resynchronisation);
 *   (d) a wire mutation never yields an ok frame that differs from the original;
 *   (e) every event is ok or a reason of REJECT_REASONS (seq/type present exactly for
 *       version/type/payload) and the decoder's counts add up to the events seen;
 *   (f) structural mutations (frame bytes changed, CRC recomputed, re-stuffed) are rejected for
 *       the reason the change implies, and any frame the decoder accepts re-encodes and decodes
 *       back to itself;
 *   (g) the encoder's wire bytes are the SPEC's canonical COBS of header + payload + CRC-32C.
 */
import { isDeepStrictEqual } from 'node:util';
import {
  type ConfigParam, type DecodeEvent, type Frame, type Message, type MessageKind, type SampleFormat, type Samples,
  FLAG_RESPONSE, FrameDecoder, FrameEncoder, KIND_OF_TYPE, LIMITS, MAX_FRAME, MESSAGE_TYPE, MIN_MAX_FRAME,
  REJECT_REASONS, SAMPLE_SIZE, createSamples, frameToJson,
} from '../../src/protocol/index.js';

// ------------------------------------------------------------------------------------ PRNG

/** mulberry32: 32-bit state, period 2^32, good enough to drive a fuzzer and very cheap. */
export class Rng {
  private s: number;
  constructor(seed: number) { this.s = seed | 0; }
  reseed(seed: number): void { this.s = seed | 0; }
  /** Uniform u32. */
  u32(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Uniform float in [0, 1). */
  float(): number { return this.u32() / 4294967296; }
  /** Uniform integer in [0, n), n <= 2^32. */
  int(n: number): number { return Math.floor(this.float() * n); }
  /** Uniform integer in [lo, hi]. */
  range(lo: number, hi: number): number { return lo + this.int(hi - lo + 1); }
  chance(p: number): boolean { return this.float() < p; }
  /** Integer in [1, max], log-uniform (small values as likely per octave as large ones). */
  logInt(max: number): number {
    if (max <= 1) return 1;
    const v = Math.floor(Math.exp(this.float() * Math.log(max + 1)));
    return v < 1 ? 1 : v > max ? max : v;
  }
  pick<T>(items: readonly T[]): T { return items[this.int(items.length)]; }
}

/** Seed of case `index` under run seed `seed`: a bijection of the index for a fixed seed. */
export function caseSeed(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index >>> 0, 0x9e3779b1) ^ Math.imul(Math.floor(index / 4294967296), 0x85ebca77)) | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

// ---------------------------------------------------------------- reference COBS and CRC

const REF_CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (c & 1 ? 0x82f63b78 : 0);
    t[n] = c;
  }
  return t;
})();

/** CRC-32C bytewise (SPEC 1.3), independent of src/protocol/crc32c.ts's slicing-by-8. */
export function refCrc32c(d: Uint8Array, start: number, end: number): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = REF_CRC_TABLE[(c ^ d[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** COBS encoding written run by run from the SPEC 1.2 text (no delimiter). */
export function refCobsEncode(src: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n + Math.floor(n / 254) + 1);
  let o = 0;
  let p = 0;
  for (;;) {
    let z = src.indexOf(0, p);
    const last = z < 0 || z >= n;
    if (last) z = n;
    let k = z - p;
    let cut = false;
    while (k >= 254) {
      out[o++] = 0xff;
      out.set(src.subarray(p, p + 254), o);
      o += 254; p += 254; k -= 254;
      cut = true;
    }
    if (!(last && cut && k === 0)) {
      out[o++] = k + 1;
      out.set(src.subarray(p, p + k), o);
      o += k; p += k;
    }
    if (last) return out.subarray(0, o);
    p = z + 1;
  }
}

/** COBS decoding per SPEC 1.2; null on a zero code byte or one pointing past the end. */
export function refCobsDecode(src: Uint8Array, start: number, end: number): Uint8Array | null {
  const out = new Uint8Array(end - start);
  let o = 0;
  let i = start;
  while (i < end) {
    const c = src[i++];
    if (c === 0 || i + c - 1 > end) return null;
    out.set(src.subarray(i, i + c - 1), o);
    o += c - 1;
    i += c - 1;
    if (c !== 0xff && i < end) out[o++] = 0;
  }
  return out.subarray(0, o);
}

// ------------------------------------------------------------------------ random frames

const KINDS = Object.keys(MESSAGE_TYPE) as MessageKind[];
const FORMATS: readonly SampleFormat[] = ['u16', 'i16', 'f32'];
const SPECIAL_CODE_POINTS = [
  0xfeff, 0xfffd, 0xffff, 0xfffe, 0x00a0, 0x2028, 0x0000, 0x007f, 0x0080, 0x07ff, 0x0800, 0xd7ff, 0xe000,
  0x10000, 0x10ffff, 0x1f600, 0x00e9, 0x4e2d,
];

function utf8Len(cp: number): number {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

function randomCodePoint(rng: Rng): number {
  if (rng.chance(0.06)) return rng.pick(SPECIAL_CODE_POINTS);
  switch (rng.int(6)) {
    case 0: case 1: return rng.range(0x20, 0x7e);
    case 2: return rng.range(0x00, 0x7f);
    case 3: return rng.range(0x80, 0x7ff);
    case 4: { const cp = rng.range(0x800, 0xffff - 0x800); return cp >= 0xd800 ? cp + 0x800 : cp; } // no surrogates
    default: return rng.range(0x10000, 0x10ffff);
  }
}

/** Random valid string of at most `maxBytes` bytes of UTF-8, often empty or exactly full. */
export function randomString(rng: Rng, maxBytes: number): string {
  const r = rng.float();
  if (r < 0.1) return '';
  const exact = r < 0.3;
  const target = exact ? maxBytes : rng.range(1, maxBytes);
  const cps: number[] = [];
  let bytes = 0;
  while (bytes < target) {
    let cp = randomCodePoint(rng);
    const n = utf8Len(cp);
    if (bytes + n > target) {
      if (!exact) break;
      cp = rng.range(0x21, 0x7e);
      cps.push(cp);
      bytes += 1;
      continue;
    }
    cps.push(cp);
    bytes += n;
  }
  return String.fromCodePoint(...cps);
}

function randomName(rng: Rng): string {
  const n = rng.chance(0.2) ? LIMITS.paramName : rng.range(1, LIMITS.paramName);
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(rng.range(0x21, 0x7e));
  return s;
}

const F64 = new Float64Array(1);
const F64_U32 = new Uint32Array(F64.buffer);
const F32 = new Float32Array(1);
const F32_U32 = new Uint32Array(F32.buffer);
const SPECIAL_F64 = [0, -0, 1, -1, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 2.2250738585072014e-308, 0.1, 1e300];
const SPECIAL_F32 = [0, -0, 1, -1, 3.4028234663852886e38, -3.4028234663852886e38, 1.401298464324817e-45, 1.1754943508222875e-38, Math.fround(0.1)];

function randomF64(rng: Rng): number {
  if (rng.chance(0.15)) return rng.pick(SPECIAL_F64);
  if (rng.chance(0.3)) return (rng.float() - 0.5) * 2 ** rng.range(-20, 40);
  F64_U32[0] = rng.u32();
  F64_U32[1] = rng.u32();
  if (!Number.isFinite(F64[0])) F64_U32[1] ^= 0x40000000; // exponent 0x7FF -> 0x3FF
  return F64[0];
}

/** Random finite f32 value (a Number exactly representable as f32). */
function randomF32(rng: Rng): number {
  if (rng.chance(0.15)) return rng.pick(SPECIAL_F32);
  if (rng.chance(0.3)) return Math.fround((rng.float() - 0.5) * 2 ** rng.range(-20, 40));
  F32_U32[0] = rng.u32();
  if (((F32_U32[0] >>> 23) & 0xff) === 0xff) F32_U32[0] ^= 0x40000000;
  return F32[0];
}

/** Two distinct finite f32 values, ordered. */
function randomF32Range(rng: Rng): [number, number] {
  for (;;) {
    const a = randomF32(rng), b = randomF32(rng);
    if (a < b) return [a, b];
    if (b < a) return [b, a];
  }
}

function randomU53(rng: Rng): number {
  switch (rng.int(4)) {
    case 0: return rng.u32();
    case 1: return Number.MAX_SAFE_INTEGER - rng.int(3);
    default: return rng.int(0x200000) * 4294967296 + rng.u32();
  }
}

function randomU32(rng: Rng): number {
  return rng.chance(0.1) ? rng.pick([0, 1, 0xffffffff, 0x80000000]) : rng.u32();
}

function fillRandomBytes(rng: Rng, b: Uint8Array, zeroRate: number): void {
  const n = b.length;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const x = rng.u32();
    b[i] = x; b[i + 1] = x >>> 8; b[i + 2] = x >>> 16; b[i + 3] = x >>> 24;
  }
  if (i < n) { const x = rng.u32(); for (let k = 0; i < n; i++, k += 8) b[i] = x >>> k; }
  if (zeroRate > 0) {
    const zeros = Math.round(n * zeroRate);
    for (let k = 0; k < zeros; k++) b[rng.int(n)] = 0;
  }
}

/** Largest sample byte budget for a payload with `fixed` bytes before the samples. */
function sampleBudget(rng: Rng, fixed: number): { bytes: number; exact: boolean } {
  const cap = 0xffff - fixed;
  const r = rng.float();
  if (r < 0.8) return { bytes: rng.int(257), exact: false };
  if (r < 0.985) return { bytes: rng.int(4097), exact: false };
  if (r < 0.995) return { bytes: rng.int(cap + 1), exact: false };
  return { bytes: cap, exact: true };
}

function randomSamples(rng: Rng, fixed: number): { count: number; channels: number; format: SampleFormat; samples: Samples } {
  const format = rng.pick(FORMATS);
  const size = SAMPLE_SIZE[format];
  const { bytes, exact } = sampleBudget(rng, fixed);
  const n = Math.max(1, Math.floor(bytes / size));
  let channels: number, count: number;
  if (exact) {
    channels = 1;
    for (let t = 0; t < 8; t++) { const c = rng.range(1, 128); if (n % c === 0) { channels = c; break; } }
    if (rng.chance(0.2)) channels = n;
    count = n / channels;
  } else {
    channels = rng.logInt(n);
    count = rng.logInt(Math.floor(n / channels));
  }
  const samples = createSamples(format, count * channels);
  const len = samples.length;
  const pattern = rng.int(8);
  if (format === 'f32') {
    const f = samples as Float32Array;
    if (pattern === 0) f.fill(0);
    else if (pattern === 1) for (let i = 0; i < len; i++) f[i] = randomF32(rng);
    else if (pattern === 2) for (let i = 0; i < len; i++) f[i] = Math.fround(rng.float() * 2 - 1);
    else {
      const u = new Uint32Array(f.buffer, f.byteOffset, len);
      for (let i = 0; i < len; i++) {
        const x = rng.u32();
        u[i] = ((x >>> 23) & 0xff) === 0xff ? x ^ 0x40000000 : x;
      }
    }
  } else if (pattern === 0) {
    samples.fill(0);
  } else if (pattern === 1) {
    samples.fill(format === 'u16' ? 0xffff : -1);
  } else if (pattern === 2 || pattern === 3) {
    // 12-bit ADC values (unsigned or centred): a zero high byte in one sample of 16.
    for (let i = 0; i < len; i++) samples[i] = format === 'u16' ? rng.u32() & 0xfff : (rng.u32() & 0xfff) - 2048;
  } else {
    fillRandomBytes(rng, new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength), pattern === 4 ? 0.05 : 0);
  }
  return { count, channels, format, samples };
}

function randomData(rng: Rng): Uint8Array {
  const r = rng.float();
  const n = r < 0.15 ? 0 : r < 0.8 ? rng.range(1, 64) : r < 0.985 ? rng.range(65, 4096) : r < 0.995 ? rng.range(4097, 0xffff) : 0xffff;
  const d = new Uint8Array(n);
  const pattern = rng.int(4);
  if (pattern === 0) return d; // all zeros
  if (pattern === 1) { d.fill(rng.range(1, 255)); return d; }
  fillRandomBytes(rng, d, pattern === 2 ? 0.1 : 0);
  return d;
}

/** A random frame of `kind` (any when omitted) that is valid per SPEC 3 and its Limits table. */
export function randomFrame(rng: Rng, kind: MessageKind = rng.pick(KINDS)): Frame {
  const str = (max: number) => randomString(rng, max);
  let message: Message;
  switch (kind) {
    case 'hello': {
      const minVersion = rng.chance(0.5) ? 1 : rng.range(1, 255);
      message = { kind, minVersion, maxVersion: rng.chance(0.5) ? minVersion : rng.range(minVersion, 255) };
      break;
    }
    case 'info': {
      const [inMin, inMax] = randomF32Range(rng);
      const [outMin, outMax] = randomF32Range(rng);
      const inFormat = rng.pick(FORMATS), outFormat = rng.pick(FORMATS);
      const maxFrame = rng.chance(0.2) ? rng.pick([MIN_MAX_FRAME, MAX_FRAME]) : rng.range(MIN_MAX_FRAME, MAX_FRAME);
      // A valid INFO's maxBatch fits a full PROCESS and RESULT into its maxFrame (SPEC 3).
      const inChannels = rng.range(1, Math.floor((maxFrame - 21) / SAMPLE_SIZE[inFormat]));
      const outChannels = rng.range(1, Math.floor((maxFrame - 35) / SAMPLE_SIZE[outFormat]));
      const fits = Math.min(0xffff, Math.floor((maxFrame - 21) / (inChannels * SAMPLE_SIZE[inFormat])), Math.floor((maxFrame - 35) / (outChannels * SAMPLE_SIZE[outFormat])));
      message = {
        kind, protocolVersion: rng.chance(0.7) ? 1 : rng.range(1, 255), inFormat, outFormat,
        credits: rng.range(1, 255), inChannels, outChannels, maxBatch: rng.chance(0.2) ? fits : rng.range(1, fits), maxFrame,
        samplePeriodNs: randomU32(rng), capabilities: rng.int(16), inMin, inMax, outMin, outMax,
        vendor: str(LIMITS.infoString), model: str(LIMITS.infoString), serial: str(LIMITS.infoString), firmware: str(LIMITS.infoString),
      };
      break;
    }
    case 'configure': {
      const n = rng.chance(0.1) ? LIMITS.configParams : rng.int(LIMITS.configParams + 1);
      const params: ConfigParam[] = [];
      for (let i = 0; i < n; i++) {
        const name = randomName(rng);
        switch (rng.int(4)) {
          case 0: params.push({ name, type: 'bool', value: rng.chance(0.5) }); break;
          case 1: params.push({ name, type: 'i32', value: rng.chance(0.2) ? rng.pick([0, -1, 0x7fffffff, -0x80000000]) : rng.u32() | 0 }); break;
          case 2: params.push({ name, type: 'f64', value: randomF64(rng) }); break;
          default: params.push({ name, type: 'string', value: str(LIMITS.paramString) }); break;
        }
      }
      message = { kind, params };
      break;
    }
    case 'ack': message = { kind, ackedType: rng.int(256), epoch: randomU32(rng) }; break;
    case 'process': message = { kind, batchId: randomU32(rng), ...randomSamples(rng, 9) }; break;
    case 'result':
      message = { kind, batchId: randomU32(rng), epoch: randomU32(rng), timestampUs: randomU53(rng), status: rng.chance(0.8) ? rng.int(8) : rng.int(0x10000), ...randomSamples(rng, 23) };
      break;
    case 'resetState': case 'getStatus': message = { kind }; break;
    case 'status':
      message = {
        kind, framesOk: randomU32(rng), crcErrors: randomU32(rng), framingErrors: randomU32(rng), rejected: randomU32(rng),
        droppedBatches: randomU32(rng), epoch: randomU32(rng), bootCount: randomU32(rng), uptimeUs: randomU53(rng),
        temperatureC: rng.chance(0.3) ? null : randomF32(rng),
      };
      break;
    case 'ping': case 'pong': message = { kind, data: randomData(rng) }; break;
    case 'boot': message = { kind, bootCount: randomU32(rng), epoch: randomU32(rng), reason: rng.chance(0.8) ? rng.pick([0, 1, 2, 3, 4, 255]) : rng.int(256) }; break;
    case 'error':
      message = { kind, code: rng.chance(0.8) ? rng.range(1, 9) : rng.int(0x10000), refSeq: rng.int(0x10000), refType: rng.int(256), detail: randomU32(rng), text: str(LIMITS.errorText) };
      break;
  }
  return { seq: rng.chance(0.1) ? rng.pick([0, 0xffff]) : rng.int(0x10000), flags: rng.chance(0.5) ? FLAG_RESPONSE : 0, message };
}

// -------------------------------------------------------------------------------- runner

export const MUTATIONS = [
  'none', 'bitflip', 'byte-insert', 'byte-delete', 'byte-overwrite', 'truncate', 'garbage-prefix', 'random-bytes',
  'long-run', 'struct-version', 'struct-type', 'struct-length', 'struct-payload', 'struct-resize', 'struct-reserved', 'struct-flags',
] as const;
export type Mutation = (typeof MUTATIONS)[number];

/** Cumulative weights; structural mutations change the unstuffed frame and recompute its CRC. */
const MUTATION_WEIGHTS: [Mutation, number][] = [
  ['none', 28], ['bitflip', 12], ['byte-insert', 4], ['byte-delete', 4], ['byte-overwrite', 4], ['truncate', 7],
  ['garbage-prefix', 7], ['random-bytes', 7], ['long-run', 1.5], ['struct-version', 3], ['struct-type', 4], ['struct-length', 3],
  ['struct-payload', 7], ['struct-resize', 4], ['struct-reserved', 2], ['struct-flags', 2],
];
const MUTATION_TOTAL = MUTATION_WEIGHTS.reduce((s, [, w]) => s + w, 0);

function pickMutation(rng: Rng): Mutation {
  let r = rng.float() * MUTATION_TOTAL;
  for (const [m, w] of MUTATION_WEIGHTS) { if (r < w) return m; r -= w; }
  return 'none';
}

export interface FuzzOptions {
  cases: number;
  seed: number;
  /** Index of the first case (slices of one long run use consecutive ranges). */
  firstCase?: number;
  /** How many violation messages to keep (all are counted). Default 10. */
  maxViolations?: number;
}

export interface FuzzReport {
  cases: number;
  seed: number;
  firstCase: number;
  violationCount: number;
  /** The first few violations, each naming its case for replayCase. */
  violations: string[];
  events: number;
  okFrames: number;
  rejectsByReason: Record<string, number>;
  mutations: Record<string, number>;
  kinds: Record<string, number>;
  /** Wire bytes fed to the decoder (including sentinels). */
  bytes: number;
  /** Accepted frames with a u64 above 2^53 (timestampUs/uptimeUs): lossy by SPEC, not re-encodable. */
  lossyU64: number;
  seconds: number;
}

export interface CaseTrace {
  index: number;
  caseSeed: number;
  mutation: Mutation;
  frame: unknown;
  /** Bytes fed before the 0x00 and the sentinel, hex. */
  input: string;
  events: unknown[];
  violations: string[];
}

const SENTINEL: Frame = {
  seq: 0xbeef, flags: FLAG_RESPONSE,
  message: { kind: 'pong', data: Uint8Array.of(0x53, 0x45, 0x4e, 0x54, 0x00, 0x00, 0xff, 0x01, 0x00) },
};
const REASONS = new Set<string>(REJECT_REASONS);
const WITH_HEADER = new Set<string>(['version', 'type', 'payload']);
const MAX_ENCODED = MAX_FRAME + Math.floor(MAX_FRAME / 254) + 1;

function hex(b: Uint8Array, max = 160): string {
  const s = Buffer.from(b.buffer, b.byteOffset, Math.min(b.length, max)).toString('hex');
  return b.length > max ? `${s}... (${b.length} bytes)` : s;
}

function describeEvent(ev: DecodeEvent): string {
  if (!ev.ok) return ev.reason;
  const m = ev.frame.message;
  return `ok(${m.kind} seq ${ev.frame.seq})`;
}

function hasLossyU64(m: Message): boolean {
  return (m.kind === 'result' && m.timestampUs > Number.MAX_SAFE_INTEGER) || (m.kind === 'status' && m.uptimeUs > Number.MAX_SAFE_INTEGER);
}

/** Holds the long-lived decoder and scratch state; runs cases by index. */
class Runner {
  readonly encoder = new FrameEncoder();
  decoder = new FrameDecoder();
  /** Separate decoder for re-encode checks, so they do not disturb the case's stream. */
  readonly verifier = new FrameDecoder();
  readonly rng = new Rng(0);
  readonly sentinelWire: Uint8Array;
  readonly sentinelJson: unknown;
  /** Random non-zero bytes for long runs; 0x01 bytes for runs that decode to zeros. */
  readonly nonZeroPool: Uint8Array;
  readonly onesPool: Uint8Array;
  stream = new Uint8Array(1 << 18);
  events: DecodeEvent[] = [];
  readonly sink = (ev: DecodeEvent): void => { this.events.push(ev); };
  report: FuzzReport;
  caseViolations: string[] = [];
  lastCounts = 0;

  constructor(readonly opts: FuzzOptions) {
    this.sentinelWire = this.encoder.encode(SENTINEL).slice();
    this.sentinelJson = frameToJson(SENTINEL);
    const poolRng = new Rng(caseSeed(opts.seed, 0xffffffff));
    this.nonZeroPool = new Uint8Array(MAX_ENCODED * 2);
    fillRandomBytes(poolRng, this.nonZeroPool, 0);
    for (let i = 0; i < this.nonZeroPool.length; i++) if (this.nonZeroPool[i] === 0) this.nonZeroPool[i] = 1 + poolRng.int(255);
    this.onesPool = new Uint8Array(MAX_ENCODED + 64).fill(1);
    this.report = {
      cases: 0, seed: opts.seed, firstCase: opts.firstCase ?? 0, violationCount: 0, violations: [], events: 0, okFrames: 0,
      rejectsByReason: Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])),
      mutations: Object.fromEntries(MUTATIONS.map((m) => [m, 0])),
      kinds: Object.fromEntries(KINDS.map((k) => [k, 0])),
      bytes: 0, lossyU64: 0, seconds: 0,
    };
  }

  private totalCounts(): number {
    const c = this.decoder.counts;
    let s = c.frames;
    for (const r of REJECT_REASONS) s += c[r];
    return s;
  }

  private violate(msg: string): void { this.caseViolations.push(msg); }

  /** Writes `parts` into the reusable stream buffer, then 0x00 and the sentinel; returns its length. */
  private buildStream(parts: Uint8Array[]): number {
    let total = this.sentinelWire.length + 1;
    for (const p of parts) total += p.length;
    if (total > this.stream.length) this.stream = new Uint8Array(total * 2);
    let at = 0;
    for (const p of parts) { this.stream.set(p, at); at += p.length; }
    this.stream[at++] = 0;
    this.stream.set(this.sentinelWire, at);
    return total;
  }

  /** Feeds stream[0..len) in random chunks; reports a throw as a violation (a). */
  private feed(len: number): void {
    const rng = this.rng;
    const s = this.stream;
    const mode = rng.int(4);
    try {
      if (mode === 0) {
        this.decoder.push(s.subarray(0, len), this.sink);
      } else if (mode === 3 && len <= 4096) {
        for (let at = 0; at < len;) { const n = rng.range(1, 16); this.decoder.push(s.subarray(at, Math.min(at + n, len)), this.sink); at += n; }
      } else if (mode === 2) {
        const n = rng.logInt(len);
        for (let at = 0; at < len; at += n) this.decoder.push(s.subarray(at, Math.min(at + n, len)), this.sink);
      } else {
        for (let at = 0; at < len;) { const n = rng.logInt(len); this.decoder.push(s.subarray(at, Math.min(at + n, len)), this.sink); at += n; }
      }
    } catch (e) {
      this.violate(`(a) decoder threw: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
      this.decoder = new FrameDecoder();
      this.lastCounts = 0;
    }
  }

  /** (g): the wire bytes are the canonical COBS of a SPEC frame; returns the unstuffed frame. */
  private checkWire(frame: Frame, wire: Uint8Array): Uint8Array | null {
    const L = wire.length;
    if (L < 2 || wire[L - 1] !== 0 || wire.subarray(0, L - 1).includes(0)) { this.violate(`(g) encoder output is not zero-free + 0x00: ${hex(wire)}`); return null; }
    const u = refCobsDecode(wire, 0, L - 1);
    if (!u) { this.violate(`(g) encoder output is not valid COBS: ${hex(wire)}`); return null; }
    const n = u.length;
    if (L > n + Math.floor(n / 254) + 2) this.violate(`(g) encoded ${n} bytes into ${L}, above the SPEC bound`);
    const canonical = refCobsEncode(u, n);
    if (canonical.length !== L - 1 || !Buffer.from(canonical).equals(Buffer.from(wire.buffer, wire.byteOffset, L - 1))) {
      this.violate(`(g) encoder COBS differs from the reference: ${hex(wire)} vs ${hex(canonical)}`);
    }
    const v = new DataView(u.buffer, u.byteOffset, n);
    if (n < 12 || u[0] !== 1 || u[1] !== MESSAGE_TYPE[frame.message.kind] || u[2] !== frame.flags || u[3] !== 0 ||
        v.getUint16(4, true) !== frame.seq || v.getUint16(6, true) !== n - 12) {
      this.violate(`(g) header does not match the frame: ${hex(u, 16)}`);
      return null;
    }
    if (refCrc32c(u, 0, n - 4) !== v.getUint32(n - 4, true)) this.violate('(g) CRC-32C differs from the reference');
    return u.slice();
  }

  /** (f): a frame the decoder accepted must encode again and decode to itself. */
  private checkReencode(frame: Frame): void {
    if (hasLossyU64(frame.message)) { this.report.lossyU64++; return; }
    let w: Uint8Array;
    try { w = this.encoder.encode(frame); } catch (e) {
      this.violate(`(f) accepted frame cannot be re-encoded: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    const evs: DecodeEvent[] = [];
    try { this.verifier.push(w, (ev) => evs.push(ev)); } catch (e) { this.violate(`(a) verifier decoder threw: ${String(e)}`); return; }
    const back = evs.length === 1 && evs[0].ok ? evs[0].frame : null;
    if (!back || !isDeepStrictEqual(frameToJson(back), frameToJson(frame))) {
      this.violate(`(f) accepted frame does not survive encode/decode: ${evs.map(describeEvent).join(',')}`);
    }
  }

  /** Structural mutation of the unstuffed frame `u` (CRC recomputed, re-stuffed). */
  private structural(m: Mutation, u: Uint8Array): { wire: Uint8Array; expect: string } {
    const rng = this.rng;
    let f = u;
    let expect = '';
    const n0 = u.length;
    if (m === 'struct-payload' && n0 === 12) m = 'struct-version';
    switch (m) {
      case 'struct-version': f[0] = rng.range(2, 256) & 0xff; expect = 'version'; break; // 2..255, 0
      case 'struct-type': {
        let t: number;
        do t = rng.chance(0.5) ? rng.pick(Object.values(MESSAGE_TYPE)) : rng.int(256); while (t === f[1]);
        f[1] = t;
        expect = KIND_OF_TYPE.has(t) ? 'ok|payload' : 'type';
        break;
      }
      case 'struct-length': {
        const want = n0 - 12;
        let l: number;
        do l = rng.chance(0.5) ? (want + rng.range(-3, 3)) & 0xffff : rng.int(0x10000); while (l === want);
        f[6] = l; f[7] = l >>> 8;
        expect = 'length';
        break;
      }
      case 'struct-payload': {
        const k = rng.range(1, 4);
        for (let i = 0; i < k; i++) {
          const p = rng.range(8, n0 - 5);
          f[p] = rng.chance(0.5) ? f[p] ^ (1 << rng.int(8)) : rng.int(256);
        }
        expect = 'ok|payload';
        break;
      }
      case 'struct-resize': {
        const plen = n0 - 12;
        const grow = plen === 0 || (rng.chance(0.5) && n0 < MAX_FRAME);
        const d = grow ? Math.min(rng.range(1, 8), MAX_FRAME - n0) : Math.min(rng.range(1, 8), plen);
        const p = rng.range(8, 8 + plen - (grow ? 0 : d));
        f = new Uint8Array(grow ? n0 + d : n0 - d);
        f.set(u.subarray(0, p));
        if (grow) {
          for (let i = 0; i < d; i++) f[p + i] = rng.chance(0.3) ? 0 : rng.int(256);
          f.set(u.subarray(p, n0 - 4), p + d);
        } else {
          f.set(u.subarray(p + d, n0 - 4), p);
        }
        const l = f.length - 12;
        f[6] = l; f[7] = l >>> 8;
        expect = 'ok|payload';
        break;
      }
      case 'struct-reserved': f[3] = rng.range(1, 255); expect = 'ok-same'; break;
      case 'struct-flags': f[2] = (f[2] & 1) | (rng.range(1, 127) << 1); expect = 'ok-flags'; break;
      default: break;
    }
    const n = f.length;
    const crc = refCrc32c(f, 0, n - 4);
    f[n - 4] = crc; f[n - 3] = crc >>> 8; f[n - 2] = crc >>> 16; f[n - 1] = crc >>> 24;
    const stuffed = refCobsEncode(f, n);
    const wire = new Uint8Array(stuffed.length + 1);
    wire.set(stuffed);
    return { wire, expect };
  }

  private randomBytes(n: number, zeroRate: number): Uint8Array {
    const b = new Uint8Array(n);
    fillRandomBytes(this.rng, b, zeroRate);
    return b;
  }

  runCase(index: number, trace = false): CaseTrace | null {
    const rng = this.rng;
    const seed = caseSeed(this.opts.seed, index);
    rng.reseed(seed);
    this.caseViolations = [];
    this.events.length = 0;
    const report = this.report;
    const frame = randomFrame(rng);
    report.kinds[frame.message.kind]++;
    let wire: Uint8Array;
    try {
      wire = this.encoder.encode(frame);
    } catch (e) {
      this.violate(`encoder refused a valid frame: ${e instanceof Error ? e.message : String(e)}`);
      return this.finishCase(index, seed, 'none', frame, new Uint8Array(0), trace);
    }
    const mutation = pickMutation(rng);
    report.mutations[mutation]++;
    const L = wire.length;
    const structural = mutation.startsWith('struct-');
    // Reference check of every encoding (g), and the unstuffed bytes for structural mutations.
    const unstuffed = this.checkWire(frame, wire);
    let expect = '';
    let input: Uint8Array;
    switch (mutation) {
      case 'none': input = wire; break;
      case 'bitflip': {
        input = wire.slice();
        const k = rng.range(1, 3);
        for (let i = 0; i < k; i++) { const p = rng.int(L); input[p] ^= 1 << rng.int(8); }
        break;
      }
      case 'byte-insert': {
        const p = rng.range(0, L);
        input = new Uint8Array(L + 1);
        input.set(wire.subarray(0, p));
        input[p] = rng.chance(0.2) ? 0 : rng.int(256);
        input.set(wire.subarray(p), p + 1);
        break;
      }
      case 'byte-delete': {
        const p = rng.int(L);
        input = new Uint8Array(L - 1);
        input.set(wire.subarray(0, p));
        input.set(wire.subarray(p + 1), p);
        break;
      }
      case 'byte-overwrite': {
        input = wire.slice();
        const p = rng.int(L);
        input[p] = (input[p] + rng.range(1, 255)) & 0xff;
        break;
      }
      case 'truncate': input = wire.subarray(0, rng.int(L)); break;
      case 'garbage-prefix': {
        const g = this.randomBytes(rng.chance(0.9) ? rng.range(1, 64) : rng.range(65, 600), rng.pick([0, 0, 1 / 256, 0.125]));
        input = new Uint8Array(g.length + L);
        input.set(g);
        input.set(wire, g.length);
        break;
      }
      case 'random-bytes': {
        input = this.randomBytes(rng.chance(0.95) ? rng.int(300) : rng.range(300, 5000), rng.pick([0, 1 / 256, 1 / 16, 0.25]));
        break;
      }
      case 'long-run': {
        // A run without 0x00 longer than any frame may be (oversize), at the bound, or below it;
        // runs of 0x01 decode to zeros and trip the decoded-length bound instead.
        const r = rng.int(5);
        const len = r === 0 ? MAX_ENCODED + 1 : r === 1 ? MAX_ENCODED : r === 2 ? rng.range(MAX_FRAME + 2, MAX_ENCODED) : r === 3 ? rng.range(MAX_ENCODED + 1, MAX_ENCODED + 65536) : rng.range(1000, MAX_ENCODED);
        const pool = r === 2 ? this.onesPool : this.nonZeroPool;
        const off = r === 2 ? 0 : rng.int(pool.length - Math.min(len, pool.length) + 1);
        const run = len <= pool.length - off ? pool.subarray(off, off + len) : this.randomBytes(len, 0).map((b) => b || 1);
        const withFrame = rng.chance(0.5);
        input = new Uint8Array(len + (withFrame ? L : 0));
        input.set(run);
        if (withFrame) input.set(wire, len);
        expect = len > MAX_ENCODED || r === 2 ? 'oversize-first' : '';
        break;
      }
      default: {
        if (!unstuffed) return this.finishCase(index, seed, mutation, frame, wire, trace);
        ({ wire: input, expect } = this.structural(mutation, unstuffed));
        break;
      }
    }
    const len = this.buildStream([input]);
    report.bytes += len;
    this.feed(len);
    this.checkEvents(frame, mutation, structural, expect);
    return this.finishCase(index, seed, mutation, frame, input, trace);
  }

  private checkEvents(frame: Frame, mutation: Mutation, structural: boolean, expect: string): void {
    const evs = this.events;
    const report = this.report;
    // (e) reasons, header fields and counters.
    for (const ev of evs) {
      if (ev.ok) { report.okFrames++; continue; }
      if (!REASONS.has(ev.reason)) { this.violate(`(e) unknown rejection reason ${JSON.stringify(ev.reason)}`); continue; }
      report.rejectsByReason[ev.reason]++;
      if (WITH_HEADER.has(ev.reason) !== (ev.seq !== undefined && ev.type !== undefined)) {
        this.violate(`(e) ${ev.reason} rejection ${WITH_HEADER.has(ev.reason) ? 'lacks' : 'carries'} seq/type`);
      }
    }
    report.events += evs.length;
    const total = this.totalCounts();
    if (total - this.lastCounts !== evs.length) this.violate(`(e) decoder counts grew by ${total - this.lastCounts} for ${evs.length} events`);
    this.lastCounts = total;
    // (c) the sentinel ends the case.
    const last = evs[evs.length - 1];
    if (!last || !last.ok || !isDeepStrictEqual(frameToJson(last.frame), this.sentinelJson)) {
      this.violate(`(c) the sentinel is not the last event: ${evs.map(describeEvent).join(',')}`);
      return;
    }
    const before = evs.slice(0, -1);
    let origJson: unknown;
    const orig = () => (origJson ??= frameToJson(frame));
    const show = () => before.map(describeEvent).join(',');
    if (mutation === 'none') {
      // (b) exactly the frame, then the 0x00 we added after its delimiter.
      if (before.length !== 2 || !before[0].ok || before[1].ok || before[1].reason !== 'empty' ||
          !isDeepStrictEqual(frameToJson(before[0].frame), orig())) {
        const got = before[0]?.ok ? JSON.stringify(frameToJson(before[0].frame)).slice(0, 400) : '';
        this.violate(`(b) unmutated frame gave [${show()}] ${got}`);
      }
      return;
    }
    if (structural) {
      // (f) one event for the frame, then 'empty'.
      if (before.length !== 2 || before[1].ok || before[1].reason !== 'empty') { this.violate(`(f) structural mutation gave [${show()}]`); return; }
      const ev = before[0];
      const got = ev.ok ? 'ok' : ev.reason;
      const allowed = expect === 'ok|payload' ? ['ok', 'payload'] : expect.startsWith('ok') ? ['ok'] : [expect];
      if (!allowed.includes(got)) { this.violate(`(f) ${mutation} expected ${allowed.join('|')}, got ${got}`); return; }
      if (!ev.ok) return;
      if (expect === 'ok-same' && !isDeepStrictEqual(frameToJson(ev.frame), orig())) this.violate('(f) reserved header byte changed the decoded frame');
      if (expect === 'ok-flags') {
        const j = frameToJson(ev.frame);
        if (!isDeepStrictEqual({ ...j, flags: frame.flags }, orig())) this.violate('(f) reserved flag bits changed the decoded message');
      }
      this.checkReencode(ev.frame);
      return;
    }
    // (d) wire corruption: any ok frame must be the original, untouched.
    for (const ev of before) {
      if (ev.ok && !isDeepStrictEqual(frameToJson(ev.frame), orig())) {
        this.violate(`(d) ${mutation} decoded as a different valid frame: ${JSON.stringify(frameToJson(ev.frame)).slice(0, 400)}`);
      }
    }
    if (expect === 'oversize-first' && (before.length === 0 || before[0].ok || before[0].reason !== 'oversize')) {
      this.violate(`long run: expected oversize first, got [${show()}]`);
    }
  }

  private finishCase(index: number, seed: number, mutation: Mutation, frame: Frame, input: Uint8Array, trace: boolean): CaseTrace | null {
    const report = this.report;
    report.cases++;
    if (this.caseViolations.length) {
      report.violationCount += this.caseViolations.length;
      for (const v of this.caseViolations) {
        if (report.violations.length < (this.opts.maxViolations ?? 10)) {
          report.violations.push(`seed ${this.opts.seed} case ${index} (${mutation}, ${frame.message.kind}): ${v} | input ${hex(input)}`);
        }
      }
    }
    if (!trace) return null;
    return {
      index, caseSeed: seed, mutation, frame: frameToJson(frame), input: hex(input, Infinity),
      events: this.events.map((ev) => (ev.ok ? { ok: true, frame: frameToJson(ev.frame) } : ev)), violations: this.caseViolations,
    };
  }
}

/**
 * Runs `cases` fuzz cases (indices firstCase .. firstCase+cases-1) through one long-lived
 * FrameDecoder. Never throws on a codec failure: every failure is a counted violation.
 */
export function runFuzz(opts: FuzzOptions): FuzzReport {
  const t0 = process.hrtime.bigint();
  const runner = new Runner({ ...opts, seed: opts.seed >>> 0 });
  const first = opts.firstCase ?? 0;
  for (let i = 0; i < opts.cases; i++) {
    try {
      runner.runCase(first + i);
    } catch (e) {
      // A throw outside the decoder (generator, encoder bookkeeping, checks) is reported, not raised.
      const r = runner.report;
      r.cases++;
      r.violationCount++;
      if (r.violations.length < (opts.maxViolations ?? 10)) r.violations.push(`seed ${opts.seed >>> 0} case ${first + i}: harness threw: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    }
  }
  runner.report.seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return runner.report;
}

/** Re-runs one case alone (fresh decoder: every case leaves the decoder resynchronised). */
export function replayCase(seed: number, index: number): CaseTrace {
  const runner = new Runner({ cases: 1, seed: seed >>> 0, firstCase: index });
  return runner.runCase(index, true) as CaseTrace;
}

/** Adds up reports of consecutive slices (or workers). */
export function mergeReports(reports: FuzzReport[], maxViolations = 10): FuzzReport {
  const out: FuzzReport = {
    cases: 0, seed: reports[0]?.seed ?? 0, firstCase: Math.min(...reports.map((r) => r.firstCase)), violationCount: 0, violations: [],
    events: 0, okFrames: 0, rejectsByReason: {}, mutations: {}, kinds: {}, bytes: 0, lossyU64: 0, seconds: 0,
  };
  const add = (dst: Record<string, number>, src: Record<string, number>) => { for (const [k, v] of Object.entries(src)) dst[k] = (dst[k] ?? 0) + v; };
  for (const r of reports) {
    out.cases += r.cases; out.violationCount += r.violationCount; out.events += r.events; out.okFrames += r.okFrames;
    out.bytes += r.bytes; out.lossyU64 += r.lossyU64; out.seconds += r.seconds;
    out.violations.push(...r.violations.slice(0, Math.max(0, maxViolations - out.violations.length)));
    add(out.rejectsByReason, r.rejectsByReason); add(out.mutations, r.mutations); add(out.kinds, r.kinds);
  }
  return out;
}
