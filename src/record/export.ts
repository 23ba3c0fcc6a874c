/**
 * Exports a recorded run to files other tools read without SQLite: NumPy's `.npz`, CSV, or JSON
 * lines. Memory stays bounded whatever the run's length: batches are read one at a time and the
 * output written in chunks as it goes.
 *
 * ```ts
 * exportRun(db, runId, 'npz', 'run.npz');   // np.load('run.npz')['outputs']
 * ```
 *
 * - npz: a zip of stored (uncompressed) `.npy` v1.0 entries: `inputs` float32 [samples, inWidth],
 *   `outputs` float32 [samples, outWidth], and per sample, all int64: `seq`, `batch_id`, `epoch`,
 *   `timestamp_us` (the device timestamp of the sample's batch, that is of its first vector) and
 *   `sample` (index in the batch, so a reader with the sample period can place every vector); plus
 *   `metric_<name>` float64 [points, 2] of (step, value) per metric, NaN kept. Every entry's size is
 *   known before a byte is written, so all entries fill in one pass over the batches by positional
 *   writes and only the CRC-32s are written at the end; past 4 GiB the zip is ZIP64.
 * - csv: a header `seq,batch_id,epoch,timestamp_us,sample,in0..,out0..` and one row per sample;
 *   numbers in JavaScript's shortest round-trip form (a float32 value parses back to itself; NaN,
 *   Infinity, -Infinity and -0 spelled so that Python's float() reads them).
 * - jsonl: one object per batch (`type: 'batch'`, its fields and the `input` and `output` arrays
 *   flat, non-finite values as null), then one per metric point (`type: 'metric'`, NaN as null).
 *
 * `inWidth` is a batch's input elements per sample (a shape [count, a, b] flattens to a * b). npz and
 * csv need one width per run and a shape whose first dimension is `count`; jsonl takes any run.
 * An export to a path is written under a temporary name and renamed when complete, so a failed or
 * interrupted export never leaves a plausible-looking partial file.
 */
import type Database from 'better-sqlite3';
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import * as zlib from 'node:zlib';
import { RunNotFoundError } from './verify.js';

