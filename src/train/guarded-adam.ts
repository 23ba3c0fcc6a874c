/**
 * Adam on a set of trainable variables with the rising-loss guard (step-guard.ts) applied: the one
 * place the trainers that step with a surrogate's gradient keep the weights the guard may return
 * to, and swap the optimizer when it does. pat and oracle guard their input layer (a TappedDense:
 * variables W and b); the series chain every digital layer ('first.W', 'first.b', 'between[0].W',
 * …); the classification chain its model's trainable variables. A rollback restores every guarded
 * variable to the weights the best block started from and starts a fresh Adam at the reduced rate
 * (the moments were built on the steps being undone). The block's start, not its end: its losses
 * were measured near there, while its end has taken another block of steps that may already be
 * running away (at 10x a good rate on sim:optical the first block's end was as bad as the
 * divergence, and rolling back to it did not help). `generation` counts rollbacks, so a trainer
 * that measured an episode ahead can tell that its drives came from weights that are gone.
 *
 * ```ts
 * const opt = new GuardedAdam(layer, 0.03, o.guard);      // TrainOptions.guard: on unless false
 * opt.optimizer.applyGradients(grads);
 * if (opt.recordEpisode(rec, loss)) ring.length = 0;       // rolled back: the readout saw the undone weights' responses
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import { TappedDense } from './input-layer.js';
import { type GuardAction, type GuardOptions, type GuardState, guardStep, initGuard } from './step-guard.js';

/**
 * The variables a guard keeps, by name (a checkpoint's weights are keyed by these names, so a
 * TappedDense's are { W, b }, as pat's checkpoints have always held them).
 */
export type GuardedVariables = Readonly<Record<string, tf.Variable>>;

/** Values of each guarded variable, by name. */
export type GuardWeights = Record<string, number[]>;

/** What a checkpoint keeps of the guard: its state, the weights it would roll back to and those the current block started from. */
export interface GuardCheckpoint {
  state: GuardState;
  saved: GuardWeights;
  start: GuardWeights;
}

type Weights = Record<string, Float32Array>;

/** The guard's fields of an episode record (EpisodeRecord's). */
export interface GuardedEpisode {
  /** Guarded: the rate this step was taken at, the rollbacks so far, and whether this step's loss rolled the weights back. */
  learningRate?: number;
  rollbacks?: number;
  rollback?: boolean;
}

export class GuardedAdam {
  /** The optimizer to step with (replaced at a rollback). */
  optimizer: tf.Optimizer;
  /** Rollbacks so far in this process (0 after a resume). */
  generation = 0;
  private guard: GuardState | undefined;
  private saved: Weights | undefined;
  private start: Weights | undefined;
  private readonly vars: GuardedVariables;

  /**
   * @param guard TrainOptions.guard: false is plain Adam; true or absent the guard at its defaults; an
   *   object its options (resumed from `resumed` when given)
   * @param resumed a checkpoint's {@link toJSON}; its weights are checked against the variables
   * @param target the variables to guard: a TappedDense's (W and b), or any set by name
   */
  constructor(target: TappedDense | GuardedVariables, learningRate: number, guard: boolean | Omit<GuardOptions, 'learningRate'> | undefined, resumed?: GuardCheckpoint) {
    this.vars = target instanceof TappedDense ? { W: target.W, b: target.b } : { ...target };
    if (Object.keys(this.vars).length === 0) throw new RangeError('GuardedAdam: no variables to guard');
    if (guard !== false) {
      this.guard = resumed ? checkState(resumed.state) : initGuard({ ...(typeof guard === 'object' && guard !== null ? guard : {}), learningRate });
      this.saved = resumed ? savedWeights(resumed.saved, this.vars, 'saved') : this.snapshot();
      this.start = resumed ? savedWeights(resumed.start, this.vars, 'start') : this.saved;
    }
    this.optimizer = tf.train.adam(this.guard?.rate ?? learningRate);
  }

  /** Whether the guard is on. */
  get guarded(): boolean {
    return this.guard !== undefined;
  }

  /** The rate the optimizer steps with now. */
  get rate(): number | undefined {
    return this.guard?.rate;
  }

