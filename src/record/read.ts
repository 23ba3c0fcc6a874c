/**
 * Reads a run database back: list runs, show one, iterate its batches as typed arrays, its
 * metrics, events and artifacts. Works on a read-only connection (`openRecordDb(path, { readonly: true })`),
 * which does not migrate: a v1 database reads with no events and NULL checksums.
 *
 * ```ts
 * for (const b of readBatches(db, runId)) console.log(b.seq, b.outputShape, b.output[0]);
 * ```
 */
import type Database from 'better-sqlite3';
import { type ArrayFormat, decodeF32LE } from './blob.js';
import { type RunKind, type RunStatus, schemaVersion } from './schema.js';

export interface RunSummary {
  id: number;
  kind: RunKind;
  status: RunStatus;
  startedMs: number;
  endedMs: number | null;
  seed: number | null;
  backend: string | null;
  host: string;
  /** Batch rows of the run; -1 when they cannot be counted (a damaged file, see listRuns). */
  batches: number;
}

export interface DeviceRecord {
  id: number;
  vendor: string;
  model: string;
  serial: string;
  firmware: string;
  info: unknown;
}

export interface RunDetail extends RunSummary {
  config: unknown;
  gitCommit: string | null;
  pid: number;
  heartbeatMs: number;
  error: string | null;
  calibrationId: number | null;
  device: DeviceRecord | null;
  metrics: { name: string; count: number; lastStep: number }[];
  artifacts: { name: string; kind: string; bytes: number; isBlob: boolean; createdMs: number }[];
  /** How many events of each kind the run recorded (see {@link readEvents}). */
  events: Record<string, number>;
}

export interface RecordedEvent {
  id: number;
  /** Batches of the run recorded before the event. */
  seqAfter: number;
  tMs: number;
  kind: string;
  /** The JSON detail parsed, or undefined when none was given. */
  detail?: unknown;
}

export interface RecordedBatch {
  seq: number;
  batchId: number;
  epoch: number;
  timestampUs: number;
  status: number;
  count: number;
  recordedMs: number;
  inputFormat: ArrayFormat;
  inputShape: number[];
  input: Float32Array;
  outputFormat: ArrayFormat;
  outputShape: number[];
  output: Float32Array;
  /** CRC-32C of the stored input blob followed by the output blob; null on a row written by schema v1. */
  checksum: number | null;
}

export interface MetricPoint { name: string; step: number; value: number; tMs: number }

export interface ListRunsOptions {
  kind?: RunKind;
  status?: RunStatus;
  /** Newest first, at most this many. Defaults to 100. */
  limit?: number;
}

interface RunRow {
  id: number; kind: RunKind; status: RunStatus; started_ms: number; ended_ms: number | null; seed: number | null;
  backend: string | null; host: string; batches: number;
}

const summary = (r: RunRow): RunSummary => ({
  id: r.id, kind: r.kind, status: r.status, startedMs: r.started_ms, endedMs: r.ended_ms, seed: r.seed,
  backend: r.backend, host: r.host, batches: r.batches,
});

const SUMMARY_SQL = `SELECT r.id, r.kind, r.status, r.started_ms, r.ended_ms, r.seed, r.backend, r.host,
  (SELECT count(*) FROM batches b WHERE b.run_id = r.id) AS batches FROM runs r`;

/**
 * Runs, newest first, optionally filtered by kind and status. In a damaged file whose batches
 * cannot all be counted, a run's `batches` is -1 where its count failed (the runs themselves are
 * still listed).
 */
export function listRuns(db: Database.Database, opts: ListRunsOptions = {}): RunSummary[] {
  const limit = opts.limit ?? 100;
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`listRuns: limit must be a positive integer, got ${limit}`);
  const where = `WHERE (@kind IS NULL OR r.kind = @kind) AND (@status IS NULL OR r.status = @status) ORDER BY r.id DESC LIMIT @limit`;
  const params = { kind: opts.kind ?? null, status: opts.status ?? null, limit };
  try {
    return (db.prepare(`${SUMMARY_SQL} ${where}`).all(params) as RunRow[]).map(summary);
  } catch (e) {
    if (!String((e as { code?: unknown }).code).startsWith('SQLITE_CORRUPT')) throw e;
  }
  const count = db.prepare('SELECT count(*) AS n FROM batches WHERE run_id = ?').pluck();
  const rows = db.prepare(`SELECT r.id, r.kind, r.status, r.started_ms, r.ended_ms, r.seed, r.backend, r.host, -1 AS batches FROM runs r ${where}`).all(params) as RunRow[];
  for (const r of rows) {
    try { r.batches = count.get(r.id) as number; } catch { /* stays -1: unreadable */ }
  }
  return rows.map(summary);
}

