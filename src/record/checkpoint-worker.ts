/**
 * The checkpoint thread's program (started by checkpointer.ts with `workerData` { path,
 * intervalMs }): PASSIVE WAL checkpoints on its own connection every `intervalMs`, which never
 * block the recording thread; a message stops it after a last checkpoint. A failure is posted
 * back, and the recorder then returns to SQLite's automatic checkpoints.
 */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

const { path, intervalMs } = workerData as { path: string; intervalMs: number };
const db = new Database(path, { fileMustExist: true });
const run = (): void => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (e) {
    parentPort!.postMessage({ error: String((e as Error)?.message ?? e) });
  }
};
const timer = setInterval(run, intervalMs);
parentPort!.on('message', () => {
  clearInterval(timer);
  run();
  db.close();
  parentPort!.close();
});
