import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import Database from 'better-sqlite3';
import { RunRecorder, openRecordDb } from '../../src/record/index.js';
import { makeBatch } from '../record/helpers.js';
import { readNpz } from '../record/npz.js';

const main = new URL('../../src/cli/main.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'rhil-runs-'));
const db = join(dir, 'rhil.db');

function rhil(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [main, ...args], { encoding: 'utf8', cwd: opts.cwd ?? dir, env: { ...process.env, RHIL_DB: '', ...opts.env }, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });
}

/**
 * Run 1: train, seed 1, lr 0.1, 4 batches of 8 x (1 -> 3), metrics test_nmse and loss, an artifact,
 * a boot event. Run 2: train, seed 2, lr 0.05, a reset then a new epoch, test_nmse only. Run 3: a
 * failed bench run without batches.
 */
function record(): void {
  const d = openRecordDb(db);
  const device = { vendor: 'rhil', model: 'sim-analog', serial: 'SIM-7', firmware: '1.0.0' };
  const one = new RunRecorder(d);
  one.startRun({ kind: 'train', config: { task: 'narma10', opt: { lr: 0.1, steps: 5 } }, seed: 1, backend: 'cpu', device, gitCommit: null });
  one.recordEvent('boot');
  for (let k = 0; k < 4; k++) one.recordBatch(makeBatch(k, 8, 1, 3));
  one.recordMetric('test_nmse', 0, 0.5);
  one.recordMetric('test_nmse', 1, 0.25);
  one.recordMetric('loss', 3, 1.5);
  one.saveArtifact('model', 'model', { w: [1, 2, 3] });
  one.finish('completed');
  const two = new RunRecorder(d);
  two.startRun({ kind: 'train', config: { task: 'narma10', opt: { lr: 0.05, steps: 5 } }, seed: 2, backend: 'cpu', device, gitCommit: null });
  two.recordBatch(makeBatch(0, 8, 1, 3));
  two.recordEvent('break', { reason: 'timeout' });
  two.recordEvent('reset', { epoch: 4 });
  two.recordBatch({ ...makeBatch(1, 8, 1, 3), epoch: 4, batchId: 9 });
  two.recordMetric('test_nmse', 0, 0.125);
  two.finish('completed');
  const three = new RunRecorder(d);
  three.startRun({ kind: 'bench', gitCommit: null });
  three.finish('failed', new Error('link lost'));
  d.close();
}
record();

test('runs list: newest first, filters by kind and status, a limit, and --json', async () => {
  const r = await rhil(['runs', 'list']);
  assert.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0], /^id\s+kind\s+status\s+started\s+duration\s+batches\s+seed\s+backend$/);
  assert.equal(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 3)), [['3', 'bench', 'failed'], ['2', 'train', 'completed'], ['1', 'train', 'completed']]);
  const j = JSON.parse((await rhil(['runs', 'list', '--kind', 'train', '--json'])).stdout) as { id: number; batches: number }[];
  assert.equal(j.map((x) => [x.id, x.batches]), [[2, 2], [1, 4]]);
  assert.equal((JSON.parse((await rhil(['runs', 'list', '--status', 'failed', '--json'])).stdout) as { id: number }[]).map((x) => x.id), [3]);
  assert.equal((JSON.parse((await rhil(['runs', 'list', '--limit', '1', '--json'])).stdout) as { id: number }[]).map((x) => x.id), [3]);
  assert.match((await rhil(['runs', 'list', '--kind', 'calibrate'])).stdout, /no runs in rhil\.db match/);
  const bad = await rhil(['runs', 'list', '--kind', 'nap']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /Choices: "calibrate", "train", "run", "bench"/);
});

test('runs show: config, device, calibration, metrics with their last values, artifacts, events; `last`; --json', async () => {
  const r = await rhil(['runs', 'show', '1']);
  assert.is(r.code, 0, r.stderr);
  for (const re of [
    /^run\s+1 train completed$/m, /^seed\s+1$/m, /^device\s+rhil sim-analog, serial SIM-7, firmware 1\.0\.0$/m, /^calibration\s+none$/m,
    /^batches\s+4 \(32 samples\)$/m, /^config\s+task = "narma10"$/m, /^\s+opt\.lr = 0\.1$/m,
    /^metrics\s+loss: 1 point, last 1\.5 at step 3$/m, /^\s+test_nmse: 2 points, last 0\.25 at step 1$/m,
    /^artifacts\s+model \(model, json, 13 B\)$/m, /^events\s+boot 1$/m,
  ]) assert.match(r.stdout, re);
  const failed = await rhil(['runs', 'show', 'last']);
  assert.match(failed.stdout, /^run\s+3 bench failed$/m);
  assert.match(failed.stdout, /^error\s+link lost$/m);
  const j = JSON.parse((await rhil(['runs', 'show', '2', '--json'])).stdout) as Record<string, unknown>;
  assert.equal(j.events, { break: 1, reset: 1 });
  assert.is(j.samples, 16);
  assert.equal(j.metrics, [{ name: 'test_nmse', count: 1, lastStep: 0, lastValue: 0.125 }]);
  assert.equal(j.config, { task: 'narma10', opt: { lr: 0.05, steps: 5 } });
});

