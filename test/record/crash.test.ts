import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../../src/core/rng.js';
import { getRun, openRecordDb, readBatches, readMetrics } from '../../src/record/index.js';
import { makeBatch, tempDir } from './helpers.js';

const CHILD = fileURLToPath(new URL('./crash-child.js', import.meta.url));

/** Starts the recording child, kills it with SIGKILL `delayMs` after its run started; returns its last acknowledged batch. */
function recordThenKill(db: string, delayMs: number): Promise<{ lastAck: number; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, db], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (timer === undefined && /^run \d+$/m.test(out)) timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
      if (out.length > 1 << 16) out = out.slice(out.lastIndexOf('\n', out.length - 64)); // keep only the tail
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const acks = [...out.matchAll(/^ack (\d+)$/gm)];
      if (timer === undefined) return reject(new Error(`child exited (${code ?? signal}) before starting a run: ${err}`));
      resolve({ lastAck: acks.length ? Number(acks[acks.length - 1][1]) : -1, signal });
    });
  });
}

test('kill -9 while recording, 3 times at seeded random moments: the db stays readable, the run is interrupted, every batch is whole', async () => {
  const t = tempDir();
  const rng = new Rng(20261129);
  const path = join(t.dir, 'crash.sqlite');
  const runIds: number[] = [];
  try {
    for (let trial = 0; trial < 3; trial++) {
      const delay = Math.round(rng.range(30, 400));
      const { lastAck, signal } = await recordThenKill(path, delay);
      assert.is(signal, 'SIGKILL');
      const db = openRecordDb(path); // marks the killed run interrupted
      try {
        assert.is(db.pragma('integrity_check', { simple: true }), 'ok');
        const runId = (db.prepare('SELECT max(id) AS id FROM runs').get() as { id: number }).id;
        runIds.push(runId);
        const run = getRun(db, runId)!;
        assert.is(run.status, 'interrupted', `trial ${trial}`);
        assert.match(run.error!, /is gone/);
        let n = 0;
        for (const b of readBatches(db, runId)) { // throws if a blob does not match its shape
          assert.is(b.seq, n, 'sequence numbers are contiguous');
          const want = makeBatch(n, 64, 1, 50);
          assert.equal(b.inputShape, [64, 1]);
          assert.equal(b.outputShape, [64, 50]);
          assert.equal(Array.from(b.input), Array.from(want.input));
          assert.equal(Array.from(b.output), Array.from(want.output));
          n++;
        }
        // Every acknowledged batch is committed; at most the one in flight (committed, not yet acknowledged) is extra.
        assert.ok(n === lastAck + 1 || n === lastAck + 2, `trial ${trial}: ${n} batches recorded, last acknowledged ${lastAck}`);
        assert.ok(n > 0, 'the child recorded batches before the kill');
        assert.ok(readMetrics(db, runId, 'k').every((m) => m.value === m.step / 10));
        console.log(`  trial ${trial}: killed after ${delay} ms, ${n} batches recorded, last acknowledged ${lastAck}`);
      } finally {
        db.close();
      }
    }
    const db = openRecordDb(path);
    assert.equal(runIds, [1, 2, 3]);
    for (const id of runIds) assert.is(getRun(db, id)!.status, 'interrupted');
    db.close();
  } finally {
    t.cleanup();
  }
});

test.run();
