/**
 * What the live view reads from a run database: everything committed since a cursor, in small
 * indexed queries on a read-only connection, so a viewer costs the recorder nothing but a WAL
 * reader (which never blocks a writer) and a few milliseconds of SQLite per poll.
 *
 * ```ts
 * const db = openRecordDb('rhil.db', { readonly: true });
 * let cursor = START;
 * const s = readLiveState(db, 12, cursor); // s.metrics: the points recorded since
 * cursor = s.cursor;
 * ```
 */
import type Database from 'better-sqlite3';
import { decodeF32LE } from '../record/blob.js';
import { hasV2 } from '../record/read.js';
import type { RunStatus } from '../record/schema.js';

/** Where the previous read stopped: the last metric and event ids, and the last batch seq seen. */
export interface LiveCursor {
  metricId: number;
  eventId: number;
  seq: number;
}

export const START: LiveCursor = { metricId: 0, eventId: 0, seq: -1 };

export interface LiveRun {
  id: number;
  kind: string;
  /** As recorded; 'running' with a heartbeat older than the recorder's stale limit is reported 'interrupted'. */
  status: RunStatus;
  error: string | null;
  startedMs: number;
  endedMs: number | null;
  seed: number | null;
  device: string | null;
}

export interface LiveWindow {
  seq: number;
  epoch: number;
  inputFormat: string;
  outputFormat: string;
  /** Channel-major: drive[c][t]. */
  drive: number[][];
  response: number[][];
  /** Channels the batch has (the window may show fewer). */
  inChannels: number;
  outChannels: number;
}

export interface LiveState {
  run: LiveRun;
  /** [name, step, value] since the cursor; value null for NaN. */
  metrics: [string, number, number | null][];
  /** True when more metric points wait than one read returns (the client asks again at once). */
  moreMetrics: boolean;
  events: { id: number; seqAfter: number; tMs: number; kind: string; detail: string | null }[];
  /** Batches and samples recorded since the cursor (the client keeps the totals: no poll scans the whole run). */
  newBatches: number;
  newSamples: number;
  /** [seconds since start, samples] per whole second of recording time, for the batches since the cursor. */
  rates: [number, number][];
  /** The newest batch, when there is one newer than the cursor. */
  window: LiveWindow | null;
  cursor: LiveCursor;
}

export interface LiveReadOptions {
  /** Metric points per read. Defaults to 5000. */
  maxMetrics?: number;
  /** Channels of each kind in the window (the page draws 8). Defaults to 8. */
  maxChannels?: number;
  /** Now, in Unix ms, to judge a heartbeat's age. Defaults to Date.now(). */
  now?: number;
  /** A running run whose heartbeat is older than this is reported interrupted. Defaults to 60000 (the recorder's). */
  staleMs?: number;
}

// Prepared once per connection: preparing costs more than running these small queries.
const prepared = new WeakMap<Database.Database, Map<string, Database.Statement>>();
function stmt(db: Database.Database, sql: string): Database.Statement {
  let m = prepared.get(db);
  if (!m) prepared.set(db, m = new Map());
  let s = m.get(sql);
  if (!s) m.set(sql, s = db.prepare(sql));
  return s;
}

/** The run's status alone (one row), judged as {@link readLiveState} does; null when there is no such run. */
export function readRunStatus(db: Database.Database, runId: number, opts: Pick<LiveReadOptions, 'now' | 'staleMs'> = {}): RunStatus | null {
  const r = stmt(db, 'SELECT status, heartbeat_ms FROM runs WHERE id = ?').get(runId) as { status: RunStatus; heartbeat_ms: number } | undefined;
  if (!r) return null;
  return r.status === 'running' && (opts.now ?? Date.now()) - r.heartbeat_ms > (opts.staleMs ?? 60_000) ? 'interrupted' : r.status;
}

