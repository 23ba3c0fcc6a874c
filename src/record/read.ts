/**
 * Reads a run database back: list runs, show one, iterate its batches as typed arrays, its
 * metrics and artifacts. Works on a read-only connection (`openRecordDb(path, { readonly: true })`).
 *
 * ```ts
 * for (const b of readBatches(db, runId)) console.log(b.seq, b.outputShape, b.output[0]);
 * ```
 */
import type Database from 'better-sqlite3';
import { type ArrayFormat, decodeF32LE } from './blob.js';
import type { RunKind, RunStatus } from './schema.js';

export interface RunSummary {
  id: number;
  kind: RunKind;
  status: RunStatus;
  startedMs: number;
  endedMs: number | null;
  seed: number | null;
  backend: string | null;
  host: string;
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

/** Runs, newest first, optionally filtered by kind and status. */
export function listRuns(db: Database.Database, opts: ListRunsOptions = {}): RunSummary[] {
  const limit = opts.limit ?? 100;
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`listRuns: limit must be a positive integer, got ${limit}`);
  const rows = db.prepare(`${SUMMARY_SQL} WHERE (@kind IS NULL OR r.kind = @kind) AND (@status IS NULL OR r.status = @status) ORDER BY r.id DESC LIMIT @limit`)
    .all({ kind: opts.kind ?? null, status: opts.status ?? null, limit }) as RunRow[];
  return rows.map(summary);
}

/** One run with its config, device, metric series and artifact list; null if there is no such run. */
export function getRun(db: Database.Database, id: number): RunDetail | null {
  checkRunId(id);
  const r = db.prepare(`${SUMMARY_SQL} WHERE r.id = ?`).get(id) as RunRow | undefined;
  if (!r) return null;
  const x = db.prepare('SELECT config, git_commit, pid, heartbeat_ms, error, calibration_id, device_id FROM runs WHERE id = ?').get(id) as {
    config: string; git_commit: string | null; pid: number; heartbeat_ms: number; error: string | null; calibration_id: number | null; device_id: number | null;
  };
  const d = x.device_id === null ? undefined
    : db.prepare('SELECT id, vendor, model, serial, firmware, info FROM devices WHERE id = ?').get(x.device_id) as
      { id: number; vendor: string; model: string; serial: string; firmware: string; info: string | null } | undefined;
  const metrics = db.prepare('SELECT name, count(*) AS count, max(step) AS lastStep FROM metrics WHERE run_id = ? GROUP BY name ORDER BY name')
    .all(id) as RunDetail['metrics'];
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
    output_format, output_shape, output FROM batches WHERE run_id = ? AND seq >= ? ORDER BY seq LIMIT ?`).iterate(runId, from, limit);
  for (const row of rows) {
    const r = row as {
      seq: number; batch_id: number; epoch: number; timestamp_us: number; status: number; count: number; recorded_ms: number;
      input_format: ArrayFormat; input_shape: string; input: Buffer; output_format: ArrayFormat; output_shape: string; output: Buffer;
    };
    const inputShape = JSON.parse(r.input_shape) as number[];
    const outputShape = JSON.parse(r.output_shape) as number[];
    yield {
      seq: r.seq, batchId: r.batch_id, epoch: r.epoch, timestampUs: r.timestamp_us, status: r.status, count: r.count, recordedMs: r.recorded_ms,
      inputFormat: r.input_format, inputShape, input: decodeF32LE(r.input, inputShape, `run ${runId} batch ${r.seq} input`),
      outputFormat: r.output_format, outputShape, output: decodeF32LE(r.output, outputShape, `run ${runId} batch ${r.seq} output`),
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
