/**
 * What a chain run saves to be resumed (`rhil train --resume RUN` on a `--model-spec` run): the
 * model after a step (dense weights, normalisations and each layer's fitted surrogate), Adam's
 * moments and step count, the steps taken, the samples spent and the loss of every step.
 *
 * Not saved: each layer's replay buffer of (drive, response) pairs (8,192 rows of 64 + 128 floats
 * per optical layer, megabytes per checkpoint). A resumed pat run refits on the pairs it measures
 * from its resume on, so it follows the uninterrupted run closely but not bit for bit; trainers
 * without refits (digital, classic, oracle) resume onto the same trajectory when the device is
 * deterministic (optical), since the shuffle is replayed from the seed.
 *
 * A checkpoint comes back from a database, so every field is checked on reading.
 */
import type { ChainJSON } from './model.js';
import type { DesignName } from '../../surrogate/designs.js';
import type { SurrogateJSON } from '../../surrogate/saved.js';
import type { TappedDenseJSON } from '../input-layer.js';
import type { RidgeAccumulatorJSON } from '../ridge.js';
import type { GuardCheckpoint } from '../guarded-adam.js';

export const CHAIN_CHECKPOINT_FORMAT = 'rhil-chain-checkpoint/1';

/** One tensor of the optimizer's state, in the order `tf.Optimizer.getWeights` returns it. */
export interface OptimizerWeight { name: string; shape: number[]; values: number[] }

export interface ChainCheckpoint {
  format: typeof CHAIN_CHECKPOINT_FORMAT;
  /** The chain trainer that saved it (train.ts ChainTrainerName). */
  trainer: string;
  seed: number;
  /** Training steps taken. */
  steps: number;
  /** Device samples measured so far, by phase. */
  samples: { explore: number; train: number };
  /**
   * Loss of each step taken; null for one that was not finite, which only a guarded run's
   * checkpoint may hold, at a step whose loss rolled the weights back (in `rollbackSteps`): the
   * rollback left the weights finite. An unguarded run's non-finite loss left its weights so too,
   * and its checkpoint is refused.
   */
  losses: (number | null)[];
  /** Per physical layer: the surrogate chosen at the first fit (ChainTrainResult.surrogates). */
  surrogates: { layer: number; design: DesignName; heldOutNmse: number; scores: { design: DesignName; heldOutNmse: number }[] }[];
  model: ChainJSON;
  optimizer: OptimizerWeight[];
  /** The rising-loss guard (guarded-adam.ts GuardedAdam.toJSON): its state (rate, best block, rollbacks) and the weights it would roll back to. Absent with the guard off. */
  guard?: GuardCheckpoint;
  /** With `guard`: the steps (0-based) whose loss rolled the weights back, ascending, as many as the guard's rollbacks. */
  rollbackSteps?: number[];
}

/** `json` checked field by field as a chain checkpoint of `trainer` (the model itself is checked by ChainModel.fromJSON). */
export function parseChainCheckpoint(json: unknown, trainer: string): ChainCheckpoint {
  const c = json as Partial<ChainCheckpoint> | null;
  const bad = (what: string): never => { throw new RangeError(`chain checkpoint: ${what}`); };
  if (c === null || typeof c !== 'object' || c.format !== CHAIN_CHECKPOINT_FORMAT) bad(`not a ${CHAIN_CHECKPOINT_FORMAT} object`);
  if (c!.trainer !== trainer) bad(`saved by trainer '${String(c!.trainer)}', not '${trainer}'`);
  const count = (v: unknown, name: string): number => checkCount(v, name, bad);
  count(c!.seed, 'seed');
  const steps = count(c!.steps, 'steps');
  if (typeof c!.samples !== 'object' || c!.samples === null) bad('samples missing');
  count(c!.samples!.explore, 'samples.explore');
  count(c!.samples!.train, 'samples.train');
  if (c!.guard !== undefined) {
    // Its state and weights are checked field by field when the guard is rebuilt (GuardedAdam); here what ties it to the losses.
    const g = c!.guard as Partial<GuardCheckpoint> | null;
    if (g === null || typeof g !== 'object' || typeof g.state !== 'object' || g.state === null) bad('guard must be a guard checkpoint (state, saved, start)');
    const r = c!.rollbackSteps;
    if (!Array.isArray(r) || !r.every((v, i) => Number.isSafeInteger(v) && v >= 0 && v < steps && (i === 0 || v > r[i - 1])) || r.length !== g!.state!.rollbacks) {
      bad(`rollbackSteps must list the guard's ${String(g!.state!.rollbacks)} rollbacks, ascending steps below ${steps}`);
    }
  } else if (c!.rollbackSteps !== undefined) bad('rollbackSteps without a guard');
  const rolledBack = new Set(c!.rollbackSteps ?? []);
  if (!Array.isArray(c!.losses) || c!.losses.length !== steps || !c!.losses.every((v, i) => (typeof v === 'number' && Number.isFinite(v)) || (v === null && rolledBack.has(i)))) {
    bad(`losses must be ${steps} finite numbers (null, a non-finite loss, only at a step the guard rolled back)`);
  }
  if (!Array.isArray(c!.surrogates)) bad('surrogates must be a list');
  if (typeof c!.model !== 'object' || c!.model === null) bad('model missing');
  checkOptimizer(c!.optimizer, bad);
  return c as ChainCheckpoint;
}

