/**
 * Records runs (calibrate, train, run, bench) into SQLite as they happen.
 *
 * ```ts
 * const db = openRecordDb('runs.sqlite');          // open.ts: WAL; marks runs of dead processes 'interrupted'
 * const rec = new RunRecorder(db);
 * rec.startRun({ kind: 'train', config: opts, seed: 1, backend: 'cpu', device: client.info });
 * rec.recordBatch(await client.process(drive));    // committed before it returns (default)
 * rec.recordMetric('nmse', episode, 0.17);
 * rec.recordEvent('reset', { epoch: 4 });          // between batches: seq_after = batches so far
 * rec.saveArtifact('checkpoint', 'model', weights, { replace: true }); // overwrite in place
 * rec.saveArtifact('model', 'model', result.model);
 * rec.finish('completed');
 * ```
 *
 * Commit cadence. Batches, metrics and events queue in memory and are written in one IMMEDIATE
 * transaction when any of these holds: `batchesPerCommit` batches are queued (default 1, so every
 * batch is committed before `recordBatch` returns); the oldest queued item is `flushIntervalMs`
 * old (default 100 ms; checked on every call and by an unref'd timer, so metrics and events reach
 * the disk within about 100 ms even between batches, unless the event loop is blocked); or the
 * queue holds `maxPendingBytes`. `saveArtifact` and `finish` commit at once. Memory is bounded by
 * those limits.
 *
 * Events. `recordEvent(kind, detail)` notes what happened between batches ('boot', 'break',
 * 'reject', 'deviceError', 'discarded', 'reset', 'reconnect', 'closed', or any tag of 1..64
 * characters). Its `seq_after` is the number of batches recorded before it, taken when it is
 * called, and it shares the batches' queue, so a commit never holds an event without every batch
 * recorded before it: after a crash an event is never ahead of the batches it follows.
 *
 * Checkpoints. While a run records into a file, WAL checkpoints run in a worker thread every
 * `checkpointIntervalMs` (default 100 ms) instead of inside commits (checkpointer.ts). Pass
 * `checkpoint: 'inline'` to keep SQLite's own.
 *
 * Checksums. Every batch row carries the CRC-32C of its input blob followed by its output blob,
 * computed from the very bytes inserted, so `verifyRun` can prove later that a blob is the one
 * acquired (bit rot, a hand edit, a bad copy).
 *
 * Crash safety. The database is in WAL mode, so a transaction is either entirely in the log or
 * not at all: a kill -9 loses at most what was queued and not yet committed (with the defaults, the
 * batch being inserted) and never leaves a half-written batch. `synchronous=NORMAL` (the default)
 * makes a commit a write into the OS page cache without fsync: it survives the death of the process
 * (the kernel still writes the pages), which is the failure this recorder is built for, at a
 * fraction of the cost; only a power cut or kernel crash can lose the last commits, and even then
 * the database stays consistent. Pass `synchronous: 'full'` to fsync every commit when power cuts
 * matter more than throughput.
 *
 * Interrupted runs. A running run carries its writer's `host`, `pid` and a `heartbeat_ms` refreshed
 * on commits and at least every `heartbeatMs` (default 5 s), by which the next open tells a dead
 * writer from a live one (open.ts).
 *
 * Write failures. A commit that fails (a full disk) keeps its queue and throws; `finish` with
 * 'failed' or 'interrupted' then drops what cannot be written and commits the status alone, and
 * throws only when even that fails (the caller may leave a marker, see open.ts).
 */
import Database from 'better-sqlite3';
import { hostname } from 'node:os';
import { crc32c } from '../protocol/crc32c.js';
import { type ArrayFormat, type RecordableArray, arrayFormat, shapeSize } from './blob.js';
import { checkpointer, heldCheckpointer } from './checkpointer.js';
import { gitCommit } from './git-commit.js';
import { checkInt, liveRuns } from './open.js';
import { MAX_EVENT_KIND, RUN_KINDS, type RunKind, type RunStatus, migrate } from './schema.js';

/** Identity of the device a run used; a device client's INFO fits as is (stored whole as JSON). */
export interface RecordedDevice {
  vendor: string;
  model: string;
  serial: string;
  firmware: string;
  // No index signature: a device client's Info interface (more fields, none indexable) must be assignable as it is.
}

