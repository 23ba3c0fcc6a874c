import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Database from 'better-sqlite3';
import { ExportError, RunNotFoundError, RunRecorder, exportRun, openRecordDb } from '../../src/record/index.js';
import { makeBatch, tempDir } from './helpers.js';
import { readNpz } from './npz.js';

const script = fileURLToPath(new URL('../../../test/record/load_npz.py', import.meta.url));
const COUNT = 4;
const IN = 2;
const OUT = 3;

/** Three batches of 4 samples (2 inputs, 3 outputs), with NaN, -Infinity and -0 among the responses, and two metrics. */
function recorded(db: Database.Database): { runId: number; sent: ReturnType<typeof makeBatch>[] } {
  const rec = new RunRecorder(db);
  const runId = rec.startRun({ kind: 'train', gitCommit: null });
  const sent = [0, 1, 2].map((k) => makeBatch(k, COUNT, IN, OUT));
  const special = sent[1].output as Float32Array;
  special[0] = NaN;
  special[1] = -Infinity;
  special[2] = -0;
  for (const b of sent) rec.recordBatch(b);
  rec.recordMetric('nmse', 0, 0.5);
  rec.recordMetric('nmse', 1, NaN);
  rec.recordMetric('nmse', 2, 0.1);
  rec.recordMetric('loss/train', 0, 3);
  rec.finish('completed');
  return { runId, sent };
}

function expected(sent: ReturnType<typeof makeBatch>[]) {
  const perSample = (f: (k: number, s: number) => number): number[] => sent.flatMap((_, k) => Array.from({ length: COUNT }, (_x, s) => f(k, s)));
  return {
    inputs: sent.flatMap((b) => Array.from(Float32Array.from(b.input))),
    outputs: sent.flatMap((b) => Array.from(b.output)),
    seq: perSample((k) => k),
    batch_id: perSample((k) => sent[k].batchId),
    epoch: perSample((k) => sent[k].epoch),
    timestamp_us: perSample((k) => sent[k].timestampUs),
    sample: perSample((_k, s) => s),
  };
}

const sameBits = (a: number[], b: number[]): boolean => a.length === b.length && a.every((x, i) => Object.is(x, b[i]));

function checkNpzValues(entries: Map<string, { descr: string; shape: number[]; values: number[] }>, sent: ReturnType<typeof makeBatch>[]): void {
  const want = expected(sent);
  const n = 3 * COUNT;
  assert.equal([...entries.keys()], ['inputs', 'outputs', 'seq', 'batch_id', 'epoch', 'timestamp_us', 'sample', 'metric_loss_train', 'metric_nmse']);
  assert.equal(entries.get('inputs')!.shape, [n, IN]);
  assert.is(entries.get('inputs')!.descr, '<f4');
  assert.equal(entries.get('outputs')!.shape, [n, OUT]);
  assert.ok(sameBits(entries.get('inputs')!.values, want.inputs), 'inputs');
  assert.ok(sameBits(entries.get('outputs')!.values, want.outputs), `outputs ${JSON.stringify(entries.get('outputs')!.values)}`);
  for (const k of ['seq', 'batch_id', 'epoch', 'timestamp_us', 'sample'] as const) {
    assert.is(entries.get(k)!.descr, '<i8', k);
    assert.equal(entries.get(k)!.shape, [n], k);
    assert.equal(entries.get(k)!.values, want[k], k);
  }
  assert.is(entries.get('metric_nmse')!.descr, '<f8');
  assert.equal(entries.get('metric_nmse')!.shape, [3, 2]);
  assert.ok(sameBits(entries.get('metric_nmse')!.values, [0, 0.5, 1, NaN, 2, 0.1]));
  assert.equal(entries.get('metric_loss_train')!.values, [0, 3]);
}

