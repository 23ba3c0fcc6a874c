/**
 * The measurement steps of a calibration plan. Each builds one drive sequence (or a few, for
 * drift), records it, and reduces the responses to a summary. See plan.ts for the parameters and
 * record.ts for what the summaries mean.
 */
import type { CrosstalkStep, DriftStep, LatencyStep, NoiseStep, SweepStep } from './plan.js';
import type { CrosstalkSummary, DriftSummary, LatencySummary, LinearizationTable, NoiseSummary, SweepSummary } from './record.js';
import {
  type CalibrationDevice, type Recording, Sequence, driveOf, fitLine, median, monotoneFit, record, sig, spanMean, spanTime,
} from './measure.js';
import { Rng } from '../core/rng.js';

export type BatchProgress = (done: number, total: number) => void;
const US_PER_HOUR = 3.6e9;
const r6 = (v: ArrayLike<number>) => Array.from(v, (x) => sig(x));

// ---- DC transfer sweep -------------------------------------------------------------------------

export interface SweepResult {
  summary: SweepSummary;
  offset: number[];
  gain: number[];
  linearization: LinearizationTable[];
  /** slopes[out][in], output units per drive unit. */
  slopes: number[][];
}

export async function runSweep(dev: CalibrationDevice, step: SweepStep, seed: number, progress?: BatchProgress): Promise<SweepResult> {
  const info = dev.info;
  const nIn = info.inChannels, nOut = info.outChannels;
  const dRef = driveOf(info, step.reference);
  const drives = Array.from({ length: step.levels }, (_, j) => driveOf(info, step.from + ((step.to - step.from) * j) / (step.levels - 1)));
  const rng = new Rng(seed).fork('sweep-order');
  const seq = new Sequence(nIn);
  const refStarts: number[] = [];
  // starts[c][j][r]: first measured sample of level j in repeat r of input channel c
  const starts: number[][][] = Array.from({ length: nIn }, () => drives.map(() => []));
  const vec = new Float64Array(nIn);
  for (let c = 0; c < nIn; c++) {
    for (let r = 0; r < step.repeats; r++) {
      seq.all(dRef, step.settleSamples);
      refStarts.push(seq.all(dRef, step.holdSamples));
      const order = drives.map((_, j) => j);
      if (r % 2 === 1) order.reverse();
      else if (r > 0) for (let i = order.length - 1; i > 0; i--) { const k = rng.int(i + 1); [order[i], order[k]] = [order[k], order[i]]; }
      for (const j of order) {
        vec.fill(dRef);
        vec[c] = drives[j];
        seq.hold(vec, step.settleSamples);
        starts[c][j].push(seq.hold(vec, step.holdSamples));
      }
    }
  }
  const rec = await record(dev, seq, progress);

  const offset = new Float64Array(nOut);
  for (const s of refStarts) { const m = spanMean(rec, s, step.holdSamples); for (let o = 0; o < nOut; o++) offset[o] += m[o] / refStarts.length; }

  const slopes: number[][] = Array.from({ length: nOut }, () => new Array<number>(nIn).fill(0));
  const linearization: LinearizationTable[] = [];
  const sds: number[] = [];
  let maxNonlin = 0;
  const span = info.inMax - info.inMin;
  for (let c = 0; c < nIn; c++) {
    // mean[j][o] over repeats
    const mean = drives.map((_, j) => {
      const reps = starts[c][j].map((s) => spanMean(rec, s, step.holdSamples));
      const m = new Float64Array(nOut);
      for (const x of reps) for (let o = 0; o < nOut; o++) m[o] += x[o] / reps.length;
      if (reps.length > 1) {
        for (let o = 0; o < nOut; o++) {
          let v = 0;
          for (const x of reps) v += (x[o] - m[o]) ** 2;
          sds.push(Math.sqrt(v / (reps.length - 1)));
        }
      }
      return m;
    });
    let norm2 = 0;
    for (let o = 0; o < nOut; o++) {
      const y = mean.map((m) => m[o]);
      const line = fitLine(drives, y);
      slopes[o][c] = line.slope;
      norm2 += line.slope ** 2;
      const swing = Math.max(...y) - Math.min(...y);
      if (swing > 0) for (let j = 0; j < drives.length; j++) maxNonlin = Math.max(maxNonlin, Math.abs(y[j] - line.intercept - line.slope * drives[j]) / swing);
    }
    let linear: number[];
    if (norm2 > 0) {
      // least-squares drive-equivalent of each level's response change from the reference
      const p = mean.map((m) => { let s = 0; for (let o = 0; o < nOut; o++) s += slopes[o][c] * (m[o] - offset[o]); return dRef + s / norm2; });
      linear = monotoneFit(p, span * 1e-9);
    } else {
      linear = [...drives];
    }
    linearization.push({ inChannel: c, drive: [...drives], linear: r6(linear) });
  }
  const gain = slopes.map((row) => {
    let n2 = 0, best = 0;
    for (const g of row) { n2 += g * g; if (Math.abs(g) > Math.abs(best)) best = g; }
    return sig(Math.sign(best) * Math.sqrt(n2));
  });
  return {
    summary: {
      levels: step.levels, repeats: step.repeats, referenceDrive: dRef,
      repeatability: sds.length ? sig(median(sds)) : null, maxNonlinearity: sig(maxNonlin),
    },
    offset: r6(offset), gain, linearization, slopes: slopes.map(r6),
  };
}