export interface StartRunOptions {
  kind: RunKind;
  /** The run's resolved configuration; stored as JSON. Defaults to {}. */
  config?: unknown;
  /** Seed of the run. Defaults to none. */
  seed?: number;
  /** tfjs backend name. Defaults to none. */
  backend?: string;
  /** The device used. Defaults to none (a run without a device). */
  device?: RecordedDevice;
  /** Id of a row of `calibrations` the run used. Defaults to none. */
  calibrationId?: number;
  /** Commit of the code (40 or 64 hex digits), null for unknown. Defaults to the commit checked out in process.cwd(), when there is one. */
  gitCommit?: string | null;
}

/** A batch to record: a device client's BatchResult fits as is; shapes default to [count, length / count]. */
export interface BatchLike {
  batchId: number;
  epoch: number;
  timestampUs: number;
  status: number;
  count: number;
  input: RecordableArray;
  output: RecordableArray;
  /** Shape of `input`. Defaults to [count, input.length / count]. */
  inputShape?: readonly number[];
  /** Shape of `output`. Defaults to [count, output.length / count]. */
  outputShape?: readonly number[];
}

export interface RunRecorderOptions {
  /** Commit when this many batches are queued. Defaults to 1 (every batch is committed before recordBatch returns). */
  batchesPerCommit?: number;
  /** Commit when the oldest queued batch or metric is this old, in ms. Defaults to 100. */
  flushIntervalMs?: number;
  /** Commit when the queued batches hold this many bytes. Defaults to 16 MiB. */
  maxPendingBytes?: number;
  /** Refresh the run's heartbeat at least this often while the event loop runs, in ms. Defaults to 5000. */
  heartbeatMs?: number;
  /** 'thread': WAL checkpoints in a worker thread while the run records (see the module comment); 'inline': SQLite's automatic ones. Defaults to 'thread' ('inline' for an in-memory database). */
  checkpoint?: 'thread' | 'inline';
  /** How often the checkpoint thread checkpoints, in ms. Defaults to 100. */
  checkpointIntervalMs?: number;
}

/** Counters of a recorder, for benchmarks and logs. */
export interface RecorderStats {
  batches: number;
  metrics: number;
  events: number;
  commits: number;
  /** Longest commit, in ms. */
  maxCommitMs: number;
  /** Sum of commit durations, in ms. */
  commitMs: number;
}

interface PendingBatch {
  seq: number; batchId: number; epoch: number; timestampUs: number; status: number; count: number; t: number;
  inFormat: ArrayFormat; inShape: string; input: Buffer; outFormat: ArrayFormat; outShape: string; output: Buffer; checksum: number;
}

export interface SaveArtifactOptions {
  /** Overwrite an artifact of the same name in the run (in the same transaction) instead of refusing it. Defaults to false. */
  replace?: boolean;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Longest event detail, as JSON. */
const MAX_EVENT_DETAIL = 64 * 1024;

const MAX_TEXT = 1024;
const MAX_PENDING_METRICS = 10_000;

/** Records one run; see the module comment for commit cadence and crash safety. */
export class RunRecorder {
  /** The run's id once started. */
  runId = 0;
  readonly stats: RecorderStats = { batches: 0, metrics: 0, events: 0, commits: 0, maxCommitMs: 0, commitMs: 0 };

  private readonly batchesPerCommit: number;
  private readonly flushIntervalMs: number;
  private readonly maxPendingBytes: number;
  private readonly heartbeatMs: number;
  private readonly checkpoint: 'thread' | 'inline';
  private readonly checkpointIntervalMs: number;
  private state: 'new' | 'running' | 'finished' = 'new';
  private seq = 0;
  private batches: PendingBatch[] = [];
  private metrics: [string, number, number | null, number][] = [];
  private events: [number, number, string, string | null][] = [];
  private pendingBytes = 0;
  private oldestPending = 0;
  private lastHeartbeat = 0;
  private timer: NodeJS.Timeout | null = null;
  private failure: Error | null = null;
  private readonly insertBatch: Database.Statement;
  private readonly insertMetric: Database.Statement;
  private readonly insertEvent: Database.Statement;
  private readonly heartbeat: Database.Statement;

