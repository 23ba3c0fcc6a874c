import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getRun, listRuns, openRecordDb } from '../../src/record/index.js';
import { type ChartSpec, renderReport } from '../../src/report/index.js';

const main = new URL('../../src/cli/main.js', import.meta.url).pathname;
const TRAINERS = ['pat', 'classic', 'digital', 'oracle', 'insilico', 'spsa'] as const;
const dir = mkdtempSync(join(tmpdir(), 'rhil-report-trainers-'));
const db = join(dir, 'rhil.db');
test.after(() => rmSync(dir, { recursive: true, force: true }));

function chartsOf(html: string): ChartSpec[] {
  const m = /<script type="application\/json" id="rhil-data">([^<]*)<\/script>/.exec(html);
  assert.ok(m, 'page has its data element');
  return (JSON.parse(m![1]) as { charts: ChartSpec[] }).charts;
}

test('every trainer\'s report: labelled axes, a non-empty series in every chart, prediction vs target and residuals', async () => {
  // Two at a time (the machine has two cores); the runs are told apart by their config, not their order.
  for (let i = 0; i < TRAINERS.length; i += 2) {
    await Promise.all(TRAINERS.slice(i, i + 2).map((trainer) =>
      promisify(execFile)(process.execPath, [main, 'train', '--trainer', trainer, '--episodes', '3', '--db', db, '--out', join(dir, `${trainer}.json`)])));
  }
  const r = openRecordDb(db, { readonly: true });
  try {
    const runs = listRuns(r);
    assert.equal(runs.map((x) => x.status), TRAINERS.map(() => 'completed'));
    const byTrainer = new Map(runs.map((x) => [(getRun(r, x.id)!.config as { trainer: string }).trainer, x]));
    assert.equal([...byTrainer.keys()].sort(), [...TRAINERS].sort());
    for (const [trainer, run] of byTrainer) {
      const charts = chartsOf(renderReport(r, run.id));
      const titles = charts.map((c) => c.title);
      for (const c of charts) {
        assert.ok(c.xLabel.trim() !== '' && c.yLabel.trim() !== '', `${trainer}: ${c.title} has axis labels`);
        assert.is.not(c.yLabel, 'value', `${trainer}: ${c.title} says what its y axis is`);
        assert.ok(c.series.some((s) => s.y.some((v) => v !== null && Number.isFinite(v))), `${trainer}: ${c.title} has points`);
      }
      assert.ok(titles.includes('Test: target and prediction'), `${trainer}: ${titles.join(', ')}`);
      assert.ok(titles.includes('Test: residual (prediction - target)'), `${trainer}: residuals`);
      if (trainer !== 'classic') {
        const loss = charts.find((c) => c.title === 'Training loss');
        assert.ok(loss, `${trainer}: a loss chart`);
        assert.is(loss!.xLabel, 'episode');
      }
      if (trainer === 'pat') assert.ok(titles.includes('Readout error vs device samples'), 'pat: error vs device samples');
    }
  } finally {
    r.close();
  }
});

test.run();
