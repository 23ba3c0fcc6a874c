/**
 * Rising-loss guard and adaptive learning rate, as a pure function of explicit state: the trainer
 * reports each step's loss (and, when it has one, a gradient-fidelity reading from spot-check.ts)
 * and gets back what to do with the step just taken and the rate for the next one.
 *
 * With r the loss of the step just taken, ref the loss of the last accepted step, and σ the loss's
 * own noise (the typical rise of log r over log ref, learnt from the losses kept: a trainer
 * whose losses come from different data windows sees rises that no step caused):
 *   - r not finite, or log(r/ref) > max(log(1 + rollbackRise), 4σ):   'rollback' (restore the
 *     parameters before the step), rate × backoff²; ref unchanged.
 *   - log(r/ref) > max(log(1 + tolerance), 2σ):                       'backoff' (keep the step),
 *     rate × backoff.
 *   - otherwise:                                                      'accept', rate × grow, up to maxRate.
 * The rate handed out is rate × trust, trust = clamp(slope - 2 SE(slope), minTrust, 1) from the
 * fidelity reading: a gradient whose device-measured slope is low, negative or uncertain gets
 * smaller steps (first order, a step -η g changes the device loss by -η slope |g|²), and a reading
 * never enlarges a step. Without a reading trust is 1.
 *
 * ```ts
 * let guard = initGuard({ learningRate: 1e-3 });
 * for (…) {
 *   const { state, action, learningRate } = guardStep(guard, loss, fidelity);
 *   guard = state;
 *   if (action === 'rollback') restore(snapshot); else snapshot = save();
 *   optimizer.learningRate = learningRate;
 * }
 * ```
 */

/** Weight of the newest rise in the noise estimate (about the last ten losses). */
const NOISE_ALPHA = 0.1;

/** Options of {@link initGuard}. */
export interface GuardOptions {
  /** Starting rate. */
  learningRate: number;
  /** Largest rate. Defaults to 10 × learningRate. */
  maxRate?: number;
  /** Smallest rate. Defaults to learningRate / 1000. */
  minRate?: number;
  /** Factor on a rising loss, in (0, 1). Defaults to 0.5. */
  backoff?: number;
  /** Factor on a falling loss, >= 1. Defaults to 1.1. */
  grow?: number;
  /** Relative rise ignored as noise (episode losses differ by their data). Defaults to 0.05. */
  tolerance?: number;
  /** Relative rise that undoes the step. Defaults to 0.5. */
  rollbackRise?: number;
  /** Smallest trust factor from a fidelity reading. Defaults to 0.1. */
  minTrust?: number;
}

/** The guard's state (plain data: it can be checkpointed). */
export interface GuardState {
  readonly options: Readonly<Required<GuardOptions>>;
  /** Rate from the loss trend alone. */
  readonly rate: number;
  /** Loss of the last accepted step (Infinity before the first). */
  readonly reference: number;
  readonly rollbacks: number;
  /** Mean square of the rises of log loss over the reference (EMA): σ² / 2 for symmetric noise. */
  readonly noise: number;
}

/** A fidelity reading: slope of device-measured on predicted directional derivatives, with its SE. */
export interface FidelityInput {
  slope: number;
  slopeSe: number;
}

export type GuardAction = 'accept' | 'backoff' | 'rollback';

/** What {@link guardStep} returns. */
export interface GuardDecision {
  state: GuardState;
  action: GuardAction;
  /** The rate for the next step (rate × trust). */
  learningRate: number;
  trust: number;
}

/** A fresh guard; RangeError naming a bad option. */
export function initGuard(o: GuardOptions): GuardState {
  const lr = o.learningRate;
  const options: Required<GuardOptions> = {
    learningRate: lr, maxRate: o.maxRate ?? 10 * lr, minRate: o.minRate ?? lr / 1000, backoff: o.backoff ?? 0.5, grow: o.grow ?? 1.1,
    tolerance: o.tolerance ?? 0.05, rollbackRise: o.rollbackRise ?? 0.5, minTrust: o.minTrust ?? 0.1,
  };
  const bad = (name: string, ok: boolean): void => { if (!ok) throw new RangeError(`step guard: option '${name}' is out of range, got ${String((options as unknown as Record<string, unknown>)[name])}`); };
  bad('learningRate', lr > 0 && Number.isFinite(lr));
  bad('minRate', options.minRate > 0 && options.minRate <= lr);
  bad('maxRate', options.maxRate >= lr && Number.isFinite(options.maxRate));
  bad('backoff', options.backoff > 0 && options.backoff < 1);
  bad('grow', options.grow >= 1 && Number.isFinite(options.grow));
  bad('tolerance', options.tolerance >= 0);
  bad('rollbackRise', options.rollbackRise > options.tolerance);
  bad('minTrust', options.minTrust > 0 && options.minTrust <= 1);
  return { options: Object.freeze(options), rate: lr, reference: Infinity, rollbacks: 0, noise: 0 };
}

/** trust = clamp(slope - 2 SE, minTrust, 1); 1 without a reading; minTrust for an unusable one. */
export function fidelityTrust(f: FidelityInput | undefined, minTrust: number): number {
  if (!f) return 1;
  const t = f.slope - 2 * (Number.isFinite(f.slopeSe) ? f.slopeSe : Infinity);
  return Number.isFinite(t) ? Math.min(1, Math.max(minTrust, t)) : minTrust;
}

/** The decision for the step whose loss is `loss` (module comment). */
export function guardStep(s: GuardState, loss: number, fidelity?: FidelityInput): GuardDecision {
  const o = s.options;
  const clampRate = (r: number): number => Math.min(o.maxRate, Math.max(o.minRate, r));
  let action: GuardAction, rate: number, reference = s.reference, rollbacks = s.rollbacks, noise = s.noise;
  const rise = Number.isFinite(loss) && Number.isFinite(s.reference) && loss > 0 && s.reference > 0 ? Math.log(loss / s.reference) : 0;
  const sigma = Math.sqrt(2 * s.noise);
  if (!Number.isFinite(loss) || rise > Math.max(Math.log1p(o.rollbackRise), 4 * sigma)) {
    action = 'rollback';
    rate = clampRate(s.rate * o.backoff * o.backoff);
    rollbacks++;
  } else if (rise > Math.max(Math.log1p(o.tolerance), 2 * sigma)) {
    action = 'backoff';
    rate = clampRate(s.rate * o.backoff);
    reference = loss;
  } else {
    action = 'accept';
    rate = clampRate(s.rate * o.grow);
    reference = loss;
  }
  // Learnt from the losses kept only (a rolled-back one may be a real divergence), capped at a factor e.
  if (action !== 'rollback') noise = (1 - NOISE_ALPHA) * noise + NOISE_ALPHA * Math.min(1, Math.max(0, rise)) ** 2;
  const trust = fidelityTrust(fidelity, o.minTrust);
  return { state: { options: o, rate, reference, rollbacks, noise }, action, learningRate: Math.max(o.minRate, rate * trust), trust };
}
