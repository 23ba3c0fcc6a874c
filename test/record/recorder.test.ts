import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { statSync } from 'node:fs';
import { hostname } from 'node:os';
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import {
  MIGRATIONS, RunRecorder, gitCommit, SCHEMA_VERSION, SchemaError, decodeF32LE, encodeF32LE, getRun, listRuns, markInterruptedRuns, openRecordDb,
  readArtifact, readBatches, readEvents, readMetrics, schemaVersion, verifyRun,
} from '../../src/record/index.js';
import { crc32c } from '../../src/protocol/crc32c.js';
import { makeBatch, tempDir } from './helpers.js';

const info = { kind: 'info', vendor: 'rhil', model: 'sim-analog', serial: 'SIM-0001', firmware: '1.2.3', inChannels: 1, outChannels: 50 };

test('a run round-trips: run row, device, batches as typed arrays, metrics, artifacts', () => {
  const t = tempDir();
  try {
    const db = openRecordDb(join(t.dir, 'runs.sqlite'));
    const rec = new RunRecorder(db);
    const id = rec.startRun({ kind: 'train', config: { task: 'narma10', episodes: 3 }, seed: 7, backend: 'cpu', device: info, gitCommit: 'a'.repeat(40) });
    const sent = [makeBatch(0), makeBatch(1, 8, 2, 5)];
    assert.is(rec.recordBatch(sent[0]), 0);
    assert.is(rec.recordBatch(sent[1]), 1);
    rec.recordMetric('nmse', 0, 0.5);
    rec.recordMetric('nmse', 1, 0.25);
    rec.recordMetric('loss', 0, NaN);
    rec.saveArtifact('model', 'model', { weights: [1, 2, 3] });
    rec.saveArtifact('raw', 'surrogate', Uint8Array.of(1, 2, 255));
    rec.finish('completed');

    const runs = listRuns(db);
    assert.is(runs.length, 1);
    assert.is(runs[0].status, 'completed');
    assert.is(runs[0].batches, 2);
    assert.equal(listRuns(db, { kind: 'bench' }), []);
    assert.is(listRuns(db, { kind: 'train', status: 'completed' }).length, 1);
    const run = getRun(db, id)!;
    assert.equal(run.config, { task: 'narma10', episodes: 3 });
    assert.is(run.seed, 7);
    assert.is(run.backend, 'cpu');
    assert.is(run.host, hostname());
    assert.is(run.pid, process.pid);
    assert.is(run.gitCommit, 'a'.repeat(40));
    assert.ok(run.endedMs !== null && run.endedMs >= run.startedMs);
    assert.is(run.device!.firmware, '1.2.3');
    assert.equal((run.device!.info as { outChannels: number }).outChannels, 50);
    assert.equal(run.metrics, [{ name: 'loss', count: 1, lastStep: 0 }, { name: 'nmse', count: 2, lastStep: 1 }]);
    assert.equal(run.artifacts.map((a) => [a.name, a.kind, a.isBlob, a.bytes]), [['model', 'model', false, 19], ['raw', 'surrogate', true, 3]]);

    const back = [...readBatches(db, id)];
    assert.is(back.length, 2);
    for (const [k, b] of back.entries()) {
      assert.is(b.seq, k);
      assert.is(b.batchId, sent[k].batchId);
      assert.is(b.epoch, 3);
      assert.is(b.timestampUs, sent[k].timestampUs);
      assert.is(b.inputFormat, 'u16');
      assert.is(b.outputFormat, 'f32');
      assert.equal(Array.from(b.input), Array.from(sent[k].input));
      assert.equal(Array.from(b.output), Array.from(sent[k].output));
    }
    assert.equal(back[1].inputShape, [8, 2]);
    assert.equal(back[1].outputShape, [8, 5]);
    assert.equal([...readBatches(db, id, { fromSeq: 1 })].map((b) => b.seq), [1]);

    assert.equal(readMetrics(db, id, 'nmse').map((m) => [m.step, m.value]), [[0, 0.5], [1, 0.25]]);
    assert.ok(Number.isNaN(readMetrics(db, id, 'loss')[0].value));
    assert.equal(readArtifact(db, id, 'model'), { kind: 'model', json: { weights: [1, 2, 3] } });
    assert.equal(Array.from(readArtifact(db, id, 'raw')!.blob!), [1, 2, 255]);
    assert.is(readArtifact(db, id, 'nope'), null);
    assert.is(getRun(db, id + 1), null);
    db.close();
  } finally {
    t.cleanup();
  }
});

