import Database from 'better-sqlite3';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MIGRATIONS, RunRecorder } from '../../src/record/index.js';
import {
  type ChartSpec, alignSeries, downsampleAligned, escapeHtml, groupMetrics, inlineCode, jsonForScript, makeChart, metricChart, parseTestTrace, renderReport,
  roundSig, spansDecades,
} from '../../src/report/index.js';
import { EXPECTED_CHARTS, FAIL_MESSAGE, type Fixture, HOSTILE_FIRMWARE, HOSTILE_NOTE, batch, fixtureDrive, fixtureResponse, makeFixture } from './fixtures.js';

let fixture: Promise<Fixture> | null = null;
const fx = () => (fixture ??= makeFixture());
test.after(async () => { if (fixture) (await fixture).cleanup(); });

/** The chart specs a page carries, read back the way the page's script reads them. */
function chartsOf(html: string): ChartSpec[] {
  const m = /<script type="application\/json" id="rhil-data">([^<]*)<\/script>/.exec(html);
  assert.ok(m, 'page has its data element');
  return (JSON.parse(m![1]) as { charts: ChartSpec[] }).charts;
}

// ---- downsampling ------------------------------------------------------------------------------

test('downsampleAligned keeps a series that fits, with non-finite values as gaps', () => {
  const d = downsampleAligned([0, 1, 2], [[1, NaN, 3], [null, 2, Infinity]], 3);
  assert.equal(d, { x: [0, 1, 2], ys: [[1, null, 3], [null, 2, null]], from: 3 });
});

test('downsampleAligned keeps each bucket\'s minimum and maximum in the order they occurred', () => {
  const y = [0, 9, 1, 2, 3, 8, 7, 6, 5, 4];
  const d = downsampleAligned(y.map((_, i) => i), [y], 4);
  assert.equal(d.x, [0, 4, 5, 9]);
  assert.equal(d.ys[0], [0, 9, 8, 4]);
  assert.is(d.from, 10);
});

test('downsampleAligned cuts a million points to the cap and keeps spikes, dips and gaps', () => {
  const n = 1_000_000;
  const x = Array.from({ length: n }, (_, i) => i * 2);
  const a = Array.from({ length: n }, (_, i) => Math.sin(i / 5000));
  a[123_457] = 1e6;
  a[876_543] = -5;
  for (let i = 500_000; i < 520_000; i++) a[i] = NaN; // a gap wider than several buckets
  const b = Array.from({ length: n }, () => 1);
  b[999_999] = 7;
  const d = downsampleAligned(x, [a, b], 2000);
  assert.is(d.x.length, 2000);
  assert.is(d.ys[0].length, 2000);
  assert.is(d.x[0], 0);
  assert.is(d.x[1999], (n - 1) * 2);
  for (let i = 1; i < d.x.length; i++) assert.ok(d.x[i] > d.x[i - 1], `x ascending at ${i}`);
  assert.ok(d.ys[0].includes(1e6), 'the spike survives');
  assert.ok(d.ys[0].includes(-5), 'the dip survives');
  assert.ok(d.ys[0].some((v, i) => v === null && d.x[i] > 1_000_000 && d.x[i] < 1_040_000), 'the gap stays a gap');
  assert.is(Math.max(...(d.ys[1] as number[])), 7);
  assert.throws(() => downsampleAligned(x, [a], 1), /maxPoints/);
  assert.throws(() => downsampleAligned([1, 2], [[1]], 10), /1 values for 2 x values/);
});

test('alignSeries puts series on the union of their steps', () => {
  const a = alignSeries([{ x: [0, 2, 4], y: [1, 2, 3] }, { x: [1, 2], y: [NaN, 5] }]);
  assert.equal(a.x, [0, 1, 2, 4]);
  assert.equal(a.ys, [[1, null, 2, 3], [null, null, 5, null]]);
});

