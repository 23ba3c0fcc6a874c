import Database from 'better-sqlite3';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, closeSync, existsSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type BatchResult, type DeviceClient, openDevice } from '../../src/device/index.js';
import { getRun, listRuns, openRecordDb, readArtifact, readBatches, readEvents, readMetrics, verifyRun } from '../../src/record/index.js';
import { RecordDbError, interruptRequested, parseRecordPolicy, projectedBytes, withRecordedRun } from '../../src/session/index.js';
import { TrainingInterrupted } from '../../src/train/common.js';

function tempDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'rhil-session-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A ramp of `count` drives starting at `k`, in the analog simulator's 12-bit range. */
const ramp = (k: number, count: number): number[] => Array.from({ length: count }, (_, i) => (k * 37 + i * 11) % 4096);

async function withDevice<T>(f: (d: DeviceClient) => Promise<T>): Promise<T> {
  const d = await openDevice('sim:analog', { seed: 1 });
  try {
    return await f(d);
  } finally {
    await d.close();
  }
}

test('a completed run holds exactly the batches the device returned, its events, metrics and artifacts', async () => {
  const t = tempDir();
  try {
    const path = join(t.dir, 'rhil.db');
    const { runId, got } = await withDevice((device) => withRecordedRun(
      { db: path, kind: 'run', config: { what: 'ramp' }, seed: 5, backend: 'cpu', device, handleSignals: false },
      async (ctx) => {
        const got: BatchResult[] = [];
        await device.resetState();
        for (let k = 0; k < 6; k++) got.push(await device.process(ramp(k, 20 + k)));
        ctx.metric('mean_out', 0, 1.5);
        ctx.metric('mean_out', 1, NaN);
        ctx.artifact('summary', 'summary', { batches: got.length });
        ctx.artifact('summary', 'summary', { batches: got.length, replaced: true }, { replace: true });
        ctx.event('note', { why: 'test' });
        return { runId: ctx.runId, got };
      },
    ));
    assert.type(runId, 'number');
    const db = openRecordDb(path, { readonly: true });
    try {
      const run = getRun(db, runId!)!;
      assert.is(run.status, 'completed');
      assert.is(run.kind, 'run');
      assert.is(run.seed, 5);
      assert.is(run.backend, 'cpu');
      assert.equal(run.config, { what: 'ramp' });
      assert.is(run.device!.model, 'sim-analog');
      assert.is((run.device!.info as { outChannels: number }).outChannels, 50);
      const rows = [...readBatches(db, runId!)];
      assert.is(rows.length, got.length);
      rows.forEach((r, i) => {
        assert.is(r.batchId, got[i].batchId);
        assert.is(r.epoch, got[i].epoch);
        assert.is(r.timestampUs, got[i].timestampUs);
        assert.equal(r.inputShape, [got[i].count, 1]);
        assert.equal(r.outputShape, [got[i].count, 50]);
        // u16 samples are exact in float32, so the stored arrays equal the device's bit for bit.
        assert.equal([...r.input], [...got[i].input]);
        assert.equal([...r.output], [...got[i].output]);
      });
      const m = readMetrics(db, runId!, 'mean_out');
      assert.equal(m.map((p) => [p.step, p.value]), [[0, 1.5], [1, NaN]]);
      assert.equal(readArtifact(db, runId!, 'summary')!.json, { batches: 6, replaced: true });
    } finally {
      db.close();
    }
    const db2 = openRecordDb(path, { readonly: true });
    const ev = readEvents(db2, runId!);
    db2.close();
    assert.equal(ev.map((e) => [e.kind, e.seqAfter]), [['reset', 0], ['note', 6]]);
    assert.equal(ev[0].detail, { epoch: got[0].epoch });
  } finally {
    t.cleanup();
  }
});

test('a body that throws marks the run failed with the error text, and the error reaches the caller', async () => {
  const t = tempDir();
  try {
    const path = join(t.dir, 'rhil.db');
    let id: number | null = null;
    const before = process.listenerCount('SIGINT');
    const err = await withDevice((device) => withRecordedRun({ db: path, kind: 'bench', config: {}, device }, async (ctx) => {
      id = ctx.runId;
      assert.is(process.listenerCount('SIGINT'), before + 1);
      await device.resetState();
      await device.process(ramp(0, 8));
      throw new Error('lamp burnt out');
    })).catch((e: unknown) => e as Error);
    assert.instance(err, Error);
    assert.is(err!.message, 'lamp burnt out');
    assert.is(process.listenerCount('SIGINT'), before, 'signal handlers removed');
    const db = openRecordDb(path, { readonly: true });
    const run = getRun(db, id!)!;
    db.close();
    assert.is(run.status, 'failed');
    assert.is(run.error, 'lamp burnt out');
    assert.is(run.batches, 1);
  } finally {
    t.cleanup();
  }
});