  constructor(private readonly db: Database.Database, opts: RunRecorderOptions = {}) {
    if (!(db instanceof Database)) throw new TypeError('RunRecorder: db must be a better-sqlite3 Database from openRecordDb');
    this.batchesPerCommit = checkInt('batchesPerCommit', opts.batchesPerCommit, 1, 1, 100_000);
    this.flushIntervalMs = checkInt('flushIntervalMs', opts.flushIntervalMs, 100, 1, 60_000);
    this.maxPendingBytes = checkInt('maxPendingBytes', opts.maxPendingBytes, 16 << 20, 1, 1 << 30);
    this.heartbeatMs = checkInt('heartbeatMs', opts.heartbeatMs, 5000, 10, 3_600_000);
    const cp = opts.checkpoint ?? 'thread';
    if (cp !== 'thread' && cp !== 'inline') throw new TypeError(`option checkpoint must be 'thread' or 'inline', got ${String(cp)}`);
    this.checkpoint = db.memory ? 'inline' : cp;
    this.checkpointIntervalMs = checkInt('checkpointIntervalMs', opts.checkpointIntervalMs, 100, 1, 60_000);
    this.insertBatch = db.prepare(`INSERT INTO batches (run_id, seq, batch_id, epoch, timestamp_us, status, count, recorded_ms,
      input_format, input_shape, input, output_format, output_shape, output, checksum) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.insertMetric = db.prepare('INSERT INTO metrics (run_id, name, step, value, t_ms) VALUES (?, ?, ?, ?, ?)');
    this.insertEvent = db.prepare('INSERT INTO events (run_id, seq_after, t_ms, kind, detail) VALUES (?, ?, ?, ?, ?)');
    this.heartbeat = db.prepare('UPDATE runs SET heartbeat_ms = ? WHERE id = ?');
  }

  /** Inserts the run row ('running') and commits it; returns the run id. */
  startRun(opts: StartRunOptions): number {
    if (this.state !== 'new') throw new Error('RunRecorder: startRun may be called once');
    if (opts === null || typeof opts !== 'object') throw new TypeError('startRun: options must be an object');
    if (!RUN_KINDS.includes(opts.kind)) throw new TypeError(`startRun: kind must be one of ${RUN_KINDS.join(', ')}, got ${String(opts.kind)}`);
    const config = toJson(opts.config ?? {}, 'startRun: config');
    if (opts.seed !== undefined && !Number.isSafeInteger(opts.seed)) throw new TypeError(`startRun: seed must be an integer, got ${opts.seed}`);
    const backend = opts.backend === undefined ? null : checkText(opts.backend, 'startRun: backend');
    const calibration = opts.calibrationId === undefined ? null : checkId(opts.calibrationId, 'startRun: calibrationId');
    let commit = opts.gitCommit === undefined ? gitCommit(process.cwd()) : opts.gitCommit;
    if (commit !== null && (typeof commit !== 'string' || !/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(commit))) {
      throw new TypeError(`startRun: gitCommit must be 40 or 64 lowercase hex digits or null, got ${String(commit)}`);
    }
    commit ??= null;
    const dev = opts.device === undefined ? null : checkDevice(opts.device);
    const now = Date.now();
    this.runId = this.db.transaction((): number => {
      let deviceId: number | null = null;
      if (dev) {
        this.db.prepare(`INSERT INTO devices (vendor, model, serial, firmware, info, first_seen_ms) VALUES (?, ?, ?, ?, ?, ?)
          ON CONFLICT (vendor, model, serial, firmware) DO UPDATE SET info = excluded.info`)
          .run(dev.vendor, dev.model, dev.serial, dev.firmware, dev.info, now);
        deviceId = (this.db.prepare('SELECT id FROM devices WHERE vendor = ? AND model = ? AND serial = ? AND firmware = ?')
          .get(dev.vendor, dev.model, dev.serial, dev.firmware) as { id: number }).id;
      }
      const r = this.db.prepare(`INSERT INTO runs (kind, status, started_ms, config, seed, git_commit, host, pid, heartbeat_ms,
        backend, device_id, calibration_id) VALUES (?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(opts.kind, now, config, opts.seed ?? null, commit, hostname(), process.pid, now, backend, deviceId, calibration);
      return Number(r.lastInsertRowid);
    }).immediate();
    this.lastHeartbeat = now;
    this.state = 'running';
    liveRuns.add(`${this.db.name}\0${this.runId}`);
    if (this.checkpoint === 'thread') checkpointer(this.db, this.checkpointIntervalMs).hold();
    this.timer = setInterval(() => this.tick(), Math.min(this.flushIntervalMs, this.heartbeatMs));
    this.timer.unref();
    return this.runId;
  }

