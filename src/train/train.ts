/**
 * One entry point for every trainer, with one result shape (common.TrainResult).
 *
 * ```ts
 * const device = await openDevice('sim:analog', { seed: 1 });
 * const pat = await train({ task: 'narma10', device, trainer: 'pat', seed: 1, episodes: 30 });
 * const classic = await train({ task: 'narma10', device, trainer: 'classic', seed: 1, budget: pat.deviceSamples });
 * console.log(pat.test.value, classic.test.value);
 * ```
 */
import { trainClassic, trainDigital, type DigitalOptions } from './baselines.js';
import type { TrainResult } from './common.js';
import { trainPat } from './pat.js';

export async function train(opts: DigitalOptions): Promise<TrainResult> {
  switch (opts.trainer) {
    case 'pat': return trainPat(opts);
    case 'classic': return trainClassic(opts);
    case 'digital': return trainDigital(opts);
    default: throw new RangeError(`trainer must be pat, classic or digital, got ${String((opts as { trainer: unknown }).trainer)}`);
  }
}
