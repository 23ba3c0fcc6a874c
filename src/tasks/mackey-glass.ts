/**
 * The Mackey-Glass delay differential equation (Mackey & Glass 1977, "Oscillation and chaos in
 * physiological control systems", Science 197(4300), 287-289), in the form used for reservoir
 * benchmarks (e.g. Jaeger & Haas 2004, Science 304, 78-80):
 *
 *   dx/dt = beta x(t - tau) / (1 + x(t - tau)^n) - gamma x(t),
 *
 * with tau = 17, beta = 0.2, gamma = 0.1, n = 10 (chaotic). Integration is classical RK4 with
 * step `h` (0.1 by default); the delayed term at the RK4 stage times t, t + h/2, t + h is
 * linearly interpolated between the stored grid values x(t - tau). The history on [-tau, 0] is
 * `x0 + perturbation * (U[0,1) - 1/2)` at each grid point (constant `x0` when `perturbation` is
 * 0); the series is sampled every `sampleStep` time units and the first `burnIn` samples are
 * discarded.
 *
 * ```ts
 * const x = mackeyGlass(2000, {}, { seed: 3 });
 * const { input, target } = oneStepDataset(x); // input x(t), target x(t+1)
 * ```
 */
import { Rng, checkSeed } from '../core/rng.js';
import { checkInt, checkKeys, checkNumber } from '../core/validate.js';

/** Mackey-Glass options. */
export interface MackeyGlassParams {
  /** Delay tau. Defaults to 17. */
  tau?: number;
  /** Production rate beta (the numerator's factor, "a" in some texts). Defaults to 0.2. */
  beta?: number;
  /** Decay rate gamma ("b" in some texts). Defaults to 0.1. */
  gamma?: number;
  /** Hill exponent n. Defaults to 10. */
  exponent?: number;
  /** RK4 step h; `sampleStep / h` must be an integer. Defaults to 0.1. */
  h?: number;
  /** Time between returned samples. Defaults to 1. */
  sampleStep?: number;
  /** Constant part of the initial history on [-tau, 0]. Defaults to 1.2. */
  x0?: number;
  /** Width of the seeded uniform perturbation added to each history point. Defaults to 0.2. */
  perturbation?: number;
  /** Samples discarded before the returned window. Defaults to 300. */
  burnIn?: number;
}

/** The defaults applied to every field of {@link MackeyGlassParams}. */
export const mackeyGlassDefaults: Readonly<Required<MackeyGlassParams>> = Object.freeze({
  tau: 17,
  beta: 0.2,
  gamma: 0.1,
  exponent: 10,
  h: 0.1,
  sampleStep: 1,
  x0: 1.2,
  perturbation: 0.2,
  burnIn: 300,
});

function resolve(params: MackeyGlassParams): Required<MackeyGlassParams> & { stepsPerSample: number } {
  checkKeys(params, Object.keys(mackeyGlassDefaults), 'mackey-glass');
  const p = { ...mackeyGlassDefaults, ...params };
  checkNumber(p.h, 'h', { gt: 0, max: 1 });
  checkNumber(p.tau, 'tau', { min: p.h });
  checkNumber(p.beta, 'beta', { min: 0 });
  checkNumber(p.gamma, 'gamma', { min: 0 });
  checkNumber(p.exponent, 'exponent', { gt: 0 });
  checkNumber(p.sampleStep, 'sampleStep', { gt: 0 });
  const ratio = p.sampleStep / p.h;
  const stepsPerSample = Math.round(ratio);
  if (stepsPerSample < 1 || Math.abs(ratio - stepsPerSample) > 1e-9 * ratio) {
    throw new RangeError(`h must divide sampleStep into a whole number of steps, got h = ${p.h}, sampleStep = ${p.sampleStep}`);
  }
  checkNumber(p.x0, 'x0', { gt: 0 });
  checkNumber(p.perturbation, 'perturbation', { min: 0, max: 2 * p.x0 });
  checkInt(p.burnIn, 'burnIn', 0);
  return { ...p, stepsPerSample };
}

