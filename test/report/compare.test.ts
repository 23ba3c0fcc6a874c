import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RunRecorder, openRecordDb } from '../../src/record/index.js';
import { type ChartSpec, groupBySetting, renderComparison, spread } from '../../src/report/index.js';
import { getRun } from '../../src/record/index.js';
import { launch, openReport } from './browser.js';

declare function getComputedStyle(e: unknown): { borderColor: string };

const main = new URL('../../src/cli/main.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'rhil-compare-'));
const dbPath = join(dir, 'rhil.db');
const FINAL = [0.031, 0.035, 0.052];

// Three train runs: seeds 1 and 2 at one learning rate, seed 1 at another.
{
  const db = openRecordDb(dbPath);
  const settings = [{ seed: 1, learningRate: 0.03 }, { seed: 2, learningRate: 0.03 }, { seed: 1, learningRate: 0.01 }];
  settings.forEach((s, i) => {
    const rec = new RunRecorder(db);
    rec.startRun({ kind: 'train', seed: s.seed, gitCommit: null, config: { task: 'narma10', trainer: 'pat', ...s, out: `/tmp/m-seed${s.seed}.json` } });
    for (let e = 0; e < 20; e++) {
      rec.recordMetric('loss', e, (0.5 + 0.1 * i) * Math.exp(-e / 8));
      rec.recordMetric('fidelity_cosine', e, 0.6 + 0.01 * e + 0.05 * i);
    }
    rec.recordMetric('test_nmse', 20, FINAL[i]);
    rec.finish('completed');
  });
  db.close();
}
let browser: Browser;
test.before(async () => { browser = await launch(); });
test.after(async () => { await browser.close(); rmSync(dir, { recursive: true, force: true }); });

function chartsOf(html: string): ChartSpec[] {
  return (JSON.parse(/id="rhil-data">([^<]*)<\/script>/.exec(html)![1]) as { charts: ChartSpec[] }).charts;
}

test('spread and groupBySetting: seeds of one setting together, other settings apart', () => {
  const s = spread([1, 2, 3, NaN]);
  assert.equal([s.n, s.mean, s.min, s.max], [3, 2, 1, 3]);
  assert.is(s.sd, 1);
  assert.ok(Number.isNaN(spread([4]).sd));
  const db = openRecordDb(dbPath, { readonly: true });
  try {
    assert.equal(groupBySetting([1, 2, 3].map((id) => getRun(db, id)!)).map((g) => g.runs), [[1, 2], [3]]);
  } finally {
    db.close();
  }
});

test('a comparison of three runs draws three curves per chart, the differing settings and the spread over seeds', async () => {
  const db = openRecordDb(dbPath, { readonly: true });
  let html: string;
  try {
    html = renderComparison(db, [1, 2, 3]);
  } finally {
    db.close();
  }
  const charts = chartsOf(html);
  assert.equal(charts.map((c) => c.title), ['Training loss', 'Gradient fidelity: cosine to the exact VJP']);
  for (const c of charts) {
    assert.equal(c.series.map((s) => s.label), ['run 1 (pat, seed 1)', 'run 2 (pat, seed 2)', 'run 3 (pat, seed 1)']);
    for (const s of c.series) assert.is(s.y.filter((v) => v !== null).length, 20, `${c.title}: ${s.label}`);
    assert.is(c.xLabel, 'episode');
  }
  assert.match(html, /<td><code>learningRate<\/code><\/td><td>0\.03<\/td><td>0\.03<\/td><td>0\.01<\/td>/);
  assert.not.match(html, /<td><code>task<\/code>/);
  // Setting 1 (runs 1 and 2): mean of 0.031 and 0.035, sd 0.002828; setting 2: one seed.
  assert.match(html, /setting 1: runs 1, 2<\/td><td><code>test_nmse<\/code><\/td><td class="num">2<\/td><td class="num">0\.033<\/td><td class="num">0\.002828<\/td>/);
  assert.match(html, /setting 2: runs 3<\/td><td><code>test_nmse<\/code><\/td><td class="num">1<\/td><td class="num">0\.052<\/td><td class="num">-<\/td>/);

  const o = await openReport(browser, html);
  assert.equal(o.errors, []);
  assert.equal(o.requests, []);
  assert.is(o.chartsDrawn, 2);
  for (const c of o.charts) {
    assert.is(c.points, 60, `${c.title}: three runs of 20 points`);
    assert.ok(c.colouredPixels > 200, `${c.title} drew its curves`);
  }
  // One legend entry per run, each with its own colour.
  const colours = await o.page.locator('#chart-1 .u-legend .u-marker').evaluateAll((ms: any[]) => ms.map((m) => getComputedStyle(m).borderColor)); // eslint-disable-line @typescript-eslint/no-explicit-any
  assert.is(new Set(colours).size, 3);
  await o.page.screenshot({ path: join(process.env.RHIL_SHOTS ?? dir, 'compare.png'), fullPage: true });
  await o.page.context().close();
});

test('rhil report RUN RUN RUN writes the comparison; rhil runs compare writes CSV and JSON', async () => {
  const run = (args: string[]) => promisify(execFile)(process.execPath, [main, ...args], { encoding: 'utf8', cwd: dir });
  const r = await run(['report', '1', '2', '3', '--db', dbPath]);
  assert.match(r.stdout, /^wrote rhil-compare-1-2-3\.html \([\d,]+ bytes, 3 runs compared, 2 charts\)/);
  assert.match(readFileSync(join(dir, 'rhil-compare-1-2-3.html'), 'utf8'), /<h1>Comparison of 3 runs<\/h1>/);
  await run(['runs', 'compare', '1', '2', '3', '--db', dbPath, '--format', 'csv', '--out', join(dir, 'c.csv')]);
  const csv = readFileSync(join(dir, 'c.csv'), 'utf8').trim().split('\n');
  assert.is(csv[0], 'run,1,2,3');
  assert.ok(csv.includes('config.learningRate,0.03,0.03,0.01'), csv.join('\n'));
  assert.ok(csv.includes('test_nmse,0.031,0.035,0.052'));
  const json = JSON.parse((await run(['runs', 'compare', '1', '3', '--db', dbPath, '--format', 'json'])).stdout) as { metrics: Record<string, unknown[]> };
  assert.equal(json.metrics.test_nmse, [0.031, 0.052]);
});

test.run();
