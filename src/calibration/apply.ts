/**
 * Using a calibration record: drive linearisation (desired linear drive -> device drive through the
 * inverse of the sweep's table), response normalisation ((response - offset) / gain), and a check
 * that a record belongs to the device at hand.
 *
 * ```ts
 * const cal = applyCalibration(record);
 * const drive = cal.linearizeDrive([1000]);            // one vector per inChannels values
 * const y = cal.normalizeResponse(result.output);       // per output channel
 * ```
 */
import type { Info } from '../protocol/index.js';
import { interp } from './measure.js';
import { type CalibrationRecord, checkRecord } from './record.js';

export interface AppliedCalibration {
  /**
   * Desired linear drives (row-major vectors of inChannels, device units) -> device drives, through
   * each input channel's inverse table (clamped to the swept range); rounded to integers for integer
   * input formats. Throws when the record has no sweep.
   */
  linearizeDrive(linear: ArrayLike<number>): number[];
  /** Device drives -> the linear drives they amount to (the table itself). */
  delinearizeDrive(drive: ArrayLike<number>): number[];
  /**
   * Responses (row-major vectors of outChannels) -> (response - offset) / gain per output channel; a
   * channel with zero gain is only offset. Throws when the record has no sweep.
   */
  normalizeResponse(output: ArrayLike<number>): Float64Array;
}

/** True when the record can map drives and normalise responses, i.e. its plan had a sweep (what training and `rhil run` need). */
export function hasSweep(record: CalibrationRecord): boolean {
  return record.linearization !== null && record.channels.offset !== null && record.channels.gain !== null;
}

/** Helpers over a record (checked with checkRecord first). */
export function applyCalibration(record: CalibrationRecord): AppliedCalibration {
  const r = checkRecord(record);
  const { inChannels, outChannels, inFormat } = r.device;
  const tables = r.linearization;
  const { offset, gain } = r.channels;
  const need = (what: string) => new Error(`calibration record of plan '${r.plan.name}' has no sweep, so no ${what}`);
  const mapDrive = (v: ArrayLike<number>, inverse: boolean) => {
    if (!tables) throw need('linearisation table');
    if (v.length % inChannels !== 0) throw new RangeError(`drive has ${v.length} values, not a multiple of ${inChannels} (inChannels)`);
    const out = new Array<number>(v.length);
    for (let i = 0; i < v.length; i++) {
      const t = tables[i % inChannels];
      const x = inverse ? interp(t.linear, t.drive, v[i]) : interp(t.drive, t.linear, v[i]);
      out[i] = inverse && inFormat !== 'f32' ? Math.round(x) : x;
    }
    return out;
  };
  return {
    linearizeDrive: (linear) => mapDrive(linear, true),
    delinearizeDrive: (drive) => mapDrive(drive, false),
    normalizeResponse: (output) => {
      if (!offset || !gain) throw need('offset and gain');
      if (output.length % outChannels !== 0) throw new RangeError(`response has ${output.length} values, not a multiple of ${outChannels} (outChannels)`);
      const y = new Float64Array(output.length);
      for (let i = 0; i < output.length; i++) {
        const o = i % outChannels;
        y[i] = (output[i] - offset[o]) / (gain[o] === 0 ? 1 : gain[o]);
      }
      return y;
    },
  };
}

/** Why `record` does not fit the device whose INFO is `info` (identity, firmware, shape, ranges); empty when it does. */
export function deviceMismatches(record: CalibrationRecord, info: Info): string[] {
  const d = checkRecord(record).device;
  const keys = ['vendor', 'model', 'serial', 'firmware', 'inChannels', 'outChannels', 'inFormat', 'outFormat', 'inMin', 'inMax', 'outMin', 'outMax', 'samplePeriodNs'] as const;
  return keys.filter((k) => d[k] !== info[k]).map((k) => `${k}: record ${JSON.stringify(d[k])}, device ${JSON.stringify(info[k])}`);
}

/** True when `record` was taken on this very device (same identity, firmware, shape and ranges). */
export function matchesDevice(record: CalibrationRecord, info: Info): boolean {
  return deviceMismatches(record, info).length === 0;
}