/**
 * `n` samples of the Mackey-Glass series after `burnIn` discarded samples (see the module
 * comment). Deterministic in `seed`, which only shapes the initial history (stream
 * `Rng(seed).fork('mackey-glass')`); with `perturbation: 0` the series does not depend on it.
 */
export function mackeyGlass(n: number, params: MackeyGlassParams = {}, { seed }: { seed: number }): Float64Array {
  checkInt(n, 'n', 1);
  checkSeed(seed);
  const p = resolve(params);
  const { h, beta, gamma, exponent, stepsPerSample } = p;
  const delaySteps = p.tau / h; // D, the delay in grid steps (need not be whole)
  const H = Math.ceil(delaySteps) + 1; // history points before and including t = 0
  const samples = p.burnIn + n;
  const steps = samples * stepsPerSample;
  // buf[H - 1 + k] = x(k h) for k >= -(H - 1); buf[0 .. H - 1] is the initial history.
  const buf = new Float64Array(H + steps);
  const rng = new Rng(seed).fork('mackey-glass');
  for (let i = 0; i < H; i++) buf[i] = p.x0 + p.perturbation * (rng.uniform() - 0.5);

  /** x at grid position q (fractional), i.e. time (q - (H - 1)) h, linearly interpolated. */
  const at = (q: number): number => {
    const i0 = Math.floor(q);
    const frac = q - i0;
    return frac === 0 ? buf[i0] : buf[i0] + frac * (buf[i0 + 1] - buf[i0]);
  };
  const f = (x: number, xd: number): number => (beta * xd) / (1 + xd ** exponent) - gamma * x;

  const out = new Float64Array(n);
  let x = buf[H - 1];
  for (let k = 0; k < steps; k++) {
    const base = H - 1 + k - delaySteps; // grid position of x(t - tau) at t = k h
    const d0 = at(base);
    const dh = at(base + 0.5);
    const d1 = at(base + 1);
    const k1 = f(x, d0);
    const k2 = f(x + 0.5 * h * k1, dh);
    const k3 = f(x + 0.5 * h * k2, dh);
    const k4 = f(x + h * k3, d1);
    x += (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4);
    buf[H + k] = x;
    const sample = (k + 1) / stepsPerSample - 1; // sample j is x((j + 1) sampleStep)
    if (Number.isInteger(sample) && sample >= p.burnIn) out[sample - p.burnIn] = x;
  }
  return out;
}

/** One-step-ahead pairs from a series x of length m: `input[t] = x(t)`, `target[t] = x(t+1)`, t < m - 1. */
export function oneStepDataset(series: Float64Array): { input: Float64Array; target: Float64Array } {
  if (series.length < 2) throw new RangeError(`series must have at least 2 samples, got ${series.length}`);
  return { input: series.slice(0, -1), target: series.slice(1) };
}

/**
 * Multi-step pairs with horizon k from a series x of length m: `input[t] = x(t)` and the
 * row-major target row `targets[t * k + j] = x(t + j + 1)` for j = 0..k-1 (so column k-1 is the
 * horizon-k target), t < m - k. k = 1 is {@link oneStepDataset}.
 */
export function multiStepDataset(series: Float64Array, horizon: number): { input: Float64Array; targets: Float64Array; horizon: number } {
  checkInt(horizon, 'horizon', 1);
  const rows = series.length - horizon;
  if (rows < 1) throw new RangeError(`series must be longer than horizon = ${horizon}, got ${series.length} samples`);
  const targets = new Float64Array(rows * horizon);
  for (let t = 0; t < rows; t++) for (let j = 0; j < horizon; j++) targets[t * horizon + j] = series[t + j + 1];
  return { input: series.slice(0, rows), targets, horizon };
}
