/**
 * Proves over the database that every recorded (drive, response) pair of a run is sound: the rows
 * are all there, each blob is the one acquired, and each batch joins its neighbours the way the
 * protocol's continuity rules allow (firmware-protocol/SPEC.md section 6), so a trainer that
 * reads the run back never splices across a break it cannot see.
 *
 * ```ts
 * const v = verifyRun(db, runId);
 * if (!v.ok) console.error(v.problems.join('\n'));
 * ```
 *
 * Rules, one problem string per violation, naming the seq and batch id:
 * - seq runs 0..n-1 without holes (a missing row is a hidden gap);
 * - the stored CRC-32C matches input blob + output blob (a v1 row without one is 'unverifiable',
 *   which is not ok: nothing proves its bytes);
 * - shapes are JSON lists of non-negative integers, formats known, blob lengths 4 bytes per
 *   element of the shape, and `count` the shapes' first dimension;
 * - a segment is a maximal stretch of consecutive batches with one epoch and no reset, boot or
 *   reconnect event between them; inside it batch ids
 *   step by exactly 1 (u32, wrapping past 0xffffffff to 1, as the client numbers them) and device
 *   timestamps never go back; the epoch may change only where a 'reset', 'boot' or 'reconnect'
 *   event was recorded between the two batches;
 * - every batch's status is 0;
 * - a run recorded with a sampling policy (a 'recording' event, e.g. `{ batches: 'every 100' }`,
 *   before its first batch) keeps one batch in N, so inside a segment its batch ids only have to
 *   increase;
 * - every artifact of the run reads back and its JSON parses; a model artifact that names the file
 *   it was saved to matches that file when the file is still there;
 * - a run copied by salvage that lost rows (a 'salvaged' event) says so;
 * - the database as a whole passes SQLite's quick_check (a damaged page elsewhere in the file
 *   makes every run in it suspect), and every row of the run can be read at all.
 *
 * Reads one row at a time, so memory stays bounded for runs of any length.
 */
import type Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { crc32c } from '../protocol/crc32c.js';
import { MAX_DIMS } from './blob.js';
import { quickCheck } from './open.js';
import { hasV2 } from './read.js';
import { EPOCH_CHANGE_EVENTS } from './schema.js';

export interface VerifyOptions {
  /** Keep at most this many problem strings; the rest are only counted in `omitted`. Defaults to 100. */
  maxProblems?: number;
  /** Run SQLite's quick_check on the whole database too (it reads every page). Defaults to true. */
  integrity?: boolean;
}

export interface VerifyResult {
  /** True when no rule is violated and every batch has a checksum that matches. */
  ok: boolean;
  runId: number;
  /** Batch rows found. */
  batches: number;
  /** Samples (sum of `count`) in those rows. */
  samples: number;
  /** Stretches of consecutive batches with one epoch. */
  segments: number;
  /** Events recorded, by kind. */
  events: Record<string, number>;
  /** The first `maxProblems` problems, in seq order. */
  problems: string[];
  /** Problems found beyond those listed. */
  omitted: number;
  /** SQLite's quick_check of the whole file: 'ok', its first problems, or 'skipped'. */
  integrity: 'ok' | 'skipped' | string[];
  /** Artifacts read back. */
  artifacts: number;
  /** The run's recording policy for batches when it kept fewer than all ('every 100', 'none'). */
  sampled: string | null;
}

/** Thrown when the run to verify does not exist. */
export class RunNotFoundError extends Error {
  override name = 'RunNotFoundError';
}

const FORMATS = new Set(['u16', 'i16', 'f32', 'f64']);

interface Row {
  seq: number; batch_id: number; epoch: number; timestamp_us: number; status: number; count: number;
  input_format: string; input_shape: string; input: Buffer; output_format: string; output_shape: string; output: Buffer;
  checksum: number | null;
}