export const EXPORT_FORMATS = ['npz', 'csv', 'jsonl'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportOptions {
  /** npz only: write ZIP64 records even for a small file (what a file past 4 GiB gets). Defaults to false. */
  zip64?: boolean;
  /** Called after each batch is written with the batches done and the run's total, for a progress display. Defaults to none. */
  onProgress?: (done: number, total: number) => void;
}

export interface ExportResult {
  format: ExportFormat;
  /** Bytes written. */
  bytes: number;
  batches: number;
  samples: number;
  /** Metric points written. */
  metricPoints: number;
  /** npz: the entry names, in file order. */
  entries?: string[];
}

/** Thrown when a run cannot be exported in the asked format (it says why). */
export class ExportError extends Error {
  override name = 'ExportError';
}

/**
 * Writes run `runId` as `format` to `out`: a path (written via a temporary file, then renamed) or
 * an open file descriptor (csv and jsonl only: npz needs positional writes). Throws
 * RunNotFoundError for an unknown run, ExportError for a run the format cannot hold.
 */
export function exportRun(db: Database.Database, runId: number, format: ExportFormat, out: string | number, opts: ExportOptions = {}): ExportResult {
  if (typeof runId !== 'number' || !Number.isSafeInteger(runId) || runId < 1) throw new TypeError(`run id must be a positive integer, got ${String(runId)}`);
  if (!EXPORT_FORMATS.includes(format)) throw new TypeError(`export format must be one of ${EXPORT_FORMATS.join(', ')}, got ${String(format)}`);
  const run = db.prepare('SELECT started_ms FROM runs WHERE id = ?').get(runId) as { started_ms: number } | undefined;
  if (!run) throw new RunNotFoundError(`run ${runId} not found`);
  if (typeof out === 'number' && format === 'npz') throw new ExportError('npz export needs a file path (it writes at positions), not a stream');
  if (typeof out !== 'number' && (typeof out !== 'string' || out === '')) throw new TypeError('export: out must be a path or a file descriptor');

  let fd: number;
  let tmp: string | null = null;
  if (typeof out === 'number') {
    fd = out;
  } else {
    tmp = `${out}.partial-${process.pid}`;
    fd = openSync(tmp, 'w');
  }
  try {
    // One read transaction: a run still being recorded is exported as one consistent snapshot,
    // so the sizes planned from the first scan hold for the second.
    const r = db.transaction(() => {
      let tick: (() => void) | undefined;
      if (opts.onProgress) {
        const report = opts.onProgress;
        const total = (db.prepare('SELECT count(*) AS n FROM batches WHERE run_id = ?').get(runId) as { n: number }).n;
        let done = 0;
        tick = () => report(++done, total);
      }
      return format === 'npz' ? writeNpz(db, runId, fd, run.started_ms, opts.zip64 ?? false, tick)
        : format === 'csv' ? writeCsv(db, runId, fd, tick)
          : writeJsonl(db, runId, fd, tick);
    })();
    if (tmp !== null) {
      closeSync(fd);
      renameSync(tmp, out as string);
      tmp = null;
    }
    return r;
  } finally {
    if (tmp !== null) {
      try { closeSync(fd); } catch { /* already closed */ }
      rmSync(tmp, { force: true });
    }
  }
}

interface Layout { batches: number; samples: number; inWidth: number; outWidth: number }

/** One scan of the shapes (no blobs decoded): totals and the one input and output width of the run. */
function layout(db: Database.Database, runId: number, format: string): Layout {
  const l: Layout = { batches: 0, samples: 0, inWidth: -1, outWidth: -1 };
  let firstSeq = 0;
  const rows = db.prepare('SELECT seq, count, input_shape, output_shape FROM batches WHERE run_id = ? ORDER BY seq').iterate(runId) as
    Iterable<{ seq: number; count: number; input_shape: string; output_shape: string }>;
  for (const r of rows) {
    const w = [widthOf(r.input_shape, r.count, r.seq, 'input', format), widthOf(r.output_shape, r.count, r.seq, 'output', format)];
    if (l.batches === 0) {
      [l.inWidth, l.outWidth] = w;
      firstSeq = r.seq;
    } else if (w[0] !== l.inWidth || w[1] !== l.outWidth) {
      throw new ExportError(`run ${runId}: seq ${r.seq} has ${w[0]} inputs and ${w[1]} outputs per sample, seq ${firstSeq} ${l.inWidth} and ${l.outWidth}; ` +
        `${format} needs one width per run (jsonl takes any)`);
    }
    l.batches++;
    l.samples += r.count;
  }
  if (l.batches === 0) l.inWidth = l.outWidth = 0;
  return l;
}

function widthOf(shapeJson: string, count: number, seq: number, what: string, format: string): number {
  const shape = JSON.parse(shapeJson) as number[];
  if (!Array.isArray(shape) || shape[0] !== count) {
    throw new ExportError(`seq ${seq}: ${what} shape ${shapeJson} does not start with count ${count}; ${format} needs one row per sample (jsonl takes any)`);
  }
  return shape.slice(1).reduce((a, d) => a * d, 1);
}

interface BatchRow {
  seq: number; batch_id: number; epoch: number; timestamp_us: number; status: number; count: number;
  input_format: string; input_shape: string; input: Buffer; output_format: string; output_shape: string; output: Buffer;
}

/** The run's batches in order; `tick` runs once the caller has taken each one (for progress). */
function* batchRows(db: Database.Database, runId: number, tick?: () => void): Iterable<BatchRow> {
  const rows = db.prepare(`SELECT seq, batch_id, epoch, timestamp_us, status, count, input_format, input_shape, input,
    output_format, output_shape, output FROM batches WHERE run_id = ? ORDER BY seq`).iterate(runId) as Iterable<BatchRow>;
  for (const r of rows) {
    yield r;
    tick?.();
  }
}

function metricRows(db: Database.Database, runId: number): Iterable<{ name: string; step: number; value: number | null; t_ms: number }> {
  return db.prepare('SELECT name, step, value, t_ms FROM metrics WHERE run_id = ? ORDER BY name, step, id').iterate(runId) as
    Iterable<{ name: string; step: number; value: number | null; t_ms: number }>;
}

function checkBlob(b: Buffer, floats: number, seq: number, what: string): void {
  if (b.length !== floats * 4) throw new ExportError(`seq ${seq}: ${what} blob is ${b.length} bytes, its shape needs ${floats * 4}; rhil runs verify explains`);
}

const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/** Sequential writes through a 1 MiB buffer, so memory is bounded and syscalls few. */
class Sink {
  bytes = 0;
  private buf = Buffer.allocUnsafe(1 << 20);
  private used = 0;
  constructor(private readonly fd: number) {}
  text(s: string): void {
    if (s.length * 3 > this.buf.length - this.used) {
      this.flush();
      if (s.length * 3 > this.buf.length) return this.raw(Buffer.from(s));
    }
    this.used += this.buf.write(s, this.used);
  }
  private raw(b: Uint8Array): void {
    for (let off = 0; off < b.length;) {
      try {
        off += writeSync(this.fd, b, off, b.length - off);
      } catch (e) {
        // A pipe that Node made non-blocking (stdout) says EAGAIN when full: wait for the reader.
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        Atomics.wait(PAUSE, 0, 0, 2);
      }
    }
    this.bytes += b.length;
  }
  flush(): void {
    if (this.used > 0) this.raw(this.buf.subarray(0, this.used));
    this.used = 0;
  }
}

function writeCsv(db: Database.Database, runId: number, fd: number, tick?: () => void): ExportResult {
  const l = layout(db, runId, 'csv');
  const sink = new Sink(fd);
  const cols = ['seq', 'batch_id', 'epoch', 'timestamp_us', 'sample'];
  for (let i = 0; i < l.inWidth; i++) cols.push(`in${i}`);
  for (let i = 0; i < l.outWidth; i++) cols.push(`out${i}`);
  sink.text(`${cols.join(',')}\n`);
  for (const r of batchRows(db, runId, tick)) {
    checkBlob(r.input, r.count * l.inWidth, r.seq, 'input');
    checkBlob(r.output, r.count * l.outWidth, r.seq, 'output');
    const inp = floats(r.input);
    const outp = floats(r.output);
    const head = `${r.seq},${r.batch_id},${r.epoch},${r.timestamp_us},`;
    for (let s = 0; s < r.count; s++) {
      let line = `${head}${s}`;
      for (let i = 0; i < l.inWidth; i++) line += `,${num(inp[s * l.inWidth + i])}`;
      for (let i = 0; i < l.outWidth; i++) line += `,${num(outp[s * l.outWidth + i])}`;
      sink.text(`${line}\n`);
    }
  }
  sink.flush();
  return { format: 'csv', bytes: sink.bytes, batches: l.batches, samples: l.samples, metricPoints: 0 };
}

/** String(-0) is '0': keep the sign so a value parses back to itself. */
const num = (v: number): string => (v === 0 && 1 / v < 0 ? '-0' : String(v));

function writeJsonl(db: Database.Database, runId: number, fd: number, tick?: () => void): ExportResult {
  const sink = new Sink(fd);
  let batches = 0;
  let samples = 0;
  for (const r of batchRows(db, runId, tick)) {
    const inp = floats(r.input);
    const outp = floats(r.output);
    sink.text(`${JSON.stringify({
      type: 'batch', seq: r.seq, batchId: r.batch_id, epoch: r.epoch, timestampUs: r.timestamp_us, status: r.status, count: r.count,
      inputFormat: r.input_format, inputShape: JSON.parse(r.input_shape) as unknown, input: Array.from(inp),
      outputFormat: r.output_format, outputShape: JSON.parse(r.output_shape) as unknown, output: Array.from(outp),
    })}\n`);
    batches++;
    samples += r.count;
  }
  let metricPoints = 0;
  for (const m of metricRows(db, runId)) {
    sink.text(`${JSON.stringify({ type: 'metric', name: m.name, step: m.step, value: m.value, tMs: m.t_ms })}\n`);
    metricPoints++;
  }
  sink.flush();
  return { format: 'jsonl', bytes: sink.bytes, batches, samples, metricPoints };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A stored little-endian float32 blob as numbers, whatever the host's byte order. */
function floats(b: Buffer): Float32Array {
  const out = new Float32Array(b.length >>> 2);
  if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(b.subarray(0, out.length * 4));
  else for (let i = 0; i < out.length; i++) out[i] = b.readFloatLE(i * 4);
  return out;
}

// ---- npz ----

/** IEEE CRC-32 as zip needs it: node:zlib's (Node >= 20.15), else a table. */
const crc32: (data: Uint8Array, value: number) => number = typeof (zlib as { crc32?: unknown }).crc32 === 'function'
  ? (data, value) => (zlib as unknown as { crc32(d: Uint8Array, v: number): number }).crc32(data, value)
  : tableCrc32();

function tableCrc32(): (data: Uint8Array, value: number) => number {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
    t[n] = c >>> 0;
  }
  return (data, value) => {
    let c = ~value >>> 0;
    for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]) & 0xff] ^ (c >>> 8);
    return ~c >>> 0;
  };
}

