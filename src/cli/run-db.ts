/** Reading a run database from the command line: opening it read-only, and naming a run in it. */
import type Database from 'better-sqlite3';
import { existsSync, statSync } from 'node:fs';
import { SCHEMA_VERSION, listRuns, openRecordDb, schemaVersion } from '../record/index.js';
import { UsageError, defaultDbPath } from './util.js';

/**
 * Opens a run database read-only, never creating, migrating or changing it (no reader should mark
 * someone's run interrupted), with one-line errors that say what to do.
 */
export function openRunsDb(path: string): Database.Database {
  if (!existsSync(path)) {
    throw new UsageError(`no run database at ${path} (opened read-only, so not created); pass --db PATH or set RHIL_DB to the file rhil train and rhil calibrate recorded into`);
  }
  if (statSync(path).isDirectory()) throw new UsageError(`${path} is a directory, not a run database; pass --db PATH/rhil.db`);
  let db: Database.Database;
  try {
    // A reader waits less than a writer would: a lock held this long is not about to go away.
    db = openRecordDb(path, { readonly: true, busyTimeoutMs: 2000 });
  } catch (e) {
    throw explainOpen(path, e);
  }
  try {
    // Opening reads nothing; the first query is where a foreign or locked file shows.
    const v = schemaVersion(db);
    const hasRuns = db.prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'runs'`).get() !== undefined;
    if (v > SCHEMA_VERSION) throw new UsageError(`${path} is a run database of schema v${v}, newer than this rhil's v${SCHEMA_VERSION}; upgrade reservoir-hil to read it`);
    if (v === 0 || !hasRuns) throw new UsageError(`${path} is an SQLite database but not a run database (no runs table); pass --db the file rhil recorded into`);
    return db;
  } catch (e) {
    db.close();
    throw explainOpen(path, e);
  }
}

/** The one line for a damaged file: what it is, and how to get the readable runs out of it. */
function damaged(path: string, msg: string): Error {
  return new Error(`${path} is damaged (${msg}); rhil runs verify RUN --db ${path} shows what a run lost, rhil runs salvage ${path} NEW.db copies the readable runs into a new file`);
}

/**
 * Runs `fn` on the run database at `path` opened read-only, closing it after; a damaged page met
 * on the way is reported as {@link damaged} rather than SQLite's bare "malformed".
 */
export function withRunsDb<T>(path: string, fn: (db: Database.Database) => T): T {
  const db = openRunsDb(path);
  try {
    return fn(db);
  } catch (e) {
    if (String((e as { code?: unknown }).code ?? '').startsWith('SQLITE_CORRUPT')) throw damaged(path, (e as Error).message);
    throw e;
  } finally {
    db.close();
  }
}

function explainOpen(path: string, e: unknown): Error {
  if (e instanceof UsageError) return e;
  const code = String((e as { code?: unknown })?.code ?? '');
  const msg = e instanceof Error ? e.message : String(e);
  if (code === 'SQLITE_NOTADB') return new UsageError(`${path} is not an SQLite database (${msg}); pass --db the file rhil recorded into`);
  if (code.startsWith('SQLITE_CORRUPT')) return damaged(path, msg);
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return new Error(`${path} is locked by another process (${msg}); wait for it to finish and try again`);
  if (code.startsWith('SQLITE_CANTOPEN') || code === 'SQLITE_PERM' || code === 'SQLITE_AUTH' || code.startsWith('SQLITE_READONLY')) {
    return new Error(`cannot open ${path} for reading (${msg}); check its permissions and that its directory is readable and writable (WAL needs the -shm file)`);
  }
  return e instanceof Error ? e : new Error(msg);
}

/** `--db` of the commands that read a run database. */
export const DB_OPTION = { type: 'string', describe: 'run database; default $RHIL_DB, else rhil.db' } as const;

/** A run id argument: a positive integer, or `last` for the newest run; must exist in `db`. */
export function runIdArg(db: Database.Database, path: string, v: unknown): number {
  const where = path === defaultDbPath() ? '' : ` --db ${path}`;
  if (v === 'last') {
    const last = listRuns(db, { limit: 1 })[0];
    if (!last) throw new UsageError(`${path} holds no runs yet`);
    return last.id;
  }
  const id = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(id) || id < 1) throw new UsageError(`RUN must be a run id (a positive integer) or last, got ${String(v)}`);
  if (!db.prepare('SELECT 1 FROM runs WHERE id = ?').get(id)) throw new UsageError(`run ${id} not found in ${path}; rhil runs list${where} shows the runs`);
  return id;
}