  /**
   * Queues a batch (copied and converted at once, so the caller may reuse its arrays) and commits
   * per the cadence in the module comment. Returns the batch's sequence number in the run.
   */
  recordBatch(b: BatchLike): number {
    this.checkRunning('recordBatch');
    if (b === null || typeof b !== 'object') throw new TypeError('recordBatch: batch must be an object');
    const batchId = checkInt('batchId', b.batchId, undefined, 0, Number.MAX_SAFE_INTEGER, 'recordBatch');
    const epoch = checkInt('epoch', b.epoch, undefined, 0, Number.MAX_SAFE_INTEGER, 'recordBatch');
    const timestampUs = checkInt('timestampUs', b.timestampUs, undefined, 0, Number.MAX_SAFE_INTEGER, 'recordBatch');
    const status = checkInt('status', b.status, undefined, -(2 ** 31), 2 ** 32 - 1, 'recordBatch');
    const count = checkInt('count', b.count, undefined, 1, 1 << 24, 'recordBatch');
    const [inFormat, inShape] = checkArray(b.input, b.inputShape, count, 'recordBatch: input');
    const [outFormat, outShape] = checkArray(b.output, b.outputShape, count, 'recordBatch: output');
    // One buffer for both blobs, so the checksum covers input then output without another copy.
    const both = Buffer.from(new ArrayBuffer((b.input.length + b.output.length) * 4));
    writeF32LE(both, 0, b.input);
    writeF32LE(both, b.input.length * 4, b.output);
    const input = both.subarray(0, b.input.length * 4);
    const output = both.subarray(b.input.length * 4);
    const checksum = crc32c(both);
    const t = Date.now();
    if (this.queueEmpty()) this.oldestPending = t;
    const seq = this.seq++;
    this.batches.push({ seq, batchId, epoch, timestampUs, status, count, t, inFormat, inShape, input, outFormat, outShape, output, checksum });
    this.pendingBytes += input.byteLength + output.byteLength;
    if (this.batches.length >= this.batchesPerCommit || this.pendingBytes >= this.maxPendingBytes || t - this.oldestPending >= this.flushIntervalMs) {
      this.flush();
    }
    return seq;
  }

  /** Queues a metric value (NaN is stored as NULL); committed with the next batch or within flushIntervalMs. */
  recordMetric(name: string, step: number, value: number): void {
    this.checkRunning('recordMetric');
    checkText(name, 'recordMetric: name');
    checkInt('step', step, undefined, 0, Number.MAX_SAFE_INTEGER, 'recordMetric');
    if (typeof value !== 'number') throw new TypeError(`recordMetric: value must be a number, got ${typeof value}`);
    const t = Date.now();
    if (this.queueEmpty()) this.oldestPending = t;
    this.metrics.push([name, step, Number.isNaN(value) ? null : value, t]);
    if (this.metrics.length + this.events.length >= MAX_PENDING_METRICS || t - this.oldestPending >= this.flushIntervalMs) this.flush();
  }

  /**
   * Queues an event between batches: `kind` a tag of 1..64 characters (the library's callers use
   * 'boot', 'break', 'reject', 'deviceError', 'discarded', 'reset', 'reconnect', 'closed'),
   * `detail` optional JSON (at most 64 KiB). Its seq_after is the number of batches recorded so
   * far. Committed with the batches queued before it, by the same cadence as metrics.
   */
  recordEvent(kind: string, detail?: unknown): void {
    this.checkRunning('recordEvent');
    if (typeof kind !== 'string' || kind.length === 0 || kind.length > MAX_EVENT_KIND) {
      throw new TypeError(`recordEvent: kind must be a string of 1..${MAX_EVENT_KIND} characters, got ${typeof kind === 'string' ? JSON.stringify(kind.slice(0, 80)) : typeof kind}`);
    }
    const json = detail === undefined ? null : toJson(detail, `recordEvent: ${kind} detail`);
    if (json !== null && json.length > MAX_EVENT_DETAIL) throw new RangeError(`recordEvent: ${kind} detail is ${json.length} characters of JSON, more than ${MAX_EVENT_DETAIL}`);
    const t = Date.now();
    if (this.queueEmpty()) this.oldestPending = t;
    this.events.push([this.seq, t, kind, json]);
    if (this.metrics.length + this.events.length >= MAX_PENDING_METRICS || t - this.oldestPending >= this.flushIntervalMs) this.flush();
  }

