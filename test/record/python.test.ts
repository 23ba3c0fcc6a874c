import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RunRecorder, openRecordDb } from '../../src/record/index.js';
import { makeBatch, tempDir } from './helpers.js';

// The .py files are not compiled: find them in the source tree (dist/test/record -> test/record).
const script = (name: string): string => fileURLToPath(new URL(`../../../test/record/${name}`, import.meta.url));

function python(args: string[]): { status: number | null; stdout: string; stderr: string; error?: Error } {
  const r = spawnSync('python3', args, { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}

/** A database with one completed run of 5 batches (16 x 1 u16 drive, 16 x 3 float32 response) and two metrics. */
function recordRun(path: string): { runId: number; sent: ReturnType<typeof makeBatch>[] } {
  const db = openRecordDb(path);
  const rec = new RunRecorder(db);
  const runId = rec.startRun({ kind: 'train', config: { task: 'narma10' }, seed: 42, gitCommit: null });
  const sent = [0, 1, 2, 3, 4].map((k) => makeBatch(k));
  for (const b of sent) rec.recordBatch(b);
  rec.recordMetric('nmse', 0, 0.5);
  rec.recordMetric('nmse', 1, 0.25);
  rec.finish('completed');
  db.close(); // python reads the WAL as any SQLite client does; closing also checkpoints it
  return { runId, sent };
}

const outputSum = (sent: ReturnType<typeof makeBatch>[]): number => sent.reduce((s, b) => s + Array.from(b.output).reduce((a, x) => a + x, 0), 0);

test('python3 reads a run with the standard library only (sqlite3 + struct)', () => {
  const probe = python(['-c', 'import sqlite3, struct, json']);
  assert.ok(!probe.error && probe.status === 0, `python3 with sqlite3 is required by this test: ${probe.error?.message ?? probe.stderr}`);
  const t = tempDir();
  try {
    const path = join(t.dir, 'py.sqlite');
    const { runId, sent } = recordRun(path);
    const r = python([script('load_run.py'), path, String(runId)]);
    assert.is(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.is(got.kind, 'train');
    assert.is(got.status, 'completed');
    assert.equal(got.config, { task: 'narma10' });
    assert.is(got.seed, 42);
    assert.equal(got.seqs, [0, 1, 2, 3, 4]);
    assert.equal(got.input_shapes, Array(5).fill([16, 1]));
    assert.equal(got.output_shapes, Array(5).fill([16, 3]));
    assert.equal(got.first_input, Array.from(sent[0].input));
    assert.equal(got.first_output, Array.from(sent[0].output));
    assert.is(got.output_sum, outputSum(sent)); // same values, same order: exactly equal
    assert.equal(got.metrics, [['nmse', 0, 0.5], ['nmse', 1, 0.25]]);
  } finally {
    t.cleanup();
  }
});

test('python3 reads a run with numpy (np.frombuffer(blob, "<f4").reshape(shape)) when numpy is installed', () => {
  const probe = python(['-c', 'import numpy']);
  if (probe.error || probe.status !== 0) {
    console.log('  NOT RUN: the numpy variant of the python reader (numpy does not import in python3); the standard-library variant ran above');
    return;
  }
  const t = tempDir();
  try {
    const path = join(t.dir, 'np.sqlite');
    const { runId, sent } = recordRun(path);
    const r = python([script('load_run_numpy.py'), path, String(runId)]);
    assert.is(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(got.seqs, [0, 1, 2, 3, 4]);
    assert.equal(got.X_shape, [80, 1]);
    assert.equal(got.Y_shape, [80, 3]);
    assert.is(got.dtype, 'float32');
    assert.equal(got.first_input, Array.from(sent[0].input));
    assert.equal(got.first_output, Array.from(sent[0].output));
    assert.ok(Math.abs((got.output_sum as number) - outputSum(sent)) < 1e-9, 'numpy sums pairwise, so allow rounding');
  } finally {
    t.cleanup();
  }
});

test.run();