/** The run's state and what it recorded after `cursor`. Throws a RangeError when there is no such run. */
export function readLiveState(db: Database.Database, runId: number, cursor: LiveCursor, opts: LiveReadOptions = {}): LiveState {
  const maxMetrics = opts.maxMetrics ?? 5000;
  const r = stmt(db, `SELECT r.id, r.kind, r.status, r.error, r.started_ms, r.ended_ms, r.seed, r.heartbeat_ms,
      d.vendor, d.model, d.serial FROM runs r LEFT JOIN devices d ON d.id = r.device_id WHERE r.id = ?`).get(runId) as {
    id: number; kind: string; status: RunStatus; error: string | null; started_ms: number; ended_ms: number | null; seed: number | null;
    heartbeat_ms: number; vendor: string | null; model: string | null; serial: string | null;
  } | undefined;
  if (!r) throw new RangeError(`no run ${runId} in ${db.name}`);
  const now = opts.now ?? Date.now();
  let status = r.status;
  let error = r.error;
  if (status === 'running' && now - r.heartbeat_ms > (opts.staleMs ?? 60_000)) {
    status = 'interrupted';
    error = `no heartbeat from the recording process for ${Math.round((now - r.heartbeat_ms) / 1000)} s: it is probably gone`;
  }

  const metricRows = stmt(db, 'SELECT id, name, step, value FROM metrics WHERE id > ? AND run_id = ? ORDER BY id LIMIT ?')
    .raw(true).all(cursor.metricId, runId, maxMetrics + 1) as [number, string, number, number | null][];
  const moreMetrics = metricRows.length > maxMetrics;
  if (moreMetrics) metricRows.length = maxMetrics;
  const events = hasV2(db)
    ? (stmt(db, 'SELECT id, seq_after, t_ms, kind, detail FROM events WHERE id > ? AND run_id = ? ORDER BY id LIMIT 500')
      .all(cursor.eventId, runId) as { id: number; seq_after: number; t_ms: number; kind: string; detail: string | null }[])
      .map((e) => ({ id: e.id, seqAfter: e.seq_after, tMs: e.t_ms, kind: e.kind, detail: e.detail }))
    : [];

  // Only the small columns: the blobs of every batch are never read, just the newest one's.
  const rates = new Map<number, number>();
  let lastSeq = cursor.seq;
  let newBatches = 0, newSamples = 0;
  for (const [seq, count, ms] of stmt(db, 'SELECT seq, count, recorded_ms FROM batches WHERE run_id = ? AND seq > ? ORDER BY seq')
    .raw(true).iterate(runId, cursor.seq) as Iterable<[number, number, number]>) {
    const sec = Math.floor((ms - r.started_ms) / 1000);
    rates.set(sec, (rates.get(sec) ?? 0) + count);
    lastSeq = seq;
    newBatches++;
    newSamples += count;
  }
  const window = lastSeq > cursor.seq ? readWindow(db, runId, lastSeq, opts.maxChannels ?? 8) : null;

  return {
    run: {
      id: r.id, kind: r.kind, status, error, startedMs: r.started_ms, endedMs: r.ended_ms, seed: r.seed,
      device: r.vendor === null ? null : `${r.vendor} ${r.model}, serial ${r.serial}`,
    },
    metrics: metricRows.map(([, name, step, value]) => [name, step, value]),
    moreMetrics,
    events,
    newBatches,
    newSamples,
    rates: [...rates.entries()],
    window,
    cursor: {
      metricId: metricRows.length ? metricRows[metricRows.length - 1][0] : cursor.metricId,
      eventId: events.length ? events[events.length - 1].id : cursor.eventId,
      seq: lastSeq,
    },
  };
}

function readWindow(db: Database.Database, runId: number, seq: number, maxChannels: number): LiveWindow | null {
  const b = stmt(db, 'SELECT epoch, input_format, input_shape, input, output_format, output_shape, output FROM batches WHERE run_id = ? AND seq = ?')
    .get(runId, seq) as { epoch: number; input_format: string; input_shape: string; input: Buffer; output_format: string; output_shape: string; output: Buffer } | undefined;
  if (!b) return null;
  const inShape = JSON.parse(b.input_shape) as number[];
  const outShape = JSON.parse(b.output_shape) as number[];
  const columns = (buf: Buffer, shape: number[], what: string) => {
    const data = decodeF32LE(buf, shape, `run ${runId} batch ${seq} ${what}`);
    const rows = shape[0] ?? 0;
    const width = shape.length > 1 ? shape.slice(1).reduce((a, c) => a * c, 1) : 1;
    return {
      width,
      cols: Array.from({ length: Math.min(width, maxChannels) }, (_, c) => Array.from({ length: rows }, (_, t) => {
        const v = data[t * width + c];
        // Device units are mostly whole numbers; only others pay for rounding.
        return Number.isInteger(v) ? v : Number.isFinite(v) ? Number(v.toPrecision(6)) : NaN;
      })),
    };
  };
  const i = columns(b.input, inShape, 'input');
  const o = columns(b.output, outShape, 'output');
  return {
    seq, epoch: b.epoch, inputFormat: b.input_format, outputFormat: b.output_format,
    drive: i.cols, response: o.cols, inChannels: i.width, outChannels: o.width,
  };
}
