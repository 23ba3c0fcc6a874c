/**
 * One way to run recorded work (calibrate, train, run, bench): the run row, the device's batches
 * and events as they happen, metrics and artifacts from the body, a final status, and Ctrl-C
 * handling that lets the body stop cleanly.
 *
 * ```ts
 * const result = await withRecordedRun({ db: 'rhil.db', kind: 'train', config, seed, device }, async (ctx) => {
 *   const r = await train({ ...opts, device, signal: ctx.signal });
 *   ctx.metric('test_nmse', 0, r.test.value);
 *   ctx.artifact('model', 'model', r);
 *   return r;
 * });
 * ```
 *
 * Status: the body resolves -> 'completed'; it throws TrainingInterrupted, or anything after
 * ctx.signal was aborted -> 'interrupted' (the error is rethrown); anything else -> 'failed' with
 * the error's message (rethrown). A recording failure (disk full, the file taken away) stops the
 * body through ctx.signal and is what the caller gets: data that is not being saved is not a run.
 */
import type Database from 'better-sqlite3';
import { rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Subscription } from 'rxjs';
import type { Device, DeviceEvent } from '../device/client.js';
import { DamagedDbError, leaveFailureMarker, openRecordDb } from '../record/open.js';
import { RunRecorder } from '../record/recorder.js';
import { type RunKind, SchemaError } from '../record/schema.js';
import { type RecordPolicy, policyText } from './record-policy.js';

export interface RecordedRunOptions {
  /** SQLite path. Defaults to none: nothing is recorded (signals are still handled). */
  db?: string;
  kind: RunKind;
  /** Resolved settings, stored as JSON. */
  config: unknown;
  seed?: number;
  /** tfjs backend name. */
  backend?: string;
  /** Its INFO is the run's device; its results$ are recorded batch by batch, its events$ as events. */
  device?: Device;
  /** Row of `calibrations` the run uses. */
  calibrationId?: number;
  /**
   * Which of the device's batches to record (its identity and events are recorded either way):
   * all, none (a throughput benchmark, which would time its own database writes), or every Nth.
   * Defaults to all; false is none.
   */
  recordBatches?: RecordPolicy | false;
  /**
   * The first SIGINT/SIGTERM aborts ctx.signal (the body finishes the batch in flight, the run is
   * flushed and marked 'interrupted'); the second exits at once with code 130, leaving what was
   * committed valid. Defaults to true.
   */
  handleSignals?: boolean;
  /** Where to say "interrupting…". Defaults to standard error. */
  log?: (line: string) => void;
  /** How long opening and each commit wait for another writer's lock, in ms. Defaults to 5000. */
  busyTimeoutMs?: number;
}

export interface RunContext {
  /** Null when not recording. */
  runId: number | null;
  /** Aborted by the first SIGINT/SIGTERM, or when recording fails. */
  signal: AbortSignal;
  metric(name: string, step: number, value: number): void;
  artifact(name: string, kind: string, value: unknown, opts?: { replace?: boolean }): void;
  event(kind: string, detail?: unknown): void;
}

