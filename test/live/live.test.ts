import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type DeviceClient, openDevice } from '../../src/device/index.js';
import { LivePortError, LiveServer } from '../../src/live/index.js';
import { type RunContext, withRecordedRun } from '../../src/session/index.js';
import { launch } from '../report/browser.js';

declare const document: any; // eslint-disable-line @typescript-eslint/no-explicit-any

const ramp = (k: number, count: number): number[] => Array.from({ length: count }, (_, i) => (k * 37 + i * 11) % 4096);

let browser: Browser;
test.before(async () => { browser = await launch(); });
test.after(async () => { await browser.close(); });

/** A page on `url` that may fetch from that origin only; every other request is refused and listed. */
async function openLive(url: string): Promise<{ page: Page; blocked: string[]; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1400 } });
  const page = await context.newPage();
  const blocked: string[] = [];
  const errors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));
  const origin = new URL(url).origin;
  await page.route('**/*', (route) => {
    const u = route.request().url();
    if (new URL(u).origin === origin) return route.continue();
    blocked.push(u);
    return route.abort();
  });
  await page.goto(url);
  return { page, blocked, errors };
}

const pointsOf = (page: Page, id: string) => page.evaluate((i: string) => Number(document.getElementById(i)?.getAttribute('data-points') ?? -1), id);
const statusOf = (page: Page) => page.evaluate(() => document.getElementById('run-status').getAttribute('data-status') as string);

/** One "episode": a batch through the device, then its metrics; the page is awaited between episodes, so no timing is assumed. */
async function episode(ctx: RunContext, device: DeviceClient, i: number): Promise<void> {
  await device.process(ramp(i, 40));
  ctx.metric('loss', i, 0.5 / (i + 1));
  ctx.metric('surrogate_nmse', i, 0.2 / (i + 1));
  ctx.metric('drift_alarms', i, i >= 2 ? 1 : 0);
  ctx.metric('fidelity_cosine', i, 0.9);
  if (i === 2) {
    ctx.metric('fidelity_slope', i, 0.9);
    ctx.metric('fidelity_slope_se', i, 0.1);
    ctx.metric('fidelity_directions', i, 3);
    ctx.metric('fidelity_samples', i, 1260);
  }
}

test('the live page follows a recorded simulator run, offline, and says finished at the end', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rhil-live-'));
  const db = join(dir, 'rhil.db');
  const live = await LiveServer.listen({ port: 0, pollMs: 40 });
  const device = await openDevice('sim:analog', { seed: 1 });
  try {
    const { page, blocked, errors } = await openLive(live.url);
    assert.is(await statusOf(page), 'waiting');
    const seen: number[] = [];
    await withRecordedRun({ db, kind: 'train', config: { test: 'live' }, seed: 1, device, handleSignals: false }, async (ctx) => {
      live.attach(db, ctx.runId!);
      await device.resetState();
      for (let i = 0; i < 4; i++) {
        await episode(ctx, device, i);
        // The chart gains this episode's point while the run is still recording.
        await page.waitForFunction((n: number) => Number(document.getElementById('live-loss')?.getAttribute('data-points')) === n, i + 1);
        seen.push(await pointsOf(page, 'live-loss'));
        assert.is(await statusOf(page), 'running');
      }
      ctx.metric('test_nmse', 4, 0.031);
    });
    await live.close();
    await page.waitForFunction(() => document.getElementById('run-status').getAttribute('data-status') !== 'running');
    assert.equal(seen, [1, 2, 3, 4]);
    assert.is(await statusOf(page), 'finished');
    assert.match(await page.textContent('#run-status') ?? '', /finished/);
    assert.is(await pointsOf(page, 'live-surrogate'), 4 + 1, 'surrogate error, and one marker where the drift alarm count rose');
    assert.is(await pointsOf(page, 'live-slope'), 3, 'the fidelity slope and its ±2 s.e. band');
    assert.is(await pointsOf(page, 'live-m-fidelity_slope_se'), -1, 'the SE is drawn as the band, not a panel of its own');
    assert.is(await pointsOf(page, 'live-m-fidelity_samples'), -1);
    assert.ok(await pointsOf(page, 'live-rate') >= 1, 'device rate');
    assert.is(await pointsOf(page, 'live-drive'), 40, 'newest batch drive, one input');
    assert.match(await page.textContent('#live-drive figcaption') ?? '', /batch 3,/);
    assert.is(await pointsOf(page, 'live-response'), 40 * 8, 'newest batch response, 8 of 50 outputs');
    assert.match(await page.textContent('#live-final') ?? '', /test_nmse\s*0\.031/);
    assert.match(await page.textContent('#status-line') ?? '', /batches 4/);
    assert.match(await page.textContent('#live-events') ?? '', /reset/);
    assert.is(await page.getAttribute('#live-loss', 'data-x-label'), 'episode');
    assert.match(await page.getAttribute('#live-loss', 'data-y-label') ?? '', /MSE/);
    assert.equal(blocked, []);
    assert.equal(errors, []);
    await page.screenshot({ path: join(process.env.RHIL_SHOTS ?? dir, 'live-finished.png'), fullPage: true });
    await page.context().close();
  } finally {
    await device.close();
    await live.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an interrupted run reads interrupted, and the server closes with it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rhil-live-'));
  const db = join(dir, 'rhil.db');
  const live = await LiveServer.listen({ port: 0, pollMs: 40 });
  const device = await openDevice('sim:analog', { seed: 1 });
  try {
    const { page, errors } = await openLive(live.url);
    await withRecordedRun({ db, kind: 'train', config: {}, seed: 1, device, handleSignals: false }, async (ctx) => {
      live.attach(db, ctx.runId!);
      await device.resetState();
      await episode(ctx, device, 0);
      await page.waitForFunction(() => Number(document.getElementById('live-loss')?.getAttribute('data-points')) === 1);
      throw Object.assign(new Error('stopped on request'), { name: 'TrainingInterrupted' });
    }).catch((e: Error) => { assert.is(e.name, 'TrainingInterrupted'); });
    await live.close();
    await page.waitForFunction(() => document.getElementById('run-status').getAttribute('data-status') !== 'running');
    assert.is(await statusOf(page), 'interrupted');
    assert.match(await page.textContent('#problem') ?? '', /stopped on request/);
    assert.equal(errors, []);
    // Closed: a new connection is refused.
    const refused = await new Promise<boolean>((resolve) => {
      request(live.url).on('error', () => resolve(true)).on('response', () => resolve(false)).end();
    });
    assert.ok(refused);
    await page.context().close();
  } finally {
    await device.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a port in use is a LivePortError naming it; requests for another host are refused', async () => {
  const a = await LiveServer.listen({ port: 0 });
  try {
    const err = await LiveServer.listen({ port: a.port }).then(() => null, (e: unknown) => e);
    assert.instance(err, LivePortError);
    assert.match((err as Error).message, new RegExp(`port ${a.port} on 127.0.0.1 is in use`));
    const status = await new Promise<number>((resolve, reject) => {
      request(a.url, { headers: { host: `evil.example:${a.port}` } }, (res) => { res.resume(); resolve(res.statusCode!); }).on('error', reject).end();
    });
    assert.is(status, 421);
  } finally {
    await a.close();
  }
});

test.run();
