import type Database from 'better-sqlite3';
import { listRuns } from '../record/index.js';
import { UsageError, defaultDbPath } from './util.js';

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
