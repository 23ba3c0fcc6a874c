/**
 * Payload layouts of SPEC.md section 3: size, write and read per message kind. Reading
 * validates every limit and returns null on any violation (the decoder counts it as a
 * `payload` rejection); writing throws a RangeError naming the field, since a bad message to
 * encode is a bug in the caller, not bad input from a device.
 */
import {
  type ConfigParam, type Info, type Message, type MessageKind, type SampleFormat, type Samples,
  FRAME_OVERHEAD, LIMITS, MAX_FRAME, MIN_MAX_FRAME, SAMPLE_FORMATS, SAMPLE_SIZE, createSamples, formatOfSamples,
} from './messages.js';

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const PROCESS_FIXED = 9;
const RESULT_FIXED = 23;
const INFO_FIXED = 40;
const PARAM_TYPES = ['bool', 'i32', 'f64', 'string'] as const;

function fail(field: string, why: string): never {
  throw new RangeError(`cannot encode ${field}: ${why}`);
}

function checkInt(field: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) fail(field, `${v} is not an integer in ${min}..${max}`);
}

function strBytes(field: string, s: string, max: number): Uint8Array {
  if (typeof s !== 'string') fail(field, 'not a string');
  const b = utf8.encode(s);
  if (b.length > max) fail(field, `${b.length} bytes of UTF-8, limit ${max}`);
  return b;
}

function checkSamples(kind: string, count: number, channels: number, format: SampleFormat, samples: Samples): void {
  checkInt(`${kind}.count`, count, 1, 0xffff);
  checkInt(`${kind}.channels`, channels, 1, 0xffff);
  if (formatOfSamples(samples) !== format) fail(`${kind}.samples`, `typed array does not match format ${format}`);
  if (samples.length !== count * channels) fail(`${kind}.samples`, `length ${samples.length} != count*channels ${count * channels}`);
  if (format === 'f32') for (let i = 0; i < samples.length; i++) if (!Number.isFinite(samples[i])) fail(`${kind}.samples`, `sample ${i} is not finite`);
}

function paramSize(p: ConfigParam): number {
  if (!/^[\x21-\x7e]+$/.test(p.name)) fail('configure.params.name', `${JSON.stringify(p.name)} must be printable ASCII without spaces`);
  const name = strBytes('configure.params.name', p.name, LIMITS.paramName).length;
  if (!PARAM_TYPES.includes(p.type)) fail(`configure.params.${p.name}.type`, `${p.type} is not one of ${PARAM_TYPES.join(', ')}`);
  const value = p.type === 'bool' ? 1 : p.type === 'i32' ? 4 : p.type === 'f64' ? 8 : 1 + strBytes(`configure.params.${p.name}`, p.value, LIMITS.paramString).length;
  return 1 + name + 1 + value;
}

/** Integer fields per kind with their width in bytes; ranges checked before writing. */
const INT_FIELDS: Partial<Record<MessageKind, [string, number][]>> = {
  info: [['protocolVersion', 1], ['samplePeriodNs', 4], ['capabilities', 4]],
  ack: [['ackedType', 1], ['epoch', 4]],
  process: [['batchId', 4]],
  result: [['batchId', 4], ['epoch', 4], ['status', 2]],
  status: [['framesOk', 4], ['crcErrors', 4], ['framingErrors', 4], ['rejected', 4], ['droppedBatches', 4], ['epoch', 4], ['bootCount', 4]],
  boot: [['bootCount', 4], ['epoch', 4], ['reason', 1]],
  error: [['code', 2], ['refSeq', 2], ['refType', 1], ['detail', 4]],
};

/**
 * The first limit of SPEC.md section 3 (INFO) that `i` breaks, as "info.<field> ...", or null.
 * Shared by the reader (a device's INFO) and the writer (a simulator's), so both refuse alike.
 */
