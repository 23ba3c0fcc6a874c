import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { commandTable } from '../../src/cli/config.js';
import { trainCommand } from '../../src/cli/commands/train.js';
import { checkSweepDoc } from '../../src/cli/sweep-file.js';
import { RunRecorder, openRecordDb } from '../../src/record/index.js';
import type { ChartSpec } from '../../src/report/index.js';
import { pointKey, runSweep, sweepRunsOf } from '../../src/sweep/index.js';
import { launch, openReport } from '../report/browser.js';

const main = new URL('../../src/cli/main.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'rhil-sweep-'));
const table = commandTable([trainCommand]);
test.after(() => rmSync(dir, { recursive: true, force: true }));

function rhil(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [main, ...args], { encoding: 'utf8', cwd: dir, env: { ...process.env, RHIL_DB: '' } },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });
}

/** Train runs in `db` with their status and sweep tag (null when untagged), by id. */
function trainRuns(db: string): { id: number; status: string; tag: { sweep: string; key: string; params: Record<string, unknown> } | null }[] {
  const d = openRecordDb(db, { readonly: true });
  try {
    return (d.prepare(`SELECT r.id, r.status, a.json FROM runs r LEFT JOIN artifacts a ON a.run_id = r.id AND a.name = 'sweep' WHERE r.kind = 'train' ORDER BY r.id`)
      .all() as { id: number; status: string; json: string | null }[]).map((r) => ({ id: r.id, status: r.status, tag: r.json === null ? null : JSON.parse(r.json) }));
  } finally {
    d.close();
  }
}

test('the sweep file: grid combinations in file order, base merged, option spellings made canonical by the train command\'s options', () => {
  const plan = checkSweepDoc({ name: 'g', base: { episodes: 2, learningRate: 0.01 }, grid: { seed: [1, 2], trainer: ['pat', 'digital'] }, parallel: 2 }, table, 's.yaml');
  assert.is(plan.parallel, 2);
  assert.equal(plan.points.map((p) => p.params), [
    { episodes: 2, 'learning-rate': 0.01, seed: 1, trainer: 'pat' }, { episodes: 2, 'learning-rate': 0.01, seed: 1, trainer: 'digital' },
    { episodes: 2, 'learning-rate': 0.01, seed: 2, trainer: 'pat' }, { episodes: 2, 'learning-rate': 0.01, seed: 2, trainer: 'digital' },
  ]);
  // The digital trainer opens no device, so it never blocks parallel points.
  assert.equal(plan.points.map((p) => p.device), ['sim:analog-awg', null, 'sim:analog-awg', null]);
  assert.equal(plan.points[0].varying, ['seed', 'trainer']);
  const list = checkSweepDoc({ name: 'l', points: [{ seed: 3 }, { seed: 3, 'learning-rate': 0.1 }] }, table, 's.yaml');
  assert.equal(list.points.map((p) => p.params), [{ seed: 3 }, { seed: 3, 'learning-rate': 0.1 }]);
  assert.is(pointKey({ seed: 1, trainer: 'pat' }), pointKey({ trainer: 'pat', seed: 1 }));
  assert.throws(() => checkSweepDoc({ name: 'l', points: [{ seed: 3 }, { seed: 3 }] }, table, 's.yaml'), /^s\.yaml: points\[1\] repeats points\[0\]$/);
  assert.throws(() => checkSweepDoc({ name: 'l', grid: { episodes: [2], json: [true] } }, table, 's.yaml'), /^s\.yaml: grid\.json\[0\]: the sweep sets --json itself/);
});

test('a malformed sweep file is one line naming the field, exit 2, and nothing runs', async () => {
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'name: bad\nbase: { episodes: 1 }\ngrid: { seed: [1, 2], trainer: [pat, quantum] }\n');
  const r = await rhil(['sweep', file, '--db', join(dir, 'bad.db')]);
  assert.is(r.code, 2);
  assert.is(r.stderr, `rhil: ${file}: grid.trainer[1] must be one of pat, classic, digital, oracle, insilico, spsa, got 'quantum'\n`);
  assert.is(r.stdout, '');
  assert.not.ok(existsSync(join(dir, 'bad.db')));
});

test('parallel > 1 with a point on a real device is refused before anything runs', async () => {
  const file = join(dir, 'board.yaml');
  writeFileSync(file, 'name: board\nparallel: 2\npoints: [ { seed: 1, device: sim:analog }, { seed: 2, device: /dev/ttyACM0 } ]\n');
  const r = await rhil(['sweep', file, '--db', join(dir, 'board.db')]);
  assert.is(r.code, 2);
  assert.match(r.stderr, /^rhil: [^\n]*board\.yaml: parallel 2 needs every point on a simulator \(sim:\.\.\.\), but point 2 uses device \/dev\/ttyACM0; a real board serves one run at a time, so set parallel: 1\n$/);
  assert.not.ok(existsSync(join(dir, 'board.db')));
});

