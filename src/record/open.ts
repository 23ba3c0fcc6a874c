/**
 * Opening a run database: the pragmas a recorder relies on, the schema, the integrity check a
 * writer makes before it adds to a file, read-only media, and the bookkeeping of runs whose writer
 * is gone.
 *
 * Interrupted runs. A running run carries its writer's `host`, `pid` and a `heartbeat_ms` refreshed
 * on commits and at least every `heartbeatMs` (default 5 s). {@link markInterruptedRuns} (run by
 * {@link openRecordDb}) sets a 'running' run to 'interrupted' when
 * - it was written on this host and its pid is not a live process (gone, or a zombie), or is this
 *   very process (a container restarted as the same pid); or
 * - its heartbeat is older than `staleAfterMs` (default 60 s), whatever the host (covers a reused
 *   pid, and writers on another host or in another container sharing the file);
 * and never while a RunRecorder of this process holds it. A writer that was only frozen (SIGSTOP,
 * a blocked event loop longer than `staleAfterMs`) and is marked keeps recording, and its `finish`
 * sets the final status. `ended_ms` is then the last heartbeat, the last moment the writer was
 * known alive.
 *
 * Failed runs whose database could not take the news. When a write fails (a full disk) and even
 * the final status cannot be committed, the writer leaves a one-line marker in `<db>-failed` (see
 * {@link leaveFailureMarker}); the next writable open marks those runs 'failed' with their cause
 * before judging dead writers, and removes the file.
 */