test('runs compare: fields side by side, only the config keys that differ, the last value of every metric', async () => {
  const r = await rhil(['runs', 'compare', '1', '2', '3']);
  assert.is(r.code, 0, r.stderr);
  const rows = new Map(r.stdout.trim().split('\n').map((l) => { const c = l.split(/\s{2,}/); return [c[0], c.slice(1)] as const; }));
  assert.equal(rows.get('run'), ['1', '2', '3']);
  assert.equal(rows.get('kind'), ['train', 'train', 'bench']);
  assert.equal(rows.get('seed'), ['1', '2', '-']);
  assert.equal(rows.get('device'), ['sim-analog SIM-7', 'sim-analog SIM-7', '-']);
  assert.equal(rows.get('config.opt.lr'), ['0.1', '0.05', '-']);
  assert.equal(rows.get('config.task'), ['"narma10"', '"narma10"', '-']);
  assert.equal(rows.get('test_nmse'), ['0.25', '0.125', '-']);
  assert.equal(rows.get('loss'), ['1.5', '-', '-']);
  const j = JSON.parse((await rhil(['runs', 'compare', '1', '2', '--json'])).stdout) as { config: Record<string, unknown>; metrics: Record<string, unknown> };
  assert.equal(j.config, { 'opt.lr': ['0.1', '0.05'] }, 'keys equal in every run are left out');
  assert.equal(j.metrics, { loss: [1.5, null], test_nmse: [0.25, 0.125] });
  const one = await rhil(['runs', 'compare', '1']);
  assert.is(one.code, 2);
  assert.match(one.stderr, /needs two or more runs/);
});

test('runs verify: exit 0 on a sound run; on a tampered copy exit 1 with each problem listed', async () => {
  const ok = await rhil(['runs', 'verify', '2']);
  assert.is(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^run 2: ok: 2 batches, 16 samples, 2 segments; events break 1, reset 1; 0 artifacts; database ok$/m);
  const copy = join(dir, 'tampered.db');
  const src = new Database(db, { readonly: true });
  await src.backup(copy);
  src.close();
  const t = new Database(copy);
  t.prepare('DELETE FROM batches WHERE run_id = 1 AND seq = 1').run();
  t.prepare('UPDATE batches SET status = 2 WHERE run_id = 1 AND seq = 3').run();
  t.close();
  const bad = await rhil(['runs', 'verify', '1', '--db', copy]);
  assert.is(bad.code, 1);
  assert.match(bad.stdout, /^run 1: NOT ok: 3 batches, 24 samples, 1 segment; events boot 1; \d+ artifacts?; database ok$/m);
  assert.match(bad.stdout, /^ {2}seq 1: missing row \(a hidden gap before seq 2 \(batch 3\)\)$/m);
  assert.match(bad.stdout, /^ {2}seq 3 \(batch 4\): status 2, not 0 \(ok\)$/m);
  assert.match(bad.stderr, /^rhil: run 1 failed verification: 2 problems \(listed above\)$/m);
  const j = await rhil(['runs', 'verify', '1', '--db', copy, '--json']);
  assert.is(j.code, 1);
  assert.is((JSON.parse(j.stdout) as { problems: string[] }).problems.length, 2);
});

