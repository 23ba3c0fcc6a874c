/**
 * Opens report pages in headless Chromium with every network request refused, and measures what
 * they drew. Used by render.test.ts and scripts/check-report.ts.
 */
import { existsSync } from 'node:fs';
import { type Browser, type Page, chromium } from 'playwright-core';

/** The Debian package's binary; RHIL_CHROMIUM overrides it. */
// This file compiles for Node, without the DOM library; the callbacks handed to page.evaluate run in
// the page, where these exist.
declare const document: any; // eslint-disable-line @typescript-eslint/no-explicit-any
declare function requestAnimationFrame(cb: (t: number) => void): number;

export const CHROMIUM = process.env.RHIL_CHROMIUM || '/usr/bin/chromium';

export async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`headless Chromium is needed to check the HTML reports and was not found at ${CHROMIUM}: install it (apt-get install -y chromium, which .ci/run does) or point RHIL_CHROMIUM at a Chromium binary`);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}

export interface ChartState {
  id: string;
  title: string;
  /** uPlot root elements inside the figure (1 when drawn). */
  uplots: number;
  canvases: number;
  /** Finite values the page says it plotted. */
  points: number;
  /** Canvas pixels of a saturated colour: plotted series (axes, grid and text are grey or black). */
  colouredPixels: number;
  error: string | null;
}

export interface Opened {
  page: Page;
  /** Console errors and uncaught exceptions. */
  errors: string[];
  /** URLs the page tried to fetch (all refused). */
  requests: string[];
  chartsDrawn: number;
  charts: ChartState[];
}

/** Loads `html` into a new page of `browser` at `width` px, offline, and reads back every chart. */
export async function openReport(browser: Browser, html: string, width = 1280): Promise<Opened> {
  const context = await browser.newContext({ viewport: { width, height: 900 }, offline: true });
  const page = await context.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
  await page.route('**/*', (route) => {
    requests.push(route.request().url());
    return route.abort();
  });
  await page.setContent(html, { waitUntil: 'load' });
  // uPlot commits its drawing in a microtask; one animation frame later every canvas is painted.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r(null))));
  const state = await page.evaluate((): { chartsDrawn: number; charts: ChartState[] } => {
    const figures: any[] = [...document.querySelectorAll('figure.chart')]; // eslint-disable-line @typescript-eslint/no-explicit-any
    return {
      chartsDrawn: Number(document.documentElement.getAttribute('data-charts-drawn') ?? -1),
      charts: figures.map((f) => {
        let coloured = 0;
        const canvases: any[] = [...f.querySelectorAll('canvas')]; // eslint-disable-line @typescript-eslint/no-explicit-any
        for (const c of canvases) {
          const ctx = c.getContext('2d');
          if (!ctx || c.width === 0 || c.height === 0) continue;
          const d = ctx.getImageData(0, 0, c.width, c.height).data;
          for (let i = 0; i < d.length; i += 4) {
            if (d[i + 3] > 128 && Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]) > 60) coloured++;
          }
        }
        return {
          id: f.id,
          title: f.querySelector('figcaption')?.textContent ?? '',
          uplots: f.querySelectorAll('.uplot').length,
          canvases: canvases.length,
          points: Number(f.getAttribute('data-points') ?? 0),
          colouredPixels: coloured,
          error: f.getAttribute('data-error'),
        };
      }),
    };
  });
  return { page, errors, requests, ...state };
}