/** One run with its config, device, metric series and artifact list; null if there is no such run. */
export function getRun(db: Database.Database, id: number): RunDetail | null {
  checkRunId(id);
  let r: RunRow | undefined;
  try {
    r = db.prepare(`${SUMMARY_SQL} WHERE r.id = ?`).get(id) as RunRow | undefined;
  } catch (e) {
    if (!String((e as { code?: unknown }).code).startsWith('SQLITE_CORRUPT')) throw e;
    // Damaged batch pages: the run's own row may still read, without its batch count.
    r = db.prepare('SELECT id, kind, status, started_ms, ended_ms, seed, backend, host, -1 AS batches FROM runs WHERE id = ?').get(id) as RunRow | undefined;
  }
  if (!r) return null;
  const x = db.prepare('SELECT config, git_commit, pid, heartbeat_ms, error, calibration_id, device_id FROM runs WHERE id = ?').get(id) as {
    config: string; git_commit: string | null; pid: number; heartbeat_ms: number; error: string | null; calibration_id: number | null; device_id: number | null;
  };
  const d = x.device_id === null ? undefined
    : db.prepare('SELECT id, vendor, model, serial, firmware, info FROM devices WHERE id = ?').get(x.device_id) as
      { id: number; vendor: string; model: string; serial: string; firmware: string; info: string | null } | undefined;
  const metrics = db.prepare('SELECT name, count(*) AS count, max(step) AS lastStep FROM metrics WHERE run_id = ? GROUP BY name ORDER BY name')
    .all(id) as RunDetail['metrics'];
  const events: Record<string, number> = {};
  if (hasV2(db)) {
    for (const e of db.prepare('SELECT kind, count(*) AS n FROM events WHERE run_id = ? GROUP BY kind ORDER BY kind').all(id) as { kind: string; n: number }[]) {
      events[e.kind] = e.n;
    }
  }
  const artifacts = (db.prepare(`SELECT name, kind, created_ms, blob IS NOT NULL AS is_blob, coalesce(length(blob), length(CAST(json AS BLOB))) AS bytes
    FROM artifacts WHERE run_id = ? ORDER BY id`).all(id) as { name: string; kind: string; created_ms: number; is_blob: number; bytes: number }[])
    .map((a) => ({ name: a.name, kind: a.kind, bytes: a.bytes, isBlob: a.is_blob === 1, createdMs: a.created_ms }));
  return {
    ...summary(r),
    config: JSON.parse(x.config) as unknown,
    gitCommit: x.git_commit,
    pid: x.pid,
    heartbeatMs: x.heartbeat_ms,
    error: x.error,
    calibrationId: x.calibration_id,
    device: d ? { ...d, info: d.info === null ? null : JSON.parse(d.info) as unknown } : null,
    metrics,
    artifacts,
    events,
  };
}

export interface ReadBatchesOptions {
  /** First sequence number. Defaults to 0. */
  fromSeq?: number;
  /** At most this many batches. Defaults to all. */
  limit?: number;
}

/**
 * The run's batches in sequence order, one at a time (memory stays bounded for long runs), with
 * the blobs decoded to Float32Arrays of their recorded shape. Throws on a blob whose length does
 * not match its shape.
 */