  get rollbacks(): number {
    return this.guard?.rollbacks ?? 0;
  }

  /** The guarded variables, by name. */
  get variables(): GuardedVariables {
    return this.vars;
  }

  /** A copy of every guarded variable's values. */
  private snapshot(): Weights {
    return Object.fromEntries(Object.entries(this.vars).map(([k, v]) => [k, Float32Array.from(v.dataSync())]));
  }

  /** Sets every guarded variable to `w`. */
  private restore(w: Weights): void {
    tf.tidy(() => {
      for (const [k, v] of Object.entries(this.vars)) v.assign(tf.tensor(w[k], v.shape, v.dtype));
    });
  }

  /** Reports the loss of a step just taken; on 'rollback' the variables and optimizer are already reset. */
  after(loss: number): GuardAction {
    if (!this.guard) return 'hold';
    const d = guardStep(this.guard, loss);
    this.guard = d.state;
    if (d.action === 'best') this.saved = this.start;
    if (d.action === 'rollback') {
      this.restore(this.saved!);
      this.optimizer.dispose();
      this.optimizer = tf.train.adam(d.state.rate);
      this.generation++;
    }
    if (d.block || d.action === 'rollback') this.start = this.snapshot();
    return d.action;
  }

  /**
   * An episode's guard fields: the rate its step took and the rollbacks so far; its loss goes to
   * the guard unless it took no step (`stepped` false: measured with weights a rollback undid).
   * Nothing without the guard. Returns true when this episode rolled the weights back.
   */
  recordEpisode(rec: GuardedEpisode, loss: number, stepped = true): boolean {
    if (!this.guard) return false;
    rec.learningRate = this.guard.rate;
    const rolledBack = stepped && this.after(loss) === 'rollback';
    if (rolledBack) rec.rollback = true;
    rec.rollbacks = this.rollbacks;
    return rolledBack;
  }

  /** For a checkpoint; undefined without the guard. */
  toJSON(): GuardCheckpoint | undefined {
    if (!this.guard || !this.saved || !this.start) return undefined;
    const plain = (w: Weights): GuardWeights => Object.fromEntries(Object.entries(w).map(([k, v]) => [k, Array.from(v)]));
    return { state: this.guard, saved: plain(this.saved), start: plain(this.start) };
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}

/** A checkpoint's guard state, checked (a checkpoint is read back from a file). */
function checkState(s: GuardState): GuardState {
  const o = s?.options;
  const bad = !o || !(s.rate > 0 && Number.isFinite(s.rate)) || !Array.isArray(s.pending) || !s.pending.every(Number.isFinite)
    || !Number.isInteger(s.rollbacks) || s.rollbacks < 0 || (s.best !== null && !Number.isFinite(s.best))
    || !(s.ss >= 0 && Number.isFinite(s.ss)) || !(Number.isInteger(s.df) && s.df >= 0);
  if (bad) throw new TypeError('resume: the checkpoint\'s guard state is malformed');
  // Re-validates the options the same way a fresh guard does.
  const fresh = initGuard(o);
  return { ...s, options: fresh.options, pending: [...s.pending] };
}

/**
 * The guard's saved weights from a checkpoint, checked to fit the variables: one entry per
 * variable, by its name, of its size, finite; none other.
 */
function savedWeights(w: unknown, vars: GuardedVariables, which: 'saved' | 'start'): Weights {
  const bad = (why: string): never => {
    throw new TypeError(`resume: the checkpoint's guard weights (${which}) ${why}`);
  };
  if (w === null || typeof w !== 'object' || Array.isArray(w)) bad('are missing');
  const o = w as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!(k in vars)) bad(`hold '${k}', which this run does not guard (it guards ${Object.keys(vars).join(', ')})`);
  const out: Weights = {};
  for (const [k, v] of Object.entries(vars)) {
    const x = o[k];
    if (!Array.isArray(x) || x.length !== v.size || !x.every((y) => typeof y === 'number' && Number.isFinite(y))) {
      bad(`of '${k}' are missing, of the wrong size or not finite (want ${v.size} finite numbers, got ${Array.isArray(x) ? x.length : 'none'})`);
    }
    out[k] = Float32Array.from(x as number[]);
  }
  return out;
}