/** A .npy v1.0 header for a little-endian C-order array; padded so the data starts 64-byte aligned. */
export function npyHeader(descr: '<f4' | '<f8' | '<i8', shape: readonly number[]): Buffer {
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${dims}, }`;
  const total = 10 + dict.length + 1;
  dict += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const h = Buffer.alloc(10 + dict.length);
  h.write('\x93NUMPY', 0, 'latin1');
  h[6] = 1;
  h[7] = 0;
  h.writeUInt16LE(dict.length, 8);
  h.write(dict, 10, 'latin1');
  return h;
}

/** One zip entry whose size is fixed in advance; filled by positional writes through a chunk buffer. */
class Entry {
  crc = 0;
  written = 0;
  private buf: Buffer;
  private used = 0;
  constructor(readonly name: string, readonly offset: number, readonly headerLen: number, readonly size: number, private readonly fd: number, chunk: number) {
    this.buf = Buffer.allocUnsafe(Math.max(64, Math.min(chunk, size)));
  }
  get dataOffset(): number { return this.offset + this.headerLen; }
  /** Room in the chunk buffer for at least `n` bytes; returns the buffer and the position to write at. */
  reserve(n: number): [Buffer, number] {
    if (this.used + n > this.buf.length) this.flush();
    if (n > this.buf.length) this.buf = Buffer.allocUnsafe(n);
    const at = this.used;
    this.used += n;
    return [this.buf, at];
  }
  bytes(b: Uint8Array): void {
    if (b.length > this.buf.length) {
      this.flush();
      this.put(b);
      return;
    }
    const [buf, at] = this.reserve(b.length);
    buf.set(b, at);
  }
  /** `n` copies of int64 `v` (exact below 2^53). */
  i64repeat(v: number, n: number): void {
    const lo = v % 0x1_0000_0000;
    const hi = Math.floor(v / 0x1_0000_0000);
    for (let i = 0; i < n;) {
      const k = Math.min(n - i, this.buf.length >>> 3);
      const [buf, at] = this.reserve(k * 8);
      for (let j = 0; j < k; j++) {
        buf.writeUInt32LE(lo, at + j * 8);
        buf.writeUInt32LE(hi, at + j * 8 + 4);
      }
      i += k;
    }
  }
  /** int64 0, 1, ..., n-1. */
  i64range(n: number): void {
    for (let i = 0; i < n;) {
      const k = Math.min(n - i, this.buf.length >>> 3);
      const [buf, at] = this.reserve(k * 8);
      for (let j = 0; j < k; j++) {
        buf.writeUInt32LE(i + j, at + j * 8);
        buf.writeUInt32LE(0, at + j * 8 + 4);
      }
      i += k;
    }
  }
  f64(v: number): void {
    const [buf, at] = this.reserve(8);
    buf.writeDoubleLE(v, at);
  }
  flush(): void {
    if (this.used > 0) this.put(this.buf.subarray(0, this.used));
    this.used = 0;
  }
  private put(b: Uint8Array): void {
    if (this.written + b.length > this.size) throw new Error(`npz entry ${this.name}: ${this.written + b.length} bytes written, ${this.size} planned`);
    this.crc = crc32(b, this.crc);
    for (let off = 0; off < b.length;) off += writeSync(this.fd, b, off, b.length - off, this.dataOffset + this.written + off);
    this.written += b.length;
  }
}

const U32_MAX = 0xffffffff;

function writeNpz(db: Database.Database, runId: number, fd: number, startedMs: number, forceZip64: boolean, tick?: () => void): ExportResult {
  const l = layout(db, runId, 'npz');
  const metricCounts = db.prepare('SELECT name, count(*) AS n FROM metrics WHERE run_id = ? GROUP BY name ORDER BY name').all(runId) as { name: string; n: number }[];

  const plan: { name: string; header: Buffer }[] = [
    { name: 'inputs.npy', header: npyHeader('<f4', [l.samples, l.inWidth]) },
    { name: 'outputs.npy', header: npyHeader('<f4', [l.samples, l.outWidth]) },
    ...['seq', 'batch_id', 'epoch', 'timestamp_us', 'sample'].map((n) => ({ name: `${n}.npy`, header: npyHeader('<i8', [l.samples]) })),
  ];
  const payload = [l.inWidth * 4, l.outWidth * 4, 8, 8, 8, 8, 8].map((w) => w * l.samples);
  const taken = new Set(plan.map((p) => p.name));
  const metricEntry = new Map<string, number>();
  for (const m of metricCounts) {
    // Names become file names inside the zip: keep them portable and distinct.
    const base = `metric_${m.name.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
    let name = `${base}.npy`;
    for (let k = 2; taken.has(name); k++) name = `${base}_${k}.npy`;
    taken.add(name);
    metricEntry.set(m.name, plan.length);
    plan.push({ name, header: npyHeader('<f8', [m.n, 2]) });
    payload.push(m.n * 16);
  }

  const sizes = plan.map((p, i) => p.header.length + payload[i]);
  const plainTotal = sizes.reduce((a, s, i) => a + 30 + plan[i].name.length + s + 46 + plan[i].name.length, 22);
  const zip64 = forceZip64 || plainTotal > U32_MAX || plan.length > 0xfffe;
  const extraLocal = zip64 ? 20 : 0;

  const entries: Entry[] = [];
  let offset = 0;
  for (const [i, p] of plan.entries()) {
    const e = new Entry(p.name, offset, 30 + p.name.length + extraLocal, sizes[i], fd, i < 2 ? 1 << 20 : 1 << 18);
    entries.push(e);
    e.bytes(p.header);
    offset = e.dataOffset + e.size;
  }

  const [inE, outE, seqE, idE, epochE, tsE, sampleE] = entries;
  for (const r of batchRows(db, runId, tick)) {
    checkBlob(r.input, r.count * l.inWidth, r.seq, 'input');
    checkBlob(r.output, r.count * l.outWidth, r.seq, 'output');
    inE.bytes(r.input);
    outE.bytes(r.output);
    seqE.i64repeat(r.seq, r.count);
    idE.i64repeat(r.batch_id, r.count);
    epochE.i64repeat(r.epoch, r.count);
    tsE.i64repeat(r.timestamp_us, r.count);
    sampleE.i64range(r.count);
  }
  let metricPoints = 0;
  for (const m of metricRows(db, runId)) {
    const e = entries[metricEntry.get(m.name)!];
    e.f64(m.step);
    e.f64(m.value ?? NaN);
    metricPoints++;
  }
  for (const e of entries) {
    e.flush();
    if (e.written !== e.size) throw new ExportError(`run ${runId} changed while it was exported (${e.name}: ${e.written} of ${e.size} bytes); export it again`);
  }

  // Headers last: only now are the CRCs known.
  const [time, date] = dosTime(startedMs);
  const central: Buffer[] = [];
  for (const e of entries) {
    const h = Buffer.alloc(e.headerLen);
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt16LE(zip64 ? 45 : 20, 4);
    h.writeUInt16LE(0, 6); // flags
    h.writeUInt16LE(0, 8); // stored
    h.writeUInt16LE(time, 10);
    h.writeUInt16LE(date, 12);
    h.writeUInt32LE(e.crc, 14);
    h.writeUInt32LE(zip64 ? U32_MAX : e.size, 18);
    h.writeUInt32LE(zip64 ? U32_MAX : e.size, 22);
    h.writeUInt16LE(e.name.length, 26);
    h.writeUInt16LE(extraLocal, 28);
    h.write(e.name, 30, 'latin1');
    if (zip64) {
      const x = 30 + e.name.length;
      h.writeUInt16LE(0x0001, x);
      h.writeUInt16LE(16, x + 2);
      h.writeBigUInt64LE(BigInt(e.size), x + 4);
      h.writeBigUInt64LE(BigInt(e.size), x + 12);
    }
    writeAt(fd, h, e.offset);

    const c = Buffer.alloc(46 + e.name.length + (zip64 ? 28 : 0));
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(zip64 ? 45 : 20, 4); // made by: MS-DOS attributes, spec version
    c.writeUInt16LE(zip64 ? 45 : 20, 6);
    c.writeUInt16LE(0, 8);
    c.writeUInt16LE(0, 10);
    c.writeUInt16LE(time, 12);
    c.writeUInt16LE(date, 14);
    c.writeUInt32LE(e.crc, 16);
    c.writeUInt32LE(zip64 ? U32_MAX : e.size, 20);
    c.writeUInt32LE(zip64 ? U32_MAX : e.size, 24);
    c.writeUInt16LE(e.name.length, 28);
    c.writeUInt16LE(zip64 ? 28 : 0, 30);
    c.writeUInt32LE(zip64 ? U32_MAX : e.offset, 42);
    c.write(e.name, 46, 'latin1');
    if (zip64) {
      const x = 46 + e.name.length;
      c.writeUInt16LE(0x0001, x);
      c.writeUInt16LE(24, x + 2);
      c.writeBigUInt64LE(BigInt(e.size), x + 4);
      c.writeBigUInt64LE(BigInt(e.size), x + 12);
      c.writeBigUInt64LE(BigInt(e.offset), x + 20);
    }
    central.push(c);
  }
  const cd = Buffer.concat(central);
  const cdOffset = offset;
  writeAt(fd, cd, cdOffset);
  let end = cdOffset + cd.length;
  if (zip64) {
    const z = Buffer.alloc(56 + 20);
    z.writeUInt32LE(0x06064b50, 0);
    z.writeBigUInt64LE(44n, 4);
    z.writeUInt16LE(45, 12);
    z.writeUInt16LE(45, 14);
    z.writeBigUInt64LE(BigInt(entries.length), 24);
    z.writeBigUInt64LE(BigInt(entries.length), 32);
    z.writeBigUInt64LE(BigInt(cd.length), 40);
    z.writeBigUInt64LE(BigInt(cdOffset), 48);
    z.writeUInt32LE(0x07064b50, 56); // locator
    z.writeBigUInt64LE(BigInt(end), 64);
    z.writeUInt32LE(1, 72);
    writeAt(fd, z, end);
    end += z.length;
  }
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(Math.min(entries.length, 0xffff), 8);
  eocd.writeUInt16LE(Math.min(entries.length, 0xffff), 10);
  eocd.writeUInt32LE(zip64 ? U32_MAX : cd.length, 12);
  eocd.writeUInt32LE(zip64 ? U32_MAX : cdOffset, 16);
  writeAt(fd, eocd, end);
  end += eocd.length;
  return { format: 'npz', bytes: end, batches: l.batches, samples: l.samples, metricPoints, entries: entries.map((e) => e.name) };
}

function writeAt(fd: number, b: Uint8Array, position: number): void {
  for (let off = 0; off < b.length;) off += writeSync(fd, b, off, b.length - off, position + off);
}

/** MS-DOS time and date (local time, 2 s resolution, from 1980) of Unix ms `ms`. */
function dosTime(ms: number): [number, number] {
  const d = new Date(Math.max(ms, Date.UTC(1980, 0, 2)));
  return [
    (d.getHours() << 11) | (d.getMinutes() << 5) | (d.getSeconds() >> 1),
    ((d.getFullYear() - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  ];
}
