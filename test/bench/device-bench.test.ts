import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { benchDevice, defaultBatchSizes, deviceUtilisation, latencyStats } from '../../src/bench/index.js';
import { DeviceClient } from '../../src/device/client.js';
import { openDevice } from '../../src/device/index.js';
import { getRun, openRecordDb, readArtifact, readMetrics } from '../../src/record/index.js';
import { openSimLink } from '../../src/sim/serve.js';

test('latency statistics are nearest-rank percentiles', () => {
  const s = latencyStats(Array.from({ length: 100 }, (_, i) => 100 - i));
  assert.equal([s.p50Ms, s.p90Ms, s.p99Ms, s.minMs, s.maxMs, s.meanMs], [50, 90, 99, 1, 100, 50.5]);
  assert.is(latencyStats([3]).p99Ms, 3);
  assert.throws(() => latencyStats([]), /at least one/);
  assert.equal(defaultBatchSizes(655), [1, 16, 64, 256, 655]);
  assert.equal(defaultBatchSizes(40), [1, 16, 40]);
  assert.equal(defaultBatchSizes(16), [1, 16]);
});

test('benchDevice on the analog simulator: latency, throughput per batch size, bytes and utilisation that add up', async () => {
  const device = await openDevice('sim:analog', { seed: 1 });
  const parts: string[] = [];
  const r = await benchDevice(device, { roundTrips: 40, batches: 12, onProgress: (p) => parts.push(p) });
  await device.close();
  assert.equal(parts, ['latency', 'throughput 1', 'throughput 16', 'throughput 64', 'throughput 256', 'throughput 655']);
  assert.is(r.device.model, 'sim-analog');
  assert.is(r.device.sampleRateHz, 100_000);
  assert.is(r.latency.count, 40);
  assert.is(r.ping.count, 40);
  assert.ok(r.latency.minMs > 0 && r.latency.p50Ms <= r.latency.p90Ms && r.latency.p90Ms <= r.latency.p99Ms && r.latency.p99Ms <= r.latency.maxMs);
  assert.equal(r.throughput.map((t) => t.batch), [1, 16, 64, 256, 655]);
  for (const t of r.throughput) {
    assert.is(t.samples, 12 * t.batch);
    assert.is(t.failedBatches, 0);
    assert.ok(Math.abs(t.samplesPerSecond - t.samples / t.seconds) < 1e-6 * t.samplesPerSecond);
    // Unpaced, the simulator runs faster than its declared 100 kS/s (the old figure then read
    // 1.55); on its own clock it is busy all the time, and utilisation never exceeds 1.
    assert.is(t.utilisation, 1, `batch ${t.batch}`);
    // Per vector: 2 bytes of drive and 50 x 2 bytes of response, plus each pair of frames' fixed part.
    const perSample = t.bytesPerSecond / t.samplesPerSecond;
    assert.ok(perSample > 102 && perSample < 102 + 80 / t.batch, `batch ${t.batch}: ${perSample} bytes per sample`);
  }
  // Bigger batches amortise the per-frame cost: the largest moves more samples per second than single samples.
  assert.ok(r.throughput[4].samplesPerSecond > 5 * r.throughput[0].samplesPerSecond);
  assert.equal(r.rejects, {});
  assert.is(r.breaks, 0);
  assert.equal([r.deviceErrors.crcErrors, r.deviceErrors.framingErrors, r.deviceErrors.rejected, r.deviceErrors.droppedBatches], [0, 0, 0, 0]);
});

test('deviceUtilisation: busy share of the device clock, in [0, 1] by construction', () => {
  const r = (timestampUs: number, count = 10, epoch = 1) => ({ timestampUs, count, epoch });
  // 10 vectors of 1 us each, back to back: always busy.
  assert.is(deviceUtilisation([r(0), r(10), r(20)], 1000), 1);
  // A 10 us gap before the last batch: 30 us busy in 40 us.
  assert.is(deviceUtilisation([r(0), r(10), r(30)], 1000), 30 / 40);
  // A device faster than its declared period (timestamps 5 us apart for 10 us of nominal work): capped by the next start, not above 1.
  assert.is(deviceUtilisation([r(0), r(5), r(10)], 1000), 1);
  // A new epoch or a clock that goes back starts a new span; the gap between spans is not counted.
  assert.is(deviceUtilisation([r(0), r(10), r(500, 10, 2), r(520, 10, 2)], 1000), 40 / 50);
  assert.is(deviceUtilisation([r(100), r(0)], 1000), 1);
  assert.is(deviceUtilisation([r(0)], 0), null, 'no declared period');
  assert.is(deviceUtilisation([], 1000), null);
});

test('on a noisy link the benchmark counts decoder rejects and state breaks and still reports', async () => {
  // One bit in 20,000 of what the device sends is flipped: about 5% of 1-sample RESULT frames.
  const { link } = openSimLink('analog', { seed: 3, device: { faults: { bitFlipRate: 5e-5 } } });
  const device = await DeviceClient.connect(link, { timeoutMs: 100, processTimeoutMs: 100 });
  const r = await benchDevice(device, { roundTrips: 150, batches: 10, batchSizes: [1, 4], warmup: 0 });
  await device.close();
  const rejected = Object.values(r.rejects).reduce((s, n) => s + n, 0);
  assert.ok(rejected > 0, JSON.stringify(r.rejects));
  assert.ok(r.breaks > 0);
  assert.ok(r.latency.count + r.breaks >= 150 && r.latency.count < 150);
  for (const [sizes, re] of [[[], /must not be empty/], [[656], /batch size 656 is outside 1\.\.655/]] as const) {
    const err = await benchDevice(device, { batchSizes: sizes }).then(() => null, (e: Error) => e);
    assert.match(err?.message ?? 'resolved', re);
  }
});

test('rhil bench prints the figures and records a bench run with metrics and a bench artifact', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rhil-bench-'));
  const db = join(dir, 'b.db');
  const main = new URL('../../src/cli/main.js', import.meta.url).pathname;
  const { stdout } = await promisify(execFile)(process.execPath, [main, 'bench', '--device', 'sim:analog', '--batches', '20', '--db', db], { encoding: 'utf8' });
  assert.match(stdout, /latency {5}1-sample PROCESS round trip \(20\): p50 \d+\.\d{3} ms, p90 .* p99 /);
  assert.match(stdout, /^ {15}655 +[\d,]+ +\d+\.\d\d +\d\.\d{3}$/m);
  assert.match(stdout, /host decoder rejects: none; device: crc 0, framing 0, rejected 0, dropped batches 0; state breaks 0/);
  const runId = Number(/recorded as run (\d+) in/.exec(stdout)![1]);
  const h = openRecordDb(db, { readonly: true });
  const run = getRun(h, runId)!;
  assert.is(run.kind, 'bench');
  assert.is(run.status, 'completed');
  assert.equal(readMetrics(h, runId, 'samples_per_s').map((m) => m.step), [1, 16, 64, 256, 655]);
  const art = readArtifact(h, runId, 'bench')!;
  assert.is(art.kind, 'device-bench');
  assert.is((art.json as { latency: { count: number } }).latency.count, 20);
  h.close();
  const bad = await promisify(execFile)(process.execPath, [main, 'bench', '--batch', '5000', '--no-record'], { encoding: 'utf8' }).catch((e) => e as { code: number; stderr: string });
  assert.is((bad as { code: number }).code, 2);
  assert.match((bad as { stderr: string }).stderr, /--batch 5000 exceeds the device's usable batch of 655/);
});

test.run();
