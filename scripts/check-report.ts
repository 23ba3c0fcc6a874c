/**
 * Renders the report test fixtures, opens each page in headless Chromium (network refused) and
 * saves full-page screenshots, to look at after changing the report:
 *
 *   node dist/scripts/check-report.js [outdir]     # default /tmp: report-train.html/.png, ...
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderReport } from '../src/report/index.js';
import { launch, openReport } from '../test/report/browser.js';
import { makeFixture } from '../test/report/fixtures.js';

const outDir = process.argv[2] ?? '/tmp';
const fx = await makeFixture();
const browser = await launch();
try {
  for (const [name, id] of [['train', fx.trainId], ['calibrate', fx.calibrateId], ['failed', fx.failedId]] as const) {
    const html = renderReport(fx.db, id);
    writeFileSync(join(outDir, `report-${name}.html`), html);
    const o = await openReport(browser, html);
    await o.page.screenshot({ path: join(outDir, `report-${name}.png`), fullPage: true });
    console.log(`${name}: run ${id}, ${Buffer.byteLength(html)} bytes, ${o.chartsDrawn} charts, errors ${JSON.stringify(o.errors)}, requests ${o.requests.length}`);
    for (const c of o.charts) console.log(`  ${c.id} ${c.title}: ${c.points} points, ${c.colouredPixels} coloured pixels${c.error ? `, ERROR ${c.error}` : ''}`);
    await o.page.context().close();
  }
} finally {
  await browser.close();
  fx.cleanup();
}
