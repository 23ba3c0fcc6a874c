/**
 * Rising-loss guard for a trainer whose losses come from different data windows (pat's episodes):
 * a pure function of explicit state. The trainer reports each step's loss and is told when the
 * loss trend has turned up; it then restores the weights the best block started from and steps on
 * at a smaller rate (train/guarded-adam.ts does this for pat and oracle). Per-step comparisons do
 * not work here: one episode's window differs from the next more than any step changes the loss
 * (wired into pat that way, a per-step guard wore the rate down to its floor and doubled the test
 * NMSE).
 *
 * The losses are taken in blocks of `block` (B). A block's statistic is its mean log loss m. The
 * noise σ is the spread of log losses inside blocks, pooled over every block so far (mostly the
 * windows' own variation; one block's 5 losses alone give too unsteady an estimate: tried, it
 * rolled back on a third of synthetic runs with no trend). It is taken from successive
 * differences, so that a loss running away inside a block does not pass for noise and hide
 * itself. With m* the best block's mean so far, when a block is complete:
 *   - m - m* > max(log(1 + rise), z · σ · sqrt(2 / B)):   'rollback': the caller restores the
 *     best block's weights; rate × backoff (not below minRate; at minRate the guard only
 *     watches); the best block stays the reference.
 *   - m < m*:                                               'best': this block is the reference.
 *   - otherwise:                                            'hold'.
 * A loss that is not finite rolls back at once. Between blocks the action is 'hold'.
 *
 * ```ts
 * let guard = initGuard({ learningRate: 0.03 });
 * let start = layer.snapshot(), saved = start;       // the weights the current / best block started from
 * for (…) {                                          // after each step
 *   const d = guardStep(guard, loss);
 *   guard = d.state;
 *   if (d.action === 'best') saved = start;
 *   if (d.action === 'rollback') { layer.restore(saved); optimizer = adam(guard.rate); }
 *   if (d.block || d.action === 'rollback') start = layer.snapshot();
 * }
 * ```
 */

/** Options of {@link initGuard}. */
export interface GuardOptions {
  /** Starting rate. */
  learningRate: number;
  /** Losses per block, >= 3. Defaults to 5. */
  block?: number;
  /** Smallest relative rise of a block's geometric mean loss that rolls back, > 0. Defaults to 0.5. */
  rise?: number;
  /**
   * Standard errors of the difference that a rise must exceed as well, >= 0. Defaults to 4: m* is
   * the least of many noisy block means, so a rise of 3 standard errors over it comes by chance
   * (runs of 200 losses with a slow fall and a log spread σ of 0.3-0.5, as pat's have: z 3.5
   * rolled back in 5-7 % of them, z 4 in 1-2 %).
   */
  z?: number;
  /** Factor on the rate at a rollback, in (0, 1). Defaults to 0.5. */
  backoff?: number;
  /** Smallest rate. Defaults to learningRate / 16 (four halvings). */
  minRate?: number;
}

/** A block's statistic: mean log loss, and half the sum of its squared successive differences. */
export interface BlockStat {
  readonly mean: number;
  readonly ss: number;
}

/** The guard's state (plain data: it can be checkpointed). */
export interface GuardState {
  readonly options: Readonly<Required<GuardOptions>>;
  /** The rate to step with. */
  readonly rate: number;
  /** The best block's mean log loss so far (null before the first block is complete). */
  readonly best: number | null;
  /** Within-block squared deviations of log loss, summed over the blocks so far, and their degrees of freedom. */
  readonly ss: number;
  readonly df: number;
  /** Log losses of the block being filled. */
  readonly pending: readonly number[];
  readonly rollbacks: number;
}

export type GuardAction = 'hold' | 'best' | 'rollback';

/** What {@link guardStep} returns. */
export interface GuardDecision {
  state: GuardState;
  action: GuardAction;
  /** With a block just completed: its statistic. */
  block?: BlockStat;
}

/** A fresh guard; RangeError naming a bad option. */
export function initGuard(o: GuardOptions): GuardState {
  const lr = o.learningRate;
  const options: Required<GuardOptions> = {
    learningRate: lr, block: o.block ?? 5, rise: o.rise ?? 0.5, z: o.z ?? 4, backoff: o.backoff ?? 0.5, minRate: o.minRate ?? lr / 16,
  };
  const bad = (name: keyof GuardOptions, ok: boolean): void => {
    if (!ok) throw new RangeError(`step guard: option '${name}' is out of range, got ${String(options[name])}`);
  };
  bad('learningRate', lr > 0 && Number.isFinite(lr));
  bad('block', Number.isInteger(options.block) && options.block >= 3);
  bad('rise', options.rise > 0 && Number.isFinite(options.rise));
  bad('z', options.z >= 0 && Number.isFinite(options.z));
  bad('backoff', options.backoff > 0 && options.backoff < 1);
  bad('minRate', options.minRate > 0 && options.minRate <= lr);
  return { options: Object.freeze(options), rate: lr, best: null, ss: 0, df: 0, pending: [], rollbacks: 0 };
}

/** Mean, and ½ Σ (x[i+1] - x[i])²: its expectation is (n - 1) σ² for independent noise, and a trend inside the block hardly adds to it. */
export function blockStat(xs: readonly number[]): BlockStat {
  let ss = 0;
  for (let i = 1; i < xs.length; i++) ss += 0.5 * (xs[i] - xs[i - 1]) ** 2;
  return { mean: xs.reduce((a, x) => a + x, 0) / xs.length, ss };
}

/** The pooled within-block standard deviation of log loss (0 before a block is complete). */
export function guardNoise(s: Pick<GuardState, 'ss' | 'df'>): number {
  return s.df > 0 ? Math.sqrt(s.ss / s.df) : 0;
}

/** The decision after a step whose loss is `loss` (module comment). */
export function guardStep(s: GuardState, loss: number): GuardDecision {
  const o = s.options;
  const rollbackFrom = (t: GuardState): GuardDecision => {
    // At the floor there is nothing left to back off to: watch only (rolling back forever would spend the budget on nothing).
    if (t.rate <= o.minRate) return { state: { ...t, pending: [] }, action: 'hold' };
    return { state: { ...t, rate: Math.max(o.minRate, t.rate * o.backoff), pending: [], rollbacks: t.rollbacks + 1 }, action: 'rollback' };
  };
  if (!(Number.isFinite(loss) && loss > 0)) return loss === 0 ? { state: s, action: 'hold' } : rollbackFrom(s);
  const pending = [...s.pending, Math.log(loss)];
  if (pending.length < o.block) return { state: { ...s, pending }, action: 'hold' };
  const block = blockStat(pending);
  const next = { ...s, ss: s.ss + block.ss, df: s.df + o.block - 1, pending: [] };
  if (s.best === null || block.mean < s.best) return { state: { ...next, best: block.mean }, action: 'best', block };
  const limit = Math.max(Math.log1p(o.rise), o.z * guardNoise(next) * Math.sqrt(2 / o.block));
  if (block.mean - s.best > limit) return { ...rollbackFrom(next), block };
  return { state: next, action: 'hold', block };
}