  /**
   * Stores a named artifact of the run and commits (with everything queued): a Uint8Array as a
   * blob, anything else as JSON. `kind` is a short lowercase tag ('model', 'surrogate', ...).
   * Names are unique within a run: a second save of a name fails unless `{ replace: true }`, which
   * overwrites it (kind, value and time; the id is kept) in the same transaction, so a checkpoint
   * saved again and again under one name is never absent or half-written. Returns the artifact id.
   */
  saveArtifact(name: string, kind: string, value: unknown, opts: SaveArtifactOptions = {}): number {
    this.checkRunning('saveArtifact');
    if (opts === null || typeof opts !== 'object') throw new TypeError('saveArtifact: options must be an object');
    if (opts.replace !== undefined && typeof opts.replace !== 'boolean') throw new TypeError(`saveArtifact: option replace must be a boolean, got ${String(opts.replace)}`);
    checkText(name, 'saveArtifact: name');
    if (typeof kind !== 'string' || !/^[a-z][a-z0-9_-]{0,63}$/.test(kind)) throw new TypeError(`saveArtifact: kind must match [a-z][a-z0-9_-]{0,63}, got ${String(kind)}`);
    const isBlob = value instanceof Uint8Array;
    const json = isBlob ? null : toJson(value, `saveArtifact: ${name}`);
    const blob = isBlob ? Buffer.from(value) : null;
    let id = 0;
    const upsert = opts.replace === true
      ? ` ON CONFLICT (run_id, name) DO UPDATE SET kind = excluded.kind, created_ms = excluded.created_ms, json = excluded.json, blob = excluded.blob`
      : '';
    try {
      this.commit(() => {
        id = (this.db.prepare(`INSERT INTO artifacts (run_id, name, kind, created_ms, json, blob) VALUES (?, ?, ?, ?, ?, ?)${upsert} RETURNING id`)
          .get(this.runId, name, kind, Date.now(), json, blob) as { id: number }).id;
      });
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new Error(`saveArtifact: run ${this.runId} already has an artifact named ${JSON.stringify(name)}; pass { replace: true } to overwrite it`);
      }
      throw e;
    }
    return id;
  }

  /** Commits everything queued now. */
  flush(): void {
    this.checkRunning('flush');
    this.commit(() => undefined);
  }

  /**
   * Commits what is queued and closes the run with `status` ('completed', 'failed', or
   * 'interrupted' for a caught SIGINT) and, for a failure, the error's message. Called once.
   */
  finish(status: Exclude<RunStatus, 'running'>, error?: unknown): void {
    if (this.state !== 'running') throw new Error(`RunRecorder: finish on a run that is ${this.state === 'new' ? 'not started' : 'finished'}`);
    if (status !== 'completed' && status !== 'failed' && status !== 'interrupted') {
      throw new TypeError(`finish: status must be completed, failed or interrupted, got ${String(status)}`);
    }
    const message = error === undefined ? null : String(error instanceof Error ? error.message : error).slice(0, 10_000);
    const close = () => { this.db.prepare('UPDATE runs SET status = ?, ended_ms = ?, error = ? WHERE id = ?').run(status, Date.now(), message, this.runId); };
    try {
      this.commit(close);
    } catch (e) {
      if (status === 'completed') throw e;
      // What did not fit is lost either way; the status is small and may still fit.
      this.batches = [];
      this.metrics = [];
      this.events = [];
      this.pendingBytes = 0;
      try {
        this.db.transaction(close).immediate();
      } finally {
        this.stop();
      }
      return;
    }
    this.stop();
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.state = 'finished';
    liveRuns.delete(`${this.db.name}\0${this.runId}`);
    if (this.checkpoint === 'thread') heldCheckpointer(this.db)?.release();
  }

  private checkRunning(what: string): void {
    if (this.state !== 'running') throw new Error(`RunRecorder: ${what} on a run that is ${this.state === 'new' ? 'not started' : 'finished'}`);
    if (this.failure) throw this.failure;
  }

  private queueEmpty(): boolean {
    return this.batches.length === 0 && this.metrics.length === 0 && this.events.length === 0;
  }

