/**
 * How much of a run is recorded, and what that costs: the policy for the device's batches
 * (`--record-batches all|none|every N`) and the projected size of a run before it starts.
 *
 * A recorded batch row costs its two float32 blobs (4 bytes per input and per output value) plus
 * its other columns and SQLite's page rounding ({@link rowBytes}); events, metrics and artifacts
 * are small beside them. test/session/record-policy.test.ts holds the figures to real files.
 */
import type { CalibrationPlan } from '../calibration/index.js';
import { SessionError } from './errors.js';

/** Which device batches a run records: every one, none, or one in `every` (the first of each N). */
export type RecordPolicy = 'all' | 'none' | { every: number };

/** `--record-batches` as given: `all`, `none`, or `every N` (also `every:N`, or a bare N). */
export function parseRecordPolicy(text: string): RecordPolicy {
  const t = text.trim().toLowerCase();
  if (t === 'all' || t === 'none') return t;
  const m = /^(?:every[\s:=]*)?(\d+)$/.exec(t);
  const n = m ? Number(m[1]) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > 1_000_000_000) throw new SessionError(`--record-batches must be all, none or every N (N a whole number from 1), got ${JSON.stringify(text)}`);
  return n === 1 ? 'all' : { every: n };
}

/** The policy as users write it. */
export function policyText(p: RecordPolicy): string {
  return typeof p === 'string' ? p : `every ${p.every}`;
}

/** The policy in a sentence: 'every batch', 'no batches', 'one batch in 100'. */
export function policyPhrase(p: RecordPolicy): string {
  return p === 'all' ? 'every batch' : p === 'none' ? 'no batches' : `one batch in ${p.every}`;
}

/**
 * Bytes a run of `samples` device samples adds to the database under `policy`, recorded in
 * batches of `batch` samples: each recorded batch is one row (see {@link rowBytes}).
 */
export function projectedBytes(samples: number, inChannels: number, outChannels: number, batch: number, policy: RecordPolicy): number {
  if (policy === 'none' || samples <= 0) return 0;
  const b = Math.max(1, Math.min(batch, samples));
  const share = policy === 'all' ? 1 : 1 / policy.every;
  return Math.round((samples / b) * share * rowBytes(4 * b * (inChannels + outChannels)));
}

const PAGE = 4096;
/** The other columns of a batch row and its cell header, in bytes (measured). */
const ROW_COLUMNS = 62;

/**
 * File bytes of one batch row holding `blobBytes` of float32 blobs, by SQLite's payload rule for
 * the batches table (WITHOUT ROWID, so an index b-tree with 4 KiB pages): a row up to 1002 bytes
 * sits in its leaf page; a longer one keeps 489+ bytes there and the rest in whole overflow pages,
 * so a row just over a page boundary costs nearly a page more.
 */
export function rowBytes(blobBytes: number): number {
  const payload = blobBytes + ROW_COLUMNS;
  const usable = PAGE - 4, maxLocal = 1002, minLocal = 489;
  if (payload <= maxLocal) return payload;
  const k = minLocal + ((payload - minLocal) % usable);
  const local = k <= maxLocal ? k : minLocal;
  return local + Math.ceil((payload - local) / usable) * PAGE;
}

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
