import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunRecorder, openRecordDb } from '../../src/record/index.js';
import { type ChartSpec, renderReport } from '../../src/report/index.js';

/** A train run whose episodes 2, 5 and 8 carry a fidelity check (as rhil train records them), the twin's slope when `twin`. */
function runWith(twin: boolean): { html: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'rhil-report-fidelity-'));
  const db = openRecordDb(join(dir, 'rhil.db'));
  try {
    const rec = new RunRecorder(db);
    const id = rec.startRun({ kind: 'train', config: { task: 'narma10', trainer: 'pat' }, seed: 1, backend: 'cpu' });
    const checks: [number, number, number, number][] = [[2, 1.013, 0.709, 0.951], [5, 1.153, 1.033, 1.123], [8, 0.475, 0.025, 0.54]];
    for (let e = 0; e < 9; e++) {
      rec.recordMetric('loss', e, 0.5 / (e + 1));
      const c = checks.find((x) => x[0] === e);
      if (!c) continue;
      rec.recordMetric('fidelity_cosine', e, 0.3);
      rec.recordMetric('fidelity_slope', e, c[1]);
      rec.recordMetric('fidelity_slope_se', e, c[2]);
      if (twin) rec.recordMetric('fidelity_twin_slope', e, c[3]);
      rec.recordMetric('fidelity_directions', e, 3);
      rec.recordMetric('fidelity_samples', e, 1260);
    }
    rec.finish('completed');
    return { html: renderReport(db, id), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  } finally {
    db.close();
  }
}

function chartsOf(html: string): ChartSpec[] {
  const m = /<script type="application\/json" id="rhil-data">([^<]*)<\/script>/.exec(html);
  assert.ok(m, 'page has its data element');
  return (JSON.parse(m![1]) as { charts: ChartSpec[] }).charts;
}

test('a run with fidelity checks shows the slope per check with its ±2 SE band, and a table of the checks', () => {
  const { html, cleanup } = runWith(true);
  try {
    const charts = chartsOf(html);
    assert.equal(charts.map((c) => c.title), ['Training loss', 'Gradient fidelity: cosine to the exact VJP', 'Gradient fidelity: slope on the device'],
      'the SE, directions and cost get no chart of their own');
    const slope = charts[2];
    assert.equal(slope.series.map((s) => [s.label, s.dash ?? false]), [
      ['fidelity_slope', false], ['fidelity_twin_slope', false], ['fidelity_slope - 2 s.e.', true], ['fidelity_slope + 2 s.e.', true],
    ]);
    assert.equal(slope.x, [2, 5, 8]);
    assert.equal(slope.series[0].y, [1.013, 1.153, 0.475]);
    assert.equal(slope.series[2].y, [1.013 - 1.418, 1.153 - 2.066, 0.475 - 0.05].map((v) => Number(v.toPrecision(6))));
    assert.equal(slope.series[3].y, [1.013 + 1.418, 1.153 + 2.066, 0.475 + 0.05].map((v) => Number(v.toPrecision(6))));
    assert.not.ok(slope.logY, 'slopes can be negative: never log');
    assert.is(slope.xLabel, 'episode');
    assert.match(html, /<h2>Gradient fidelity<\/h2>/);
    const table = /<table class="grid" id="fidelity-checks">(.*?)<\/table>/.exec(html)?.[1] ?? '';
    assert.is((table.match(/<tr>/g) ?? []).length, 4, 'a header and one row per check');
    assert.match(table, /<th>twin slope, same directions<\/th>/);
    assert.match(table, /<td class="num">2<\/td><td class="num">1\.01 ± 0\.709<\/td><td class="num">-0\.405 – 2\.43<\/td><td class="num">0\.951<\/td><td>yes<\/td><td class="num">0\.300<\/td><td class="num">3<\/td><td class="num">1,260<\/td>/);
    // the twin's 0.54 is outside 0.475 ± 2 x 0.025
    assert.match(table, /<td class="num">8<\/td><td class="num">0\.475 ± 0\.0250<\/td><td class="num">0\.425 – 0\.525<\/td><td class="num">0\.540<\/td><td>no<\/td>/);
  } finally {
    cleanup();
  }
});

test('on a real device (no twin) the table has no twin columns; a run without checks has no fidelity section', () => {
  const { html, cleanup } = runWith(false);
  try {
    assert.match(html, /<h2>Gradient fidelity<\/h2>/);
    assert.not.match(html, /twin slope/);
    assert.equal(chartsOf(html)[2].series.map((s) => s.label), ['fidelity_slope', 'fidelity_slope - 2 s.e.', 'fidelity_slope + 2 s.e.']);
  } finally {
    cleanup();
  }
  const dir = mkdtempSync(join(tmpdir(), 'rhil-report-fidelity-'));
  const db = openRecordDb(join(dir, 'rhil.db'));
  try {
    const rec = new RunRecorder(db);
    const id = rec.startRun({ kind: 'train', config: { task: 'narma10', trainer: 'classic' }, seed: 1, backend: 'cpu' });
    rec.recordMetric('loss', 0, 0.5);
    rec.finish('completed');
    assert.not.match(renderReport(db, id), /Gradient fidelity/);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