export function infoProblem(i: Omit<Info, 'kind' | 'inFormat' | 'outFormat'> & { inFormat: SampleFormat | null; outFormat: SampleFormat | null }): string | null {
  if (i.protocolVersion < 1) return `info.protocolVersion ${i.protocolVersion} is below 1`;
  if (!i.inFormat || !SAMPLE_FORMATS.includes(i.inFormat)) return `info.inFormat ${String(i.inFormat)} is not one of ${SAMPLE_FORMATS.join(', ')}`;
  if (!i.outFormat || !SAMPLE_FORMATS.includes(i.outFormat)) return `info.outFormat ${String(i.outFormat)} is not one of ${SAMPLE_FORMATS.join(', ')}`;
  for (const k of ['credits', 'inChannels', 'outChannels', 'maxBatch'] as const) if (i[k] < 1) return `info.${k} is 0, must be >= 1`;
  if (i.maxFrame < MIN_MAX_FRAME || i.maxFrame > MAX_FRAME) return `info.maxFrame ${i.maxFrame} is outside ${MIN_MAX_FRAME}..${MAX_FRAME}`;
  if (!finiteRange(i.inMin, i.inMax)) return `info.inMin/inMax [${i.inMin}, ${i.inMax}] is not a finite range with min < max`;
  if (!finiteRange(i.outMin, i.outMax)) return `info.outMin/outMax [${i.outMin}, ${i.outMax}] is not a finite range with min < max`;
  // A device sizes maxBatch so that a full PROCESS and a full RESULT fit its maxFrame (SPEC 3).
  const process = FRAME_OVERHEAD + PROCESS_FIXED + i.maxBatch * i.inChannels * SAMPLE_SIZE[i.inFormat];
  const result = FRAME_OVERHEAD + RESULT_FIXED + i.maxBatch * i.outChannels * SAMPLE_SIZE[i.outFormat];
  if (Math.max(process, result) > i.maxFrame) {
    const fits = Math.min(
      Math.floor((i.maxFrame - FRAME_OVERHEAD - PROCESS_FIXED) / (i.inChannels * SAMPLE_SIZE[i.inFormat])),
      Math.floor((i.maxFrame - FRAME_OVERHEAD - RESULT_FIXED) / (i.outChannels * SAMPLE_SIZE[i.outFormat])));
    return `info.maxBatch ${i.maxBatch} does not fit info.maxFrame ${i.maxFrame}: a full ${process > result ? `PROCESS is ${process}` : `RESULT is ${result}`} bytes (at most ${Math.max(0, fits)} vectors fit)`;
  }
  return null;
}

/** Payload bytes of `m`; validates it (throws RangeError). */
export function payloadSize(m: Message): number {
  for (const [field, bytes] of INT_FIELDS[m.kind] ?? []) {
    checkInt(`${m.kind}.${field}`, (m as unknown as Record<string, number>)[field], 0, 2 ** (8 * bytes) - 1);
  }
  switch (m.kind) {
    case 'hello':
      checkInt('hello.minVersion', m.minVersion, 1, 255);
      checkInt('hello.maxVersion', m.maxVersion, m.minVersion, 255);
      return 2;
    case 'info':
      checkInt('info.credits', m.credits, 0, 255);
      checkInt('info.inChannels', m.inChannels, 0, 0xffff);
      checkInt('info.outChannels', m.outChannels, 0, 0xffff);
      checkInt('info.maxBatch', m.maxBatch, 0, 0xffff);
      checkInt('info.maxFrame', m.maxFrame, 0, 0xffffffff);
      { const why = infoProblem(m); if (why) throw new RangeError(`cannot encode ${why}`); }
      return INFO_FIXED + [m.vendor, m.model, m.serial, m.firmware]
        .reduce((s, v, i) => s + 1 + strBytes(`info.${['vendor', 'model', 'serial', 'firmware'][i]}`, v, LIMITS.infoString).length, 0);
    case 'configure':
      if (m.params.length > LIMITS.configParams) fail('configure.params', `${m.params.length} parameters, limit ${LIMITS.configParams}`);
      return m.params.reduce((s, p) => s + paramSize(p), 1);
    case 'ack': return 5;
    case 'process':
      checkSamples('process', m.count, m.channels, m.format, m.samples);
      return PROCESS_FIXED + m.samples.byteLength;
    case 'result':
      checkSamples('result', m.count, m.channels, m.format, m.samples);
      return RESULT_FIXED + m.samples.byteLength;
    case 'resetState': case 'getStatus': return 0;
    case 'status': return 40;
    case 'ping': case 'pong':
      if (!(m.data instanceof Uint8Array)) fail(`${m.kind}.data`, 'not a byte array');
      return m.data.length;
    case 'boot': return 9;
    case 'error': return 10 + strBytes('error.text', m.text, LIMITS.errorText).length;
  }
}