  private tick(): void {
    const now = Date.now();
    const due = (!this.queueEmpty() && now - this.oldestPending >= this.flushIntervalMs) || now - this.lastHeartbeat >= this.heartbeatMs;
    if (!due || this.failure) return;
    try {
      this.commit(() => undefined);
    } catch (e) {
      this.failure = e as Error; // rethrown by the next call; a timer cannot throw to anyone
    }
  }

  /** One IMMEDIATE transaction: queued batches, events and metrics, the heartbeat, then `extra`. The queue is kept on failure. */
  private commit(extra: () => void): void {
    const t0 = performance.now();
    const now = Date.now();
    const { batches, metrics, events } = this;
    const beat = now - this.lastHeartbeat >= 1000 || this.queueEmpty();
    this.db.transaction(() => {
      for (const b of batches) {
        this.insertBatch.run(this.runId, b.seq, b.batchId, b.epoch, b.timestampUs, b.status, b.count, b.t,
          b.inFormat, b.inShape, b.input, b.outFormat, b.outShape, b.output, b.checksum);
      }
      for (const e of events) this.insertEvent.run(this.runId, e[0], e[1], e[2], e[3]);
      for (const m of metrics) this.insertMetric.run(this.runId, m[0], m[1], m[2], m[3]);
      if (beat) this.heartbeat.run(now, this.runId);
      extra();
    }).immediate();
    if (beat) this.lastHeartbeat = now;
    this.stats.batches += batches.length;
    this.stats.metrics += metrics.length;
    this.stats.events += events.length;
    this.batches = [];
    this.metrics = [];
    this.events = [];
    this.pendingBytes = 0;
    const ms = performance.now() - t0;
    this.stats.commits++;
    this.stats.commitMs += ms;
    if (ms > this.stats.maxCommitMs) this.stats.maxCommitMs = ms;
  }
}

/** Writes `a` as little-endian float32 into `out` at byte `offset` (u16 and i16 exactly, f64 rounded). */
function writeF32LE(out: Buffer, offset: number, a: RecordableArray): void {
  if (LITTLE_ENDIAN) {
    // out is a whole ArrayBuffer and offset a multiple of 4, so the view is aligned.
    new Float32Array(out.buffer, out.byteOffset + offset, a.length).set(a);
    return;
  }
  for (let i = 0; i < a.length; i++) out.writeFloatLE(a[i], offset + i * 4);
}

function checkId(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new TypeError(`${what} must be a positive integer, got ${String(v)}`);
  return v;
}

function checkText(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_TEXT) throw new TypeError(`${what} must be a string of 1..${MAX_TEXT} characters`);
  return v;
}

function toJson(v: unknown, what: string): string {
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch (e) {
    throw new TypeError(`${what} is not JSON-serialisable: ${(e as Error).message}`);
  }
  if (typeof s !== 'string') throw new TypeError(`${what} is not JSON-serialisable (${typeof v})`);
  return s;
}

function checkDevice(d: unknown): { vendor: string; model: string; serial: string; firmware: string; info: string } {
  if (d === null || typeof d !== 'object') throw new TypeError('startRun: device must be an object');
  const o = d as Record<string, unknown>;
  const field = (k: string): string => {
    const v = o[k];
    if (typeof v !== 'string' || v.length > MAX_TEXT) throw new TypeError(`startRun: device.${k} must be a string of at most ${MAX_TEXT} characters`);
    return v;
  };
  return { vendor: field('vendor'), model: field('model'), serial: field('serial'), firmware: field('firmware'), info: toJson(d, 'startRun: device') };
}

function checkArray(a: unknown, shape: readonly number[] | undefined, count: number, what: string): [ArrayFormat, string] {
  const format = arrayFormat(a);
  if (format === null) throw new TypeError(`${what} must be a Uint16Array, Int16Array, Float32Array or Float64Array`);
  const len = (a as RecordableArray).length;
  let s: readonly number[];
  if (shape === undefined) {
    if (len % count !== 0) throw new RangeError(`${what}: length ${len} is not a multiple of count ${count}`);
    s = [count, len / count];
  } else {
    s = shape;
  }
  const n = shapeSize(s, what);
  if (n !== len) throw new RangeError(`${what}: shape ${JSON.stringify(s)} holds ${n} values, the array ${len}`);
  return [format, JSON.stringify(s)];
}
