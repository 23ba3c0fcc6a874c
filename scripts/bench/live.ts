/**
 * Live-view benchmark: streaming through the simulated device on a pty with every batch recorded
 * (as `rhil train` records), with and without a live viewer attached, measured interleaved in one
 * run (the machine is shared: read the ratio).
 *
 *   npm run bench:live -- [--runs N (default 5)] [--secs S per measurement (default 2)]
 *                         [--batch SIZE (default 256)] [--poll-ms MS (default 100)] [--paced]
 *
 * The viewer is what `--live` runs: a LiveServer in the recording process, on its own read-only
 * connection, answering /state; the page is played by a worker thread (its own event loop, as a
 * browser is its own process) that polls with its cursor every --poll-ms, 10x as often as the
 * page's default 1000 ms. Target: recorded samples/s with the viewer >= 0.95 x without.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { DeviceClient } from '../../src/device/index.js';
import { LiveServer } from '../../src/live/index.js';
import { RunRecorder, openRecordDb } from '../../src/record/index.js';
import { Rng } from '../../src/sim/index.js';
import { openSerial } from '../../src/transport/index.js';
import { fmt, machineLine, median, opt, startSimChild } from './harness.js';

const args = process.argv.slice(2);
const RUNS = opt(args, '--runs', 5);
const SECS = opt(args, '--secs', 2);
const BATCH = opt(args, '--batch', 256);
const POLL_MS = opt(args, '--poll-ms', 100);
const PACED = args.includes('--paced');
const SEED = 20261207;

// The viewer's side: poll /state with the cursor it returns, count polls and bytes.
const POLLER = `
const { parentPort, workerData } = require('node:worker_threads');
let stop = false, polls = 0, bytes = 0, cursor = { metricId: 0, eventId: 0, seq: -1 };
parentPort.on('message', () => { stop = true; });
(async () => {
  while (!stop) {
    const r = await fetch(workerData.url + 'state?m=' + cursor.metricId + '&e=' + cursor.eventId + '&s=' + cursor.seq);
    const text = await r.text();
    bytes += text.length; polls++;
    if (polls === 1) parentPort.postMessage({ ready: true });
    const s = JSON.parse(text);
    if (s.cursor) cursor = s.cursor;
    await new Promise((res) => setTimeout(res, workerData.pollMs));
  }
  parentPort.postMessage({ polls, bytes });
})();
`;

const sim = await startSimChild('analog', SEED, PACED ? 'paced' : 'real');
const client = await DeviceClient.connect(await openSerial(sim.path), { processTimeoutMs: 30_000, timeoutMs: 5000 });
const dir = mkdtempSync(join(tmpdir(), 'rhil-bench-live-'));
const rng = new Rng(SEED);
const drive = Array.from({ length: 8 }, () => Uint16Array.from({ length: BATCH }, () => rng.nextU32() & 0xfff));

async function stream(viewer: boolean, secs: number, run: number): Promise<{ rate: number; polls: number; serverShare: number }> {
  const path = join(dir, `${viewer ? 'live' : 'plain'}-${run}.sqlite`);
  const db = openRecordDb(path);
  const rec = new RunRecorder(db);
  const runId = rec.startRun({ kind: 'bench', config: { batch: BATCH }, device: client.info, gitCommit: null });
  let live: LiveServer | null = null;
  let worker: Worker | null = null;
  if (viewer) {
    live = await LiveServer.listen({ port: 0 });
    live.attach(path, runId);
    worker = new Worker(POLLER, { eval: true, workerData: { url: live.url, pollMs: POLL_MS } });
    // Started and connected before the clock starts, as a page opened before the run.
    await new Promise((r) => worker!.once('message', r));
  }
  const sub = client.results$.subscribe((r) => rec.recordBatch(r));
  let samples = 0;
  let k = 0;
  const t0 = performance.now();
  const deadline = t0 + secs * 1000;
  // Metrics too, as a trainer records them (one per 20 batches), so the viewer has points to fetch.
  let batches = 0;
  const worker$ = async () => {
    while (performance.now() < deadline) {
      const r = await client.process(drive[k++ % drive.length]);
      samples += r.count;
      if (++batches % 20 === 0) rec.recordMetric('loss', batches / 20, 1 / batches);
    }
  };
  await Promise.all(Array.from({ length: client.info.credits }, worker$));
  const wall = (performance.now() - t0) / 1000;
  sub.unsubscribe();
  rec.finish('completed');
  let polls = 0;
  const serverShare = live ? live.stats.busyMs / 1000 / wall : 0;
  if (worker && live) {
    const done = new Promise<{ polls: number }>((r) => worker!.once('message', r));
    worker.postMessage('stop');
    polls = (await done).polls;
    await worker.terminate();
    await live.close();
  }
  db.close();
  return { rate: samples / wall, polls, serverShare };
}

console.log(`live benchmark: profile 'analog' (1 -> 50 channels, u16), batch ${BATCH}, pacing ${PACED ? 'at the declared sample rate' : 'off'}, ` +
  `every batch recorded; viewer polls every ${POLL_MS} ms; median of ${RUNS} runs of ${SECS} s per row, interleaved`);
console.log(machineLine());
try {
  await stream(false, 0.3, -1);
  const plain: number[] = [];
  const viewed: number[] = [];
  const polls: number[] = [];
  const share: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    plain.push((await stream(false, SECS, run)).rate);
    const v = await stream(true, SECS, run);
    viewed.push(v.rate);
    polls.push(v.polls);
    share.push(v.serverShare);
  }
  const a = median(plain), b = median(viewed);
  console.log(`  recorded, no viewer        ${fmt(a).padStart(10)} samples/s`);
  console.log(`  recorded, live viewer      ${fmt(b).padStart(10)} samples/s  (${fmt(median(polls))} polls per run; answering them took ${fmt(100 * median(share), 2)} % of the recording thread's wall time)`);
  console.log(`\nwith a live viewer / without: ${(b / a).toFixed(3)} (${b / a >= 0.95 ? 'meets' : 'MISSES'} >= 0.95)`);
} finally {
  await client.close();
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
}