import Database from 'better-sqlite3';
import { appendFileSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { migrate } from './schema.js';

// A database on read-only media (no -shm can be created beside it) opens only as an immutable URI;
// better-sqlite3 reads this once, when it loads its addon at the first `new Database`.
process.env.SQLITE_USE_URI ??= '1';

export interface OpenRecordDbOptions {
  /** Open an existing database read-only: no migration, no interrupted-run marking; falls back to an immutable open on read-only media. Defaults to false. */
  readonly?: boolean;
  /** 'normal' (survives process crashes) or 'full' (also fsyncs every commit against power loss). Defaults to 'normal'. */
  synchronous?: 'normal' | 'full';
  /** How long a write waits for another connection's lock before failing with SQLITE_BUSY, in ms. Defaults to 5000. */
  busyTimeoutMs?: number;
  /** Heartbeat age after which a 'running' run is interrupted whatever its host and pid, in ms. Defaults to 60000. */
  staleAfterMs?: number;
  /** Run SQLite's quick_check first and refuse a damaged file with a {@link DamagedDbError}. Defaults to false. */
  checkIntegrity?: boolean;
}

/** The file fails SQLite's own integrity check: nothing more may be recorded into it. */
export class DamagedDbError extends Error {
  override name = 'DamagedDbError';
  readonly code = 'SQLITE_CORRUPT';
  constructor(readonly path: string, readonly problems: string[]) {
    super(`${path} is damaged (quick_check: ${problems[0]}${problems.length > 1 ? `, and ${problems.length - 1} more` : ''})`);
  }
}

/**
 * Opens (creating if needed) a run database: WAL journal, the chosen `synchronous` level, a busy
 * timeout, foreign keys on, optionally an integrity check, the schema migrated to the current
 * version, failure markers applied and runs left 'running' by dead processes marked 'interrupted'
 * (see the module comment). A read-only open that the media refuses (no -shm possible) is retried
 * as an immutable one, which reads the file as it stands (a -wal left beside it is not read).
 */
export function openRecordDb(path: string, opts: OpenRecordDbOptions = {}): Database.Database {
  if (typeof path !== 'string' || path === '') throw new TypeError('openRecordDb: path must be a non-empty string');
  const sync = opts.synchronous ?? 'normal';
  if (sync !== 'normal' && sync !== 'full') throw new TypeError(`option synchronous must be 'normal' or 'full', got ${String(sync)}`);
  const busy = checkInt('busyTimeoutMs', opts.busyTimeoutMs, 5000, 0, 3_600_000);
  if (opts.readonly) return openReadOnly(path, busy);
  const db = new Database(path);
  try {
    db.pragma(`busy_timeout = ${busy}`);
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal' && !(db.memory && mode === 'memory')) throw new Error(`${path}: cannot switch to WAL (journal_mode ${String(mode)})`);
    if (opts.checkIntegrity) {
      const problems = quickCheck(db);
      if (problems.length > 0) throw new DamagedDbError(path, problems);
    }
    db.pragma(`synchronous = ${sync.toUpperCase()}`);
    db.pragma('foreign_keys = ON');
    migrate(db);
    if (!db.memory) applyFailureMarkers(db, path);
    markInterruptedRuns(db, { staleAfterMs: opts.staleAfterMs });
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

function openReadOnly(path: string, busy: number): Database.Database {
  const open = (name: string): Database.Database => {
    const db = new Database(name, { readonly: true, fileMustExist: true });
    try {
      db.pragma(`busy_timeout = ${busy}`);
      // Opening reads nothing: the first read is where a missing -shm shows.
      db.pragma('user_version');
      return db;
    } catch (e) {
      db.close();
      throw e;
    }
  };
  try {
    return open(path);
  } catch (e) {
    const code = String((e as { code?: unknown }).code ?? '');
    if (!/^SQLITE_(CANTOPEN|READONLY)/.test(code)) throw e;
    try {
      return open(`file:${encodeURI(path).replace(/[?#]/g, encodeURIComponent)}?immutable=1`);
    } catch {
      throw e;
    }
  }
}

/** SQLite's quick_check (structure, not index contents): [] when sound, else its first problems. */
export function quickCheck(db: Database.Database, max = 10): string[] {
  const rows = db.pragma(`quick_check(${max})`) as { quick_check: string }[];
  // One row may hold several lines, headed by the schema name.
  const out = rows.flatMap((r) => r.quick_check.split('\n')).map((l) => l.trim()).filter((l) => l !== '' && !/^\*\*\* in database/.test(l));
  return out.length === 1 && out[0] === 'ok' ? [] : out.slice(0, max);
}

/** Runs held by a RunRecorder of this process, as `${db.name}\0${runId}`. */
export const liveRuns = new Set<string>();

/** True when `pid` names a live (not zombie) process on this host. */
export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (process.platform === 'linux') {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
    } catch {
      return false;
    }
  }
  return true;
}

export interface MarkInterruptedOptions {
  /** Heartbeat age after which a run is interrupted whatever its host and pid, in ms. Defaults to 60000. */
  staleAfterMs?: number;
  /** Current time in Unix ms. Defaults to Date.now(). */
  now?: number;
}

/**
 * Sets every 'running' run whose writer is gone to 'interrupted' (rule in the module comment) and
 * returns their ids. Safe against a live writer: a row is changed only if its heartbeat is still
 * the one that was judged.
 */
export function markInterruptedRuns(db: Database.Database, opts: MarkInterruptedOptions = {}): number[] {
  const stale = checkInt('staleAfterMs', opts.staleAfterMs, 60_000, 1, Number.MAX_SAFE_INTEGER);
  const now = opts.now ?? Date.now();
  const host = hostname();
  const update = db.prepare(`UPDATE runs SET status = 'interrupted', ended_ms = heartbeat_ms, error = ?
    WHERE id = ? AND status = 'running' AND heartbeat_ms = ?`);
  return db.transaction((): number[] => {
    const rows = db.prepare(`SELECT id, host, pid, heartbeat_ms FROM runs WHERE status = 'running'`).all() as
      { id: number; host: string; pid: number; heartbeat_ms: number }[];
    const marked: number[] = [];
    for (const r of rows) {
      let why: string | null = null;
      if (r.host === host && liveRuns.has(`${db.name}\0${r.id}`)) continue;
      if (r.host === host && (r.pid === process.pid || !pidAlive(r.pid))) {
        why = `writer pid ${r.pid} on ${r.host} is gone`;
      } else if (now - r.heartbeat_ms > stale) {
        why = `no heartbeat from pid ${r.pid} on ${r.host} for ${Math.round((now - r.heartbeat_ms) / 1000)} s`;
      }
      if (why !== null && update.run(why, r.id, r.heartbeat_ms).changes === 1) marked.push(r.id);
    }
    return marked;
  }).immediate();
}

/**
 * Notes beside the database at `path` that run `runId` failed with `message`, for the next
 * writable open to record; for when the database itself refused the final status. Returns false
 * when even that small write failed (the next open then marks the run 'interrupted').
 */
export function leaveFailureMarker(path: string, runId: number, message: string): boolean {
  try {
    appendFileSync(`${path}-failed`, `${JSON.stringify({ runId, host: hostname(), pid: process.pid, error: message.slice(0, 2000), t: Date.now() })}\n`);
    return true;
  } catch {
    return false;
  }
}

/** Marks the runs named in `<path>-failed` as failed (if still running or judged interrupted) and removes the file. */
function applyFailureMarkers(db: Database.Database, path: string): void {
  let text: string;
  try {
    text = readFileSync(`${path}-failed`, 'utf8');
  } catch {
    return;
  }
  const update = db.prepare(`UPDATE runs SET status = 'failed', ended_ms = coalesce(ended_ms, ?), error = ?
    WHERE id = ? AND host = ? AND pid = ? AND status IN ('running', 'interrupted')`);
  db.transaction(() => {
    for (const line of text.split('\n')) {
      let m: { runId?: unknown; host?: unknown; pid?: unknown; error?: unknown; t?: unknown };
      try { m = JSON.parse(line); } catch { continue; } // a torn last line of a full disk
      if (typeof m?.runId !== 'number' || typeof m.error !== 'string' || typeof m.host !== 'string' || typeof m.pid !== 'number') continue;
      // Not while its writer still holds it (a live recorder of this process finishes it itself).
      if (liveRuns.has(`${db.name}\0${m.runId}`)) continue;
      update.run(typeof m.t === 'number' ? m.t : Date.now(), m.error, m.runId, m.host, m.pid);
    }
  }).immediate();
  rmSync(`${path}-failed`, { force: true });
}

/** An integer option in min..max (or `def` when undefined); the RangeError names it. */
export function checkInt(name: string, v: unknown, def: number | undefined, min: number, max: number, where = 'option'): number {
  const x = v === undefined ? def : v;
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < min || x > max) {
    throw new RangeError(`${where === 'option' ? 'option ' : `${where}: `}${name} must be an integer in ${min}..${max}, got ${String(x)}`);
  }
  return x;
}
