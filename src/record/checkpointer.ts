/**
 * WAL checkpoints off the recording thread. SQLite's automatic checkpoint copies the log into the
 * database file and fsyncs both, every ~4 MB, inside whichever commit crosses the mark: tens of ms
 * on the recording thread at a few MB of batches per second. While a run records into a file, its
 * connection turns that off and a worker thread (checkpoint-worker.ts) with its own connection
 * runs PASSIVE checkpoints instead; when the last run of the connection finishes, automatic
 * checkpoints come back. Durability is unchanged: a checkpoint only moves committed pages.
 */
import type Database from 'better-sqlite3';
import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';

/** Checkpoint threads by connection, shared by the runs recording through it. */
const checkpoints = new Map<Database.Database, { hold(): void; release(): void }>();

/**
 * The checkpoint thread of `db` (started on the first hold, stopped on the last release). If the
 * thread cannot run, automatic checkpoints come back at once: a slower commit beats a WAL that
 * grows without end.
 */
export function checkpointer(db: Database.Database, intervalMs: number): { hold(): void; release(): void } {
  const have = checkpoints.get(db);
  if (have) return have;
  let holds = 0;
  let worker: Worker | null = null;
  const inline = (): void => {
    try {
      if (db.open) db.pragma('wal_autocheckpoint = 1000');
    } catch { /* the connection is going away: nothing to restore */ }
  };
  const entry = {
    hold(): void {
      if (holds++ > 0) return;
      try {
        // No inherited execArgv: a flag meant for the main script (--input-type, a loader) can stop the worker loading.
        worker = new Worker(new URL('./checkpoint-worker.js', import.meta.url), { workerData: { path: resolve(db.name), intervalMs }, execArgv: [] });
      } catch {
        return;
      }
      db.pragma('wal_autocheckpoint = 0');
      const w = worker;
      // Once: a full disk fails every checkpoint the worker tries, and each terminate() call adds
      // an 'exit' listener (eleven print a listener-leak warning on standard error).
      let stopping = false;
      w.on('message', (m: { error?: string }) => {
        if (m.error === undefined || stopping) return;
        stopping = true;
        inline();
        void w.terminate();
      });
      w.on('error', inline);
      // After the listeners: adding a 'message' listener refs the worker again, and a run never
      // finished (a failing caller) must not keep the process alive.
      w.unref();
    },
    release(): void {
      if (holds === 0 || --holds > 0) return;
      checkpoints.delete(db);
      inline();
      worker?.postMessage('stop');
      worker = null;
    },
  };
  checkpoints.set(db, entry);
  return entry;
}

/** The checkpointer of `db`, if a run holds one. */
export function heldCheckpointer(db: Database.Database): { release(): void } | undefined {
  return checkpoints.get(db);
}
