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
  /** Loss of each step taken. */
  losses: number[];
  /** Per physical layer: the surrogate chosen at the first fit (ChainTrainResult.surrogates). */
  surrogates: { layer: number; design: DesignName; heldOutNmse: number; scores: { design: DesignName; heldOutNmse: number }[] }[];
  model: ChainJSON;
  optimizer: OptimizerWeight[];
}

/** `json` checked field by field as a chain checkpoint of `trainer` (the model itself is checked by ChainModel.fromJSON). */
export function parseChainCheckpoint(json: unknown, trainer: string): ChainCheckpoint {
  const c = json as Partial<ChainCheckpoint> | null;
  const bad = (what: string): never => { throw new RangeError(`chain checkpoint: ${what}`); };
  if (c === null || typeof c !== 'object' || c.format !== CHAIN_CHECKPOINT_FORMAT) bad(`not a ${CHAIN_CHECKPOINT_FORMAT} object`);
  if (c!.trainer !== trainer) bad(`saved by trainer '${String(c!.trainer)}', not '${trainer}'`);
  const count = (v: unknown, name: string): number => (Number.isSafeInteger(v) && (v as number) >= 0 ? v as number : bad(`${name} must be a non-negative integer, got ${String(v)}`));
  count(c!.seed, 'seed');
  const steps = count(c!.steps, 'steps');
  if (typeof c!.samples !== 'object' || c!.samples === null) bad('samples missing');
  count(c!.samples!.explore, 'samples.explore');
  count(c!.samples!.train, 'samples.train');
  if (!Array.isArray(c!.losses) || c!.losses.length !== steps || !c!.losses.every((v) => typeof v === 'number' && Number.isFinite(v))) bad(`losses must be ${steps} finite numbers`);
  if (!Array.isArray(c!.surrogates)) bad('surrogates must be a list');
  if (typeof c!.model !== 'object' || c!.model === null) bad('model missing');
  if (!Array.isArray(c!.optimizer)) bad('optimizer must be a list of weights');
  c!.optimizer!.forEach((w, i) => {
    if (typeof w?.name !== 'string' || !Array.isArray(w.shape) || !w.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) bad(`optimizer[${i}] needs a name and a shape`);
    const size = w.shape.reduce((a, d) => a * d, 1);
    if (!Array.isArray(w.values) || w.values.length !== size || !w.values.every((v) => typeof v === 'number' && Number.isFinite(v))) bad(`optimizer[${i}] (${w.name}) must hold ${size} finite numbers`);
  });
  return c as ChainCheckpoint;
}