test('spansDecades asks for positive values a decade apart; roundSig keeps 6 digits', () => {
  assert.ok(spansDecades([[1, 0.5, null], [0.1]]));
  assert.not.ok(spansDecades([[1, 0.2]]));
  assert.not.ok(spansDecades([[1, 0.001, 0]]));
  assert.not.ok(spansDecades([[-1, 100]]));
  assert.not.ok(spansDecades([[null], []]));
  assert.is(roundSig(2047.123456789), 2047.12);
  assert.is(roundSig(1.23456789e-7), 1.23457e-7);
  assert.is(roundSig(NaN), null);
});

test('makeChart states its downsampling and leaves a second axis out of the log decision', () => {
  const x = Array.from({ length: 5000 }, (_, i) => i);
  const c = makeChart('c', { title: 't', xLabel: 'x', yLabel: 'y', x, series: [{ label: 'a', y: x.map((i) => 1 / (i + 1)) }] }, 100);
  assert.is(c.x.length, 100);
  assert.ok(c.logY);
  assert.match(c.note ?? '', /downsampled from 5,000 to 100 points/);
  const two = makeChart('d', {
    title: 't', xLabel: 'x', yLabel: 'gain', y2Label: 'offset', x: [0, 1, 2],
    series: [{ label: 'gain', y: [0.5, 0.6, 0.7] }, { label: 'offset', y: [0.001, 100, 2000], axis: 'y2' }],
  });
  assert.not.ok(two.logY);
  assert.is(two.note, null);
  assert.is(two.series[1].axis, 'y2');
});

// ---- escaping ----------------------------------------------------------------------------------

