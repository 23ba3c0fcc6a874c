/**
 * NARMA10, the tenth-order nonlinear autoregressive moving average task of Atiya & Parlos (2000),
 * "New results on recurrent network training: unifying the algorithms and accelerating
 * convergence", IEEE Trans. Neural Networks 11(3), 697-709:
 *
 *   y(t+1) = 0.3 y(t) + 0.05 y(t) * sum_{i=0..9} y(t-i) + 1.5 u(t-9) u(t) + 0.1,   u(t) ~ U[0, 0.5]
 *
 * Alignment (the common reservoir-computing convention): the returned arrays satisfy
 * `y[t] = y(t+1)`, i.e. `y[t]` is the value the model must output after having seen
 * `u[0..t]`; in array terms, for every t
 *
 *   y[t] = 0.3 y[t-1] + 0.05 y[t-1] * sum_{i=0..9} y[t-1-i] + 1.5 u[t-9] u[t] + 0.1.
 *
 * Initial conditions are zero (u and y are 0 before the first computed step), and the first
 * `burnIn` computed steps are discarded, so the recurrence above holds on the returned arrays for
 * t >= 10 and its earlier terms refer to discarded steps.
 *
 * Divergence: for some input draws NARMA10 blows up (y grows without bound). A draw whose |y|
 * exceeds `divergenceBound` (or turns non-finite) anywhere, burn-in included, is rejected and the
 * whole input is re-drawn from a fresh forked stream (`onDivergence: 'redraw'`, the default), so
 * the returned data always satisfy the exact recurrence; `'throw'` raises instead.
 *
 * ```ts
 * const { u, y } = narma10(2000, {}, { seed: 1 }); // train a readout to map u[0..t] to y[t]
 * ```
 */
import { Rng, checkSeed } from '../core/rng.js';
import { checkInt, checkKeys, checkNumber } from '../core/validate.js';

/** NARMA10 options. */
export interface Narma10Params {
  /** Computed steps discarded before the returned window. Defaults to 200. */
  burnIn?: number;
  /** Lower end of the uniform input range. Defaults to 0. */
  inputLow?: number;
  /** Upper end of the uniform input range (u ~ U[inputLow, inputHigh)). Defaults to 0.5. */
  inputHigh?: number;
  /** A draw with |y| above this bound, or a non-finite y, counts as diverged. Defaults to 10. */
  divergenceBound?: number;
  /** On divergence, re-draw the input from a forked stream, or throw. Defaults to 'redraw'. */
  onDivergence?: 'redraw' | 'throw';
  /** Re-draws allowed before giving up with an Error. Defaults to 100. */
  maxRedraws?: number;
}

/** The defaults applied to every field of {@link Narma10Params}. */
export const narma10Defaults: Readonly<Required<Narma10Params>> = Object.freeze({
  burnIn: 200,
  inputLow: 0,
  inputHigh: 0.5,
  divergenceBound: 10,
  onDivergence: 'redraw',
  maxRedraws: 100,
});

/** A NARMA10 series: inputs `u` and targets `y`, `y[t] = y(t+1)` (see the module comment). */
export interface Narma10Data {
  u: Float64Array;
  y: Float64Array;
  /** How many input draws diverged and were replaced (0 for almost every seed). */
  redraws: number;
}

/** Result of {@link narma10Response}. */
export interface Narma10Response {
  /** Targets, `y[t] = y(t+1)`; filled up to (and including) `divergedAt` when it is >= 0. */
  y: Float64Array;
  /** First index whose |y| exceeded the bound or was non-finite; -1 if none did. */
  divergedAt: number;
}

/**
 * The NARMA10 response to an explicit input sequence, from zero initial conditions, with no
 * burn-in and no randomness: `y[t] = 0.3 y[t-1] + 0.05 y[t-1] sum_{i=0..9} y[t-1-i]
 * + 1.5 u[t-9] u[t] + 0.1`, terms with a negative index being 0. Stops at the first |y| above
 * `divergenceBound`.
 */
export function narma10Response(u: ArrayLike<number>, divergenceBound = Infinity): Narma10Response {
  const n = u.length;
  const y = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    const prev = t >= 1 ? y[t - 1] : 0;
    let sum = 0;
    for (let i = 0; i <= 9; i++) if (t - 1 - i >= 0) sum += y[t - 1 - i];
    const lagged = t >= 9 ? u[t - 9] : 0;
    const next = 0.3 * prev + 0.05 * prev * sum + 1.5 * lagged * u[t] + 0.1;
    y[t] = next;
    if (!Number.isFinite(next) || Math.abs(next) > divergenceBound) return { y, divergedAt: t };
  }
  return { y, divergedAt: -1 };
}

function resolve(params: Narma10Params): Required<Narma10Params> {
  checkKeys(params, Object.keys(narma10Defaults), 'narma10');
  const p = { ...narma10Defaults, ...params };
  checkInt(p.burnIn, 'burnIn', 0);
  checkNumber(p.inputLow, 'inputLow');
  checkNumber(p.inputHigh, 'inputHigh', { gt: p.inputLow });
  checkNumber(p.divergenceBound, 'divergenceBound', { gt: 0, allowInfinity: true });
  if (p.onDivergence !== 'redraw' && p.onDivergence !== 'throw') {
    throw new RangeError(`onDivergence must be 'redraw' or 'throw', got ${String(p.onDivergence)}`);
  }
  checkInt(p.maxRedraws, 'maxRedraws', 0);
  return p;
}

/**
 * Generates `n` NARMA10 steps (inputs u ~ U[inputLow, inputHigh), targets y[t] = y(t+1)), after
 * discarding `burnIn` steps. Deterministic in `seed`; the first draw uses the stream
 * `Rng(seed).fork('narma10')`, re-draw k uses `fork('narma10/redraw/k')`.
 */
export function narma10(n: number, params: Narma10Params = {}, { seed }: { seed: number }): Narma10Data {
  checkInt(n, 'n', 1);
  checkSeed(seed);
  const p = resolve(params);
  const root = new Rng(seed);
  const total = p.burnIn + n;
  for (let attempt = 0; attempt <= p.maxRedraws; attempt++) {
    const rng = root.fork(attempt === 0 ? 'narma10' : `narma10/redraw/${attempt}`);
    const u = new Float64Array(total);
    for (let t = 0; t < total; t++) u[t] = rng.range(p.inputLow, p.inputHigh);
    const { y, divergedAt } = narma10Response(u, p.divergenceBound);
    if (divergedAt < 0) return { u: u.slice(p.burnIn), y: y.slice(p.burnIn), redraws: attempt };
    if (p.onDivergence === 'throw') {
      throw new Error(`narma10 diverged at step ${divergedAt} (|y| > divergenceBound = ${p.divergenceBound}) for seed ${seed}`);
    }
  }
  throw new Error(`narma10 diverged on all ${p.maxRedraws + 1} draws (maxRedraws = ${p.maxRedraws}); narrow the input range`);
}