/** Checks a run against the rules in the module comment; throws RunNotFoundError for an unknown run id. */
export function verifyRun(db: Database.Database, runId: number, opts: VerifyOptions = {}): VerifyResult {
  if (typeof runId !== 'number' || !Number.isSafeInteger(runId) || runId < 1) throw new TypeError(`run id must be a positive integer, got ${String(runId)}`);
  const max = opts.maxProblems ?? 100;
  if (!Number.isSafeInteger(max) || max < 0) throw new RangeError(`verifyRun: maxProblems must be a non-negative integer, got ${max}`);
  if (!db.prepare('SELECT 1 FROM runs WHERE id = ?').get(runId)) throw new RunNotFoundError(`run ${runId} not found`);

  const v2 = hasV2(db);
  const result: VerifyResult = { ok: true, runId, batches: 0, samples: 0, segments: 0, events: {}, problems: [], omitted: 0, integrity: 'skipped', artifacts: 0, sampled: null };
  const problem = (s: string): void => {
    result.ok = false;
    if (result.problems.length < max) result.problems.push(s);
    else result.omitted++;
  };

  // Events are few (one per break, not per batch), so the epoch-change ones fit in memory.
  if (opts.integrity ?? true) {
    const found = readable(() => quickCheck(db), 'the database', problem) ?? ['unreadable'];
    result.integrity = found.length === 0 ? 'ok' : found;
    for (const f of found) problem(`database: quick_check: ${f}`);
  }
  const epochChanges: number[] = [];
  if (v2) {
    readable(() => {
      for (const e of db.prepare('SELECT kind, seq_after, detail FROM events WHERE run_id = ? ORDER BY seq_after, id').iterate(runId) as Iterable<{ kind: string; seq_after: number; detail: string | null }>) {
        result.events[e.kind] = (result.events[e.kind] ?? 0) + 1;
        if (EPOCH_CHANGE_EVENTS.includes(e.kind)) epochChanges.push(e.seq_after);
        if (e.kind === 'recording' && e.seq_after === 0) result.sampled = policyOf(e.detail);
        if (e.kind === 'salvaged') problem(`salvaged: ${salvageNote(e.detail)}`);
      }
    }, 'events', problem);
  }
  checkArtifacts(db, runId, result, problem);
  let nextChange = 0;
  /** True when an epoch-change event has seq_after in (prevSeq, seq]; consumes the ones passed. */
  const changeBetween = (prevSeq: number, seq: number): boolean => {
    while (nextChange < epochChanges.length && epochChanges[nextChange] <= prevSeq) nextChange++;
    return nextChange < epochChanges.length && epochChanges[nextChange] <= seq;
  };

  // Runs of rows without checksum are reported as one range, not one line per row of a v1 run.
  let uncheckedFrom = -1;
  let uncheckedTo = -1;
  const flushUnchecked = (): void => {
    if (uncheckedFrom < 0) return;
    problem(uncheckedFrom === uncheckedTo
      ? `seq ${uncheckedFrom}: no checksum (a schema v1 row): unverifiable`
      : `seq ${uncheckedFrom}..${uncheckedTo}: no checksum (schema v1 rows): unverifiable`);
    uncheckedFrom = uncheckedTo = -1;
  };

  let prev: Row | null = null;
  const rows = db.prepare(`SELECT seq, batch_id, epoch, timestamp_us, status, count, input_format, input_shape, input,
    output_format, output_shape, output, ${v2 ? 'checksum' : 'NULL AS checksum'} FROM batches WHERE run_id = ? ORDER BY seq`).iterate(runId);
  const sampled = result.sampled !== null;
  readable(() => { for (const raw of rows) {
    const r = raw as Row;
    const at = `seq ${r.seq} (batch ${r.batch_id})`;
    result.batches++;
    result.samples += r.count;

    const expectedSeq = prev === null ? 0 : prev.seq + 1;
    if (r.seq !== expectedSeq) {
      flushUnchecked();
      problem(r.seq - 1 === expectedSeq
        ? `seq ${expectedSeq}: missing row (a hidden gap before ${at})`
        : `seq ${expectedSeq}..${r.seq - 1}: ${r.seq - expectedSeq} missing rows (a hidden gap before ${at})`);
    }

    if (r.checksum === null) {
      if (uncheckedFrom < 0) uncheckedFrom = r.seq;
      uncheckedTo = r.seq;
    } else {
      flushUnchecked();
      const actual = crc32c(Buffer.concat([r.input, r.output]));
      if (actual !== r.checksum) problem(`${at}: checksum mismatch: stored ${hex(r.checksum)}, blobs give ${hex(actual)}`);
    }

    checkArray(r, 'input', r.input_format, r.input_shape, r.input, at, problem);
    checkArray(r, 'output', r.output_format, r.output_shape, r.output, at, problem);
    if (r.status !== 0) problem(`${at}: status ${r.status}, not 0 (ok)`);

    // A recorded reset, boot or reconnect also ends a segment when a board kept its epoch (against
    // SPEC 6): what lies on either side was measured from different starts either way.
    const boundary = prev !== null && changeBetween(prev.seq, r.seq);
    if (prev === null || r.epoch !== prev.epoch || boundary) {
      result.segments++;
      if (prev !== null && r.epoch !== prev.epoch && !boundary) {
        problem(`${at}: epoch changed from ${prev.epoch} to ${r.epoch} with no reset, boot or reconnect event after seq ${prev.seq}`);
      }
    } else if (r.seq === expectedSeq) {
      // Across a hidden gap the missing rows explain any jump; it is reported once, above.
      const want = (prev.batch_id + 1) % 0x1_0000_0000 || 1;
      // A sampled run skips batches on purpose: its ids only move forward (past a wrap at 2^32).
      const forward = sampled && ((r.batch_id - prev.batch_id + 0x1_0000_0000) % 0x1_0000_0000) < 0x8000_0000 && r.batch_id !== prev.batch_id;
      if (r.batch_id !== want && !forward) problem(`${at}: batch id ${r.batch_id} after ${prev.batch_id} in epoch ${r.epoch}, expected ${sampled ? 'a later one' : want}`);
      if (r.timestamp_us < prev.timestamp_us) problem(`${at}: device timestamp went back from ${prev.timestamp_us} to ${r.timestamp_us} us in epoch ${r.epoch}`);
    } else if (r.timestamp_us < prev.timestamp_us) {
      problem(`${at}: device timestamp went back from ${prev.timestamp_us} to ${r.timestamp_us} us in epoch ${r.epoch}`);
    }
    prev = r;
  } }, () => `batches after seq ${prev === null ? 'start' : (prev as Row).seq}`, problem);
  flushUnchecked();
  return result;
}