export const SERIES_CHECKPOINT_FORMAT = 'rhil-series-chain-checkpoint/1';

/**
 * What a series chain (series.ts, two or more physical layers on a time series) saves to be
 * resumed: the digital layers (weights and the normalisations they were trained under), Adam's
 * state, the episodes done with their records and samples, the readout's summed ridge statistics
 * of the last episodes (the ring the next episode's training readout is solved from) and, under
 * pat, each layer's surrogate in use. The episode windows are not saved: they are drawn again from
 * the seed, skipping the ones done.
 *
 * Not saved, as in the classification chain's checkpoint: each layer's replay buffer, held-out
 * pairs and drift baseline (their refits restart from the pairs measured after the resume, so a
 * resumed pat run follows the uninterrupted one closely, not exactly). oracle has no refits: on a
 * deterministic device it resumes onto the uninterrupted run's numbers.
 */
export interface SeriesChainCheckpoint {
  format: typeof SERIES_CHECKPOINT_FORMAT;
  gradient: 'pat' | 'oracle';
  task: string;
  seed: number;
  /** Episodes done. */
  episode: number;
  deviceSamples: number;
  /** The record of every episode done (SeriesEpisodeRecord). */
  episodes: { loss: number; deviceSamples: number }[];
  first: TappedDenseJSON;
  between: TappedDenseJSON[];
  /** The readout's summed statistics of the last readoutEpisodes - 1 episodes, oldest first. */
  ring: RidgeAccumulatorJSON[];
  /** pat: each physical layer's surrogate in use; oracle: null each. */
  surrogates: (SurrogateJSON | null)[];
  optimizer: OptimizerWeight[];
  /**
   * Pipelined runs: the digital layers' weights the next episode was launched with (before this
   * checkpoint's last step), when one was measured ahead. A resumed run measures that episode
   * again with them, so it follows the uninterrupted run; without them it would measure it with
   * the weights after the step.
   */
  ahead?: { first: TappedDenseJSON; between: TappedDenseJSON[] };
  /**
   * The episode measured ahead was launched before this checkpoint's last step rolled the weights
   * back: the resumed run measures it again with `ahead` but, as the uninterrupted run does, takes
   * no step on it and keeps it out of the training readout.
   */
  aheadStale?: true;
  /** The rising-loss guard (guarded-adam.ts GuardedAdam.toJSON): its state and every digital layer's weights it would roll back to. Absent with the guard off. */
  guard?: GuardCheckpoint;
}

/**
 * `json` checked field by field as a series chain checkpoint of a run with `expect`'s gradient,
 * task, seed and physical layers; the weights, sums and surrogates are checked again as they are
 * rebuilt (TappedDense.fromJSON, RidgeAccumulator.fromJSON, surrogateFromJSON).
 */
