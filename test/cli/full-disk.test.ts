/**
 * A full disk under the run database, for real: a 2 MiB tmpfs (mounting one needs root; without
 * it these tests are skipped by name, as the hardware tests are). Every command must end in one
 * line naming the cause and what was kept, exit 1 (never 130: nobody pressed Ctrl-C), and leave the
 * run marked failed, with what was acquired before the failure still readable and sound.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getRun, listRuns, openRecordDb, verifyRun } from '../../src/record/index.js';

const main = new URL('../../src/cli/main.js', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'rhil-full-disk-'));
const disk = join(work, 'disk');
mkdirSync(disk);
const mounted = process.getuid?.() === 0 && spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', disk]).status === 0;
if (!mounted) console.log('  skipped: full-disk tests need root to mount a 2 MiB tmpfs');
const fullDisk = mounted ? test : test.skip;

async function rhil(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.RHIL_DB;
  delete env.FORCE_COLOR;
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [main, ...args], { cwd: work, env, encoding: 'utf8', maxBuffer: 1 << 26 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/** Empties the tmpfs and leaves about `freeKiB` of it free. */
function fill(freeKiB: number): void {
  for (const f of readdirSync(disk)) rmSync(join(disk, f), { force: true });
  writeFileSync(join(disk, 'ballast'), Buffer.alloc(Math.max(0, 2048 - freeKiB) * 1024));
}

/** One line on standard error, no stack trace. */
function oneLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l !== '' && !/^(training|calibrating):/.test(l));
  assert.is(lines.length, 1, stderr);
  assert.not.match(stderr, /^\s+at /m, 'no stack trace');
  return lines[0];
}

function runs(path: string) {
  // Read-only: the disk is still full.
  const db = openRecordDb(path, { readonly: true });
  try {
    return listRuns(db).map((r) => ({ ...getRun(db, r.id)!, verified: verifyRun(db, r.id) }));
  } finally {
    db.close();
  }
}

fullDisk('train on a disk that fills mid-run: exit 1 naming the disk, run failed, committed batches sound, resume offered', async () => {
  fill(2048);
  const db = join(disk, 'r.db');
  const r = await rhil(['train', '--episodes', '20', '--db', db]);
  assert.is(r.code, 1, r.stderr);
  const line = oneLine(r.stderr);
  assert.match(line, /^rhil: writing to .*r\.db failed \(database or disk is full\); free some disk space/);
  assert.match(line, /run 1 marked failed; training stopped after \d+ episodes; (resume with: rhil train --resume 1 --db \S+|no checkpoint)/);
  assert.not.match(line, /interrupt/);
  const [run] = runs(db);
  assert.is(run.status, 'failed');
  assert.match(run.error!, /database or disk is full/);
  assert.ok(run.batches > 0);
  assert.ok(run.verified.ok, run.verified.problems.join('\n'));
});

fullDisk('wherever the disk fills during a short training, the outcome is stated truly; once training finished the model reaches its file', async () => {
  let savedAnyway = 0;
  for (let free = 240; free >= 112; free -= 16) {
    fill(free);
    const db = join(disk, `r${free}.db`);
    const out = join(work, `m${free}.json`);
    const r = await rhil(['train', '--trainer', 'digital', '--episodes', '3', '--db', db, '--out', out]);
    if (r.code === 0) {
      assert.ok(existsSync(out));
      continue;
    }
    assert.is(r.code, 1, `${free} KiB free: ${r.stderr}`);
    const line = oneLine(r.stderr);
    assert.match(line, /database or disk is full/);
    const saved = /the trained model was saved to (\S+)$/.exec(line);
    if (saved) {
      savedAnyway++;
      const model = JSON.parse(readFileSync(saved[1], 'utf8')) as { test: { value: number }; model: unknown };
      assert.type(model.test.value, 'number');
      assert.ok(model.model);
    } else {
      assert.not.ok(existsSync(out), 'no model file from an unfinished training');
    }
    if (/run \d+ marked failed/.test(line)) assert.is(runs(db)[0].status, 'failed');
  }
  assert.ok(savedAnyway > 0, 'some fill level hits the database after training finished');
});

fullDisk('calibrate on a full disk: one line, exit 1, run failed; rhil run: predictions so far kept, exit 1, run failed', async () => {
  fill(2048);
  const db = join(disk, 'c.db');
  const c = await rhil(['calibrate', '--db', db, '--record-batches', 'all']);
  assert.is(c.code, 1, c.stderr);
  // Either outcome is true to the user: the status written now, or the marker the next open applies.
  const cLine = oneLine(c.stderr);
  assert.ok(/database or disk is full.*run 1 (marked failed|will be marked failed at the next open of \S+); the calibration had not finished, so there is no record to keep$/.test(cLine), cLine);
  assert.is(runs(db)[0].status, 'failed');

  fill(2048);
  writeFileSync(join(work, 'u.csv'), Array.from({ length: 40_000 }, (_, i) => String(((i * 7919) % 1000) / 2000)).join('\n'));
  const t = await rhil(['train', '--episodes', '2', '--no-record', '--out', 'model.json']);
  assert.is(t.code, 0, t.stderr);
  const rdb = join(disk, 'run.db');
  const r = await rhil(['run', '--model', 'model.json', '--input', 'u.csv', '--out', 'y.csv', '--db', rdb, '--record-batches', 'all']);
  assert.is(r.code, 1, r.stderr);
  const line = oneLine(r.stderr.split('\n').filter((l) => !l.startsWith('recording')).join('\n'));
  const kept = Number(/predictions for the first (\d+) steps were written to y\.csv/.exec(line)?.[1]);
  assert.ok(kept > 0, line);
  assert.is(readFileSync(join(work, 'y.csv'), 'utf8').trim().split('\n').length, kept + 1, 'header + every step reported');
  const [run] = runs(rdb);
  assert.is(run.status, 'failed');
  assert.ok(run.verified.ok, run.verified.problems.join('\n'));
});

test.after(() => {
  if (mounted) spawnSync('umount', [disk]);
  rmSync(work, { recursive: true, force: true });
});

test.run();