test('export writes npz, csv and jsonl (default name rhil-run-<id>.<ext>), and csv to standard output with --out=-', async () => {
  const npz = await rhil(['export', '1', '--format', 'npz']);
  assert.is(npz.code, 0, npz.stderr);
  assert.match(npz.stdout, /^exported run 1: 4 batches, 32 samples, 3 metric points -> rhil-run-1\.npz \([\d,]+ bytes\)$/m);
  const z = readNpz(readFileSync(join(dir, 'rhil-run-1.npz')));
  assert.equal(z.entries.get('outputs')!.shape, [32, 3]);
  assert.equal(z.entries.get('outputs')!.values.slice(72), Array.from(makeBatch(3, 8, 1, 3).output));
  assert.equal(z.entries.get('metric_test_nmse')!.values, [0, 0.5, 1, 0.25]);

  const csv = await rhil(['export', '1', '--format', 'csv', '--out', join(dir, 'one.csv')]);
  assert.is(csv.code, 0, csv.stderr);
  const lines = readFileSync(join(dir, 'one.csv'), 'utf8').trim().split('\n');
  assert.is(lines[0], 'seq,batch_id,epoch,timestamp_us,sample,in0,out0,out1,out2');
  assert.is(lines.length, 33);
  assert.is(lines[9], `1,2,3,1000,0,7,${makeBatch(1, 8, 1, 3).output.slice(0, 3).join(',')}`);

  const jsonl = await rhil(['export', '2', '--format', 'jsonl', '--json']);
  assert.is(jsonl.code, 0, jsonl.stderr);
  assert.is((JSON.parse(jsonl.stdout) as { out: string; batches: number }).out, 'rhil-run-2.jsonl');
  const objs = readFileSync(join(dir, 'rhil-run-2.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; epoch?: number });
  assert.equal(objs.map((o) => [o.type, o.epoch]), [['batch', 3], ['batch', 4], ['metric', undefined]]);

  const piped = await rhil(['export', '2', '--format', 'csv', '--out=-']);
  assert.is(piped.code, 0, piped.stderr);
  assert.is(piped.stdout.trim().split('\n').length, 17);
  assert.match(piped.stderr, /-> standard output/);
  const npzOut = await rhil(['export', '2', '--format', 'npz', '--out=-']);
  assert.is(npzOut.code, 2);
  assert.match(npzOut.stderr, /npz cannot go to standard output/);
  const dirty = await rhil(['export', '1', '--format', 'csv', '--out', join(dir, 'no', 'such', 'dir.csv')]);
  assert.is(dirty.code, 2);
  assert.match(dirty.stderr, /--out: cannot write .*dir\.csv \(ENOENT\); pass --out a path in a writable directory/);
  assert.is((await rhil(['export', '1'])).code, 2, '--format is required');
});

test('bad inputs: an unknown run, a missing database (not created), a file that is not SQLite, a foreign database, a directory', async () => {
  const unknown = await rhil(['runs', 'show', '42']);
  assert.is(unknown.code, 2);
  assert.is(unknown.stderr, 'rhil: run 42 not found in rhil.db; rhil runs list shows the runs\n');
  const other = await rhil(['export', '42', '--format', 'csv', '--db', db]);
  assert.match(other.stderr, new RegExp(`run 42 not found in ${db}; rhil runs list --db ${db} shows the runs`));
  const notNumber = await rhil(['runs', 'verify', '1.5']);
  assert.is(notNumber.code, 2);
  assert.match(notNumber.stderr, /RUN must be a run id \(a positive integer\) or last, got 1\.5/);

  const missing = join(dir, 'nothing.db');
  for (const args of [['runs', 'list'], ['runs', 'show', '1'], ['runs', 'verify', '1'], ['export', '1', '--format', 'csv']]) {
    const r = await rhil([...args, '--db', missing]);
    assert.is(r.code, 2, args.join(' '));
    assert.match(r.stderr, /^rhil: no run database at .*nothing\.db \(opened read-only, so not created\); pass --db PATH or set RHIL_DB/);
  }
  assert.not.ok(existsSync(missing), 'reading never creates a database');

  const text = join(dir, 'notes.txt');
  writeFileSync(text, 'these are not the runs you are looking for\n'.repeat(100));
  const notDb = await rhil(['runs', 'list', '--db', text]);
  assert.is(notDb.code, 2);
  assert.match(notDb.stderr, /^rhil: .*notes\.txt is not an SQLite database \(file is not a database\); pass --db the file rhil recorded into\n$/);

  const foreign = join(dir, 'foreign.db');
  const f = new Database(foreign);
  f.exec('CREATE TABLE t (x)');
  f.close();
  const fr = await rhil(['runs', 'list', '--db', foreign]);
  assert.is(fr.code, 2);
  assert.match(fr.stderr, /is an SQLite database but not a run database \(no runs table\)/);

  mkdirSync(join(dir, 'adir'));
  const d = await rhil(['runs', 'list', '--db', join(dir, 'adir')]);
  assert.is(d.code, 2);
  assert.match(d.stderr, /adir is a directory, not a run database/);

  const env = await rhil(['runs', 'list', '--json'], { env: { RHIL_DB: db }, cwd: tmpdir() });
  assert.is(env.code, 0, env.stderr);
  assert.is((JSON.parse(env.stdout) as unknown[]).length, 3, '$RHIL_DB is the default database');
});

test('a database locked by another process: a one-line failure (exit 1) saying to wait', async () => {
  const locked = join(dir, 'locked.db');
  const src = new Database(db, { readonly: true });
  await src.backup(locked);
  src.close();
  // A writer in exclusive locking mode keeps even WAL readers out until it lets go.
  const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
  const holder = spawn(process.execPath, ['-e', `
    const db = new (require(${JSON.stringify(sqlite)}))(${JSON.stringify(locked)});
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
    console.log('locked');
    process.stdin.on('data', () => {}).on('end', () => process.exit(0));`], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    await once(createInterface({ input: holder.stdout! }), 'line');
    const r = await rhil(['runs', 'list', '--db', locked]);
    assert.is(r.code, 1);
    assert.match(r.stderr, /^rhil: .*locked\.db is locked by another process \(database is locked\); wait for it to finish and try again\n$/);
  } finally {
    holder.stdin!.end();
    await once(holder, 'exit');
  }
  assert.is((await rhil(['runs', 'list', '--db', locked])).code, 0, 'readable once the lock is gone');
});

test('rhil --help lists runs and export', async () => {
  const r = await rhil(['--help']);
  assert.match(r.stdout, /^\s+rhil runs\s/m);
  assert.match(r.stdout, /^\s+rhil export <run>\s/m);
  const sub = await rhil(['runs', '--help']);
  for (const c of ['list', 'show <run>', 'compare <runs..>', 'verify <run>']) assert.match(sub.stdout, new RegExp(`rhil runs ${c.replace(/[.<>]/g, '\\$&')}`));
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