test('SIGINT aborts ctx.signal: the body stops after its batch in flight, every committed batch stays readable, status interrupted', async () => {
  const t = tempDir();
  try {
    const path = join(t.dir, 'rhil.db');
    const said: string[] = [];
    let id: number | null = null;
    let sent = 0;
    const err = await withDevice((device) => withRecordedRun({ db: path, kind: 'run', config: {}, device, log: (l) => said.push(l) }, async (ctx) => {
      id = ctx.runId;
      await device.resetState();
      for (let k = 0; ; k++) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        const pending = device.process(ramp(k, 16));
        sent++;
        if (k === 4) process.kill(process.pid, 'SIGINT');
        await pending;
        // Let the signal be delivered between batches, as it would be in a real run.
        await new Promise((r) => setTimeout(r, 5));
      }
    })).catch((e: unknown) => e as Error);
    assert.match(err!.message, /interrupted by SIGINT/);
    assert.ok(said.some((l) => /interrupting/.test(l)), said.join('\n'));
    assert.ok(sent >= 5 && sent < 20, `sent ${sent}`);
    const db = openRecordDb(path, { readonly: true });
    try {
      const run = getRun(db, id!)!;
      assert.is(run.status, 'interrupted');
      const rows = [...readBatches(db, id!)];
      assert.is(rows.length, sent);
      rows.forEach((r, k) => assert.equal([...r.input], ramp(k, 16)));
    } finally {
      db.close();
    }
  } finally {
    t.cleanup();
  }
});

test('a second SIGINT exits at once with 130, the run marked interrupted and its batches kept', async () => {
  const t = tempDir();
  try {
    const path = join(t.dir, 'rhil.db');
    const session = new URL('../../src/session/index.js', import.meta.url).href;
    const device = new URL('../../src/device/index.js', import.meta.url).href;
    // A body that ignores its signal, as a stuck measurement would.
    const script = `import { withRecordedRun } from ${JSON.stringify(session)};
      import { openDevice } from ${JSON.stringify(device)};
      const d = await openDevice('sim:analog', { seed: 1 });
      await withRecordedRun({ db: process.argv[1], kind: 'run', config: {}, device: d }, async () => {
        await d.resetState();
        for (let k = 0; k < 3; k++) await d.process([1, 2, 3, 4]);
        console.log('ready');
        await new Promise(() => setInterval(() => undefined, 1000));
      });`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, path], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d) => { err += d; });
    const exited = once(child, 'exit');
    await once(child.stdout!, 'data');
    child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 200));
    assert.is(child.exitCode, null, 'the first SIGINT only asks');
    child.kill('SIGINT');
    const [code] = await exited as [number | null];
    assert.is(code, 130, err);
    assert.match(err, /interrupting/);
    const db = openRecordDb(path, { readonly: true });
    try {
      const run = listRuns(db)[0];
      assert.is(run.status, 'interrupted');
      assert.is(run.batches, 3);
      assert.match(getRun(db, run.id)!.error!, /second SIGINT/);
    } finally {
      db.close();
    }
  } finally {
    t.cleanup();
  }
});

test('TrainingInterrupted marks the run interrupted even without a signal', async () => {
  const t = tempDir();
  try {
    const path = join(t.dir, 'rhil.db');
    let id: number | null = null;
    const err = await withRecordedRun({ db: path, kind: 'train', config: {}, handleSignals: false }, async (ctx) => {
      id = ctx.runId;
      ctx.metric('loss', 0, 0.5);
      throw new TrainingInterrupted([], 0);
    }).catch((e: unknown) => e);
    assert.instance(err, TrainingInterrupted);
    const db = openRecordDb(path, { readonly: true });
    const run = getRun(db, id!)!;
    db.close();
    assert.is(run.status, 'interrupted');
    assert.is(run.metrics[0].name, 'loss');
  } finally {
    t.cleanup();
  }
});