class Writer {
  constructor(readonly buf: Uint8Array, readonly view: DataView, public at: number) {}
  u8(v: number) { this.view.setUint8(this.at, v); this.at += 1; }
  u16(v: number) { this.view.setUint16(this.at, v, true); this.at += 2; }
  u32(v: number) { this.view.setUint32(this.at, v, true); this.at += 4; }
  u64(v: number) {
    checkInt('u64 field', v, 0, Number.MAX_SAFE_INTEGER);
    this.u32(v % 0x100000000);
    this.u32(Math.floor(v / 0x100000000));
  }
  f32(v: number) { this.view.setFloat32(this.at, v, true); this.at += 4; }
  f64(v: number) { this.view.setFloat64(this.at, v, true); this.at += 8; }
  bytes(b: Uint8Array) { this.buf.set(b, this.at); this.at += b.length; }
  str(s: string) { const b = utf8.encode(s); this.u8(b.length); this.bytes(b); }
  samples(s: Samples) {
    if (LITTLE_ENDIAN_HOST) {
      this.bytes(new Uint8Array(s.buffer, s.byteOffset, s.byteLength));
    } else {
      for (let i = 0; i < s.length; i++) {
        if (s instanceof Float32Array) this.f32(s[i]);
        else if (s instanceof Int16Array) { this.view.setInt16(this.at, s[i], true); this.at += 2; }
        else this.u16(s[i]);
      }
    }
  }
}

/** Writes the payload of `m` at `at` (after payloadSize validated it); returns the end index. */
export function writePayload(m: Message, buf: Uint8Array, view: DataView, at: number): number {
  const w = new Writer(buf, view, at);
  switch (m.kind) {
    case 'hello': w.u8(m.minVersion); w.u8(m.maxVersion); break;
    case 'info':
      w.u8(m.protocolVersion); w.u8(SAMPLE_FORMATS.indexOf(m.inFormat)); w.u8(SAMPLE_FORMATS.indexOf(m.outFormat));
      w.u8(m.credits); w.u16(m.inChannels); w.u16(m.outChannels); w.u16(m.maxBatch); w.u16(0);
      w.u32(m.maxFrame); w.u32(m.samplePeriodNs); w.u32(m.capabilities);
      w.f32(m.inMin); w.f32(m.inMax); w.f32(m.outMin); w.f32(m.outMax);
      w.str(m.vendor); w.str(m.model); w.str(m.serial); w.str(m.firmware);
      break;
    case 'configure':
      w.u8(m.params.length);
      for (const p of m.params) {
        w.str(p.name);
        w.u8(PARAM_TYPES.indexOf(p.type) + 1);
        if (p.type === 'bool') w.u8(p.value ? 1 : 0);
        else if (p.type === 'i32') { checkInt(`configure.params.${p.name}`, p.value, -0x80000000, 0x7fffffff); w.view.setInt32(w.at, p.value, true); w.at += 4; }
        else if (p.type === 'f64') { if (!Number.isFinite(p.value)) fail(`configure.params.${p.name}`, 'not finite'); w.f64(p.value); }
        else w.str(p.value);
      }
      break;
    case 'ack': w.u8(m.ackedType); w.u32(m.epoch); break;
    case 'process':
      w.u32(m.batchId); w.u16(m.count); w.u16(m.channels); w.u8(SAMPLE_FORMATS.indexOf(m.format)); w.samples(m.samples);
      break;
    case 'result':
      w.u32(m.batchId); w.u32(m.epoch); w.u64(m.timestampUs); w.u16(m.status);
      w.u16(m.count); w.u16(m.channels); w.u8(SAMPLE_FORMATS.indexOf(m.format)); w.samples(m.samples);
      break;
    case 'resetState': case 'getStatus': break;
    case 'status':
      w.u32(m.framesOk); w.u32(m.crcErrors); w.u32(m.framingErrors); w.u32(m.rejected); w.u32(m.droppedBatches);
      w.u32(m.epoch); w.u32(m.bootCount); w.u64(m.uptimeUs); w.f32(m.temperatureC ?? NaN);
      break;
    case 'ping': case 'pong': w.bytes(m.data); break;
    case 'boot': w.u32(m.bootCount); w.u32(m.epoch); w.u8(m.reason); break;
    case 'error':
      w.u16(m.code); w.u16(m.refSeq); w.u8(m.refType); w.u32(m.detail); w.str(m.text);
      break;
  }
  return w.at;
}