/** Runs `f`, turning an error of the database itself (a damaged page) into a problem about `what`; undefined then. */
function readable<T>(f: () => T, what: string | (() => string), problem: (s: string) => void): T | undefined {
  try {
    return f();
  } catch (e) {
    const code = String((e as { code?: unknown }).code ?? '');
    if (!code.startsWith('SQLITE_')) throw e;
    problem(`${typeof what === 'string' ? what : what()}: unreadable (${(e as Error).message})`);
    return undefined;
  }
}

/** What a 'salvaged' event (record/salvage.ts) says the copy lost. */
function salvageNote(detail: string | null): string {
  try {
    const d = JSON.parse(detail ?? 'null') as { from?: unknown; lost?: unknown; lostCount?: unknown };
    const lost = Array.isArray(d.lost) ? d.lost.slice(0, 5).map(String) : [];
    return `copied from ${String(d.from)}, where ${String(d.lostCount)} row(s) could not be read: ${lost.join(', ')}${Number(d.lostCount) > lost.length ? ', ...' : ''}`;
  } catch {
    return 'copied from a damaged file; what it lost is not readable';
  }
}

function policyOf(detail: string | null): string | null {
  try {
    const b = (JSON.parse(detail ?? 'null') as { batches?: unknown } | null)?.batches;
    return typeof b === 'string' && b !== 'all' ? b : null;
  } catch {
    return null;
  }
}

/** Every artifact reads back and parses; a model artifact matches the file it names, if that is still there. */
function checkArtifacts(db: Database.Database, runId: number, result: VerifyResult, problem: (s: string) => void): void {
  readable(() => {
    for (const a of db.prepare('SELECT name, kind, json FROM artifacts WHERE run_id = ? ORDER BY id').iterate(runId) as Iterable<{ name: string; kind: string; json: string | null }>) {
      result.artifacts++;
      if (a.json === null) continue;
      let value: unknown;
      try {
        value = JSON.parse(a.json);
      } catch {
        problem(`artifact ${a.name}: its JSON does not parse`);
        continue;
      }
      const savedTo = a.kind === 'model' ? (value as { savedTo?: unknown } | null)?.savedTo : undefined;
      if (typeof savedTo !== 'string') continue;
      let text: string;
      try {
        text = readFileSync(savedTo, 'utf8');
      } catch {
        continue; // moved or deleted: the artifact is the copy that counts
      }
      const { savedTo: _s, ...saved } = value as Record<string, unknown>;
      if (text !== JSON.stringify(saved)) problem(`artifact ${a.name}: the model file ${savedTo} differs from the model recorded in the run`);
    }
  }, 'artifacts', problem);
}

function checkArray(r: Row, what: string, format: string, shapeJson: string, blob: Buffer, at: string, problem: (s: string) => void): void {
  if (!FORMATS.has(format)) problem(`${at}: ${what} format ${JSON.stringify(format)} is not u16, i16, f32 or f64`);
  let shape: unknown;
  try {
    shape = JSON.parse(shapeJson);
  } catch {
    return problem(`${at}: ${what} shape ${JSON.stringify(shapeJson)} is not JSON`);
  }
  if (!Array.isArray(shape) || shape.length === 0 || shape.length > MAX_DIMS || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    return problem(`${at}: ${what} shape ${shapeJson} is not a list of 1..${MAX_DIMS} non-negative integers`);
  }
  const n = (shape as number[]).reduce((a, d) => a * d, 1);
  if (blob.length !== n * 4) problem(`${at}: ${what} blob is ${blob.length} bytes, shape ${shapeJson} needs ${n * 4} (float32)`);
  if (shape[0] !== r.count) problem(`${at}: count ${r.count} but ${what} shape ${shapeJson} has ${String(shape[0])} rows`);
}

const hex = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