test('a grid on simulators: one tagged, completed run per point, and a report with one curve per run', async () => {
  const file = join(dir, 'grid.yaml');
  const db = join(dir, 'grid.db');
  writeFileSync(file, 'name: grid\nbase: { task: narma10, episodes: 2, device: sim:analog-awg }\ngrid: { seed: [1, 2], trainer: [pat, digital] }\nparallel: 2\n');
  const r = await rhil(['sweep', file, '--db', db]);
  assert.is(r.code, 0, r.stderr);
  const runs = trainRuns(db);
  assert.is(runs.length, 4);
  for (const run of runs) {
    assert.is(run.status, 'completed');
    assert.is(run.tag?.sweep, 'grid');
  }
  const params = runs.map((x) => `${x.tag!.params.seed} ${x.tag!.params.trainer}`).sort();
  assert.equal(params, ['1 digital', '1 pat', '2 digital', '2 pat']);
  assert.match(r.stdout, /^wrote rhil-sweep-grid\.html \(4 runs compared\)$/m);
  for (const run of runs) assert.ok(existsSync(join(dir, 'rhil-sweep-grid', `${run.tag!.key}.json`)), 'the point\'s model is saved under its key');

  const html = readFileSync(join(dir, 'rhil-sweep-grid.html'), 'utf8');
  const charts = (JSON.parse(/id="rhil-data">([^<]*)<\/script>/.exec(html)![1]) as { charts: ChartSpec[] }).charts;
  const loss = charts.find((c) => c.title === 'Training loss');
  assert.ok(loss, 'a loss chart');
  for (const c of charts) {
    assert.equal(c.series.map((s) => Number(/^run (\d+)/.exec(s.label)![1])).sort(), runs.map((x) => x.id), `${c.title}: one curve per run`);
  }
  for (const s of loss!.series) assert.is(s.y.filter((v) => v !== null).length, 2, `${s.label}: both episodes`);
  const browser = await launch();
  try {
    const o = await openReport(browser, html);
    assert.equal(o.errors, []);
    assert.is(o.chartsDrawn, charts.length);
  } finally {
    await browser.close();
  }
});

test('a sweep interrupted after two points runs only the remaining points when run again; an interrupted run is rerun', async () => {
  const file = join(dir, 'resume.yaml');
  const db = join(dir, 'resume.db');
  writeFileSync(file, 'name: resume\nbase: { episodes: 1, trainer: digital }\ngrid: { seed: [1, 2, 3] }\n');
  // Ctrl-C (SIGINT) once the second point's line is out: point 3 may have started, and is then interrupted.
  const child = spawn(process.execPath, [main, 'sweep', file, '--db', db], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
  const lines: string[] = [];
  for await (const line of createInterface({ input: child.stdout })) {
    lines.push(line);
    if (line.startsWith('[2/3]')) child.kill('SIGINT');
  }
  const code = await new Promise<number | null>((res) => { if (child.exitCode !== null) res(child.exitCode); else child.on('exit', (c) => res(c)); });
  assert.is(code, 130, stderr);
  assert.match(stderr, /sweep resume interrupted; rerun rhil sweep .*resume\.yaml to run the remaining points/);
  const first = trainRuns(db);
  const completed = first.filter((x) => x.status === 'completed');
  assert.is(completed.length, 2, lines.join('\n'));
  assert.ok(first.every((x) => x.status !== 'running' && x.tag?.sweep === 'resume'), 'every run it started is tagged and ended');

  const again = await rhil(['sweep', file, '--db', db]);
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stdout, /^sweep resume: 3 points, 2 already completed, 1 to run; /);
  const after = trainRuns(db);
  const added = after.filter((x) => !first.some((f) => f.id === x.id));
  assert.is(added.length, 1, 'only the remaining point ran');
  const keys = new Set(after.filter((x) => x.status === 'completed').map((x) => x.tag!.key));
  assert.is(keys.size, 3, 'every point now has a completed run');
  assert.ok(completed.every((c) => after.find((x) => x.id === c.id)!.status === 'completed'), 'the first two are kept, not rerun');
});

test('a point whose run was interrupted is run again, and its old run is tagged with the point', async () => {
  const db = join(dir, 'lib.db');
  const models = join(dir, 'lib-models');
  const points = [{ params: { episodes: 1, trainer: 'digital', seed: 2 }, varying: ['seed'], device: null }];
  // An earlier attempt at the point whose sweep died before tagging it: found by its model path.
  const d = openRecordDb(db);
  const old = new RunRecorder(d);
  old.startRun({ kind: 'train', gitCommit: null, config: { trainer: 'digital', seed: 2, out: join(models, `${pointKey(points[0].params)}.json`) } });
  old.finish('interrupted', new Error('interrupted'));
  d.close();
  const lines: string[] = [];
  const r = await runSweep({ name: 'lib', points, db, dir: models, report: join(dir, 'lib.html'), log: (l) => lines.push(l) });
  assert.equal(r.points.map((p) => p.status), ['completed'], lines.join('\n'));
  assert.ok(r.points[0].runId! > old.runId);
  // One run is no comparison: the single-run report.
  assert.equal(r.report, { path: join(dir, 'lib.html'), runs: 1 });
  assert.match(readFileSync(join(dir, 'lib.html'), 'utf8'), new RegExp(`run ${r.points[0].runId}`));
  const rd = openRecordDb(db, { readonly: true });
  try {
    assert.equal(sweepRunsOf(rd, 'lib', pointKey(points[0].params)).map((x) => [x.id, x.status]), [[old.runId, 'interrupted'], [r.points[0].runId, 'completed']]);
  } finally {
    rd.close();
  }
});

test.run();