test('arrays are stored as little-endian float32 blobs with their shape, and a length mismatch is refused on read', () => {
  const t = tempDir();
  try {
    const db = openRecordDb(join(t.dir, 'r.sqlite'));
    const rec = new RunRecorder(db);
    const id = rec.startRun({ kind: 'bench', gitCommit: null });
    const input = Int16Array.of(-3, 2, 1, 32767, -32768, 0);
    const output = Float64Array.of(0.1, -2.5, 1e30);
    rec.recordBatch({ batchId: 9, epoch: 1, timestampUs: 5, status: 0, count: 3, input, output, inputShape: [3, 1, 2] });
    rec.finish('completed');
    const row = db.prepare('SELECT input, input_shape, output, output_shape, input_format, output_format FROM batches WHERE run_id = ?').get(id) as
      { input: Buffer; input_shape: string; output: Buffer; output_shape: string; input_format: string; output_format: string };
    const le = (xs: ArrayLike<number>): Buffer => {
      const b = Buffer.alloc(xs.length * 4);
      for (let i = 0; i < xs.length; i++) b.writeFloatLE(xs[i], i * 4);
      return b;
    };
    assert.ok(row.input.equals(le(input)));
    assert.ok(row.output.equals(le(output)));
    assert.is(row.input_shape, '[3,1,2]');
    assert.is(row.output_shape, '[3,1]');
    assert.is(row.input_format, 'i16');
    assert.is(row.output_format, 'f64');
    assert.equal(Array.from(decodeF32LE(encodeF32LE(output), [3])), Array.from(Float32Array.from(output)));
    assert.throws(() => decodeF32LE(row.input, [4, 2]), /do not hold float32 shape \[4,2\]/);
    db.prepare('UPDATE batches SET output = substr(output, 1, 8) WHERE run_id = ?').run(id);
    assert.throws(() => [...readBatches(db, id)], /batch 0 output: 8 bytes do not hold/);
    db.close();
  } finally {
    t.cleanup();
  }
});