function python(args: string[]): { status: number | null; stdout: string; stderr: string; error?: Error } {
  const r = spawnSync('python3', args, { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}

const fromPy = (v: number | string): number => (typeof v === 'number' ? v : v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : -Infinity);

for (const zip64 of [false, true]) {
  test(`npz${zip64 ? ' (ZIP64 records)' : ''}: python3's zipfile + struct and a TypeScript zip reader both get the exact values back`, () => {
    const probe = python(['-c', 'import zipfile, struct, ast, json']);
    assert.ok(!probe.error && probe.status === 0, `python3 is required by this test (it is installed on CI): ${probe.error?.message ?? probe.stderr}`);
    const t = tempDir();
    try {
      const db = openRecordDb(':memory:');
      const { runId, sent } = recorded(db);
      const path = join(t.dir, 'run.npz');
      const r = exportRun(db, runId, 'npz', path, { zip64 });
      assert.is(r.samples, 12);
      assert.is(r.batches, 3);
      assert.is(r.metricPoints, 4);
      const file = readFileSync(path);
      assert.is(r.bytes, file.length);

      const ts = readNpz(file);
      assert.is(ts.zip64, zip64);
      checkNpzValues(ts.entries, sent);

      const py = python([script, path]);
      assert.is(py.status, 0, py.stderr);
      const got = JSON.parse(py.stdout) as { stored: boolean; crc_ok: boolean; names: string[]; entries: Record<string, { descr: string; shape: number[]; values: (number | string)[] }> };
      assert.ok(got.stored, 'every entry is stored, not compressed');
      assert.ok(got.crc_ok, 'zipfile.testzip finds every CRC-32 right');
      assert.equal(got.names, ts.names);
      checkNpzValues(new Map(Object.entries(got.entries).map(([k, v]) => [k, { ...v, values: v.values.map(fromPy) }])), sent);
      assert.equal(readdirSync(t.dir), ['run.npz'], 'no temporary file is left');

      // numpy is not required (the standard-library reader above is the contract), but where it
      // imports, np.load must agree too.
      const np = python(['-c', `import json, sys, numpy as np
z = np.load(sys.argv[1])
print(json.dumps({k: [str(z[k].dtype), list(z[k].shape)] for k in z.files} | {'in': z['inputs'].astype(float).tolist()}))`, path]);
      if (np.status === 0) {
        const j = JSON.parse(np.stdout) as Record<string, unknown>;
        assert.equal(j.inputs, ['float32', [12, IN]]);
        assert.equal(j.timestamp_us, ['int64', [12]]);
        assert.equal(j.metric_nmse, ['float64', [3, 2]]);
        assert.equal((j.in as number[][]).flat(), expected(sent).inputs);
      } else {
        console.log(`  (numpy does not import here, np.load not tried: ${np.stderr.trim().split('\n').pop()})`);
      }
      db.close();
    } finally {
      t.cleanup();
    }
  });
}

test('npz of a run larger than the write chunks: sizes, CRCs and values at the chunk edges hold', () => {
  const t = tempDir();
  try {
    const db = openRecordDb(':memory:');
    const rec = new RunRecorder(db, { batchesPerCommit: 500 });
    const runId = rec.startRun({ kind: 'bench', gitCommit: null });
    const N = 1500;
    for (let k = 0; k < N; k++) rec.recordBatch(makeBatch(k, 64, 2, 3));
    rec.finish('completed');
    const path = join(t.dir, 'big.npz');
    exportRun(db, runId, 'npz', path);
    const z = readNpz(readFileSync(path));
    const out = z.entries.get('outputs')!;
    assert.equal(out.shape, [N * 64, 3]);
    const last = makeBatch(N - 1, 64, 2, 3);
    assert.equal(out.values.slice(-192), Array.from(last.output));
    const mid = makeBatch(700, 64, 2, 3);
    assert.equal(out.values.slice(700 * 192, 701 * 192), Array.from(mid.output));
    assert.equal(z.entries.get('batch_id')!.values.slice(N * 64 - 65, N * 64 - 63), [N - 1, N]);
    assert.equal(z.entries.get('sample')!.values.slice(64 * 900 - 1, 64 * 900 + 1), [63, 0]);
    db.close();
  } finally {
    t.cleanup();
  }
});

test('csv: a header and one row per sample whose numbers parse back to the very values', () => {
  const t = tempDir();
  try {
    const db = openRecordDb(':memory:');
    const { runId, sent } = recorded(db);
    const path = join(t.dir, 'run.csv');
    const r = exportRun(db, runId, 'csv', path);
    const text = readFileSync(path, 'utf8');
    assert.is(r.bytes, Buffer.byteLength(text));
    const lines = text.split('\n');
    assert.is(lines.pop(), '', 'ends with a newline');
    assert.is(lines[0], 'seq,batch_id,epoch,timestamp_us,sample,in0,in1,out0,out1,out2');
    assert.is(lines.length, 1 + 12);
    const rows = lines.slice(1).map((l) => l.split(',').map(Number));
    const want = expected(sent);
    assert.equal(rows.map((x) => x.slice(0, 5)), want.seq.map((s, i) => [s, want.batch_id[i], want.epoch[i], want.timestamp_us[i], want.sample[i]]));
    assert.ok(sameBits(rows.flatMap((x) => x.slice(5, 7)), want.inputs));
    assert.ok(sameBits(rows.flatMap((x) => x.slice(7)), want.outputs));
    assert.match(lines[5], /,NaN,-Infinity,-0$/);
    db.close();
  } finally {
    t.cleanup();
  }
});

test('jsonl: one object per batch with its arrays, then one per metric point (non-finite as null)', () => {
  const t = tempDir();
  try {
    const db = openRecordDb(':memory:');
    const { runId, sent } = recorded(db);
    const path = join(t.dir, 'run.jsonl');
    exportRun(db, runId, 'jsonl', path);
    const objs = readFileSync(path, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.is(objs.length, 3 + 4);
    for (const [k, b] of sent.entries()) {
      const o = objs[k];
      assert.equal([o.type, o.seq, o.batchId, o.epoch, o.timestampUs, o.status, o.count], ['batch', k, b.batchId, b.epoch, b.timestampUs, 0, COUNT]);
      assert.equal([o.inputFormat, o.inputShape, o.outputFormat, o.outputShape], ['u16', [COUNT, IN], 'f32', [COUNT, OUT]]);
      assert.equal(o.input, Array.from(Float32Array.from(b.input)));
      assert.equal(o.output, Array.from(b.output).map((x) => (Number.isFinite(x) ? x : null)));
    }
    assert.equal(objs.slice(3).map((o) => [o.type, o.name, o.step, o.value]),
      [['metric', 'loss/train', 0, 3], ['metric', 'nmse', 0, 0.5], ['metric', 'nmse', 1, null], ['metric', 'nmse', 2, 0.1]]);
    db.close();
  } finally {
    t.cleanup();
  }
});

test('csv and jsonl stream to a file descriptor; npz refuses one', () => {
  const t = tempDir();
  try {
    const db = openRecordDb(':memory:');
    const { runId } = recorded(db);
    const path = join(t.dir, 'fd.csv');
    const fd = openSync(path, 'w');
    try {
      exportRun(db, runId, 'csv', fd);
    } finally {
      closeSync(fd);
    }
    assert.is(readFileSync(path, 'utf8').split('\n').length, 14);
    assert.throws(() => exportRun(db, runId, 'npz', 1), (e: Error) => e instanceof ExportError && /needs a file path/.test(e.message));
    db.close();
  } finally {
    t.cleanup();
  }
});

test('a run of mixed widths: npz and csv refuse it naming the batch and leave no file; jsonl exports it', () => {
  const t = tempDir();
  try {
    const db = openRecordDb(':memory:');
    const rec = new RunRecorder(db);
    const runId = rec.startRun({ kind: 'run', gitCommit: null });
    rec.recordBatch(makeBatch(0, 4, 1, 3));
    rec.recordBatch(makeBatch(1, 4, 2, 3));
    rec.finish('completed');
    for (const f of ['npz', 'csv'] as const) {
      const path = join(t.dir, `mixed.${f}`);
      assert.throws(() => exportRun(db, runId, f, path), (e: Error) => e instanceof ExportError && /seq 1 has 2 inputs and 3 outputs per sample, seq 0 1 and 3/.test(e.message));
      assert.not.ok(existsSync(path));
    }
    assert.equal(readdirSync(t.dir), []);
    assert.is(exportRun(db, runId, 'jsonl', join(t.dir, 'mixed.jsonl')).batches, 2);
    assert.throws(() => exportRun(db, runId + 1, 'csv', join(t.dir, 'x.csv')), (e: Error) => e instanceof RunNotFoundError);
    assert.throws(() => exportRun(db, runId, 'xls' as never, join(t.dir, 'x.xls')), /format must be one of npz, csv, jsonl/);
    db.close();
  } finally {
    t.cleanup();
  }
});

test('an empty run exports as zero-length arrays', () => {
  const t = tempDir();
  try {
    const db = openRecordDb(':memory:');
    const rec = new RunRecorder(db);
    const runId = rec.startRun({ kind: 'run', gitCommit: null });
    rec.finish('completed');
    const path = join(t.dir, 'empty.npz');
    exportRun(db, runId, 'npz', path);
    const z = readNpz(readFileSync(path));
    assert.equal(z.entries.get('inputs')!.shape, [0, 0]);
    assert.equal(z.entries.get('seq')!.values, []);
    db.close();
  } finally {
    t.cleanup();
  }
});

test.run();
