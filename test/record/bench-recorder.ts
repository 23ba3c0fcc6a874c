/**
 * Prints recording throughput: batches/s and commit times for 64 x 1 u16 drive and 64 x 50 f32
 * response batches, committing every batch (the default) or every 100 batches, with
 * synchronous NORMAL and FULL. A benchmark, not a test: `node dist/test/record/bench-recorder.js`.
 */
import { join } from 'node:path';
import { RunRecorder, openRecordDb } from '../../src/record/index.js';
import { makeBatch, tempDir } from './helpers.js';

const N = Number(process.argv[2] ?? 5000);
const batches = Array.from({ length: 64 }, (_, k) => makeBatch(k, 64, 1, 50));
for (const synchronous of ['normal', 'full'] as const) {
  for (const batchesPerCommit of [1, 100]) {
    const t = tempDir();
    try {
      const db = openRecordDb(join(t.dir, 'bench.sqlite'), { synchronous });
      const rec = new RunRecorder(db, { batchesPerCommit });
      rec.startRun({ kind: 'bench', gitCommit: null });
      const n = synchronous === 'full' && batchesPerCommit === 1 ? Math.min(N, 1000) : N;
      const t0 = performance.now();
      for (let k = 0; k < n; k++) rec.recordBatch(batches[k % batches.length]);
      rec.finish('completed');
      const s = (performance.now() - t0) / 1000;
      const st = rec.stats;
      console.log(`synchronous=${synchronous} batchesPerCommit=${batchesPerCommit}: ${n} batches in ${s.toFixed(2)} s = ${Math.round(n / s)} batches/s ` +
        `(${((n * 64 * 51 * 4) / s / 2 ** 20).toFixed(1)} MiB/s of float32), ${st.commits} commits, mean ${(st.commitMs / st.commits).toFixed(3)} ms, max ${st.maxCommitMs.toFixed(2)} ms`);
      db.close();
    } finally {
      t.cleanup();
    }
  }
}