export function* readBatches(db: Database.Database, runId: number, opts: ReadBatchesOptions = {}): Generator<RecordedBatch> {
  checkRunId(runId);
  const from = opts.fromSeq ?? 0;
  const limit = opts.limit ?? -1;
  if (!Number.isSafeInteger(from) || from < 0) throw new RangeError(`readBatches: fromSeq must be a non-negative integer, got ${from}`);
  if (!Number.isSafeInteger(limit) || limit < -1) throw new RangeError(`readBatches: limit must be a non-negative integer, got ${limit}`);
  const rows = db.prepare(`SELECT seq, batch_id, epoch, timestamp_us, status, count, recorded_ms, input_format, input_shape, input,
    output_format, output_shape, output, ${hasV2(db) ? 'checksum' : 'NULL AS checksum'} FROM batches WHERE run_id = ? AND seq >= ? ORDER BY seq LIMIT ?`).iterate(runId, from, limit);
  for (const row of rows) {
    const r = row as {
      seq: number; batch_id: number; epoch: number; timestamp_us: number; status: number; count: number; recorded_ms: number;
      input_format: ArrayFormat; input_shape: string; input: Buffer; output_format: ArrayFormat; output_shape: string; output: Buffer;
      checksum: number | null;
    };
    const inputShape = JSON.parse(r.input_shape) as number[];
    const outputShape = JSON.parse(r.output_shape) as number[];
    yield {
      seq: r.seq, batchId: r.batch_id, epoch: r.epoch, timestampUs: r.timestamp_us, status: r.status, count: r.count, recordedMs: r.recorded_ms,
      inputFormat: r.input_format, inputShape, input: decodeF32LE(r.input, inputShape, `run ${runId} batch ${r.seq} input`),
      outputFormat: r.output_format, outputShape, output: decodeF32LE(r.output, outputShape, `run ${runId} batch ${r.seq} output`),
      checksum: r.checksum,
    };
  }
}

/** A run's metric points in (name, step, time) order, optionally of one name; NULL values read back as NaN. */
export function readMetrics(db: Database.Database, runId: number, name?: string): MetricPoint[] {
  checkRunId(runId);
  const rows = db.prepare(`SELECT name, step, value, t_ms FROM metrics WHERE run_id = @runId AND (@name IS NULL OR name = @name) ORDER BY name, step, id`)
    .all({ runId, name: name ?? null }) as { name: string; step: number; value: number | null; t_ms: number }[];
  return rows.map((m) => ({ name: m.name, step: m.step, value: m.value ?? NaN, tMs: m.t_ms }));
}

/** The last point (highest step, then latest written) of each of a run's metrics, by name; NULL values as NaN. */
export function lastMetrics(db: Database.Database, runId: number): { name: string; step: number; value: number }[] {
  checkRunId(runId);
  const rows = db.prepare(`SELECT m.name, m.step, m.value FROM metrics m WHERE m.run_id = @runId AND m.id =
    (SELECT id FROM metrics WHERE run_id = @runId AND name = m.name ORDER BY step DESC, id DESC LIMIT 1) ORDER BY m.name`)
    .all({ runId }) as { name: string; step: number; value: number | null }[];
  return rows.map((m) => ({ name: m.name, step: m.step, value: m.value ?? NaN }));
}

/** Samples recorded in a run (the sum of its batches' counts). */
export function runSamples(db: Database.Database, runId: number): number {
  checkRunId(runId);
  return (db.prepare('SELECT coalesce(sum(count), 0) AS n FROM batches WHERE run_id = ?').get(runId) as { n: number }).n;
}

/** A run's events in the order they were recorded (seq_after, then id); none on a v1 database. */
export function readEvents(db: Database.Database, runId: number): RecordedEvent[] {
  checkRunId(runId);
  if (!hasV2(db)) return [];
  const rows = db.prepare('SELECT id, seq_after, t_ms, kind, detail FROM events WHERE run_id = ? ORDER BY seq_after, id').all(runId) as
    { id: number; seq_after: number; t_ms: number; kind: string; detail: string | null }[];
  return rows.map((e) => {
    const ev: RecordedEvent = { id: e.id, seqAfter: e.seq_after, tMs: e.t_ms, kind: e.kind };
    if (e.detail !== null) ev.detail = JSON.parse(e.detail) as unknown;
    return ev;
  });
}

/**
 * True when `db` has the v2 tables. A read-only connection never migrates, so readers must
 * still serve a v1 file as it is.
 */
export function hasV2(db: Database.Database): boolean {
  return schemaVersion(db) >= 2;
}

/** A named artifact of a run: `json` parsed, or `blob`; null if there is none. */
export function readArtifact(db: Database.Database, runId: number, name: string):
  { kind: string; json?: unknown; blob?: Uint8Array } | null {
  checkRunId(runId);
  const a = db.prepare('SELECT kind, json, blob FROM artifacts WHERE run_id = ? AND name = ?').get(runId, name) as
    { kind: string; json: string | null; blob: Buffer | null } | undefined;
  if (!a) return null;
  return a.blob !== null ? { kind: a.kind, blob: new Uint8Array(a.blob) } : { kind: a.kind, json: JSON.parse(a.json as string) as unknown };
}

function checkRunId(id: unknown): void {
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) throw new TypeError(`run id must be a positive integer, got ${String(id)}`);
}