/** The run database cannot be used: locked, read-only, not a run database, or nowhere to create it. */
export class RecordDbError extends Error {
  override name = 'RecordDbError';
  constructor(readonly path: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export { SessionError } from './errors.js';

/** The reason ctx.signal carries after SIGINT/SIGTERM (a recording failure carries its RecordDbError). */
export class InterruptRequest extends Error {
  override name = 'InterruptRequest';
}

/** True when `signal` was aborted by the user (SIGINT/SIGTERM), not by a recording failure. */
export function interruptRequested(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true && signal.reason instanceof InterruptRequest;
}

/** Exit status of a process ended by a second interrupt (128 + SIGINT), as shells report it. */
export const INTERRUPT_EXIT_CODE = 130;

/**
 * An error that asks the command line to exit with `exitCode` (say, 130 after an interrupt)
 * rather than the usual 1, after printing its message.
 */
export class ExitError extends Error {
  override name = 'ExitError';
  constructor(message: string, readonly exitCode: number) {
    super(message);
  }
}

/**
 * True for an error that means the work was stopped on request rather than failed. Trainers'
 * TrainingInterrupted is known by name, so that recording calibrations and plain runs does not
 * load tfjs through the trainers' module.
 */
export function isInterruption(e: unknown, signal?: AbortSignal): boolean {
  return (e instanceof Error && e.name === 'TrainingInterrupted') || interruptRequested(signal);
}

export async function withRecordedRun<T>(opts: RecordedRunOptions, body: (ctx: RunContext) => Promise<T>): Promise<T> {
  const log = opts.log ?? ((line: string) => { process.stderr.write(`${line}\n`); });
  const controller = new AbortController();
  let db: Database.Database | null = null;
  let rec: RunRecorder | null = null;
  let reserve: Reserve | null = null;
  if (opts.db !== undefined) {
    const path = opts.db;
    db = openDb(path, opts.busyTimeoutMs);
    try {
      rec = new RunRecorder(db);
      rec.startRun({
        kind: opts.kind, config: opts.config, seed: opts.seed, backend: opts.backend,
        device: opts.device ? { ...opts.device.info } : undefined, calibrationId: opts.calibrationId,
      });
    } catch (e) {
      db.close();
      throw explainDbError(path, e);
    }
    // After the run row: on a nearly full disk the run itself comes first.
    reserve = new Reserve(`${path}-reserve-${process.pid}`);
  }

  // A recording failure inside an observer cannot be thrown to anyone (rxjs would rethrow it
  // asynchronously and kill the process), so it is kept, stops the body, and is reported at the end.
  let recordFailure: Error | null = null;
  const failed = (e: unknown) => {
    if (recordFailure) return;
    recordFailure = explainDbError(opts.db!, e, 'recording');
    controller.abort(recordFailure);
  };
  const subs: Subscription[] = [];
  if (rec && opts.device) {
    const r = rec;
    const policy = opts.recordBatches === false ? 'none' : opts.recordBatches ?? 'all';
    // Said first, so that a reader (verify) knows the batch ids of a sampled run step by more than 1.
    if (policy !== 'all') r.recordEvent('recording', { batches: policyText(policy) });
    if (policy !== 'none') {
      const every = policy === 'all' ? 1 : policy.every;
      let n = 0;
      subs.push(opts.device.results$.subscribe((b) => {
        if (recordFailure || n++ % every !== 0) return;
        try { r.recordBatch(b); } catch (e) { failed(e); }
      }));
    }
    subs.push(opts.device.events$.subscribe((ev) => {
      if (recordFailure) return;
      try { r.recordEvent(ev.type, eventDetail(ev)); } catch (e) { failed(e); }
    }));
  }

  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupts++;
    if (interrupts === 1) {
      log(`rhil: ${sig}: interrupting… (finishing the batch in flight; press Ctrl-C again to exit at once)`);
      controller.abort(new InterruptRequest(`interrupted by ${sig}`));
      return;
    }
    // Every commit is synchronous, so none is half done here; marking the run spares the next
    // open from having to discover a dead writer.
    try { rec?.finish('interrupted', `exited at once on a second ${sig}`); } catch { /* the next open marks it */ }
    try { db?.close(); } catch { /* exiting anyway */ }
    process.exit(INTERRUPT_EXIT_CODE);
  };
  const handle = opts.handleSignals ?? true;
  if (handle) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  const guard = <A extends unknown[]>(f: (...a: A) => void) => (...a: A): void => {
    if (!rec) return;
    if (recordFailure) throw recordFailure;
    try { f(...a); } catch (e) {
      // A bad argument or a duplicate artifact name is the caller's bug, not a broken database.
      if (!isDbTrouble(e)) throw e;
      failed(e);
      throw recordFailure!;
    }
  };
  const ctx: RunContext = {
    runId: rec ? rec.runId : null,
    signal: controller.signal,
    metric: guard((name: string, step: number, value: number) => { rec!.recordMetric(name, step, value); }),
    artifact: guard((name: string, kind: string, value: unknown, o?: { replace?: boolean }) => {
      rec!.saveArtifact(name, kind, value, { replace: o?.replace ?? false });
    }),
    event: guard((kind: string, detail?: unknown) => { rec!.recordEvent(kind, detail); }),
  };

  try {
    let result: T;
    try {
      result = await body(ctx);
    } catch (e) {
      if (recordFailure) throw recordFailure;
      const status = isInterruption(e, controller.signal) ? 'interrupted' : 'failed';
      finishQuietly(rec, status, e);
      throw e;
    }
    if (recordFailure) throw recordFailure;
    try {
      rec?.finish('completed');
    } catch (e) {
      failed(e);
      throw recordFailure!;
    }
    return result;
  } catch (e) {
    if (e !== recordFailure || !rec) throw e;
    // One line for the user: the cause, and where the run's failure is noted. On a full disk the
    // reserve's space is what lets the final status (or the marker) be written.
    reserve?.release();
    const failure = e as unknown as Error;
    const where = finishQuietly(rec, 'failed', failure) ? `run ${rec.runId} marked failed`
      : leaveFailureMarker(opts.db!, rec.runId, failure.message) ? `run ${rec.runId} will be marked failed at the next open of ${opts.db}`
        : `run ${rec.runId} could not be marked failed (the next open marks it interrupted)`;
    throw new RecordDbError(opts.db!, `${failure.message}; ${where}`, { cause: failure.cause });
  } finally {
    for (const s of subs) s.unsubscribe();
    if (handle) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    try { db?.close(); } catch { /* nothing left to save */ }
    reserve?.release();
  }
}

/**
 * A little disk space held beside the database while a run records: when the disk fills, freeing
 * it is what lets the run's final status or its failure marker still be written. Best effort: on
 * a disk already too full for it, there is simply none.
 */
class Reserve {
  /** Room for the status update's WAL frames (a few 4 KiB pages) with margin. */
  static readonly BYTES = 64 * 1024;
  private held: boolean;
  constructor(private readonly path: string) {
    try {
      writeFileSync(path, Buffer.alloc(Reserve.BYTES), { flag: 'w' });
      this.held = true;
    } catch {
      rmSync(path, { force: true });
      this.held = false;
    }
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    rmSync(this.path, { force: true });
  }
}

const TROUBLE = /^SQLITE_(BUSY|LOCKED|READONLY|FULL|IOERR|CORRUPT|NOTADB|CANTOPEN|PERM|NOMEM)/;

/** An error of the database itself (as opposed to a misuse by the caller, like a constraint). */
function isDbTrouble(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && TROUBLE.test(code);
}

/** Finishes the run with `status`; false when the database refused even that. */
function finishQuietly(rec: RunRecorder | null, status: 'failed' | 'interrupted', e: unknown): boolean {
  try {
    rec?.finish(status, e);
    return true;
  } catch {
    // The database is what failed (or the run is finished): the body's error says more than this one.
    return false;
  }
}

/** A device event as JSON: its fields without the tag, an Error as its message. */
function eventDetail(ev: DeviceEvent): Record<string, unknown> | undefined {
  const { type: _type, ...rest } = ev;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) out[k] = v instanceof Error ? v.message : v;
  return Object.keys(out).length ? out : undefined;
}