/** Bounds-checked reader; `ok` turns false on the first overrun and stays false. */
class Reader {
  ok = true;
  constructor(readonly buf: Uint8Array, readonly view: DataView, public at: number, readonly end: number) {}
  private take(n: number): number {
    const p = this.at;
    if (!this.ok || p + n > this.end) { this.ok = false; return -1; }
    this.at = p + n;
    return p;
  }
  u8(): number { const p = this.take(1); return p < 0 ? 0 : this.buf[p]; }
  u16(): number { const p = this.take(2); return p < 0 ? 0 : this.view.getUint16(p, true); }
  u32(): number { const p = this.take(4); return p < 0 ? 0 : this.view.getUint32(p, true); }
  i32(): number { const p = this.take(4); return p < 0 ? 0 : this.view.getInt32(p, true); }
  u64(): number {
    const lo = this.u32();
    const hi = this.u32();
    // Above 2^53 a Number is no longer exact; SPEC 3 (RESULT) bounds host precision there.
    return hi * 0x100000000 + lo;
  }
  f32(): number { const p = this.take(4); return p < 0 ? 0 : this.view.getFloat32(p, true); }
  f64(): number { const p = this.take(8); return p < 0 ? 0 : this.view.getFloat64(p, true); }
  bytes(n: number): Uint8Array { const p = this.take(n); return p < 0 ? new Uint8Array(0) : this.buf.slice(p, p + n); }
  str(max: number): string {
    const n = this.u8();
    if (n > max) { this.ok = false; return ''; }
    const p = this.take(n);
    if (p < 0) return '';
    try { return utf8Strict.decode(this.buf.subarray(p, p + n)); } catch { this.ok = false; return ''; }
  }
  format(): SampleFormat | null {
    const f = SAMPLE_FORMATS[this.u8()];
    if (f === undefined) this.ok = false;
    return f ?? null;
  }
  /** The rest of the payload as samples, which must be exactly count x channels of format. */
  samples(format: SampleFormat, count: number, channels: number): Samples | null {
    const n = count * channels;
    if (!this.ok || count < 1 || channels < 1 || this.end - this.at !== n * SAMPLE_SIZE[format]) return null;
    const out = createSamples(format, n);
    if (LITTLE_ENDIAN_HOST) {
      new Uint8Array(out.buffer).set(this.buf.subarray(this.at, this.end));
    } else {
      for (let i = 0; i < n; i++) {
        const p = this.at + i * SAMPLE_SIZE[format];
        out[i] = format === 'u16' ? this.view.getUint16(p, true) : format === 'i16' ? this.view.getInt16(p, true) : this.view.getFloat32(p, true);
      }
    }
    if (out instanceof Float32Array) {
      for (let i = 0; i < n; i++) if (!Number.isFinite(out[i])) return null;
    }
    this.at = this.end;
    return out;
  }
  get done(): boolean { return this.ok && this.at === this.end; }
}

function finiteRange(min: number, max: number): boolean {
  return Number.isFinite(min) && Number.isFinite(max) && min < max;
}

function readParam(r: Reader): ConfigParam | null {
  const nameLen = r.u8();
  if (nameLen < 1 || nameLen > LIMITS.paramName) return null;
  const raw = r.bytes(nameLen);
  for (const b of raw) if (b < 0x21 || b > 0x7e) return null;
  const name = String.fromCharCode(...raw);
  switch (r.u8()) {
    case 1: { const v = r.u8(); return v > 1 ? null : { name, type: 'bool', value: v === 1 }; }
    case 2: return { name, type: 'i32', value: r.i32() };
    case 3: { const v = r.f64(); return Number.isFinite(v) ? { name, type: 'f64', value: v } : null; }
    case 4: return { name, type: 'string', value: r.str(LIMITS.paramString) };
    default: return null;
  }
}

/**
 * Parses the payload at `buf[at..end)` as `kind`; null when it breaks the layout or a limit,
 * and then `problem.why` (when given) names what broke, for messages worth explaining.
 */
