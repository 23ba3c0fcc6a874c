/**
 * A benchmark of one device as the host sees it, for a lab user checking a board (what `rhil
 * bench` runs): the round-trip latency of a 1-sample PROCESS, streaming throughput at a few batch
 * sizes with every credit in flight, and what went wrong on the way (decoder rejections, state
 * breaks, the device's own error counters).
 *
 * - Latency: `roundTrips` PROCESS requests of one vector each, one at a time, timed from the call
 *   to its resolved result (host stack, link both ways, the device's work); PING round trips of
 *   the same count give the link-and-stack baseline without the device's work.
 * - Throughput: for each batch size B, `batches` PROCESS requests of B vectors issued at once
 *   (the client keeps within the device's credits), timed from the first send to the last
 *   result. Samples/s = vectors / s. Bytes/s counts both directions' frames (header, payload and
 *   CRC, before COBS stuffing, which adds at most 1 byte in 254 plus the delimiter).
 *   Utilisation is read on the device's own clock (RESULT timestamps): the share of the device
 *   time from the first batch's start to the last batch's end during which it was processing
 *   (see {@link deviceUtilisation}). It lies in [0, 1] by construction; a host rate above the
 *   declared one (an unpaced simulator) shows in samples/s, not as utilisation above 1.
 * - Drives are a slow ramp across the middle half of the input range, so an analog board is
 *   neither idle nor saturated.
 *
 * ```ts
 * const report = await benchDevice(await openDevice('/dev/ttyACM0'), { roundTrips: 1000, batches: 200 });
 * console.log(report.latency.p99Ms, report.throughput.at(-1)?.samplesPerSecond);
 * ```
 */
import type { Device } from '../device/client.js';
import { DeviceTimeoutError, StateBreakError } from '../device/errors.js';
import { deviceIdentity, type DeviceIdentity } from '../device/identity.js';
import { FRAME_OVERHEAD } from '../protocol/messages.js';
import { REJECT_REASONS } from '../protocol/decoder.js';
import { payloadSize } from '../protocol/payload.js';

export interface DeviceBenchOptions {
  /** 1-sample PROCESS (and PING) round trips to time. Defaults to 1000. */
  roundTrips?: number;
  /** PROCESS requests per throughput batch size. Defaults to 200. */
  batches?: number;
  /** Batch sizes of the throughput runs, each in 1..maxBatch. Defaults to {@link defaultBatchSizes}. */
  batchSizes?: readonly number[];
  /** Untimed round trips before the latency run (first-use costs, JIT). Defaults to 20. */
  warmup?: number;
  /** Stops between requests; the benchmark then throws the signal's reason. */
  signal?: AbortSignal;
  /** Called as each part finishes: 'latency', then 'throughput B'. */
  onProgress?: (part: string, done: number, total: number) => void;
}

/** Round-trip statistics in ms (nearest-rank percentiles). */
export interface LatencyStats {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  minMs: number;
  maxMs: number;
  meanMs: number;
}

export interface ThroughputResult {
  batch: number;
  batches: number;
  /** Vectors processed (batches that failed excluded). */
  samples: number;
  seconds: number;
  samplesPerSecond: number;
  /** Frame bytes per second, host to device plus device to host. */
  bytesPerSecond: number;
  /** Busy share of the device's own time across the run, in [0, 1]; null when the device declares no sample period. */
  utilisation: number | null;
  /** Batches rejected by a state break (then the device is reset and the run goes on). */
  failedBatches: number;
}

export interface DeviceBenchReport {
  device: DeviceIdentity & { maxBatch: number; credits: number; sampleRateHz: number };
  /** 1-sample PROCESS round trips. */
  latency: LatencyStats;
  /** PING round trips (no device work): the link and host stack alone. */
  ping: LatencyStats;
  /** PINGs whose PONG never came (timed out). */
  lostPings: number;
  throughput: ThroughputResult[];
  /** Frames from the device the host decoder rejected during the benchmark, by reason. */
  rejects: Record<string, number>;
  /** State breaks met (each rejects the batches in flight). */
  breaks: number;
  /** The device's STATUS counters over the benchmark (after minus before); temperature at the end. */
  deviceErrors: { crcErrors: number; framingErrors: number; rejected: number; droppedBatches: number; temperatureC: number | null };
  elapsedMs: number;
}

