/**
 * A damaged run database is never called sound, is not recorded into, and gives up its readable
 * runs: 16 KiB overwritten mid-file, a truncated copy, and a file on read-only media.
 */
import { execFile } from 'node:child_process';
import { chmodSync, closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, truncateSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RunRecorder, listRuns, openRecordDb, verifyRun } from '../../src/record/index.js';

const main = new URL('../../src/cli/main.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'rhil-integrity-'));
const good = join(dir, 'good.db');

async function rhil(args: string[], as?: { uid: number; gid: number }): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.RHIL_DB;
  delete env.FORCE_COLOR;
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [main, ...args], { cwd: dir, env, encoding: 'utf8', ...as });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

test.before(() => {
  // Three runs of 60 batches each, one after the other, so the middle of the file is run 2's.
  const db = openRecordDb(good);
  for (let r = 0; r < 3; r++) {
    const rec = new RunRecorder(db, { checkpoint: 'inline' });
    rec.startRun({ kind: 'run', config: { r }, gitCommit: null });
    for (let i = 0; i < 60; i++) {
      rec.recordBatch({ batchId: i + 1, epoch: 1, timestampUs: i * 1000, status: 0, count: 10, input: new Float32Array(10).fill(i), output: new Float32Array(500).fill(r) });
    }
    rec.recordMetric('steps', 0, 600);
    rec.saveArtifact('summary', 'run-summary', { r });
    rec.finish('completed');
  }
  db.close();
});

function damagedCopy(name: string): string {
  const path = join(dir, name);
  copyFileSync(good, path);
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.alloc(16384, 0x5a), 0, 16384, Math.floor(statSync(path).size / 2 / 4096) * 4096);
  closeSync(fd);
  return path;
}

test('16 KiB overwritten: verify says DAMAGED (exit 1); list still lists; recording into it is refused; salvage copies the readable runs', async () => {
  const bad = damagedCopy('bad.db');
  const v = await rhil(['runs', 'verify', '1', '--db', bad]);
  assert.is(v.code, 1, v.stderr);
  assert.match(v.stdout, /^run 1: NOT ok: .*; database DAMAGED$/m);
  assert.match(v.stdout, /^ {2}database: quick_check: /m);

  const list = await rhil(['runs', 'list', '--db', bad]);
  assert.is(list.code, 0, list.stderr);
  assert.equal(list.stdout.trim().split('\n').slice(1).map((l) => l.split(/\s+/)[0]), ['3', '2', '1']);

  const rec = await rhil(['train', '--trainer', 'digital', '--episodes', '1', '--db', bad]);
  assert.is(rec.code, 1, rec.stderr);
  assert.match(rec.stderr, new RegExp(`^rhil: ${bad} is damaged \\(quick_check: [^\\n]*\\); nothing more is recorded into it: rhil runs salvage ${bad} NEW\\.db copies its readable runs; then pass --db NEW\\.db \\(or --no-record\\)\\n$`));
  const check = openRecordDb(good, { readonly: true });
  assert.is(listRuns(check).length, 3);
  check.close();

  const s = await rhil(['runs', 'salvage', bad, 'rescued.db']);
  assert.is(s.code, 0, s.stderr);
  assert.match(s.stdout, /^salvaged 3 of 3 runs into rescued\.db \(\d whole\)/m);
  const db = openRecordDb(join(dir, 'rescued.db'), { readonly: true });
  try {
    const results = [1, 2, 3].map((id) => verifyRun(db, id));
    assert.ok(results.filter((r) => r.ok).length >= 2, JSON.stringify(results.map((r) => r.problems)));
    for (const r of results) {
      assert.is(r.integrity, 'ok');
      // A run that lost rows, or kept rows whose bytes were overwritten, says so; one that verifies has every batch.
      if (!r.ok) assert.match(r.problems.join('\n'), /salvaged: copied from .*bad\.db, where \d+ row\(s\) could not be read|checksum mismatch/);
      else assert.is(r.batches, 60);
    }
  } finally {
    db.close();
  }
  const again = await rhil(['runs', 'salvage', bad, 'rescued.db']);
  assert.is(again.code, 2);
  assert.match(again.stderr, /rescued\.db exists; salvage writes a new file and never replaces one/);
  const ex = await rhil(['export', '1', '--db', 'rescued.db', '--format', 'csv', '--out', 'r1.csv']);
  assert.is(ex.code, 0, ex.stderr);
});

test('a truncated file: commands name it damaged and point to salvage, which recovers the runs before the cut', async () => {
  const cut = join(dir, 'cut.db');
  copyFileSync(good, cut);
  truncateSync(cut, Math.floor(statSync(good).size * 0.6));
  const list = await rhil(['runs', 'list', '--db', cut]);
  assert.is(list.code, 1);
  assert.match(list.stderr, new RegExp(`^rhil: ${cut} is damaged \\(database disk image is malformed\\); .*rhil runs salvage ${cut} NEW\\.db`));
  const s = await rhil(['runs', 'salvage', cut, 'cut-rescued.db']);
  assert.is(s.code, 0, s.stderr);
  const db = openRecordDb(join(dir, 'cut-rescued.db'), { readonly: true });
  try {
    const one = verifyRun(db, 1);
    assert.ok(one.ok, one.problems.join('\n'));
    assert.is(one.batches, 60);
    assert.not.ok(verifyRun(db, 3).ok, 'the run past the cut is not called sound');
  } finally {
    db.close();
  }
});

test('read-only media (no -shm can be created): runs list and export still work', async () => {
  const ro = join(dir, 'ro');
  mkdirSync(ro);
  copyFileSync(good, join(ro, 'rhil.db'));
  chmodSync(join(ro, 'rhil.db'), 0o444);
  chmodSync(ro, 0o555);
  // root writes through modes, so the commands run as an unprivileged user when we are root.
  const as = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined;
  chmodSync(dir, 0o755);
  const list = await rhil(['runs', 'list', '--db', join(ro, 'rhil.db')], as);
  assert.is(list.code, 0, list.stderr);
  assert.is(list.stdout.trim().split('\n').length, 4);
  const ex = await rhil(['export', '2', '--db', join(ro, 'rhil.db'), '--format', 'csv', '--out=-'], as);
  assert.is(ex.code, 0, ex.stderr);
  assert.is(ex.stdout.trim().split('\n').length, 1 + 600);
  const v = await rhil(['runs', 'verify', '2', '--db', join(ro, 'rhil.db')], as);
  assert.is(v.code, 0, v.stderr);
  chmodSync(ro, 0o755);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
