/**
 * Opens generated reports in headless Chromium with the network refused: the page must draw every
 * chart from what it carries, without errors. Needs Chromium (apt-get install -y chromium); without
 * it these tests fail and say so.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RunRecorder, openRecordDb } from '../../src/record/index.js';
import { renderReport } from '../../src/report/index.js';
import { CHROMIUM, type Opened, launch, openReport } from './browser.js';
import { EXPECTED_CHARTS, FAIL_MESSAGE, type Fixture, HOSTILE_FIRMWARE, HOSTILE_NOTE, makeFixture } from './fixtures.js';

// Made on first use rather than in a before hook: uvu drops an error thrown by a hook without
// printing it, and a missing Chromium must say so.
let fixture: Promise<Fixture> | null = null;
let browser: Promise<Browser> | null = null;
const fx = () => (fixture ??= makeFixture());
const chromium = () => (browser ??= launch());
const opened: Opened[] = [];

test.after(async () => {
  for (const o of opened) await o.page.context().close().catch(() => undefined);
  if (browser) await (await browser.catch(() => null))?.close();
  if (fixture) (await fixture).cleanup();
});

async function open(runId: (f: Fixture) => number, width?: number): Promise<Opened> {
  const f = await fx();
  const o = await openReport(await chromium(), renderReport(f.db, runId(f)), width);
  opened.push(o);
  return o;
}

/** Every chart drawn by uPlot, with data, in a saturated series colour, and nothing went wrong or out. */
function assertDrawn(o: Opened, expected: number): void {
  assert.equal(o.errors, [], 'no console errors or uncaught exceptions');
  assert.equal(o.requests, [], 'no network requests');
  assert.is(o.chartsDrawn, expected);
  assert.is(o.charts.length, expected);
  for (const c of o.charts) {
    assert.is(c.error, null, `${c.title}: ${c.error}`);
    assert.is(c.uplots, 1, `${c.title}: one uPlot chart`);
    assert.ok(c.canvases >= 1, `${c.title}: has a canvas`);
    assert.ok(c.points > 0, `${c.title}: plots data`);
    assert.ok(c.colouredPixels > 200, `${c.title}: ${c.colouredPixels} pixels in a series colour`);
  }
}

test('headless Chromium is installed (the report rendering tests need it)', () => {
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: install it with apt-get install -y chromium (.ci/run does), or set RHIL_CHROMIUM`);
});

test('train report renders offline: every chart drawn, test table, nothing injected', async () => {
  const o = await open((f) => f.trainId);
  assertDrawn(o, EXPECTED_CHARTS.train);
  assert.equal(o.charts.map((c) => c.title), [
    'Training loss', 'Readout error on the next episode', 'Surrogate error', 'Gradient fidelity: cosine to the exact VJP', 'Gradient fidelity: slope on the device',
    'Drive saturation', 'Test: target and prediction', 'Test: residual (prediction - target)', 'Test: drive', 'Test: response',
  ]);
  // Legends are static: labels, never the '--' a live legend shows without a cursor.
  const legends = (await o.page.locator('.u-legend').allTextContents()).join(' ');
  assert.not.match(legends, /--/);
  assert.match(legends, /surrogate_heldout_nmse/);
  assert.equal(await o.page.locator('figure.chart').evaluateAll((fs: any[]) => fs.map((f) => f.getAttribute('data-x-label'))), // eslint-disable-line @typescript-eslint/no-explicit-any
    ['episode', 'episode', 'episode', 'episode', 'episode', 'episode', 'test step', 'test step', 'test step', 'test step']);
  const table = await o.page.textContent('#test-metrics');
  assert.match(table ?? '', /test_nmse\s*0\.0812/);
  assert.is(await o.page.evaluate('typeof window.__pwned'), 'undefined', 'strings from the database ran no script');
  const text = (await o.page.evaluate('document.body.innerText')) as string;
  assert.ok(text.includes(HOSTILE_FIRMWARE), 'the firmware string shows as text');
  assert.ok(((await o.page.textContent('#config pre')) ?? '').includes(JSON.stringify(HOSTILE_NOTE)), 'the config shows as text');
  assert.is(await o.page.locator('#run-status').textContent(), 'completed');
});

test('a series with one value (a single fidelity check, a one-episode run) is drawn as a marker, not left blank', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rhil-render-single-'));
  const db = openRecordDb(join(dir, 'rhil.db'));
  let html: string;
  try {
    const rec = new RunRecorder(db);
    const id = rec.startRun({ kind: 'train', config: { task: 'narma10', trainer: 'pat' }, seed: 1, backend: 'cpu' });
    rec.recordMetric('loss', 0, 0.002);
    rec.recordMetric('fidelity_slope', 0, 0.7);
    rec.recordMetric('fidelity_slope_se', 0, 0.4);
    rec.finish('completed');
    html = renderReport(db, id);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const o = await openReport(await chromium(), html);
  opened.push(o);
  assert.equal(o.errors, []);
  for (const title of ['Training loss', 'Gradient fidelity: slope on the device']) {
    const c = o.charts.find((x) => x.title === title);
    assert.ok(c, `${title} is drawn`);
    assert.ok(c!.colouredPixels > 10, `${title}: ${c!.colouredPixels} pixels in a series colour`);
  }
});

test('calibrate report renders offline: transfer, gain and offset, noise, drift, crosstalk', async () => {
  const o = await open((f) => f.calibrateId);
  assertDrawn(o, EXPECTED_CHARTS.calibrate);
  assert.is(await o.page.locator('#crosstalk td').count(), 50);
});

test('failed run renders with its error in view and the recorded signals', async () => {
  const o = await open((f) => f.failedId);
  assertDrawn(o, EXPECTED_CHARTS.failed);
  const banner = o.page.locator('#run-problem');
  assert.ok(await banner.isVisible());
  assert.ok(((await banner.textContent()) ?? '').includes(FAIL_MESSAGE));
  assert.is(await o.page.locator('#run-status').textContent(), 'failed');
});

test('charts fit a narrow window and follow a resize', async () => {
  const o = await open((f) => f.trainId, 640);
  assertDrawn(o, EXPECTED_CHARTS.train);
  const fits = async () => o.page.evaluate(`[...document.querySelectorAll('figure.chart')].every((f) => f.querySelector('.uplot').getBoundingClientRect().right <= f.getBoundingClientRect().right + 1)`);
  assert.ok(await fits(), 'each chart inside its figure at 640 px');
  assert.ok(await o.page.evaluate('document.documentElement.scrollWidth <= 640'), 'no horizontal scrolling at 640 px');
  await o.page.setViewportSize({ width: 1400, height: 900 });
  await o.page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
  const widths = (await o.page.evaluate(`[...document.querySelectorAll('.uplot')].map((u) => u.getBoundingClientRect().width)`)) as number[];
  assert.ok(widths.every((w) => w > 400), `charts grew with the window: ${widths.join(', ')}`);
  assert.ok(await fits(), 'each chart inside its figure at 1400 px');
});

test.run();