// ---- noise floor -------------------------------------------------------------------------------

export async function runNoise(dev: CalibrationDevice, step: NoiseStep, progress?: BatchProgress): Promise<NoiseSummary> {
  const info = dev.info;
  const d = driveOf(info, step.level);
  const n = step.samples, nOut = info.outChannels;
  // The same drive twice from rest (record() starts each from a reset): a deterministic device
  // repeats itself exactly, so the difference holds the noise only (not the reservoir's own
  // dynamics, e.g. limit cycles).
  const runs: Recording[] = [];
  let start = 0;
  for (let k = 0; k < 2; k++) {
    const seq = new Sequence(info.inChannels);
    seq.all(d, step.settleSamples);
    start = seq.all(d, n);
    runs.push(await record(dev, seq, (done, total) => progress?.(k * total + done, 2 * total)));
  }
  const t = Array.from({ length: n }, (_, i) => i);
  const detrendedSd = (y: Float64Array) => {
    const { intercept, slope } = fitLine(t, y);
    let ss = 0;
    for (let i = 0; i < n; i++) ss += (y[i] - intercept - slope * i) ** 2;
    return Math.sqrt(ss / Math.max(1, n - 2));
  };
  const sigma = new Array<number>(nOut), temporal = new Array<number>(nOut), mean = new Array<number>(nOut);
  const y1 = new Float64Array(n), diff = new Float64Array(n);
  for (let o = 0; o < nOut; o++) {
    let m = 0;
    for (let i = 0; i < n; i++) {
      y1[i] = runs[0].output[(start + i) * nOut + o];
      diff[i] = y1[i] - runs[1].output[(start + i) * nOut + o];
      m += y1[i];
    }
    mean[o] = m / n;
    sigma[o] = detrendedSd(diff) / Math.SQRT2;
    temporal[o] = detrendedSd(y1);
  }
  return {
    drive: d, samples: n, sigma: r6(sigma), temporalSigma: r6(temporal), mean: r6(mean),
    meanSigma: sig(sigma.reduce((a, b) => a + b, 0) / nOut), medianSigma: sig(median(sigma)),
  };
}

// ---- latency and settling ----------------------------------------------------------------------

/** Average over `starts` of the response traces of length `len` (len x outChannels). */
function averageTraces(rec: Recording, starts: number[], len: number): Float64Array {
  const nOut = rec.outChannels;
  const a = new Float64Array(len * nOut);
  for (const s of starts) for (let i = 0; i < len * nOut; i++) a[i] += rec.output[s * nOut + i] / starts.length;
  return a;
}

interface Trace { data: Float64Array; pre: number; post: number; nOut: number }

function at(tr: Trace, t: number, o: number): number {
  return tr.data[(tr.pre + t) * tr.nOut + o];
}

/** Baseline mean and standard deviation per output over the second half of the pre-step samples. */
function baseline(tr: Trace): { mean: Float64Array; sd: Float64Array } {
  const from = -Math.floor(tr.pre / 2);
  const n = -from;
  const mean = new Float64Array(tr.nOut), sd = new Float64Array(tr.nOut);
  for (let o = 0; o < tr.nOut; o++) {
    let s = 0;
    for (let t = from; t < 0; t++) s += at(tr, t, o);
    mean[o] = s / n;
    let v = 0;
    for (let t = from; t < 0; t++) v += (at(tr, t, o) - mean[o]) ** 2;
    sd[o] = Math.sqrt(v / Math.max(1, n - 1));
  }
  return { mean, sd };
}

/** Outputs whose amplitude is at least half the largest and clear of the noise. */
function strongChannels(amp: Float64Array, sd: Float64Array, kSigma: number): number[] {
  let max = 0;
  for (const a of amp) max = Math.max(max, Math.abs(a));
  const used: number[] = [];
  for (let o = 0; o < amp.length; o++) if (max > 0 && Math.abs(amp[o]) >= max / 2 && Math.abs(amp[o]) > kSigma * sd[o]) used.push(o);
  return used;
}