test('escapeHtml escapes the five HTML specials', () => {
  assert.is(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  assert.is(escapeHtml(12), '12');
});

test('jsonForScript cannot close its element and parses back to the same value', () => {
  const v = { s: '</script><script>alert(1)</script>', c: '<!-- -->', amp: '&amp;', ls: 'a\u2028b\u2029c', n: [1, null] };
  const s = jsonForScript(v);
  assert.not.match(s, /[<>&\u2028\u2029]/);
  assert.equal(JSON.parse(s), v);
});

test('inlineCode breaks closing tags without changing what the code means', () => {
  const js = "return '</script>' + \"</SCRIPT \" + /<\\/script>/.source;";
  const safe = inlineCode(js, 'script');
  assert.not.match(safe, /<\/script/i);
  assert.is(new Function(safe)(), new Function(js)());
  assert.is(inlineCode('a{content:"</style>"}', 'style'), 'a{content:"<\\/style>"}');
});

test('parseTestTrace accepts the documented shape and names what is wrong otherwise', () => {
  const ok = parseTestTrace({ steps: 2, drive: [[1, 2]], response: [[3, 4]], target: [[5, 6]], prediction: [[5, 7]] });
  assert.is(typeof ok, 'object');
  assert.match(parseTestTrace({ steps: 2, drive: [1, 2], response: [], target: [], prediction: [] }) as string, /drive must be an array of channels/);
  assert.match(parseTestTrace(null) as string, /not a JSON object/);
});

// ---- grouping ----------------------------------------------------------------------------------

test('groupMetrics: one quantity per chart, in order, each with its y label; the rest one chart each; test_* apart', () => {
  const g = groupMetrics(['loss', 'fidelity_cosine', 'test_nmse', 'zeta', 'alpha', 'surrogate_heldout_nmse', 'readout_nmse', 'test_mae', 'fidelity_slope', 'fidelity_slope_se', 'fidelity_samples']);
  assert.equal(g.groups.map((x) => [x.key, x.names]), [
    ['loss', ['loss']], ['readout', ['readout_nmse']], ['surrogate', ['surrogate_heldout_nmse']], ['fidelity', ['fidelity_cosine']], ['slope', ['fidelity_slope']],
  ]);
  assert.equal(g.groups[4].band, { of: 'fidelity_slope', se: 'fidelity_slope_se', k: 2 }, 'the slope carries its band; the SE and the cost get no chart of their own');
  assert.is(groupMetrics(['fidelity_slope']).groups[0].band, undefined, 'no band without its SE');
  for (const x of g.groups) assert.ok(x.yLabel.length > 0 && x.yLabel !== 'value', x.key);
  assert.equal(g.other, ['alpha', 'zeta']);
  assert.equal(g.test, ['test_mae', 'test_nmse']);
  assert.equal(groupMetrics(['x']).groups, []);
});

// ---- reports of recorded runs ------------------------------------------------------------------

test('train report: every group charted, test metrics tabled, hostile strings escaped', async () => {
  const f = await fx();
  const html = renderReport(f.db, f.trainId);
  const charts = chartsOf(html);
  assert.equal(charts.map((c) => c.title), [
    'Training loss', 'Readout error on the next episode', 'Surrogate error', 'Gradient fidelity: cosine to the exact VJP', 'Gradient fidelity: slope on the device',
    'Drive saturation', 'Test: target and prediction', 'Test: residual (prediction - target)', 'Test: drive', 'Test: response',
  ]);
  assert.is(charts.length, EXPECTED_CHARTS.train);
  assert.is((html.match(/<figure class="chart"/g) ?? []).length, EXPECTED_CHARTS.train);
  assert.ok(charts[0].logY, 'the loss spans two decades: log scale');
  assert.not.ok(charts[3].logY, 'fidelity is not log');
  for (const c of charts.slice(0, 6)) assert.is(c.xLabel, 'episode', c.title);
  assert.equal(charts[0].series.map((s) => s.label), ['loss']);
  assert.equal(charts[2].series.map((s) => s.label), ['surrogate_nmse', 'surrogate_heldout_nmse']);
  assert.equal(charts[5].series.map((s) => s.label), ['saturation']);
  assert.is(charts[0].x.length, 30);
  const residual = charts[7];
  assert.equal(residual.series.map((s) => s.label), ['residual 0']);
  assert.is(residual.series[0].y[5], roundSig((charts[6].series[1].y[5] as number) - (charts[6].series[0].y[5] as number)));
  assert.match(html, /<td><code>test_nmse<\/code><\/td><td class="num"[^>]*>0\.0812<\/td>/);
  // Only the page's own three scripts open and close: nothing from the database got in as markup.
  assert.is((html.match(/<script/gi) ?? []).length, 3);
  assert.is((html.match(/<\/script/gi) ?? []).length, 3);
  assert.ok(html.includes(escapeHtml(HOSTILE_FIRMWARE)));
  assert.ok(html.includes(escapeHtml(JSON.stringify(HOSTILE_NOTE))), 'the config, escaped');
  assert.not.match(html, /<link|<img|<iframe|@import|url\(/i);
  assert.match(html, /c9fd3219a4b0e1f2d3c4b5a6978877665544332f/);
  const trace = charts[6];
  assert.equal(trace.series.map((s) => s.label), ['target 0', 'prediction 0']);
  assert.ok(trace.series[1].dash);
  assert.is(trace.x.length, 400);
  assert.match(charts[9].note ?? '', /all 8 response channels; 4 drawn, click a legend entry/);
  assert.equal(charts[9].series.map((s) => s.hidden ?? false), [false, false, false, false, true, true, true, true]);
});

test('train report: device events summarised when the database has them', async () => {
  const f = await fx();
  const html = renderReport(f.db, f.trainId);
  const hasEvents = f.db.prepare("SELECT 1 FROM sqlite_schema WHERE name = 'events'").get() !== undefined;
  if (hasEvents) {
    assert.match(html, /<h2>Device events<\/h2>/);
    assert.match(html, /<tr><td>reset<\/td><td class="num">2<\/td><\/tr><tr><td>reject<\/td><td class="num">1<\/td><\/tr>/);
    assert.not.ok(html.includes(HOSTILE_NOTE), 'the event detail is escaped');
  } else {
    assert.not.match(html, /Device events/);
  }
});

test('a database without an events table (schema v1) reports without that section', () => {
  const db = new Database(':memory:');
  db.exec(MIGRATIONS[0]);
  db.pragma('user_version = 1');
  db.prepare(`INSERT INTO runs (id, kind, status, started_ms, config, host, pid, heartbeat_ms) VALUES (1, 'bench', 'completed', 0, '{}', 'h', 1, 0)`).run();
  db.prepare(`INSERT INTO metrics (run_id, name, step, value, t_ms) VALUES (1, 'rate', 0, 5, 0), (1, 'rate', 1, NULL, 0), (1, 'rate', 2, 7, 0)`).run();
  const html = renderReport(db, 1);
  assert.not.match(html, /Device events/);
  const charts = chartsOf(html);
  assert.equal(charts.map((c) => c.title), ['rate']);
  assert.equal(charts[0].series[0].y, [5, null, 7]);
  assert.throws(() => renderReport(db, 2), /no run 2/);
  db.close();
});

test('calibrate report: transfer, gain and offset, noise and drift charts, a crosstalk heatmap', async () => {
  const f = await fx();
  const html = renderReport(f.db, f.calibrateId);
  const charts = chartsOf(html);
  // The fixture's drift window is under 2 s of device time: no rate, no drift chart, and the report says why.
  assert.equal(charts.map((c) => c.title), [
    'DC transfer: linearisation per input channel', 'DC gain and offset per output channel', 'Noise per output channel',
  ]);
  assert.match(html, /<span id="drift-too-short">window too short: \d+ points over [\d.]+ s of device time; an hourly rate needs at least 60 s/);
  assert.not.match(html, /per hour/);
  assert.match(html, /id="nonlinearity">[\d.]+ % of the drive range: the largest gap between the equivalent linear drive and the drive/);
  assert.match(html, /id="crosstalk-colourbar"/);
  assert.is(charts.length, EXPECTED_CHARTS.calibrate);
  const [transfer, gain, noise] = charts;
  assert.equal(transfer.series.map((s) => s.label), ['in 0', 'identity']);
  assert.is(transfer.x.length, 17, 'the analog plan sweeps 17 levels');
  assert.equal(gain.series.map((s) => [s.label, s.axis ?? 'y']), [['gain', 'y'], ['offset', 'y2']]);
  assert.is(gain.x.length, 50);
  // The analog simulator's noise is 2 LSB: every channel's sigma is near it.
  for (const v of noise.series[0].y) assert.ok(v !== null && v > 1.7 && v < 2.3, `sigma ${v}`);
  assert.is((html.match(/<td style="background:rgb/g) ?? []).length, 50, 'one heatmap cell per output');
  assert.match(html, /Latency \/ step response/);
  assert.match(html, /median sigma 2\.0/);
});

test('failed run: marked with its error, and the first recorded samples plotted per channel', async () => {
  const f = await fx();
  const html = renderReport(f.db, f.failedId);
  assert.match(html, /<div class="banner bad" id="run-problem"><strong>This run failed<\/strong>/);
  assert.ok(html.includes(escapeHtml(FAIL_MESSAGE)));
  assert.not.ok(html.includes(FAIL_MESSAGE));
  const [drive, response] = chartsOf(html);
  assert.is(chartsOf(html).length, EXPECTED_CHARTS.failed);
  assert.is(drive.x.length, 500);
  assert.equal(drive.series.map((s) => s.label), ['in 0', 'in 1']);
  assert.equal(response.series.map((s) => s.label), ['out 0', 'out 1', 'out 2', 'out 3', 'out 4', 'out 5']);
  assert.equal(response.series.map((s) => s.hidden ?? false), [false, false, false, false, true, true]);
  for (const t of [0, 31, 32, 77, 499]) {
    for (const c of [0, 1]) assert.is(drive.series[c].y[t], fixtureDrive(t, c), `drive ${c} at ${t}`);
    for (const c of [0, 3]) assert.is(response.series[c].y[t], roundSig(fixtureResponse(t, c)), `response ${c} at ${t}`);
  }
  assert.match(html, /The first 500 samples recorded \(16 of 30 batches\)/);
});

test('interrupted and stale running runs are marked as such', async () => {
  const f = await fx();
  const a = new RunRecorder(f.db);
  const interrupted = a.startRun({ kind: 'train', gitCommit: null });
  a.finish('interrupted', 'SIGINT');
  assert.match(renderReport(f.db, interrupted), /<strong>This run was interrupted<\/strong>[^]*<pre>SIGINT<\/pre>/);
  const b = new RunRecorder(f.db);
  const running = b.startRun({ kind: 'train', gitCommit: null });
  try {
    assert.match(renderReport(f.db, running), /Still running: this report is a snapshot/);
    assert.match(renderReport(f.db, running, { now: Date.now() + 10 * 60_000 }), /Marked running, but its writer's last heartbeat was 10 min \d+ s ago/);
  } finally {
    b.finish('completed');
  }
});

test('long metric series are bucketed by SQLite exactly as downsampleAligned buckets them in memory', async () => {
  const f = await fx();
  const rec = new RunRecorder(f.db);
  const id = rec.startRun({ kind: 'train', gitCommit: null });
  // Two series of one chart (the surrogate's errors), so the buckets are shared.
  const loss = { name: 'surrogate_nmse', step: [] as number[], value: [] as number[] };
  const nmse = { name: 'surrogate_heldout_nmse', step: [] as number[], value: [] as number[] };
  for (let s = 0; s < 5000; s++) {
    const v = Math.exp(-s / 800) * (1 + 0.3 * Math.sin(s / 3)) + (s === 2222 ? 5 : 0);
    loss.step.push(s);
    loss.value.push(v);
    rec.recordMetric('surrogate_nmse', s, v);
    if (s % 7 === 0) {
      const w = s > 3000 && s < 3300 ? NaN : 0.5 * v;
      nmse.step.push(s);
      nmse.value.push(w);
      rec.recordMetric('surrogate_heldout_nmse', s, w);
    }
  }
  rec.finish('completed');
  const [bucketed] = chartsOf(renderReport(f.db, id, { maxPoints: 100 }));
  const inMemory = metricChart('chart-1', 'Task loss', [loss, nmse], 100);
  assert.is(bucketed.x.length, 100);
  assert.equal(bucketed.x, inMemory.x);
  assert.equal(bucketed.series, inMemory.series);
  assert.ok(bucketed.series[0].y.includes(roundSig(loss.value[2222])), 'the spike at step 2222 is kept');
  assert.ok(bucketed.series[1].y.includes(null), 'the NaN stretch is a gap');
  assert.is(bucketed.note, inMemory.note);
});

test('a run of a million metric points and a million samples gives a report of bounded size', async () => {
  const f = await fx();
  const rec = new RunRecorder(f.db, { batchesPerCommit: 100 });
  const id = rec.startRun({ kind: 'train', gitCommit: null });
  for (let k = 0; k < 100; k++) rec.recordBatch(batch(k, 10_000, 1, 4));
  rec.flush();
  // Generated inside SQLite: a million single-row inserts from JavaScript would take seconds.
  f.db.prepare(`WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < 999999)
    INSERT INTO metrics (run_id, name, step, value, t_ms) SELECT ?, 'loss', i, CASE i WHEN 654321 THEN 50 ELSE 1.0 / (1 + i / 1000.0) END, 0 FROM s`).run(id);
  f.db.prepare(`WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 10 FROM s WHERE i < 999990)
    INSERT INTO metrics (run_id, name, step, value, t_ms) SELECT ?, 'surrogate_nmse', i, 0.1 + 0.01 * sin(i / 1e4), 0 FROM s`).run(id);
  const steps = 200_000;
  const sig = (p: number) => Array.from({ length: steps }, (_, t) => Math.sin(t / 50 + p));
  rec.saveArtifact('test_trace', 'trace', { steps, drive: [sig(0)], response: [sig(1), sig(2)], target: [sig(3)], prediction: [sig(4)] });
  rec.finish('completed');
  const html = renderReport(f.db, id);
  const bytes = Buffer.byteLength(html);
  assert.ok(bytes < 400_000, `report of ${bytes} bytes`);
  const charts = chartsOf(html);
  const loss = charts.find((c) => c.title === 'Training loss')!;
  assert.ok(loss.x.length <= 2000);
  assert.ok(loss.series[0].y.includes(50), 'the spike at step 654321 is kept');
  assert.match(loss.note ?? '', /downsampled from 1,000,000 to 2,000 points/);
  for (const c of charts) for (const s of c.series) assert.ok(s.y.length <= 2000, `${c.title} ${s.label}: ${s.y.length} points`);
  assert.match(charts.find((c) => c.title === 'Test: drive')!.note ?? '', /steps 0-1999 of 200,000/);
});

test.run();
