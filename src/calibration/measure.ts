/**
 * What every calibration step shares: drive a long sequence through the device (in batches of at
 * most maxBatch, up to `credits` in flight, in order), read back per-sample responses and device
 * times, and a few statistics (means over spans, least-squares lines, monotone fits).
 */
import type { SegmentDevice } from '../device/device.js';
import { measureSegment } from '../device/segment.js';
import type { Info } from '../protocol/index.js';
import { median } from '../core/metrics.js';

/** The part of a device a calibration needs. */
export type CalibrationDevice = SegmentDevice;

/** Responses of a driven sequence: `output` is count x outChannels, row-major. */
export interface Recording {
  count: number;
  outChannels: number;
  output: Float64Array;
  /** Device time of each sample, in µs (from each batch's timestamp plus the sample period). */
  timeUs: Float64Array;
}

/** The drive value (device units) of `level`, a fraction of [inMin, inMax]; rounded for integer formats. */
export function driveOf(info: Info, level: number): number {
  const x = info.inMin + level * (info.inMax - info.inMin);
  return info.inFormat === 'f32' ? x : Math.round(x);
}

/**
 * Builds a drive sequence piece by piece: `hold(vector, n)` appends n copies of one drive vector
 * and returns the index of its first sample.
 */
export class Sequence {
  private chunks: Float64Array[] = [];
  length = 0;
  constructor(readonly inChannels: number) {}

  hold(vector: ArrayLike<number>, n: number): number {
    const start = this.length;
    if (n <= 0) return start;
    const c = new Float64Array(n * this.inChannels);
    for (let i = 0; i < n; i++) c.set(vector, i * this.inChannels);
    this.chunks.push(c);
    this.length += n;
    return start;
  }

  /** Appends n samples with every channel at `drive`. */
  all(drive: number, n: number): number {
    return this.hold(new Float64Array(this.inChannels).fill(drive), n);
  }

  toArray(): Float64Array {
    const out = new Float64Array(this.length * this.inChannels);
    let o = 0;
    for (const c of this.chunks) { out.set(c, o); o += c.length; }
    return out;
  }
}

/** Drives `seq` through the device as one fresh segment (device/segment.ts) and records every response. `onBatch(done, total)` reports progress. */
export async function record(dev: CalibrationDevice, seq: Sequence, onBatch?: (done: number, total: number) => void): Promise<Recording> {
  const seg = await measureSegment(dev, seq.toArray(), { onBatch });
  return { count: seq.length, outChannels: dev.info.outChannels, output: seg.raw, timeUs: seg.timeUs };
}

/** Per-output mean over samples [start, start + n). */
export function spanMean(r: Recording, start: number, n: number): Float64Array {
  const m = new Float64Array(r.outChannels);
  for (let t = start; t < start + n; t++) {
    const row = t * r.outChannels;
    for (let o = 0; o < r.outChannels; o++) m[o] += r.output[row + o];
  }
  for (let o = 0; o < r.outChannels; o++) m[o] /= n;
  return m;
}

/** Mean device time over samples [start, start + n), in µs. */
export function spanTime(r: Recording, start: number, n: number): number {
  let s = 0;
  for (let t = start; t < start + n; t++) s += r.timeUs[t];
  return s / n;
}

/** Least-squares line y = a + b x; slope 0 when x does not vary. */
export function fitLine(x: ArrayLike<number>, y: ArrayLike<number>): { intercept: number; slope: number } {
  const n = x.length;
  let mx = 0, my = 0;
  for (let i = 0; i < n; i++) { mx += x[i]; my += y[i]; }
  mx /= n; my /= n;
  let sxx = 0, sxy = 0;
  for (let i = 0; i < n; i++) { sxx += (x[i] - mx) ** 2; sxy += (x[i] - mx) * (y[i] - my); }
  const slope = sxx > 0 ? sxy / sxx : 0;
  return { intercept: my - slope * mx, slope };
}

/**
 * Isotonic (non-decreasing) least-squares fit by pool-adjacent-violators, then nudged to be
 * strictly increasing by `eps` so the table can be inverted.
 */
export function monotoneFit(y: ArrayLike<number>, eps: number): number[] {
  const blocks: { sum: number; n: number }[] = [];
  for (let i = 0; i < y.length; i++) {
    blocks.push({ sum: y[i], n: 1 });
    while (blocks.length > 1) {
      const b = blocks[blocks.length - 1], a = blocks[blocks.length - 2];
      if (a.sum / a.n <= b.sum / b.n) break;
      a.sum += b.sum; a.n += b.n; blocks.pop();
    }
  }
  const out: number[] = [];
  for (const b of blocks) for (let i = 0; i < b.n; i++) out.push(b.sum / b.n);
  for (let i = 1; i < out.length; i++) if (out[i] <= out[i - 1]) out[i] = out[i - 1] + eps;
  return out;
}

/** Linear interpolation of y(x) at `v` on increasing `xs`, clamped to the ends. */
export function interp(xs: ArrayLike<number>, ys: ArrayLike<number>, v: number): number {
  const n = xs.length;
  if (v <= xs[0]) return ys[0];
  if (v >= xs[n - 1]) return ys[n - 1];
  let lo = 0, hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] <= v) lo = mid; else hi = mid;
  }
  const f = (v - xs[lo]) / (xs[hi] - xs[lo]);
  return ys[lo] + f * (ys[hi] - ys[lo]);
}

export { median };

/** Rounds to `digits` significant digits, so records stay readable. */
export function sig(x: number, digits = 6): number {
  return Number.isFinite(x) ? Number(x.toPrecision(digits)) : x;
}