/** First t >= 0 where |trace - ref| exceeds thr, or null. */
function firstExceed(tr: Trace, o: number, ref: number, thr: number): number | null {
  for (let t = 0; t < tr.post; t++) if (Math.abs(at(tr, t, o) - ref) > thr) return t;
  return null;
}

/** One past the last t where |trace - ref| exceeds thr (0 if never). */
function lastExceed(tr: Trace, o: number, ref: number, thr: number): number {
  for (let t = tr.post - 1; t >= 0; t--) if (Math.abs(at(tr, t, o) - ref) > thr) return t + 1;
  return 0;
}

export async function runLatency(dev: CalibrationDevice, step: LatencyStep, progress?: BatchProgress): Promise<LatencySummary> {
  const info = dev.info;
  const d0 = driveOf(info, step.from), d1 = driveOf(info, step.to);
  const pre = step.preSamples, post = step.postSamples, repeats = step.repeats;
  const seq = new Sequence(info.inChannels);
  const rest = new Float64Array(info.inChannels).fill(d0);
  const hit = rest.map((v, c) => (step.pattern === 'all' || c % 2 === 0 ? d1 : v));
  const stepStarts: number[] = [], impStarts: number[] = [];
  for (let r = 0; r < repeats; r++) {
    stepStarts.push(seq.hold(rest, pre));
    seq.hold(hit, post);
  }
  for (let r = 0; r < repeats; r++) {
    impStarts.push(seq.hold(rest, pre));
    seq.hold(hit, 1);
    seq.hold(rest, post - 1);
  }
  const rec = await record(dev, seq, progress);
  const nOut = info.outChannels;
  const k = step.thresholdSigma;

  const st: Trace = { data: averageTraces(rec, stepStarts, pre + post), pre, post, nOut };
  const sb = baseline(st);
  const tail = Math.max(1, Math.floor(post / 4));
  const final = new Float64Array(nOut), amp = new Float64Array(nOut), finalSd = new Float64Array(nOut);
  for (let o = 0; o < nOut; o++) {
    let s = 0;
    for (let t = post - tail; t < post; t++) s += at(st, t, o);
    final[o] = s / tail;
    amp[o] = final[o] - sb.mean[o];
    let v = 0;
    for (let t = post - tail; t < post; t++) v += (at(st, t, o) - final[o]) ** 2;
    finalSd[o] = Math.sqrt(v / Math.max(1, tail - 1));
  }
  const used = strongChannels(amp, sb.sd, k);
  let latency: number | null = null, settling: number | null = null, settled = true;
  for (const o of used) {
    const a = Math.abs(amp[o]);
    const first = firstExceed(st, o, sb.mean[o], Math.max(k * sb.sd[o], step.thresholdFraction * a));
    if (first !== null && (latency === null || first < latency)) latency = first;
    // noise can differ between the levels (shot noise grows with the signal): use the larger
    const last = lastExceed(st, o, final[o], Math.max(k * Math.max(sb.sd[o], finalSd[o]), step.tolerance * a));
    if (last > post - tail) settled = false;
    settling = Math.max(settling ?? 0, last);
  }

  const it: Trace = { data: averageTraces(rec, impStarts, pre + post), pre, post, nOut };
  const ib = baseline(it);
  const peak = new Float64Array(nOut);
  for (let o = 0; o < nOut; o++) for (let t = 0; t < post; t++) { const v = at(it, t, o) - ib.mean[o]; if (Math.abs(v) > Math.abs(peak[o])) peak[o] = v; }
  const iused = strongChannels(peak, ib.sd, k);
  let impLatency: number | null = null, decay: number | null = null;
  for (const o of iused) {
    const a = Math.abs(peak[o]);
    const first = firstExceed(it, o, ib.mean[o], Math.max(k * ib.sd[o], step.thresholdFraction * a));
    if (first !== null && (impLatency === null || first < impLatency)) impLatency = first;
    decay = Math.max(decay ?? 0, lastExceed(it, o, ib.mean[o], Math.max(k * ib.sd[o], step.tolerance * a)));
  }
  return {
    fromDrive: d0, toDrive: d1, pattern: step.pattern, repeats,
    latencySamples: latency, settlingSamples: settling,
    settlingTimeNs: settling === null ? null : settling * info.samplePeriodNs, settled,
    impulseLatencySamples: impLatency, impulseDecaySamples: decay, channelsUsed: used, tolerance: step.tolerance,
  };
}

// ---- crosstalk ---------------------------------------------------------------------------------