export function readPayload(kind: MessageKind, buf: Uint8Array, view: DataView, at: number, end: number, problem?: { why?: string }): Message | null {
  const r = new Reader(buf, view, at, end);
  let m: Message | null;
  switch (kind) {
    case 'hello': {
      const minVersion = r.u8(), maxVersion = r.u8();
      m = minVersion >= 1 && maxVersion >= minVersion ? { kind, minVersion, maxVersion } : null;
      break;
    }
    case 'info': {
      const protocolVersion = r.u8(), inFormat = r.format(), outFormat = r.format(), credits = r.u8();
      const inChannels = r.u16(), outChannels = r.u16(), maxBatch = r.u16();
      r.u16();
      const maxFrame = r.u32(), samplePeriodNs = r.u32(), capabilities = r.u32();
      const inMin = r.f32(), inMax = r.f32(), outMin = r.f32(), outMax = r.f32();
      const vendor = r.str(LIMITS.infoString), model = r.str(LIMITS.infoString);
      const serial = r.str(LIMITS.infoString), firmware = r.str(LIMITS.infoString);
      const why = infoProblem({
        protocolVersion, inFormat, outFormat, credits, inChannels, outChannels, maxBatch, maxFrame,
        samplePeriodNs, capabilities, inMin, inMax, outMin, outMax, vendor, model, serial, firmware,
      });
      if (problem) problem.why = !r.ok ? `info is not ${INFO_FIXED} bytes plus 4 strings of at most ${LIMITS.infoString} bytes of UTF-8` : why ?? undefined;
      m = !why && inFormat && outFormat ? {
        kind, protocolVersion, inFormat, outFormat, credits, inChannels, outChannels, maxBatch, maxFrame,
        samplePeriodNs, capabilities, inMin, inMax, outMin, outMax, vendor, model, serial, firmware,
      } : null;
      break;
    }
    case 'configure': {
      const n = r.u8();
      if (n > LIMITS.configParams) return null;
      const params: ConfigParam[] = [];
      for (let i = 0; i < n; i++) {
        const p = readParam(r);
        if (!p) return null;
        params.push(p);
      }
      m = { kind, params };
      break;
    }
    case 'ack': m = { kind, ackedType: r.u8(), epoch: r.u32() }; break;
    case 'process': {
      const batchId = r.u32(), count = r.u16(), channels = r.u16(), format = r.format();
      const samples = format && r.samples(format, count, channels);
      m = samples && format ? { kind, batchId, count, channels, format, samples } : null;
      if (!m && problem) problem.why = samplesProblem('process', PROCESS_FIXED, end - at, count, channels, format);
      break;
    }
    case 'result': {
      const batchId = r.u32(), epoch = r.u32(), timestampUs = r.u64(), status = r.u16();
      const count = r.u16(), channels = r.u16(), format = r.format();
      const samples = format && r.samples(format, count, channels);
      m = samples && format ? { kind, batchId, epoch, timestampUs, status, count, channels, format, samples } : null;
      if (!m && problem) problem.why = samplesProblem('result', RESULT_FIXED, end - at, count, channels, format);
      break;
    }
    case 'resetState': case 'getStatus': m = { kind }; break;
    case 'status': {
      const framesOk = r.u32(), crcErrors = r.u32(), framingErrors = r.u32(), rejected = r.u32();
      const droppedBatches = r.u32(), epoch = r.u32(), bootCount = r.u32(), uptimeUs = r.u64(), t = r.f32();
      m = { kind, framesOk, crcErrors, framingErrors, rejected, droppedBatches, epoch, bootCount, uptimeUs, temperatureC: Number.isNaN(t) ? null : t };
      break;
    }
    case 'ping': case 'pong': m = { kind, data: r.bytes(end - at) }; break;
    case 'boot': m = { kind, bootCount: r.u32(), epoch: r.u32(), reason: r.u8() }; break;
    case 'error': {
      const code = r.u16(), refSeq = r.u16(), refType = r.u8(), detail = r.u32(), text = r.str(LIMITS.errorText);
      m = { kind, code, refSeq, refType, detail, text };
      break;
    }
  }
  if (m && r.done) return m;
  if (problem && !problem.why) problem.why = `${kind} payload of ${end - at} bytes breaks its layout or limits`;
  return null;
}

function samplesProblem(kind: string, fixed: number, length: number, count: number, channels: number, format: SampleFormat | null): string {
  if (length < fixed) return `${kind} payload of ${length} bytes is shorter than its ${fixed}-byte head`;
  if (!format) return `${kind}.format is not one of ${SAMPLE_FORMATS.join(', ')}`;
  if (count < 1 || channels < 1) return `${kind}.count ${count} and .channels ${channels} must both be >= 1`;
  const want = fixed + count * channels * SAMPLE_SIZE[format];
  if (length !== want) return `${kind} length ${length} is not ${fixed} + count ${count} x channels ${channels} x ${SAMPLE_SIZE[format]} = ${want}`;
  return `${kind}.samples carry a NaN or infinite f32`;
}