test('without a db nothing is written, the context is a no-op, and the signal still works', async () => {
  const t = tempDir();
  const cwd = process.cwd();
  try {
    process.chdir(t.dir);
    const r = await withDevice((device) => withRecordedRun({ kind: 'run', config: {}, device, log: () => undefined }, async (ctx) => {
      assert.is(ctx.runId, null);
      await device.resetState();
      await device.process(ramp(0, 4));
      ctx.metric('x', 0, 1);
      ctx.artifact('a', 'b', { c: 1 });
      ctx.event('e');
      process.kill(process.pid, 'SIGINT');
      await new Promise((res) => setTimeout(res, 20));
      return ctx.signal.aborted;
    }));
    assert.is(r, true);
    assert.equal(existsSync(join(t.dir, 'rhil.db')), false);
  } finally {
    process.chdir(cwd);
    t.cleanup();
  }
});

test('a database locked by another writer gives one clear error naming it and what to do; no run is left behind', async () => {
  const t = tempDir();
  try {
    const path = join(t.dir, 'rhil.db');
    openRecordDb(path).close();
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    try {
      let ran = false;
      const err = await withRecordedRun({ db: path, kind: 'run', config: {}, handleSignals: false, busyTimeoutMs: 100 }, async () => { ran = true; })
        .then(() => null, (e: unknown) => e as Error);
      assert.instance(err, RecordDbError);
      assert.is(ran, false);
      assert.match(err!.message, `${path} is locked by another process`);
      assert.match(err!.message, /wait for it or pass --db another\.db/);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    const db = openRecordDb(path, { readonly: true });
    assert.is((db.prepare('SELECT count(*) AS n FROM runs').get() as { n: number }).n, 0);
    db.close();
  } finally {
    t.cleanup();
  }
});

test('a file that is not a database, and a directory that does not exist, give clear errors', async () => {
  const t = tempDir();
  try {
    const junk = join(t.dir, 'notes.db');
    writeFileSync(junk, 'these are my lab notes, not a database; '.repeat(40));
    const a = await withRecordedRun({ db: junk, kind: 'run', config: {}, handleSignals: false }, async () => 1).then(() => null, (e: unknown) => e as Error);
    assert.instance(a, RecordDbError);
    assert.match(a!.message, `${junk} is not a run database`);
    const missing = join(t.dir, 'no', 'such', 'dir', 'rhil.db');
    const b = await withRecordedRun({ db: missing, kind: 'run', config: {}, handleSignals: false }, async () => 1).then(() => null, (e: unknown) => e as Error);
    assert.instance(b, RecordDbError);
    assert.match(b!.message, `directory ${join(t.dir, 'no', 'such', 'dir')} does not exist`);
  } finally {
    t.cleanup();
  }
});

test('a read-only database gives one clear error', () => {
  const t = tempDir();
  try {
    const path = join(t.dir, 'rhil.db');
    openRecordDb(path).close();
    chmodSync(path, 0o444);
    chmodSync(t.dir, 0o755);
    // root writes through file modes, so the attempt runs as an unprivileged user when we are root.
    const asRoot = process.getuid?.() === 0;
    const session = new URL('../../src/session/index.js', import.meta.url).href;
    const script = `import { withRecordedRun } from ${JSON.stringify(session)};
      withRecordedRun({ db: process.argv[1], kind: 'run', config: {}, handleSignals: false }, async () => 'ran')
        .then((r) => console.log(JSON.stringify({ name: 'none', message: r })), (e) => console.log(JSON.stringify({ name: e.name, message: e.message })));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, path], { encoding: 'utf8', ...(asRoot ? { uid: 65534, gid: 65534 } : {}) });
    assert.is(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { name: string; message: string };
    assert.is(out.name, 'RecordDbError');
    assert.match(out.message, path);
    assert.match(out.message, /read-only|cannot open .* for writing/);
    assert.match(out.message, /--db another\.db/);
  } finally {
    t.cleanup();
  }
});

test('a write failure mid-run stops the body (not as an interrupt); when the database refuses even the failed status, the next open records it from the marker', async () => {
  const t = tempDir();
  try {
    const path = join(t.dir, 'rhil.db');
    openRecordDb(path).close();
    const other = new Database(path);
    let interrupted: boolean | null = null;
    let runId = 0;
    const err = await withDevice((device) => withRecordedRun({ db: path, kind: 'run', config: {}, device, handleSignals: false, busyTimeoutMs: 50 }, async (ctx) => {
      runId = ctx.runId!;
      await device.resetState();
      for (let k = 0; k < 3; k++) await device.process(ramp(k, 10));
      // Another writer takes the database: every commit of this run now fails (an injected write error).
      other.exec('BEGIN IMMEDIATE');
      await device.process(ramp(3, 10));
      interrupted = interruptRequested(ctx.signal);
      ctx.signal.throwIfAborted();
      return 'not reached';
    })).then(() => null, (e: unknown) => e as Error);
    assert.instance(err, RecordDbError);
    assert.is(interrupted, false, 'a recording failure is not a Ctrl-C');
    assert.match(err!.message, /is locked by another process/);
    assert.match(err!.message, `run ${runId} will be marked failed at the next open of ${path}`);
    assert.ok(existsSync(`${path}-failed`));
    other.exec('ROLLBACK');
    other.close();
    const db = openRecordDb(path);
    try {
      const run = getRun(db, runId)!;
      assert.is(run.status, 'failed');
      assert.match(run.error!, /is locked by another process/);
      assert.is(run.batches, 3, 'the batches committed before the failure are kept');
      assert.ok(verifyRun(db, runId).ok);
    } finally {
      db.close();
    }
    assert.not.ok(existsSync(`${path}-failed`), 'the marker is consumed');
  } finally {
    t.cleanup();
  }
});

test('--record-batches every N keeps the first of each N batches, says so in an event, and the run still verifies; none keeps events only', async () => {
  const t = tempDir();
  try {
    const path = join(t.dir, 'rhil.db');
    for (const policy of [parseRecordPolicy('every 3'), parseRecordPolicy('none')]) {
      await withDevice((device) => withRecordedRun({ db: path, kind: 'run', config: {}, device, handleSignals: false, recordBatches: policy }, async () => {
        await device.resetState();
        for (let k = 0; k < 7; k++) await device.process(ramp(k, 10));
      }));
    }
    const db = openRecordDb(path, { readonly: true });
    try {
      assert.equal([...readBatches(db, 1)].map((b) => b.batchId), [1, 4, 7]);
      const v = verifyRun(db, 1);
      assert.ok(v.ok, v.problems.join('\n'));
      assert.is(v.sampled, 'every 3');
      assert.equal(readEvents(db, 1).map((e) => e.kind), ['recording', 'reset']);
      assert.is(getRun(db, 2)!.batches, 0);
      assert.equal(readEvents(db, 2)[0].detail, { batches: 'none' });
      assert.ok(verifyRun(db, 2).ok);
      // A hidden jump backwards is still caught in a sampled run.
      const w = new Database(path);
      w.prepare('UPDATE batches SET batch_id = 2 WHERE run_id = 1 AND seq = 2').run();
      w.close();
      assert.match(verifyRun(db, 1).problems.join('\n'), /batch id 2 after 4 in epoch \d+, expected a later one/);
    } finally {
      db.close();
    }
    assert.throws(() => parseRecordPolicy('sometimes'), /--record-batches must be all, none or every N/);
    assert.equal(parseRecordPolicy('every:1'), 'all');
    assert.is(projectedBytes(1000, 1, 50, 100, 'none'), 0);
    assert.is(projectedBytes(1000, 1, 50, 100, { every: 10 }) * 10, projectedBytes(1000, 1, 50, 100, 'all'));
  } finally {
    t.cleanup();
  }
});

test('a damaged database is refused for recording with one line that names salvage', async () => {
  const t = tempDir();
  try {
    const path = join(t.dir, 'rhil.db');
    await withDevice((device) => withRecordedRun({ db: path, kind: 'run', config: {}, device, handleSignals: false }, async () => {
      await device.resetState();
      for (let k = 0; k < 40; k++) await device.process(ramp(k, 100));
    }));
    const size = statSync(path).size;
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.alloc(16384, 0xa5), 0, 16384, Math.floor(size / 2 / 4096) * 4096);
    closeSync(fd);
    const err = await withRecordedRun({ db: path, kind: 'run', config: {}, handleSignals: false }, async () => 'ran').then(() => null, (e: unknown) => e as Error);
    assert.instance(err, RecordDbError);
    assert.match(err!.message, `${path} is damaged (quick_check: `);
    assert.match(err!.message, `rhil runs salvage ${path} NEW.db`);
    assert.not.match(err!.message, /\n/);
  } finally {
    t.cleanup();
  }
});

test.run();
