/**
 * Between the trainers' units and the device's: drives a ∈ [-1, 1] to device units (through a
 * calibration when given) and responses to [0, 1]; `measure` runs one fresh segment
 * (device/segment.ts) in those units.
 */
import type { SegmentDevice } from '../device/device.js';
import { type Segment, measureSegment } from '../device/segment.js';
import type { AppliedCalibration } from '../calibration/apply.js';
import type { Info } from '../protocol/messages.js';

type InRange = Pick<Info, 'inFormat' | 'inMin' | 'inMax'>;
type OutRange = Pick<Info, 'outMin' | 'outMax'>;

/**
 * Drives a ∈ [-1, 1] to device units: inMin + (a + 1)/2 (inMax - inMin); for u16 and i16 rounded
 * to the nearest integer and clipped to [inMin, inMax] (a outside [-1, 1] is clipped too).
 * A non-finite drive is a RangeError.
 */
export function toDeviceUnits(a: ArrayLike<number>, info: InRange): Float64Array {
  const out = new Float64Array(a.length);
  const span = info.inMax - info.inMin;
  const integer = info.inFormat !== 'f32';
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) throw new RangeError(`drive ${i} is ${String(a[i])}`);
    let v = info.inMin + ((a[i] + 1) / 2) * span;
    if (integer) v = Math.round(v);
    out[i] = Math.min(info.inMax, Math.max(info.inMin, v));
  }
  return out;
}

/** Inverse of {@link toDeviceUnits} on device units (what was actually sent, as a ∈ [-1, 1]). */
export function drivesFromDeviceUnits(samples: ArrayLike<number>, info: InRange): Float32Array {
  const span = info.inMax - info.inMin, lo = info.inMin;
  // Plain loops: Float32Array.from with a callback costs ~100 ns a value, a measurable share of an episode's host work.
  const out = new Float32Array(samples.length);
  for (let i = 0; i < out.length; i++) out[i] = (2 * (samples[i] - lo)) / span - 1;
  return out;
}

/** Responses in device units to [0, 1]: (y - outMin) / (outMax - outMin). */
export function fromDeviceUnits(response: ArrayLike<number>, info: OutRange): Float32Array {
  const span = info.outMax - info.outMin;
  if (!(span > 0)) throw new RangeError(`device output range [${info.outMin}, ${info.outMax}] is empty`);
  const out = new Float32Array(response.length), lo = info.outMin;
  for (let i = 0; i < out.length; i++) out[i] = (response[i] - lo) / span;
  return out;
}

/** Drives a ∈ [-1, 1] to device units, through a calibration's inverse transfer tables when given. */
export function driveUnits(a: ArrayLike<number>, info: InRange, calibration?: AppliedCalibration): Float64Array {
  const linear = toDeviceUnits(a, info);
  // The table rounds for integer formats itself.
  return calibration ? Float64Array.from(calibration.linearizeDrive(linear)) : linear;
}

/**
 * Raw responses to the [0, 1] scale the trainers use: over INFO's output range, or, through a
 * calibration, normalised per channel ((y - offset) / gain, in drive units) and scaled over the
 * drive range.
 */
export function scaleResponses(raw: ArrayLike<number>, info: InRange & OutRange, calibration?: AppliedCalibration): Float32Array {
  return calibration ? fromDeviceUnits(calibration.normalizeResponse(raw), { outMin: info.inMin, outMax: info.inMax }) : fromDeviceUnits(raw, info);
}

/** What {@link measure} returns. */
export interface Measurement {
  /** The drives actually sent, back in [-1, 1] (after rounding and clipping): [steps * inChannels]. */
  drives: Float32Array;
  /** The responses scaled to [0, 1]: [steps * outChannels]. */
  responses: Float32Array;
  /** The state epoch of the segment (every batch of it shares it). */
  epoch: number;
  /** Device samples (vectors) sent, re-measurements included. */
  samples: number;
  /** State breaks met and recovered from by re-measuring. */
  breaks: number;
}

/** Options of {@link measure}. */
export interface MeasureOptions {
  /** Re-measurements after a state break. Defaults to 3. */
  maxRetries?: number;
  /**
   * A calibration of this device: drives in [-1, 1] are then linear drives (mapped onto the device
   * through the calibration's inverse transfer tables) and responses are normalised per channel,
   * (y - offset) / gain, before the [0, 1] scaling (over the drive range, as the normalised
   * response is in drive units). Defaults to none: raw device units.
   */
  calibration?: AppliedCalibration;
  /** Aborts before the segment is sent (a segment in flight always finishes). Defaults to none. */
  signal?: AbortSignal;
}

/**
 * Measures drives `a` ([steps * inChannels] in [-1, 1]) as one fresh segment (device/segment.ts:
 * reset, batches within credits, epoch checks, re-measured from a reset after a state break).
 */
export async function measure(device: SegmentDevice, a: ArrayLike<number>, opts: MeasureOptions & { onSent?: () => void } = {}): Promise<Measurement> {
  const info = device.info, cal = opts.calibration;
  const seg = await measureSegment(device, driveUnits(a, info, cal), { maxRetries: opts.maxRetries, signal: opts.signal, onSent: opts.onSent });
  return measurement(seg, info, cal);
}

/** A measured segment in the trainers' units: drives back in [-1, 1] as sent, responses in [0, 1]. */
export function measurement(seg: Segment, info: Info, cal?: AppliedCalibration): Measurement {
  const drives = drivesFromDeviceUnits(cal ? cal.delinearizeDrive(seg.sent) : seg.sent, info);
  return { drives, responses: scaleResponses(seg.raw, info, cal), epoch: seg.epoch, samples: seg.samples, breaks: seg.breaks };
}
