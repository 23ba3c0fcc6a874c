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
import { trainClassic, trainDigital, type ClassicOptions, type DigitalOptions } from './baselines.js';
import type { TrainResult } from './common.js';
import { trainPat } from './pat.js';
import { trainOracle, type OracleOptions } from './oracle.js';
import { trainInsilico, type InsilicoOptions } from './insilico.js';
import { trainSpsa, type SpsaOptions } from './spsa.js';

/** Every trainer's options: the common ones plus each trainer's extras. */
export type AnyTrainOptions = DigitalOptions & Partial<Omit<ClassicOptions, keyof DigitalOptions>> & Partial<Omit<OracleOptions, keyof DigitalOptions>> & Partial<Omit<InsilicoOptions, keyof DigitalOptions>> & Partial<Omit<SpsaOptions, keyof DigitalOptions>>;

export async function train(opts: AnyTrainOptions): Promise<TrainResult> {
  // Only pat and oracle (its fidelity companion) use the refit scheduler's surrogate; a design asked of another trainer would be ignored.
  const design = opts.surrogate?.design ?? 'narx';
  if (design !== 'narx' && opts.trainer !== 'pat' && opts.trainer !== 'oracle') {
    throw new RangeError(`surrogate design ${String(design)} is for pat and oracle; ${String(opts.trainer)} does not use it`);
  }
  switch (opts.trainer) {
    case 'pat': return trainPat(opts);
    case 'classic': return trainClassic(opts);
    case 'digital': return trainDigital(opts);
    case 'oracle': return trainOracle(opts);
    case 'insilico': return trainInsilico(opts);
    case 'spsa': return trainSpsa(opts);
    default: throw new RangeError(`trainer must be pat, classic, digital, oracle, insilico or spsa, got ${String((opts as { trainer: unknown }).trainer)}`);
  }
}