/** A few sizes up to the device's limit: 1, 16, 64, 256 and maxBatch (those below it). */
export function defaultBatchSizes(maxBatch: number): number[] {
  return [...new Set([1, 16, 64, 256, maxBatch].filter((b) => b <= maxBatch))];
}

/** Nearest-rank statistics of durations in ms. */
export function latencyStats(ms: readonly number[]): LatencyStats {
  if (ms.length === 0) throw new RangeError('latencyStats needs at least one duration');
  const s = [...ms].sort((a, b) => a - b);
  const rank = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
  return {
    count: s.length, p50Ms: rank(0.5), p90Ms: rank(0.9), p99Ms: rank(0.99), minMs: s[0], maxMs: s[s.length - 1],
    meanMs: s.reduce((a, b) => a + b, 0) / s.length,
  };
}

const posInt = (v: number, name: string, min = 1): number => {
  if (!Number.isInteger(v) || v < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${v}`);
  return v;
};

export async function benchDevice(device: Device, opts: DeviceBenchOptions = {}): Promise<DeviceBenchReport> {
  const t0 = performance.now();
  const info = device.info;
  const roundTrips = posInt(opts.roundTrips ?? 1000, 'roundTrips');
  const nBatches = posInt(opts.batches ?? 200, 'batches');
  const warmup = posInt(opts.warmup ?? 20, 'warmup', 0);
  const sizes = opts.batchSizes ?? defaultBatchSizes(device.maxBatch);
  if (sizes.length === 0) throw new RangeError('batchSizes must not be empty');
  for (const b of sizes) {
    if (!Number.isInteger(b) || b < 1 || b > device.maxBatch) throw new RangeError(`batch size ${b} is outside 1..${device.maxBatch} (the device's usable batch)`);
  }
  const progress = opts.onProgress ?? (() => undefined);
  const ci = info.inChannels;
  const lo = info.inMin + (info.inMax - info.inMin) / 4, span = (info.inMax - info.inMin) / 2;
  const drive = (n: number, offset: number): number[] => Array.from({ length: n * ci }, (_, i) => {
    const v = lo + (((offset + Math.floor(i / ci)) % 1000) / 1000) * span;
    return info.inFormat === 'f32' ? v : Math.round(v);
  });
  // A control request whose reply a noisy link lost is asked again: the benchmark is there to
  // measure such a link, not to stop at its first loss.
  const control = async <T>(request: () => Promise<T>): Promise<T> => {
    for (let i = 1; ; i++) {
      try {
        return await request();
      } catch (e) {
        if (!(e instanceof DeviceTimeoutError) || i >= 3) throw e;
      }
    }
  };
  const status = () => control(() => device.getStatus());
  const reset = () => control(() => device.resetState());
  const rejectsBefore = { ...device.rejects };
  const statusBefore = await status();
  let breaks = 0;

  const recover = async () => {
    breaks++;
    await reset();
  };

  // ---- latency ----
  await reset();
  const one = drive(1, 0);
  const processMs: number[] = [];
  const pingMs: number[] = [];
  for (let i = 0; i < warmup + roundTrips; i++) {
    opts.signal?.throwIfAborted();
    const t = performance.now();
    try {
      await device.process(one);
    } catch (e) {
      if (!(e instanceof StateBreakError)) throw e;
      await recover();
      continue;
    }
    if (i >= warmup) processMs.push(performance.now() - t);
  }
  if (processMs.length === 0) throw new Error(`no 1-sample PROCESS of ${roundTrips} came back without a state break`);
  let lostPings = 0;
  for (let i = 0; i < warmup + roundTrips; i++) {
    opts.signal?.throwIfAborted();
    const t = performance.now();
    try {
      await device.ping();
    } catch (e) {
      // A PONG lost on the link costs no reservoir state: count it and go on.
      if (!(e instanceof DeviceTimeoutError)) throw e;
      lostPings++;
      continue;
    }
    if (i >= warmup) pingMs.push(performance.now() - t);
  }
  if (pingMs.length === 0) throw new Error(`no PING of ${roundTrips} came back`);
  progress('latency', 1, 1 + sizes.length);

  // ---- throughput ----
  const throughput: ThroughputResult[] = [];
  for (const [k, b] of sizes.entries()) {
    opts.signal?.throwIfAborted();
    await reset();
    const input = drive(b, 0);
    const start = performance.now();
    const settled = await Promise.allSettled(Array.from({ length: nBatches }, () => device.process(input)));
    const seconds = (performance.now() - start) / 1000;
    const ok = settled.filter((r) => r.status === 'fulfilled') as PromiseFulfilledResult<Awaited<ReturnType<Device['process']>>>[];
    const failed = settled.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    const other = failed.find((r) => !(r.reason instanceof StateBreakError));
    if (other) throw other.reason;
    if (failed.length) await recover();
    let bytes = 0;
    if (ok.length) {
      const r = ok[0].value;
      const processBytes = FRAME_OVERHEAD + payloadSize({ kind: 'process', batchId: r.batchId, count: b, channels: ci, format: info.inFormat, samples: r.input });
      const resultBytes = FRAME_OVERHEAD + payloadSize({
        kind: 'result', batchId: r.batchId, epoch: r.epoch, timestampUs: r.timestampUs, status: r.status, count: b, channels: info.outChannels,
        format: info.outFormat, samples: r.output,
      });
      bytes = ok.length * (processBytes + resultBytes);
    }
    const samples = ok.length * b;
    const samplesPerSecond = samples / seconds;
    throughput.push({
      batch: b, batches: nBatches, samples, seconds, samplesPerSecond, bytesPerSecond: bytes / seconds,
      utilisation: deviceUtilisation(ok.map((r) => r.value), info.samplePeriodNs), failedBatches: failed.length,
    });
    progress(`throughput ${b}`, 2 + k, 1 + sizes.length);
  }

  const statusAfter = await status();
  const rejects: Record<string, number> = {};
  for (const reason of REJECT_REASONS) {
    const d = (device.rejects[reason] ?? 0) - (rejectsBefore[reason] ?? 0);
    if (d > 0) rejects[reason] = d;
  }
  // A reboot restarts the device's counters: then the values after are all there is.
  const delta = (k: 'crcErrors' | 'framingErrors' | 'rejected' | 'droppedBatches') => (statusAfter.bootCount === statusBefore.bootCount ? statusAfter[k] - statusBefore[k] : statusAfter[k]);
  return {
    device: { ...deviceIdentity(info), maxBatch: device.maxBatch, credits: info.credits, sampleRateHz: 1e9 / info.samplePeriodNs },
    latency: latencyStats(processMs),
    ping: latencyStats(pingMs),
    lostPings,
    throughput,
    rejects,
    breaks,
    deviceErrors: {
      crcErrors: delta('crcErrors'), framingErrors: delta('framingErrors'), rejected: delta('rejected'), droppedBatches: delta('droppedBatches'),
      temperatureC: statusAfter.temperatureC,
    },
    elapsedMs: performance.now() - t0,
  };
}

/**
 * The share of device time spent processing, from RESULTs in device order: each batch is busy
 * for count x samplePeriodNs, but never past the next batch's start, and the time runs from a
 * batch's start to the last one's end; a change of epoch or a clock that goes back starts a new
 * span. Busy time is then a part of the spanned time, so the figure lies in [0, 1] whatever the
 * device reports. Null without a declared period (samplePeriodNs 0) or without results.
 */
export function deviceUtilisation(results: readonly { timestampUs: number; count: number; epoch: number }[], samplePeriodNs: number): number | null {
  if (!(samplePeriodNs > 0) || results.length === 0) return null;
  let busy = 0, spanned = 0, spanStart = results[0].timestampUs;
  for (let i = 0; i < results.length; i++) {
    const r = results[i], next = results[i + 1];
    const own = (r.count * samplePeriodNs) / 1000;
    const sameSpan = next !== undefined && next.epoch === r.epoch && next.timestampUs >= r.timestampUs;
    if (sameSpan) {
      busy += Math.min(own, next.timestampUs - r.timestampUs);
    } else {
      busy += own;
      spanned += r.timestampUs + own - spanStart;
      if (next) spanStart = next.timestampUs;
    }
  }
  return spanned > 0 ? busy / spanned : null;
}
