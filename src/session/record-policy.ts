/**
 * How much of a run is recorded, and what that costs: the policy for the device's batches
 * (`--record-batches all|none|every N`) and the projected size of a run before it starts.
 *
 * A recorded batch row costs its two float32 blobs (4 bytes per input and per output value) plus
 * about {@link ROW_OVERHEAD} bytes (key, columns, shapes, b-tree pages); events, metrics and
 * artifacts are small beside them.
 */
import type { CalibrationPlan } from '../calibration/index.js';

/** Which device batches a run records: every one, none, or one in `every` (the first of each N). */
export type RecordPolicy = 'all' | 'none' | { every: number };

/** `--record-batches` as given: `all`, `none`, or `every N` (also `every:N`, or a bare N). */
export function parseRecordPolicy(text: string): RecordPolicy {
  const t = text.trim().toLowerCase();
  if (t === 'all' || t === 'none') return t;
  const m = /^(?:every[\s:=]*)?(\d+)$/.exec(t);
  const n = m ? Number(m[1]) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > 1_000_000_000) throw new RangeError(`--record-batches must be all, none or every N (N a whole number from 1), got ${JSON.stringify(text)}`);
  return n === 1 ? 'all' : { every: n };
}

/** The policy as users write it. */
export function policyText(p: RecordPolicy): string {
  return typeof p === 'string' ? p : `every ${p.every}`;
}

/**
 * Bytes a run of `samples` device samples adds to the database under `policy`: float32 input and
 * output per sample, plus about {@link ROW_OVERHEAD} bytes per recorded batch of `batch` samples.
 */
export function projectedBytes(samples: number, inChannels: number, outChannels: number, batch: number, policy: RecordPolicy): number {
  if (policy === 'none') return 0;
  const share = policy === 'all' ? 1 : 1 / policy.every;
  return Math.round(samples * share * (4 * (inChannels + outChannels) + ROW_OVERHEAD / Math.max(1, batch)));
}


/** Bytes a batch row costs beyond its two blobs, measured (test/session/record-policy.test.ts checks it against a real file). */
export const ROW_OVERHEAD = 120;

/** Device samples a calibration plan drives on a device with `inChannels` inputs (as calibration/steps.ts builds its sequences). */
export function planSamples(plan: CalibrationPlan, inChannels: number): number {
  let n = 0;
  for (const s of plan.steps) {
    switch (s.type) {
      case 'sweep': n += inChannels * s.repeats * (s.settleSamples + s.holdSamples) * (1 + s.levels); break;
      case 'noise': n += 2 * (s.settleSamples + s.samples); break;
      case 'latency': n += 2 * s.repeats * (s.preSamples + s.postSamples); break;
      case 'crosstalk': n += 2 * inChannels * (s.settleSamples + s.holdSamples); break;
      case 'drift': n += 3 * s.points * (s.settleSamples + s.holdSamples) + (s.points - 1) * s.intervalSamples; break;
    }
  }
  return n;
}

/** A byte count for people: 1.2 MB, 431 MB, 10 GB. */
export function sizeText(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = bytes / 1000, u = 0;
  while (v >= 1000 && u < units.length - 1) { v /= 1000; u++; }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}
