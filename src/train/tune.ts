/**
 * Hyper-parameter sweeps for the baselines, so that a comparison with `pat` is against tuned
 * baselines rather than their defaults (issue 11: a learning-rate sweep with early stopping took
 * digital from 0.048 to 0.038 on sim:analog-awg, an input-gain sweep classic from 0.188 to 0.142).
 *
 * Every candidate is one seeded run that reports a held-out score on its training sequence
 * (TrainResult.heldOut); the sweep keeps the best of those. The test sequence is scored for every
 * candidate (the runs are whole) but never read by the choice.
 */
import type { HeldOutScore, TrainResult } from './common.js';
import { CLASSIC_HELD_OUT_FRACTION, type ClassicOptions, type DigitalOptions, trainClassic, trainDigital, trainRandomFeatures } from './baselines.js';
import { betterThan } from './held-out.js';

/** One candidate of a sweep: its parameters, its held-out score and its whole run. */
export interface SweepEntry<P> {
  params: P;
  heldOut: HeldOutScore;
  result: TrainResult;
}

export interface SweepResult<P> {
  /** The candidate with the best held-out score (the first of equals). */
  best: SweepEntry<P>;
  /** Every candidate, in grid order. */
  entries: SweepEntry<P>[];
  /** Device samples of every candidate together: what the sweep cost on the device. */
  deviceSamples: number;
  /**
   * The best is the first or last of several candidates: with a grid in increasing order, the
   * optimum may lie beyond it, so widen the grid before trusting the figure.
   */
  atEdge: boolean;
}

/** Learning rates of {@link tuneDigital}: two decades around the default 0.03. */
export const DIGITAL_RATES: readonly number[] = [0.003, 0.01, 0.03, 0.1, 0.3];
/**
 * Input gains of {@link tuneClassic} and {@link tuneRandomFeatures}: factors of 2 from 1/16 to 4 of
 * the default 1. Small gains are where the optimum lay (NARMA10 on sim:analog-awg, seed 1, 30
 * episodes: 0.25 was best of 0.25-4 for both), so the grid reaches further down than up.
 */
export const INPUT_GAINS: readonly number[] = [0.0625, 0.125, 0.25, 0.5, 1, 2, 4];

/** Runs `run` for every point of `grid` in order and keeps the best held-out score. */
export async function sweep<P>(grid: readonly P[], run: (params: P) => Promise<TrainResult>): Promise<SweepResult<P>> {
  if (grid.length === 0) throw new RangeError('a sweep needs at least one candidate');
  const entries: SweepEntry<P>[] = [];
  let best: SweepEntry<P> | undefined;
  for (const params of grid) {
    const result = await run(params);
    if (!result.heldOut) throw new Error(`the ${result.trainer} run of ${JSON.stringify(params)} has no held-out score to compare`);
    const entry = { params, heldOut: result.heldOut, result };
    entries.push(entry);
    if (betterThan(entry.heldOut, best?.heldOut)) best = entry;
  }
  if (!best) throw new Error(`every candidate's held-out ${entries[0].heldOut.metric} is NaN`);
  const i = entries.indexOf(best);
  return { best, entries, deviceSamples: entries.reduce((a, e) => a + e.result.deviceSamples, 0), atEdge: entries.length > 1 && (i === 0 || i === entries.length - 1) };
}

function checkGrid(grid: readonly number[], name: string): readonly number[] {
  if (!Array.isArray(grid) || grid.length === 0) throw new RangeError(`${name} must be a non-empty array, got ${JSON.stringify(grid)}`);
  for (const x of grid) if (!(typeof x === 'number' && x > 0 && Number.isFinite(x))) throw new RangeError(`${name} must hold positive finite numbers, got ${JSON.stringify(grid)}`);
  return grid;
}

export interface DigitalTuning {
  /** Learning rates tried. Defaults to {@link DIGITAL_RATES}. */
  rates?: readonly number[];
  /** Early stopping (DigitalOptions.heldOut). Defaults to {} (its defaults). */
  heldOut?: DigitalOptions['heldOut'];
}

/**
 * `digital` at every learning rate, each early-stopped on held-out training steps (the
 * `episodes` of `o` is the most each may train); the best held-out rate and stopping point win.
 */
export function tuneDigital(o: Omit<DigitalOptions, 'trainer' | 'learningRate' | 'heldOut'>, t: DigitalTuning = {}): Promise<SweepResult<{ learningRate: number }>> {
  const rates = checkGrid(t.rates ?? DIGITAL_RATES, 'rates');
  return sweep(rates.map((learningRate) => ({ learningRate })), (p) => trainDigital({ ...o, trainer: 'digital', ...p, heldOut: t.heldOut ?? {} }));
}

export interface GainTuning {
  /** Input gains tried (TrainOptions.gain). Defaults to {@link INPUT_GAINS}. */
  gains?: readonly number[];
}

/** `classic` at every input gain, each with the same budget, scored on the held-out end of its fit segment. */
export function tuneClassic(o: Omit<ClassicOptions, 'trainer' | 'gain' | 'heldOutFraction'>, t: GainTuning & { heldOutFraction?: number } = {}): Promise<SweepResult<{ gain: number }>> {
  const gains = checkGrid(t.gains ?? INPUT_GAINS, 'gains');
  return sweep(gains.map((gain) => ({ gain })), (p) => trainClassic({ ...o, trainer: 'classic', ...p, heldOutFraction: t.heldOutFraction ?? CLASSIC_HELD_OUT_FRACTION }));
}

/** Random features (trainRandomFeatures) at every input gain, scored on held-out training steps; no device samples (an `episodes` in `o` is ignored: there are none). */
export function tuneRandomFeatures(o: Omit<DigitalOptions, 'trainer' | 'gain' | 'heldOut'>, t: GainTuning & { heldOut?: DigitalOptions['heldOut'] } = {}): Promise<SweepResult<{ gain: number }>> {
  const gains = checkGrid(t.gains ?? INPUT_GAINS, 'gains');
  return sweep(gains.map((gain) => ({ gain })), (p) => trainRandomFeatures({ ...o, episodes: undefined, ...p, heldOut: t.heldOut ?? {} }));
}
