import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getRun, listRuns, openRecordDb, readArtifact, readMetrics, verifyRun } from '../../src/record/index.js';

const main = new URL('../../src/cli/main.js', import.meta.url).pathname;

/** Runs `rhil args` in `cwd` with no RHIL_DB from the environment. */
const run = async (cwd: string, args: string[]) => {
  const env = { ...process.env };
  delete env.RHIL_DB;
  // Node warns on stderr when both are set (the test runner sets NO_COLOR): not rhil's output.
  delete env.FORCE_COLOR;
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [main, ...args], { cwd, env, encoding: 'utf8' });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
};

function tempDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'rhil-cli-record-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function inDb<T>(dir: string, f: (db: ReturnType<typeof openRecordDb>) => T): T {
  const db = openRecordDb(join(dir, 'rhil.db'), { readonly: true });
  try {
    return f(db);
  } finally {
    db.close();
  }
}

test('calibrate records its run and calibration; train applies the newest one, records the run naming it; none and other devices', async () => {
  const t = tempDir();
  try {
    const cal = await run(t.dir, ['calibrate', '--plan', 'analog']);
    assert.is(cal.code, 0, cal.stderr);
    const calId = Number(/saved\s+calibration (\d+) in rhil\.db \(run (\d+)\)/.exec(cal.stdout)?.[1]);
    assert.ok(calId >= 1, cal.stdout);
    assert.equal(readdirSync(t.dir).filter((f) => f.endsWith('.json')), [], 'no JSON file without --out');
    assert.match(cal.stderr, /calibrating: \d+ samples \(100%\)/);

    const tr = await run(t.dir, ['train', '--episodes', '2']);
    assert.is(tr.code, 0, tr.stderr);
    assert.match(tr.stdout, new RegExp(`calibration ${calId} \\(analog \\(run \\d+\\)`));
    assert.match(tr.stderr, /training: 2\/2 episodes \(100%\)/);
    assert.not.match(tr.stdout, /episode +1\/2/, 'per-episode lines only with --verbose');

    const none = await run(t.dir, ['train', '--episodes', '2', '--calibration', 'none', '--json']);
    assert.is(none.code, 0, none.stderr);
    const j = JSON.parse(none.stdout) as { runId: number; calibration: unknown; test: { value: number } };
    assert.is(none.stderr, '', '--json prints nothing but the JSON');
    assert.is(j.calibration, null);

    inDb(t.dir, (db) => {
      const runs = listRuns(db);
      assert.equal(runs.map((r) => [r.kind, r.status]), [['train', 'completed'], ['train', 'completed'], ['calibrate', 'completed']]);
      const calRun = getRun(db, runs[2].id)!;
      // By default one batch in 100: the record is what a user needs, the batches a sample to check it by.
      assert.ok(calRun.batches >= 10 && calRun.batches < 100, `calibrate recorded ${calRun.batches} batches`);
      assert.is(verifyRun(db, calRun.id).sampled, 'every 100');
      assert.ok(verifyRun(db, calRun.id).ok);
      assert.is(calRun.device!.model, 'sim-analog-awg');
      assert.is((readArtifact(db, calRun.id, 'calibration')!.json as { format: string }).format, 'rhil-calibration');
      const trained = getRun(db, runs[1].id)!;
      assert.is(trained.calibrationId, calId);
      assert.equal((trained.config as { calibration: unknown }).calibration, { id: calId, name: `analog (run ${calRun.id})` });
      assert.ok(trained.batches > 0);
      assert.equal(readMetrics(db, trained.id, 'loss').map((m) => m.step), [0, 1]);
      assert.is(readMetrics(db, trained.id, 'device_samples').length, 2);
      assert.is(readMetrics(db, trained.id, 'test_nmse').length, 1);
      const model = readArtifact(db, trained.id, 'model')!.json as { deviceSpec: string; backend: string; model: unknown };
      assert.is(model.deviceSpec, 'sim:analog-awg');
      assert.type(model.backend, 'string');
      assert.ok(model.model);
      assert.is((readArtifact(db, trained.id, 'checkpoint')!.json as { episode: number }).episode, 2);
      assert.ok(readArtifact(db, trained.id, 'test_trace'));
      const plain = getRun(db, runs[0].id)!;
      assert.is(plain.id, j.runId);
      assert.is(plain.calibrationId, null);
      assert.is(readMetrics(db, plain.id, 'test_nmse')[0].value, j.test.value);
    });

    // An explicit calibration of another device is refused, listing what differs.
    const other = await run(t.dir, ['train', '--episodes', '2', '--device', 'sim:fpga', '--calibration', String(calId)]);
    assert.is(other.code, 2, other.stderr);
    assert.match(other.stderr, new RegExp(`--calibration ${calId}: calibration ${calId} was made on another device \\(.*model: record "sim-analog-awg", device "sim-fpga"`));
    // Auto on a device without a calibration trains uncalibrated and says so.
    const fpga = await run(t.dir, ['train', '--episodes', '2', '--device', 'sim:fpga']);
    assert.is(fpga.code, 0, fpga.stderr);
    assert.match(fpga.stdout, /calibration none \(no calibration of sim-fpga/);
  } finally {
    t.cleanup();
  }
});

test('--no-record writes no database; a second run never replaces the first one\'s model file; a flag without its value is refused', async () => {
  const t = tempDir();
  try {
    const r = await run(t.dir, ['train', '--episodes', '2', '--no-record']);
    assert.is(r.code, 0, r.stderr);
    assert.equal(readdirSync(t.dir), ['rhil-narma10-pat-seed1.json']);
    assert.match(r.stdout, /calibration none \(no database at rhil\.db\)/);
    assert.match(r.stdout, /model saved to rhil-narma10-pat-seed1\.json$/m);
    const first = readFileSync(join(t.dir, 'rhil-narma10-pat-seed1.json'), 'utf8');
    const again = await run(t.dir, ['train', '--episodes', '1', '--no-record']);
    assert.is(again.code, 0, again.stderr);
    assert.match(again.stdout, /model saved to rhil-narma10-pat-seed1-2\.json$/m);
    assert.is(readFileSync(join(t.dir, 'rhil-narma10-pat-seed1.json'), 'utf8'), first, 'the first model is untouched');
    // A recorded run names its file after the run.
    const rec = await run(t.dir, ['train', '--episodes', '1', '--trainer', 'digital']);
    assert.is(rec.code, 0, rec.stderr);
    assert.match(rec.stdout, /model saved to rhil-narma10-digital-seed1-run1\.json; run 1 in rhil\.db$/m);
    inDb(t.dir, (db) => {
      const m = readArtifact(db, 1, 'model')!.json as { savedTo: string };
      assert.is(m.savedTo, join(t.dir, 'rhil-narma10-digital-seed1-run1.json'));
    });
    for (const [args, msg] of [
      [['--episodes', '--no-record'], /^rhil: --episodes needs a value\n$/],
      [['--no-record', '--seed'], /^rhil: --seed needs a value\n$/],
      [['--seed', 'abc', '--no-record'], /^rhil: --seed must be a number, got "abc"\n$/],
      [['--db', '--no-record'], /^rhil: --db needs a value\n$/],
    ] as [string[], RegExp][]) {
      const bad = await run(t.dir, ['train', ...args]);
      assert.is(bad.code, 2, args.join(' '));
      assert.match(bad.stderr, msg);
    }
    const none = await run(t.dir, ['runs', 'list', '--limit']);
    assert.match(none.stderr, /^rhil: --limit needs a value\n$/);
    assert.equal(readdirSync(t.dir).filter((f) => !/-(wal|shm)$/.test(f)).sort(), ['rhil-narma10-digital-seed1-run1.json', 'rhil-narma10-pat-seed1-2.json', 'rhil-narma10-pat-seed1.json', 'rhil.db'],
      'nothing ran for the refused flags');
  } finally {
    t.cleanup();
  }
});

test('SIGINT stops training after the episode in flight: run interrupted, exit 130; --resume continues it as a new run', async () => {
  const t = tempDir();
  try {
    const env = { ...process.env };
    delete env.RHIL_DB;
    const child = spawn(process.execPath, [main, 'train', '--episodes', '1000', '--verbose'], { cwd: t.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d) => { err += d; });
    const exited = once(child, 'exit');
    let runId = 0;
    for await (const line of createInterface({ input: child.stdout! })) {
      runId ||= Number(/^recording run (\d+)/.exec(line)?.[1] ?? 0);
      if (/^episode +2\/1000/.test(line)) {
        child.kill('SIGINT');
        break;
      }
    }
    const [code] = await exited as [number | null];
    assert.ok(runId > 0);
    assert.is(code, 130, err);
    assert.match(err, /interrupting/);
    const m = new RegExp(`interrupted after (\\d+) episodes; run ${runId} marked interrupted; resume with: rhil train --resume ${runId}`).exec(err);
    assert.ok(m, err);
    const done = Number(m![1]);
    assert.ok(done >= 2 && done < 1000);
    const ckpt = inDb(t.dir, (db) => {
      const r = getRun(db, runId)!;
      assert.is(r.status, 'interrupted');
      assert.is(readMetrics(db, runId, 'loss').length, done);
      assert.is(readArtifact(db, runId, 'model'), null);
      return readArtifact(db, runId, 'checkpoint')!.json as { episode: number };
    });
    assert.is(ckpt.episode, done);

    const resumed = await run(t.dir, ['train', '--resume', String(runId), '--episodes', String(done + 1)]);
    assert.is(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, new RegExp(`resuming run ${runId} from its checkpoint after episode ${done}`));
    inDb(t.dir, (db) => {
      const runs = listRuns(db, { kind: 'train' });
      const r = getRun(db, runs[0].id)!;
      assert.is.not(r.id, runId);
      assert.is(r.status, 'completed');
      assert.is((r.config as { resumedFrom: number }).resumedFrom, runId);
      assert.equal(readMetrics(db, r.id, 'loss').map((p) => p.step), [done]);
      assert.is((readArtifact(db, r.id, 'model')!.json as { episodes: unknown[] }).episodes.length, done + 1);
    });

    const again = await run(t.dir, ['train', '--resume', String(runId + 1)]);
    assert.is(again.code, 2);
    assert.match(again.stderr, /completed; there is nothing to resume/);
    assert.ok(existsSync(join(t.dir, 'rhil.db')));
  } finally {
    t.cleanup();
  }
});

test.run();