test('the database is in WAL mode with the chosen synchronous level, busy timeout and schema version', () => {
  const t = tempDir();
  try {
    const path = join(t.dir, 'w.sqlite');
    const db = openRecordDb(path, { busyTimeoutMs: 1234 });
    assert.is(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.is(db.pragma('synchronous', { simple: true }), 1); // NORMAL
    assert.is(db.pragma('busy_timeout', { simple: true }), 1234);
    assert.is(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    db.close();
    const full = openRecordDb(path, { synchronous: 'full' });
    assert.is(full.pragma('synchronous', { simple: true }), 2);
    full.close();
    // A second plain connection sees WAL persisted in the file.
    const plain = new Database(path, { readonly: true });
    assert.is(plain.pragma('journal_mode', { simple: true }), 'wal');
    plain.close();
  } finally {
    t.cleanup();
  }
});

test('a database from a newer schema, or a foreign one, is refused', () => {
  const t = tempDir();
  try {
    const newer = join(t.dir, 'newer.sqlite');
    const d = new Database(newer);
    d.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    d.close();
    assert.throws(() => openRecordDb(newer), (e: Error) => e instanceof SchemaError && /newer than this program/.test(e.message));
    const foreign = join(t.dir, 'foreign.sqlite');
    const f = new Database(foreign);
    f.exec('CREATE TABLE x (a)');
    f.close();
    assert.throws(() => openRecordDb(foreign), /not a run database/);
    // Reopening a current database is a no-op.
    const ok = join(t.dir, 'ok.sqlite');
    openRecordDb(ok).close();
    openRecordDb(ok).close();
  } finally {
    t.cleanup();
  }
});

test('bad input is refused with the field named, and nothing is written', () => {
  const db = openRecordDb(':memory:');
  const rec = new RunRecorder(db);
  assert.throws(() => rec.recordBatch(makeBatch(0)), /not started/);
  assert.throws(() => rec.startRun({ kind: 'nap' as 'run' }), /kind must be one of/);
  assert.throws(() => rec.startRun({ kind: 'run', seed: 1.5 }), /seed must be an integer/);
  assert.throws(() => rec.startRun({ kind: 'run', gitCommit: 'HEAD' }), /gitCommit/);
  assert.throws(() => rec.startRun({ kind: 'run', config: { a: 1n } }), /not JSON-serialisable/);
  assert.throws(() => rec.startRun({ kind: 'run', device: { vendor: 'x', model: 1 } as never }), /device.model/);
  assert.throws(() => new RunRecorder(db, { batchesPerCommit: 0 }), /option batchesPerCommit/);
  rec.startRun({ kind: 'run', gitCommit: null });
  const good = makeBatch(0);
  assert.throws(() => rec.recordBatch({ ...good, count: 0 }), /count must be an integer in 1/);
  assert.throws(() => rec.recordBatch({ ...good, batchId: -1 }), /batchId/);
  assert.throws(() => rec.recordBatch({ ...good, timestampUs: 1.5 }), /timestampUs/);
  assert.throws(() => rec.recordBatch({ ...good, count: 5 }), /input: length 16 is not a multiple of count 5/);
  assert.throws(() => rec.recordBatch({ ...good, input: [1, 2] as never }), /input must be a Uint16Array/);
  assert.throws(() => rec.recordBatch({ ...good, outputShape: [16, 4] }), /output: shape \[16,4\] holds 64 values, the array 48/);
  assert.throws(() => rec.recordMetric('', 0, 1), /name must be a string/);
  assert.throws(() => rec.recordMetric('m', -1, 1), /step/);
  assert.throws(() => rec.recordMetric('m', 0, '1' as never), /value must be a number/);
  assert.throws(() => rec.saveArtifact('a', 'Bad Kind', {}), /kind must match/);
  assert.throws(() => rec.saveArtifact('a', 'model', undefined), /not JSON-serialisable/);
  rec.finish('failed', new Error('boom'));
  assert.is((db.prepare('SELECT count(*) AS n FROM batches').get() as { n: number }).n, 0);
  assert.is(getRun(db, rec.runId)!.error, 'boom');
  assert.throws(() => rec.finish('completed'), /finished/);
  assert.throws(() => rec.recordMetric('m', 0, 1), /finished/);
  db.close();
});

test('every batch is committed before recordBatch returns by default; with batchesPerCommit they commit per count or per 100 ms', async () => {
  const t = tempDir();
  try {
    const path = join(t.dir, 'c.sqlite');
    const db = openRecordDb(path);
    const reader = new Database(path, { readonly: true });
    const committed = (): number => (reader.prepare('SELECT count(*) AS n FROM batches').get() as { n: number }).n;
    const metrics = (): number => (reader.prepare('SELECT count(*) AS n FROM metrics').get() as { n: number }).n;

    const every = new RunRecorder(db);
    every.startRun({ kind: 'run', gitCommit: null });
    every.recordBatch(makeBatch(0));
    assert.is(committed(), 1);
    every.recordMetric('x', 0, 1);
    assert.is(metrics(), 0);
    await new Promise((r) => setTimeout(r, 250));
    assert.is(metrics(), 1, 'a metric reaches the database within about 100 ms without further calls');
    every.finish('completed');

    const grouped = new RunRecorder(db, { batchesPerCommit: 3, flushIntervalMs: 100 });
    grouped.startRun({ kind: 'run', gitCommit: null });
    grouped.recordBatch(makeBatch(0));
    grouped.recordBatch(makeBatch(1));
    assert.is(committed(), 1);
    grouped.recordBatch(makeBatch(2));
    assert.is(committed(), 4);
    grouped.recordBatch(makeBatch(3));
    await new Promise((r) => setTimeout(r, 250));
    assert.is(committed(), 5, 'a lone queued batch is committed by the timer');
    assert.is(grouped.stats.batches, 4);
    assert.is(grouped.stats.commits, 2);
    grouped.finish('completed');
    reader.close();
    db.close();
  } finally {
    t.cleanup();
  }
});

test('markInterruptedRuns: a dead pid on this host or a stale heartbeat makes a running run interrupted; a live run is left alone', () => {
  const db = openRecordDb(':memory:');
  const live = new RunRecorder(db);
  const liveId = live.startRun({ kind: 'train', gitCommit: null });
  const insert = db.prepare(`INSERT INTO runs (kind, status, started_ms, config, host, pid, heartbeat_ms) VALUES ('run', 'running', ?, '{}', ?, ?, ?)`);
  const now = Date.now();
  const deadPid = Number(insert.run(now, hostname(), 2 ** 22 + 12345, now).lastInsertRowid); // above pid_max: never alive
  const otherHostFresh = Number(insert.run(now, 'elsewhere', 1, now).lastInsertRowid);
  const otherHostStale = Number(insert.run(now, 'elsewhere', 1, now - 120_000).lastInsertRowid);
  const samePidNotOurs = Number(insert.run(now, hostname(), process.pid, now).lastInsertRowid); // a previous process with our pid
  const parentAlive = Number(insert.run(now, hostname(), process.ppid, now).lastInsertRowid);
  const marked = markInterruptedRuns(db, { now });
  assert.equal(marked.sort((a, b) => a - b), [deadPid, otherHostStale, samePidNotOurs].sort((a, b) => a - b));
  const status = (id: number): string => getRun(db, id)!.status;
  assert.is(status(liveId), 'running');
  assert.is(status(otherHostFresh), 'running');
  assert.is(status(parentAlive), 'running');
  assert.is(status(deadPid), 'interrupted');
  assert.match(getRun(db, deadPid)!.error!, /is gone/);
  assert.is(getRun(db, otherHostStale)!.endedMs, now - 120_000);
  // A live pid with a stale heartbeat (pid reused) is interrupted too.
  assert.equal(markInterruptedRuns(db, { now: now + 61_000 }).sort((a, b) => a - b), [otherHostFresh, parentAlive]);
  assert.is(status(liveId), 'running', 'a run held by a recorder of this process is never marked');
  live.finish('completed');
  db.close();
});

test('gitCommit reads the checked-out commit from .git without running git, and null outside a repository', () => {
  const git = spawnSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' });
  if (git.status === 0) assert.is(gitCommit(process.cwd()), git.stdout.trim());
  const t = tempDir();
  try {
    assert.is(gitCommit(t.dir), null);
  } finally {
    t.cleanup();
  }
});

test('events carry the number of batches recorded before them and are read back in order, counted by kind in getRun', () => {
  const db = openRecordDb(':memory:');
  const rec = new RunRecorder(db);
  const id = rec.startRun({ kind: 'run', gitCommit: null });
  rec.recordEvent('boot', { epoch: 3 });
  rec.recordBatch(makeBatch(0));
  rec.recordBatch(makeBatch(1));
  rec.recordEvent('break', { reason: 'gap' });
  rec.recordEvent('reset');
  rec.recordBatch(makeBatch(2));
  rec.recordEvent('operator note: cable touched');
  rec.finish('completed');
  const ev = readEvents(db, id);
  assert.equal(ev.map((e) => [e.seqAfter, e.kind]), [[0, 'boot'], [2, 'break'], [2, 'reset'], [3, 'operator note: cable touched']]);
  assert.equal(ev[0].detail, { epoch: 3 });
  assert.is(ev[2].detail, undefined, 'no detail reads back as undefined, not null');
  assert.is((db.prepare('SELECT detail FROM events WHERE kind = ?').get('reset') as { detail: unknown }).detail, null);
  assert.equal(getRun(db, id)!.events, { boot: 1, break: 1, 'operator note: cable touched': 1, reset: 1 });
  assert.is(rec.stats.events, 4);
  db.close();
});

test('recordEvent refuses an empty or over-long kind and a detail that is not JSON, writing nothing', () => {
  const db = openRecordDb(':memory:');
  const rec = new RunRecorder(db);
  assert.throws(() => rec.recordEvent('reset'), /not started/);
  const id = rec.startRun({ kind: 'run', gitCommit: null });
  assert.throws(() => rec.recordEvent(''), /kind must be a string of 1..64/);
  assert.throws(() => rec.recordEvent('x'.repeat(65)), /kind must be a string of 1..64/);
  assert.throws(() => rec.recordEvent(7 as never), /kind must be a string/);
  assert.throws(() => rec.recordEvent('reset', { n: 1n }), /not JSON-serialisable/);
  assert.throws(() => rec.recordEvent('reset', 'x'.repeat(70_000)), /more than 65536/);
  rec.recordEvent('x'.repeat(64));
  rec.finish('completed');
  assert.equal(readEvents(db, id).map((e) => e.kind.length), [64]);
  assert.throws(() => db.prepare(`INSERT INTO events (run_id, seq_after, t_ms, kind) VALUES (?, 0, 0, ?)`).run(id, 'y'.repeat(65)), /CHECK constraint/);
  db.close();
});

test('an event is committed with the batches recorded before it, never ahead of them, and by the timer when alone', async () => {
  const t = tempDir();
  try {
    const path = join(t.dir, 'ev.sqlite');
    const db = openRecordDb(path);
    const reader = new Database(path, { readonly: true });
    const counts = (): [number, number] => [
      (reader.prepare('SELECT count(*) AS n FROM batches').get() as { n: number }).n,
      (reader.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n,
    ];
    const rec = new RunRecorder(db, { batchesPerCommit: 3, flushIntervalMs: 100 });
    rec.startRun({ kind: 'run', gitCommit: null });
    rec.recordBatch(makeBatch(0));
    rec.recordEvent('reject', { batchId: 2 });
    rec.recordBatch(makeBatch(1));
    assert.equal(counts(), [0, 0], 'nothing is committed before the third batch or 100 ms');
    rec.recordBatch(makeBatch(2));
    assert.equal(counts(), [3, 1]);
    rec.recordEvent('closed');
    await new Promise((r) => setTimeout(r, 250));
    assert.equal(counts(), [3, 2], 'a lone event reaches the database within about 100 ms');
    rec.finish('completed');
    reader.close();
    db.close();
  } finally {
    t.cleanup();
  }
});

test('saveArtifact refuses a second save of a name, and with { replace: true } overwrites it in place', () => {
  const db = openRecordDb(':memory:');
  const rec = new RunRecorder(db);
  const id = rec.startRun({ kind: 'train', gitCommit: null });
  const first = rec.saveArtifact('checkpoint', 'model', { step: 1 });
  assert.throws(() => rec.saveArtifact('checkpoint', 'model', { step: 2 }), /already has an artifact named "checkpoint"; pass \{ replace: true \}/);
  assert.equal(readArtifact(db, id, 'checkpoint'), { kind: 'model', json: { step: 1 } });
  rec.recordMetric('loss', 0, 1);
  assert.is(rec.saveArtifact('checkpoint', 'model', { step: 2 }, { replace: true }), first, 'the id is kept');
  assert.equal(readArtifact(db, id, 'checkpoint'), { kind: 'model', json: { step: 2 } });
  assert.is(readMetrics(db, id).length, 1, 'what was queued is committed with it');
  rec.saveArtifact('checkpoint', 'weights', Uint8Array.of(9, 8), { replace: true });
  assert.equal(readArtifact(db, id, 'checkpoint'), { kind: 'weights', blob: Uint8Array.of(9, 8) });
  assert.is(rec.saveArtifact('fresh', 'model', {}, { replace: true }) > first, true, 'replace on a new name just inserts');
  assert.throws(() => rec.saveArtifact('x', 'model', {}, { replace: 'yes' as never }), /replace must be a boolean/);
  rec.finish('completed');
  assert.equal(getRun(db, id)!.artifacts.map((a) => [a.name, a.kind, a.isBlob]), [['checkpoint', 'weights', true], ['fresh', 'model', false]]);
  db.close();
});

test('every batch row carries the CRC-32C of its stored input blob followed by its output blob', () => {
  const db = openRecordDb(':memory:');
  const rec = new RunRecorder(db);
  const id = rec.startRun({ kind: 'run', gitCommit: null });
  rec.recordBatch(makeBatch(0));
  rec.recordBatch({ batchId: 1, epoch: 0, timestampUs: 0, status: 0, count: 2, input: Float64Array.of(0.1, 2), output: Int16Array.of(-1, 7, 3, 4) });
  rec.finish('completed');
  const rows = db.prepare('SELECT input, output, checksum FROM batches WHERE run_id = ? ORDER BY seq').all(id) as
    { input: Buffer; output: Buffer; checksum: number }[];
  assert.is(rows.length, 2);
  for (const r of rows) assert.is(r.checksum, crc32c(Buffer.concat([r.input, r.output])));
  assert.is(rows[1].input.length, 8, 'the input blob holds only the input, not the shared buffer behind it');
  assert.is(rows[1].output.readFloatLE(0), -1);
  assert.not.equal(rows[0].checksum, rows[1].checksum);
  assert.equal([...readBatches(db, id)].map((b) => b.checksum), rows.map((r) => r.checksum));
  db.close();
});

test('a v1 database upgrades in place: its rows are kept with a NULL checksum, and new runs record events and checksums', () => {
  const t = tempDir();
  try {
    const path = join(t.dir, 'v1.sqlite');
    // What the v1 recorder wrote: the v1 schema, a run and a batch without checksum.
    const v1 = new Database(path);
    v1.pragma('journal_mode = WAL');
    v1.exec(MIGRATIONS[0]);
    v1.pragma('user_version = 1');
    v1.prepare(`INSERT INTO runs (id, kind, status, started_ms, ended_ms, config, host, pid, heartbeat_ms) VALUES (1, 'run', 'completed', 1, 2, '{"a":1}', 'h', 1, 2)`).run();
    const b = makeBatch(0);
    v1.prepare(`INSERT INTO batches VALUES (1, 0, 1, 3, 0, 0, 16, 1, 'u16', '[16,1]', ?, 'f32', '[16,3]', ?)`).run(encodeF32LE(b.input), encodeF32LE(b.output));
    v1.close();

    const ro = openRecordDb(path, { readonly: true });
    assert.is(schemaVersion(ro), 1, 'a read-only open does not migrate');
    assert.equal(readEvents(ro, 1), []);
    assert.equal(getRun(ro, 1)!.events, {});
    assert.is([...readBatches(ro, 1)][0].checksum, null);
    assert.equal(verifyRun(ro, 1).problems, ['seq 0: no checksum (a schema v1 row): unverifiable']);
    ro.close();

    const db = openRecordDb(path);
    assert.is(schemaVersion(db), 2);
    const old = [...readBatches(db, 1)];
    assert.is(old.length, 1);
    assert.is(old[0].checksum, null);
    assert.equal(Array.from(old[0].output), Array.from(b.output));
    const rec = new RunRecorder(db);
    const id = rec.startRun({ kind: 'run', gitCommit: null });
    rec.recordBatch(makeBatch(0));
    rec.recordEvent('reset');
    rec.finish('completed');
    assert.ok([...readBatches(db, id)][0].checksum !== null);
    assert.equal(readEvents(db, id).map((e) => e.kind), ['reset']);
    db.close();
    openRecordDb(path).close(); // reopening a v2 database is a no-op
  } finally {
    t.cleanup();
  }
});

test('while a run records into a file, WAL checkpoints run on a worker thread, and automatic ones come back when it finishes', async () => {
  const t = tempDir();
  try {
    const path = join(t.dir, 'ckpt.sqlite');
    const db = openRecordDb(path);
    const rec = new RunRecorder(db, { checkpointIntervalMs: 20 });
    const id = rec.startRun({ kind: 'bench', gitCommit: null });
    assert.is(db.pragma('wal_autocheckpoint', { simple: true }), 0, 'the recording connection no longer checkpoints in its commits');
    const big = makeBatch(0, 256, 1, 50); // 52 KB of float32 per batch
    for (let k = 0; k < 200; k++) {
      rec.recordBatch(big);
      if (k % 20 === 19) await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => setTimeout(r, 300));
    // Only a checkpoint moves pages from the WAL into the main file, and this connection makes none.
    assert.ok(statSync(path).size > 5_000_000, `main file ${statSync(path).size} bytes: the thread checkpointed the ~10 MB recorded`);
    rec.finish('completed');
    assert.is(db.pragma('wal_autocheckpoint', { simple: true }), 1000);
    assert.is([...readBatches(db, id)].length, 200);
    const inline = new RunRecorder(db, { checkpoint: 'inline' });
    inline.startRun({ kind: 'bench', gitCommit: null });
    assert.is(db.pragma('wal_autocheckpoint', { simple: true }), 1000);
    inline.finish('completed');
    assert.throws(() => new RunRecorder(db, { checkpoint: 'never' as never }), /checkpoint must be 'thread' or 'inline'/);
    db.close();
  } finally {
    t.cleanup();
  }
});

test('the checkpoint thread (checkpoint-worker.ts) loads and moves committed pages into the database file while the run records', async () => {
  const t = tempDir();
  try {
    const path = join(t.dir, 'rhil.db');
    const db = openRecordDb(path);
    const rec = new RunRecorder(db, { checkpointIntervalMs: 10 });
    rec.startRun({ kind: 'run', gitCommit: null });
    const before = statSync(path).size;
    for (let k = 0; k < 200; k++) rec.recordBatch(makeBatch(k, 256, 4, 16));
    // Automatic checkpoints are off while the thread holds the run, so only the thread can grow the file.
    assert.is(db.pragma('wal_autocheckpoint', { simple: true }), 0);
    for (let i = 0; i < 500 && statSync(path).size === before; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(statSync(path).size > before, 'the database file grew before the run finished');
    assert.is(db.pragma('wal_autocheckpoint', { simple: true }), 0, 'the thread did not fail back to inline checkpoints');
    rec.finish('completed');
    assert.is(db.pragma('wal_autocheckpoint', { simple: true }), 1000, 'automatic checkpoints come back');
    db.close();
  } finally {
    t.cleanup();
  }
});

test.run();