export function parseSeriesChainCheckpoint(json: unknown, expect: { gradient: string; task: string; seed: number; layers: number }): SeriesChainCheckpoint {
  const c = json as Partial<SeriesChainCheckpoint> | null;
  const bad = (what: string): never => { throw new RangeError(`series chain checkpoint: ${what}`); };
  if (c === null || typeof c !== 'object' || c.format !== SERIES_CHECKPOINT_FORMAT) bad(`not a ${SERIES_CHECKPOINT_FORMAT} object`);
  if (c!.gradient !== expect.gradient) bad(`saved by trainer '${String(c!.gradient)}', not '${expect.gradient}'`);
  if (c!.task !== expect.task) bad(`of task '${String(c!.task)}', not '${expect.task}'`);
  if (c!.seed !== expect.seed) bad(`of seed ${String(c!.seed)}, not ${expect.seed}`);
  const count = (v: unknown, name: string): number => checkCount(v, name, bad);
  const episode = count(c!.episode, 'episode');
  count(c!.deviceSamples, 'deviceSamples');
  if (!Array.isArray(c!.episodes) || c!.episodes.length !== episode) bad(`episodes must hold ${episode} records`);
  c!.episodes!.forEach((e, i) => {
    if (typeof e !== 'object' || e === null || typeof e.loss !== 'number' || !Number.isSafeInteger(e.deviceSamples)) bad(`episodes[${i}] needs a loss and deviceSamples`);
  });
  if (typeof c!.first !== 'object' || c!.first === null) bad('first (the input layer) missing');
  if (!Array.isArray(c!.between) || c!.between.length !== expect.layers - 1) bad(`between must hold ${expect.layers - 1} layers for ${expect.layers} physical layers`);
  if (!Array.isArray(c!.ring)) bad('ring must be a list of ridge sums');
  if (!Array.isArray(c!.surrogates) || c!.surrogates.length !== expect.layers) bad(`surrogates must hold ${expect.layers} entries`);
  checkOptimizer(c!.optimizer, bad);
  if (c!.ahead !== undefined) {
    const a = c!.ahead as Partial<NonNullable<SeriesChainCheckpoint['ahead']>> | null;
    if (a === null || typeof a !== 'object' || typeof a.first !== 'object' || a.first === null) bad('ahead.first (the input layer) missing');
    if (!Array.isArray(a!.between) || a!.between.length !== expect.layers - 1) bad(`ahead.between must hold ${expect.layers - 1} layers for ${expect.layers} physical layers`);
  }
  if (c!.aheadStale !== undefined && (c!.aheadStale !== true || c!.ahead === undefined)) bad('aheadStale must be true, and only with ahead');
  // Its state and weights are checked field by field when the guard is rebuilt (GuardedAdam).
  if (c!.guard !== undefined && (c!.guard === null || typeof c!.guard !== 'object' || typeof c!.guard.state !== 'object' || c!.guard.state === null)) bad('guard must be a guard checkpoint (state, saved, start)');
  return c as SeriesChainCheckpoint;
}

/** A checkpoint's Adam state: a list of named tensors, each holding as many finite numbers as its shape says. */
/** `v` as a count (a non-negative safe integer), or `bad` naming the field. */
function checkCount(v: unknown, name: string, bad: (what: string) => never): number {
  return Number.isSafeInteger(v) && (v as number) >= 0 ? v as number : bad(`${name} must be a non-negative integer, got ${String(v)}`);
}

function checkOptimizer(optimizer: unknown, bad: (what: string) => never): void {
  if (!Array.isArray(optimizer)) bad('optimizer must be a list of weights');
  (optimizer as Partial<OptimizerWeight>[]).forEach((w, i) => {
    if (typeof w?.name !== 'string' || !Array.isArray(w.shape) || !w.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) bad(`optimizer[${i}] needs a name and a shape`);
    const size = w.shape!.reduce((a, d) => a * d, 1);
    if (!Array.isArray(w.values) || w.values.length !== size || !w.values.every((v) => typeof v === 'number' && Number.isFinite(v))) bad(`optimizer[${i}] (${w.name}) must hold ${size} finite numbers`);
  });
}