function openDb(path: string, busyTimeoutMs = 5000): Database.Database {
  try {
    return openRecordDb(path, { busyTimeoutMs, checkIntegrity: true });
  } catch (e) {
    throw explainDbError(path, e, 'opening', busyTimeoutMs);
  }
}

/** One clear sentence for what went wrong with the database at `path`, and what to do. */
export function explainDbError(path: string, e: unknown, doing: 'opening' | 'recording' = 'opening', busyTimeoutMs = 5000): Error {
  if (e instanceof RecordDbError) return e;
  const err = e as Error & { code?: unknown };
  const code = typeof err?.code === 'string' ? err.code : '';
  const msg = err instanceof Error ? err.message : String(e);
  const other = 'or pass --db another.db (or --no-record)';
  const make = (text: string) => new RecordDbError(path, text, { cause: e });
  if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_') || code === 'SQLITE_LOCKED' || code.startsWith('SQLITE_LOCKED_')) {
    return make(`${path} is locked by another process (another writer held it for over ${busyTimeoutMs / 1000} s); wait for it ${other}`);
  }
  if (code === 'SQLITE_READONLY' || code.startsWith('SQLITE_READONLY_')) {
    return make(`${path} is read-only (${msg}); make it and its directory writable ${other}`);
  }
  if (e instanceof DamagedDbError || code === 'SQLITE_CORRUPT' || code.startsWith('SQLITE_CORRUPT_')) {
    const what = e instanceof DamagedDbError ? e.message : `${path} is damaged (${msg})`;
    return make(`${what}; nothing more is recorded into it: rhil runs salvage ${path} NEW.db copies its readable runs; then pass --db NEW.db (or --no-record)`);
  }
  if (code === 'SQLITE_NOTADB' || e instanceof SchemaError) {
    return make(`${path} is not a run database this program can use (${msg}); ${other.replace(/^or /, '')}`);
  }
  if (e instanceof TypeError && /directory does not exist/.test(msg)) {
    return make(`cannot create ${path}: directory ${dirname(path)} does not exist; create it ${other}`);
  }
  if (code === 'SQLITE_CANTOPEN' || code.startsWith('SQLITE_CANTOPEN_') || code === 'SQLITE_PERM' || code === 'SQLITE_AUTH') {
    return make(`cannot open ${path} for writing (${msg}); check the path and its permissions ${other}`);
  }
  if (code === 'SQLITE_FULL' || code === 'SQLITE_IOERR' || code.startsWith('SQLITE_IOERR_')) {
    return make(`${doing === 'opening' ? 'opening' : 'writing to'} ${path} failed (${msg}); free some disk space ${other}`);
  }
  if (code.startsWith('SQLITE_')) return make(`${doing === 'opening' ? 'opening' : 'writing to'} ${path} failed: ${msg}`);
  return err instanceof Error ? err : new Error(msg);
}
