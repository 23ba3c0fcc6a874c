/**
 * The calibration record: what `runCalibration` returns and a session saves as JSON. Versioned by
 * `format` + `version`; a reader refuses other formats and newer versions. Units: drives in the
 * device's input units, responses in its output units, times in samples (and ns where named).
 */
import type { DeviceIdentity } from '../device/identity.js';

export const RECORD_FORMAT = 'rhil-calibration';
export const RECORD_VERSION = 1;

/** Who was calibrated: INFO identity and shape. */
export type { DeviceIdentity };

/**
 * Linearisation of one input channel: drive (device units, increasing) -> the drive a linear device
 * with the same DC slopes would need for the same response (`linear`, strictly increasing, same
 * units; the identity for a linear device). Its inverse turns a desired linear drive into a device
 * drive. Built from the sweep: linear_j = reference + the least-squares projection of the response
 * change onto the channel's slopes, then made monotone (pool-adjacent-violators).
 */
export interface LinearizationTable {
  inChannel: number;
  drive: number[];
  linear: number[];
}

export interface SweepSummary {
  levels: number;
  repeats: number;
  /** Drive where offsets were taken (every input channel there). */
  referenceDrive: number;
  /** Median over outputs and levels of the standard deviation across repeats (hysteresis + noise); null with one repeat. */
  repeatability: number | null;
  /** Largest deviation of the mean response from its straight-line fit, over outputs, as a fraction of that output's swing. */
  maxNonlinearity: number;
}

export interface NoiseSummary {
  /** Drive of every input channel during the measurement. */
  drive: number;
  samples: number;
  /**
   * Per output: noise standard deviation, output units: the same drive is run twice from
   * resetState() and sigma = sd(detrended difference) / sqrt(2), so a deterministic device's own
   * dynamics (limit cycles, slow settling) do not count as noise.
   */
  sigma: number[];
  /** Per output: standard deviation over time of the first run's detrended response (noise plus the device's own dynamics). */
  temporalSigma: number[];
  /** Per output: mean response of the first run. */
  mean: number[];
  meanSigma: number;
  medianSigma: number;
}

export interface LatencySummary {
  fromDrive: number;
  toDrive: number;
  /** Which input channels stepped ('even': 0, 2, 4, ...; the others stayed at fromDrive). */
  pattern: 'all' | 'even';
  repeats: number;
  /** Samples from the step to the first significant change (the earliest over the strongly responding outputs). */
  latencySamples: number | null;
  /** Samples from the step until every strongly responding output stays within `tolerance` of its final value. */
  settlingSamples: number | null;
  settlingTimeNs: number | null;
  /** False when some output had not settled by the end of the recording (settlingSamples is then the recording length). */
  settled: boolean;
  /** Same detection on a one-sample impulse. */
  impulseLatencySamples: number | null;
  /** Samples from the impulse until every strongly responding output is back within tolerance of its baseline. */
  impulseDecaySamples: number | null;
  /** Outputs used (those with at least half of the largest step amplitude). */
  channelsUsed: number[];
  tolerance: number;
}

export interface CrosstalkSummary {
  baseDrive: number;
  levelDrive: number;
  /** matrix[out][in]: response change per unit of drive change, one input channel driven at a time. */
  matrix: number[][];
  /** Square devices only: the largest |matrix[o][c]| / |matrix[c][c]| over o != c; otherwise null. */
  maxOffDiagonalRatio: number | null;
}

export interface DriftSummary {
  points: number;
  /** Device time spanned by the reference measurements, in hours. */
  windowHours: number;
  referenceDrive: number;
  gainDrives: [number, number];
  /** Per output: slope of the response at referenceDrive, output units per hour. */
  offsetPerHour: number[];
  /** Slope of the response at referenceDrive averaged over outputs, output units per hour, and its standard error. */
  meanOffsetPerHour: number;
  meanOffsetStdErrPerHour: number;
  /** Relative slope of the response difference between the gain drives (on the even input channels), fraction per hour (least squares over outputs). */
  gainPerHour: number;
}

export interface CalibrationRecord {
  format: typeof RECORD_FORMAT;
  version: typeof RECORD_VERSION;
  device: DeviceIdentity;
  plan: { name: string; hash: string };
  /** Wall-clock time of the run's start, ISO 8601. */
  createdAt: string;
  seed: number;
  /** Device clock over the run, in µs since the device booted. */
  deviceTimeUs: { start: number; end: number };
  /**
   * Per output channel, from the sweep: `offset` is the response with every input at the sweep's
   * reference drive; `gain` is the DC slope (output units per drive unit): the norm over input
   * channels of the slopes, signed as the strongest one's (with one input: the slope itself).
   * `noiseSigma` comes from the noise step. Null where the plan has no such step.
   */
  channels: { offset: number[] | null; gain: number[] | null; noiseSigma: number[] | null };
  linearization: LinearizationTable[] | null;
  sweep: SweepSummary | null;
  noise: NoiseSummary | null;
  latency: LatencySummary | null;
  crosstalk: CrosstalkSummary | null;
  drift: DriftSummary | null;
}

/** Checks that `raw` is a record this code can read (format, version, the shape of what helpers use). */
export function checkRecord(raw: unknown): CalibrationRecord {
  const r = raw as Partial<CalibrationRecord> | null;
  if (typeof r !== 'object' || r === null) throw new TypeError('a calibration record must be a JSON object');
  if (r.format !== RECORD_FORMAT) throw new TypeError(`calibration record format must be '${RECORD_FORMAT}', got ${JSON.stringify(r.format)}`);
  if (typeof r.version !== 'number' || r.version > RECORD_VERSION || r.version < 1) {
    throw new TypeError(`calibration record version ${JSON.stringify(r.version)} is not supported (this code reads 1..${RECORD_VERSION})`);
  }
  if (typeof r.device !== 'object' || r.device === null || typeof r.channels !== 'object' || r.channels === null) {
    throw new TypeError('calibration record lacks device or channels');
  }
  return r as CalibrationRecord;
}