export async function runCrosstalk(dev: CalibrationDevice, step: CrosstalkStep, progress?: BatchProgress): Promise<CrosstalkSummary> {
  const info = dev.info;
  const nIn = info.inChannels, nOut = info.outChannels;
  const d0 = driveOf(info, step.base), d1 = driveOf(info, step.level);
  const seq = new Sequence(nIn);
  const vec = new Float64Array(nIn);
  const pairs: [number, number][] = [];
  for (let c = 0; c < nIn; c++) {
    seq.all(d0, step.settleSamples);
    const b = seq.all(d0, step.holdSamples);
    vec.fill(d0);
    vec[c] = d1;
    seq.hold(vec, step.settleSamples);
    pairs.push([b, seq.hold(vec, step.holdSamples)]);
  }
  const rec = await record(dev, seq, progress);
  const matrix: number[][] = Array.from({ length: nOut }, () => new Array<number>(nIn).fill(0));
  pairs.forEach(([b, l], c) => {
    const m0 = spanMean(rec, b, step.holdSamples), m1 = spanMean(rec, l, step.holdSamples);
    for (let o = 0; o < nOut; o++) matrix[o][c] = sig((m1[o] - m0[o]) / (d1 - d0));
  });
  let ratio: number | null = null;
  if (nIn === nOut) {
    ratio = 0;
    for (let c = 0; c < nIn; c++) for (let o = 0; o < nOut; o++) if (o !== c) ratio = Math.max(ratio, Math.abs(matrix[o][c]) / Math.abs(matrix[c][c]));
    ratio = sig(ratio);
  }
  return { baseDrive: d0, levelDrive: d1, matrix, maxOffDiagonalRatio: ratio };
}

// ---- drift -------------------------------------------------------------------------------------

export async function runDrift(dev: CalibrationDevice, step: DriftStep, progress?: BatchProgress): Promise<DriftSummary> {
  const info = dev.info;
  const nIn = info.inChannels, nOut = info.outChannels;
  const dRef = driveOf(info, step.reference);
  const dg = step.gainLevels.map((l) => driveOf(info, l)) as [number, number];
  const hours: number[] = [];
  const ref: Float64Array[] = [], diff: Float64Array[] = [];
  const perPoint = 3 * (step.settleSamples + step.holdSamples) + step.intervalSamples;
  const total = step.points * perPoint;
  for (let p = 0; p < step.points; p++) {
    if (p > 0 && step.waitMs > 0) await new Promise((r) => setTimeout(r, step.waitMs));
    const seq = new Sequence(nIn);
    // the gain levels move the even input channels only (as the latency step's default pattern)
    const vectors = [dRef, dg[0], dg[1]].map((d, i) => new Float64Array(nIn).map((_, c) => (i === 0 || c % 2 === 0 ? d : dRef)));
    const starts = vectors.map((v) => { seq.hold(v, step.settleSamples); return seq.hold(v, step.holdSamples); });
    if (p < step.points - 1) seq.all(dRef, step.intervalSamples);
    const rec = await record(dev, seq, (done) => progress?.(p * perPoint + done, total));
    hours.push(spanTime(rec, starts[0], step.holdSamples) / US_PER_HOUR);
    ref.push(spanMean(rec, starts[0], step.holdSamples));
    const lo = spanMean(rec, starts[1], step.holdSamples), hi = spanMean(rec, starts[2], step.holdSamples);
    diff.push(hi.map((v, o) => v - lo[o]));
  }
  const meanRef = ref.map((m) => m.reduce((a, b) => a + b, 0) / nOut);
  const line = fitLine(hours, meanRef);
  let ss = 0, sxx = 0;
  const mh = hours.reduce((a, b) => a + b, 0) / hours.length;
  hours.forEach((h, i) => { ss += (meanRef[i] - line.intercept - line.slope * h) ** 2; sxx += (h - mh) ** 2; });
  const stdErr = sxx > 0 ? Math.sqrt(ss / (hours.length - 2) / sxx) : NaN;
  const offsetPerHour = new Array<number>(nOut);
  let num = 0, den = 0;
  for (let o = 0; o < nOut; o++) {
    offsetPerHour[o] = fitLine(hours, ref.map((m) => m[o])).slope;
    const dy = diff.map((m) => m[o]);
    const mean = dy.reduce((a, b) => a + b, 0) / dy.length;
    num += fitLine(hours, dy).slope * mean;
    den += mean * mean;
  }
  return {
    points: step.points, windowHours: sig(hours[hours.length - 1] - hours[0]), referenceDrive: dRef, gainDrives: dg,
    offsetPerHour: r6(offsetPerHour), meanOffsetPerHour: sig(line.slope), meanOffsetStdErrPerHour: sig(stdErr),
    gainPerHour: sig(den > 0 ? num / den : 0),
  };
}
