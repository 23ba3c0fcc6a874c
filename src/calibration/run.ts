/**
 * Runs a calibration plan against a device and returns its record.
 *
 * ```ts
 * const dev = await openDevice('sim:analog');
 * const record = await runCalibration(dev, await loadPlan('analog'), { seed: 1, onProgress: (p) => console.log(p.step, p.fraction) });
 * ```
 */
import { deviceIdentity } from '../device/identity.js';
import { type CalibrationDevice } from './measure.js';
import { type CalibrationPlan, type StepType, planHash } from './plan.js';
import { type CalibrationRecord, RECORD_FORMAT, RECORD_VERSION } from './record.js';
import { runCrosstalk, runDrift, runLatency, runNoise, runSweep } from './steps.js';

export interface CalibrationProgress {
  step: StepType;
  /** 0-based index of the step in the plan. */
  stepIndex: number;
  steps: number;
  /** Samples driven so far in this step, and its total. */
  done: number;
  total: number;
  /** Progress of the whole run, in [0, 1] (each step weighs the same). */
  fraction: number;
}

export interface CalibrationOptions {
  /** Seed of the run's own randomness (the order of sweep levels after the first two passes). Defaults to 1. */
  seed?: number;
  /** Called after each batch. Defaults to none. */
  onProgress?: (p: CalibrationProgress) => void;
  /** Clock for `createdAt`. Defaults to the wall clock. */
  now?: () => Date;
}

/**
 * Resets the device, runs the plan's steps in order and reduces them to a CalibrationRecord. A
 * state break (reboot, lost batch) rejects the whole run: a calibration must come from one
 * unbroken segment.
 */
export async function runCalibration(device: CalibrationDevice, plan: CalibrationPlan, opts: CalibrationOptions = {}): Promise<CalibrationRecord> {
  const seed = opts.seed ?? 1;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`option seed must be an integer in [0, 2^32 - 1], got ${seed}`);
  const info = device.info;
  const createdAt = (opts.now ?? (() => new Date()))().toISOString();
  await device.resetState();
  const rec: CalibrationRecord = {
    format: RECORD_FORMAT,
    version: RECORD_VERSION,
    device: deviceIdentity(info),
    plan: { name: plan.name, hash: planHash(plan) },
    createdAt,
    seed,
    deviceTimeUs: { start: NaN, end: NaN },
    channels: { offset: null, gain: null, noiseSigma: null },
    linearization: null, sweep: null, noise: null, latency: null, crosstalk: null, drift: null,
  };
  // Watch the device clock through every batch.
  let first = Infinity, last = -Infinity;
  const watched: CalibrationDevice = {
    info: device.info,
    maxBatch: device.maxBatch,
    resetState: () => device.resetState(),
    process: async (input) => {
      const r = await device.process(input);
      first = Math.min(first, r.timestampUs);
      last = Math.max(last, r.timestampUs + (r.count * info.samplePeriodNs) / 1000);
      return r;
    },
  };
  const steps = plan.steps;
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i];
    const progress = (done: number, total: number) =>
      opts.onProgress?.({ step: step.type, stepIndex: i, steps: steps.length, done, total, fraction: (i + done / Math.max(1, total)) / steps.length });
    switch (step.type) {
      case 'sweep': {
        const s = await runSweep(watched, step, seed, progress);
        rec.sweep = s.summary;
        rec.channels.offset = s.offset;
        rec.channels.gain = s.gain;
        rec.linearization = s.linearization;
        break;
      }
      case 'noise':
        rec.noise = await runNoise(watched, step, progress);
        rec.channels.noiseSigma = rec.noise.sigma;
        break;
      case 'latency': rec.latency = await runLatency(watched, step, progress); break;
      case 'crosstalk': rec.crosstalk = await runCrosstalk(watched, step, progress); break;
      case 'drift': rec.drift = await runDrift(watched, step, progress); break;
    }
    progress(1, 1);
  }
  rec.deviceTimeUs = { start: Number.isFinite(first) ? first : 0, end: Number.isFinite(last) ? last : 0 };
  return rec;
}
