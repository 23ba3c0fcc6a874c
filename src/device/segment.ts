/**
 * The one way a stretch of drives is measured on a device: a segment. The reservoir's state cannot
 * be replayed, so a segment is contiguous in one state epoch or it is thrown away whole:
 *
 * 1. start: `resetState()` (a fresh segment), or continue the open segment whose `epoch` is given;
 * 2. after a reset, the `washIn` drives (their responses discarded) bring the state back to where
 *    a continued segment left it;
 * 3. the drives go out in batches of up to `maxBatch`, all issued at once (the client keeps within
 *    the device's credits and writes requests in call order), and "sent" is signalled as soon as
 *    they are issued: the next segment may be issued then, queued on the device behind this one;
 * 4. every result is bounded against its batch and must carry the segment's epoch;
 * 5. a StateBreakError (boot, epoch change, timeout, reply out of order, a reconnect) throws the
 *    partial segment away and measures it again from a reset (steps 1-4), up to `maxRetries` times.
 *
 * `segment$` is the Observable form the training pipeline composes (it emits `sent`, then one
 * `measured`); `measureSegment` is the Promise form for everything else.
 *
 * ```ts
 * const seg = await measureSegment(device, units);               // fresh segment, from a reset
 * const next = await measureSegment(device, more, { epoch: seg.epoch, washIn: units });  // continues it
 * segment$(device, units).subscribe((ev) => { if (ev.type === 'sent') startHostWork(); });
 * ```
 */
import { Observable, filter, lastValueFrom, map, tap } from 'rxjs';
import type { BatchResult } from './client.js';
import type { SegmentDevice } from './device.js';
import { StateBreakError } from './errors.js';

/** Options of {@link segment$} and {@link measureSegment}. */
export interface SegmentOptions {
  /** Epoch of an open segment to continue (no reset unless it breaks). Defaults to none: start from resetState(). */
  epoch?: number;
  /** Drives (device units, [rows * inChannels]) replayed after every reset, responses discarded. Defaults to none. */
  washIn?: Float64Array;
  /** Re-measurements after a state break. Defaults to 3. */
  maxRetries?: number;
  /** Checked before every (re-)measurement; a pass already sent always finishes. Defaults to none. */
  signal?: AbortSignal;
  /** Progress: called after each accepted batch with the rows done and the segment's rows. Defaults to none. */
  onBatch?: (done: number, total: number) => void;
}

/** A measured segment. */
export interface Segment {
  /** Responses in device units, [steps * outChannels]. */
  raw: Float64Array;
  /** Drives as the device took them (after the client's conversion to its format), [steps * inChannels]. */
  sent: Float64Array;
  /** Device time at the middle of each sample, µs, [steps]. */
  timeUs: Float64Array;
  /** The RESULT status bits of the segment's batches, OR-ed (input clipped, output saturated). */
  status: number;
  /** The state epoch every batch of the segment carried. */
  epoch: number;
  /** Vectors sent: the segment, its wash-in and every re-measurement. */
  samples: number;
  /** State breaks met and recovered from by re-measuring. */
  breaks: number;
}

export type SegmentEvent =
  /** Every batch of the final pass has been issued to the device. */
  | { type: 'sent'; epoch: number }
  | { type: 'measured'; segment: Segment };

/** The segment as an Observable: `sent` (once per pass), then `measured`, then complete. Unsubscribing starts no further pass. */
export function segment$(device: SegmentDevice, units: Float64Array, opts: SegmentOptions = {}): Observable<SegmentEvent> {
  return new Observable<SegmentEvent>((subscriber) => {
    let closed = false;
    run(device, units, opts, (epoch) => { if (!closed) subscriber.next({ type: 'sent', epoch }); }, () => closed).then(
      (segment) => { if (!closed) { subscriber.next({ type: 'measured', segment }); subscriber.complete(); } },
      (err) => { if (!closed) subscriber.error(err); },
    );
    return () => { closed = true; };
  });
}

/** The segment as a Promise; `onSent` is called when its (final) pass has been issued. */
export function measureSegment(device: SegmentDevice, units: Float64Array, opts: SegmentOptions & { onSent?: () => void } = {}): Promise<Segment> {
  return lastValueFrom(segment$(device, units, opts).pipe(
    tap((ev) => { if (ev.type === 'sent') opts.onSent?.(); }),
    filter((ev): ev is Extract<SegmentEvent, { type: 'measured' }> => ev.type === 'measured'),
    map((ev) => ev.segment),
  ));
}

