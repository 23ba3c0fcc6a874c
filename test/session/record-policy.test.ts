/** The size a run is announced with before it starts is the size it takes on disk. */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RunRecorder, openRecordDb } from '../../src/record/index.js';
import { loadPlan } from '../../src/calibration/index.js';
import { planSamples, projectedBytes, sizeText } from '../../src/session/index.js';

test('projected bytes per sample match a real file within 5 % for small, page-sized and large batches', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rhil-size-'));
  try {
    // [batch, in, out]: a tiny row, a row just over one page (the costly case), rhil run's rows.
    for (const [count, inCh, outCh] of [[1, 1, 1], [16, 1, 50], [655, 50, 50]]) {
      const path = join(dir, `${count}.db`);
      const db = openRecordDb(path);
      const empty = statSync(path).size;
      const rec = new RunRecorder(db, { batchesPerCommit: 100, checkpoint: 'inline' });
      rec.startRun({ kind: 'run', config: {}, gitCommit: null });
      const n = Math.max(300, Math.round(100_000 / count));
      for (let i = 0; i < n; i++) {
        rec.recordBatch({ batchId: i + 1, epoch: 1, timestampUs: i, status: 0, count,
          input: new Float32Array(count * inCh).fill(i), output: new Float32Array(count * outCh).fill(-i) });
      }
      rec.finish('completed');
      db.close();
      const measured = statSync(path).size - empty;
      const projected = projectedBytes(n * count, inCh, outCh, count, 'all');
      assert.ok(Math.abs(projected / measured - 1) < 0.05, `batch ${count} x (${inCh}+${outCh}): projected ${projected}, measured ${measured}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the default calibration plan drives the samples the projection counts (about the 431 MB a full recording took)', async () => {
  const plan = await loadPlan('default');
  const samples = planSamples(plan, 50);
  const all = projectedBytes(samples, 50, 50, 450, 'all');
  assert.ok(Math.abs(all / 431e6 - 1) < 0.02, sizeText(all));
  assert.is(sizeText(projectedBytes(samples, 50, 50, 450, { every: 100 })), sizeText(all / 100));
});

test.run();