async function run(device: SegmentDevice, units: Float64Array, o: SegmentOptions, sent: (epoch: number) => void, stopped: () => boolean): Promise<Segment> {
  const ci = device.info.inChannels;
  const steps = units.length / ci;
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`a segment must hold a positive multiple of ${ci} drive values, got ${units.length}`);
  const washIn = o.washIn ?? new Float64Array(0);
  if (washIn.length % ci !== 0) throw new RangeError(`wash-in holds ${washIn.length} values, not a multiple of ${ci}`);
  const maxRetries = o.maxRetries ?? 3;
  let epoch = o.epoch, samples = 0;
  for (let breaks = 0; ; breaks++) {
    o.signal?.throwIfAborted();
    if (stopped()) throw new Error('segment unsubscribed');
    try {
      let batches: Promise<BatchResult>[];
      const release = await takeLane(device);
      try {
        if (epoch === undefined) {
          epoch = await device.resetState();
          if (washIn.length > 0) {
            samples += washIn.length / ci;
            await collect(device, issue(device, washIn), epoch, washIn.length / ci);
          }
        }
        samples += steps;
        batches = issue(device, units, o.onBatch);
      } finally {
        release();
      }
      sent(epoch);
      const seg = await collect(device, batches, epoch, steps);
      return { ...seg, epoch, samples, breaks };
    } catch (e) {
      if (!(e instanceof StateBreakError) || breaks >= maxRetries) throw e;
      epoch = undefined;
    }
  }
}

/**
 * Per device, the end of the last segment's issue (its reset, wash-in and batch calls). A segment
 * may start while an earlier one is still being measured (the device runs requests in arrival
 * order, and the client writes them in call order), but never in the middle of another's issue:
 * a re-measurement after a break waits for the segment issued behind the broken one.
 */
const lanes = new WeakMap<SegmentDevice, Promise<void>>();

async function takeLane(device: SegmentDevice): Promise<() => void> {
  const before = lanes.get(device) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((r) => { release = r; });
  lanes.set(device, before.then(() => mine));
  await before;
  return release;
}

/** Issues every batch of `units` at once (the client keeps within the device's credits). */
function issue(device: SegmentDevice, units: Float64Array, onBatch?: (done: number, total: number) => void): Promise<BatchResult>[] {
  const ci = device.info.inChannels;
  const steps = units.length / ci;
  const batch = Math.max(1, device.maxBatch);
  let done = 0;
  const batches: Promise<BatchResult>[] = [];
  for (let s = 0; s < steps; s += batch) {
    const p = device.process(units.subarray(s * ci, Math.min(steps, s + batch) * ci));
    if (onBatch) p.then((b) => onBatch((done += b.count), steps), () => undefined);
    batches.push(p);
  }
  return batches;
}

/** One pass's results, all awaited, then checked and joined in order; the first failure is thrown once all have settled. */
async function collect(device: SegmentDevice, batches: Promise<BatchResult>[], epoch: number, steps: number): Promise<Omit<Segment, 'epoch' | 'samples' | 'breaks'>> {
  const { inChannels: ci, outChannels: co, samplePeriodNs } = device.info;
  const settled = await Promise.allSettled(batches);
  const failed = settled.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
  if (failed) throw failed.reason;
  const raw = new Float64Array(steps * co), drives = new Float64Array(steps * ci), timeUs = new Float64Array(steps);
  let row = 0, status = 0;
  for (const r of settled as PromiseFulfilledResult<BatchResult>[]) {
    const b = r.value;
    // The client checked shapes against its own request; a device is untrusted, so bound them again before copying.
    if (b.output.length !== b.count * co || b.input.length !== b.count * ci || row + b.count > steps) throw new RangeError('device result does not match its batch');
    // An epoch change inside a segment is a break the client should have raised; never splice.
    if (b.epoch !== epoch) throw new StateBreakError(`epoch changed from ${epoch} to ${b.epoch} inside one segment`, 'epoch');
    raw.set(b.output, row * co);
    drives.set(b.input, row * ci);
    for (let i = 0; i < b.count; i++) timeUs[row + i] = b.timestampUs + ((i + 0.5) * samplePeriodNs) / 1000;
    status |= b.status;
    row += b.count;
  }
  if (row !== steps) throw new RangeError(`device answered ${row} of the segment's ${steps} rows`);
  return { raw, sent: drives, timeUs, status };
}
