/**
 * The exact-gradient oracle of a simulated device: the vector-Jacobian product of the episode map
 * of a model's float64 twin (src/sim/model.ts ReservoirTwin), in the same units as the trainers use:
 *
 *     drives a ∈ [-1, 1]^(T × inChannels)  ─►  responses r ∈ [0, 1]^(T × outChannels)
 *     u = inMin + (a + 1)/2 (inMax - inMin)      (toDeviceUnits without rounding)
 *     r = (y - outMin) / (outMax - outMin)       (fromDeviceUnits)
 *
 * starting from the twin's rest state (every measured segment starts with resetState()). With an
 * output latency of L steps, response row t is twin output t - L; rows t < L show the rest state
 * and do not depend on the drives (zero gradient; see {@link TwinGradient.respond}).
 *
 * The VJP gᵀ = dyᵀ ∂r/∂a is computed by a reverse (adjoint) sweep over the stored twin states:
 *
 *     λ_K = 0;  for k = K-1 … 0:  [λ_k ; g_k] = [∂(s_{k+1}, o_k)/∂(s_k, a_k)]ᵀ [λ_{k+1} ; dy_{k+L}]
 *
 * Each step's contraction comes from one of two methods (TwinGradientOptions.method):
 * - 'analytic' (the default when the twin has ReservoirTwin.stepVjp): the twin's exact step VJP in
 *   device units, chained with the affine scaling (∂u/∂a = inSpan/2, ∂r/∂y = 1/outSpan). About one
 *   forward step per time step, so it scales to hundreds of states and channels, where
 * - 'fd' (the fallback for a twin without stepVjp, and the reference the tests compare against)
 *   takes the Jacobian columns by central differences of the twin's `step` (relative step `h`,
 *   default 1e-6): 2 (stateSize + inChannels) twin steps per time step (sim analog with 200 nodes
 *   and 200 channels: 800 steps of 40k multiply-adds each, per time step). Accuracy ~1e-8 relative
 *   on smooth twins (truncation h², rounding 2⁻⁵²/h).
 * Memory T × stateSize. At a clip boundary (a drive exactly at ±1, an output at a rail) the central
 * difference gives the mean of the one-sided slopes, and stepVjp is specified to give the same.
 *
 * {@link TwinGradient} implements DeviceSurrogate, so `physicalLayer(oracle, measured)` backpropagates
 * through the exact twin derivative (its vjpSeq reads tensors with dataSync and never calls tf.grad).
 * The device must be a simulator whose model (profile, options, seed) is known: see
 * {@link twinForDevice}. Benchmarks only: a real device has no twin.
 *
 * ```ts
 * const { model } = openSimLink('analog', { seed: 1 });      // or createModel('analog', {}, 1)
 * const oracle = new TwinGradient({ model });
 * const g = oracle.vjp(drives, dy);                           // Float64Array [T * inChannels]
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import type { Device } from '../device/device.js';
import type { Info } from '../protocol/messages.js';
import type { ReservoirModel, ReservoirTwin } from '../core/reservoir.js';
import type { DeviceSurrogate } from '../surrogate/narx.js';
import { channelErrors } from '../core/metrics.js';

/** Device ranges of the episode map (INFO fields); default: the model's inRange and outRange. */
export type TwinScaling = Pick<Info, 'inMin' | 'inMax' | 'outMin' | 'outMax'>;

/** Options of {@link TwinGradient}. */
export interface TwinGradientOptions {
  /** The simulated model (the same profile, options and seed as the device). */
  model: ReservoirModel;
  /** Ranges used by toDeviceUnits / fromDeviceUnits. Defaults to the model's ranges. */
  scaling?: TwinScaling;
  /** Output latency in steps. Defaults to the model's `options.latencySamples`, else 0. */
  latency?: number;
  /** Relative finite-difference step of the step Jacobians (method 'fd' only). Defaults to 1e-6. */
  h?: number;
  /**
   * How each step's Jacobian is contracted (see the module comment): 'analytic' needs the twin's
   * stepVjp (TypeError without it), 'fd' works for any twin. Defaults to 'analytic' when the twin
   * has stepVjp, else 'fd'.
   */
  method?: 'analytic' | 'fd';
}

export class TwinGradient implements DeviceSurrogate {
  readonly twin: ReservoirTwin;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly latency: number;
  readonly h: number;
  readonly method: 'analytic' | 'fd';
  private readonly inMin: number;
  private readonly inSpan: number;
  private readonly outMin: number;
  private readonly outSpan: number;
  private readonly u: Float64Array;
  private readonly dyDev: Float64Array;

  constructor(opts: TwinGradientOptions) {
    this.twin = opts.model.twin();
    this.inChannels = this.twin.inChannels;
    this.outChannels = this.twin.outChannels;
    const s = opts.scaling ?? { inMin: opts.model.inRange[0], inMax: opts.model.inRange[1], outMin: opts.model.outRange[0], outMax: opts.model.outRange[1] };
    this.inMin = s.inMin;
    this.inSpan = s.inMax - s.inMin;
    this.outMin = s.outMin;
    this.outSpan = s.outMax - s.outMin;
    if (!(this.inSpan > 0) || !(this.outSpan > 0)) throw new RangeError('scaling ranges must be non-empty');
    const lat = opts.latency ?? (opts.model as { options?: { latencySamples?: number } }).options?.latencySamples ?? 0;
    if (!Number.isInteger(lat) || lat < 0) throw new RangeError(`latency must be an integer >= 0, got ${String(lat)}`);
    this.latency = lat;
    this.h = opts.h ?? 1e-6;
    if (!(this.h > 0 && this.h < 0.1)) throw new RangeError(`h must be in (0, 0.1), got ${String(opts.h)}`);
    this.u = new Float64Array(this.inChannels);
    this.dyDev = new Float64Array(this.outChannels);
    const m = opts.method ?? (this.twin.stepVjp ? 'analytic' : 'fd');
    if (m !== 'analytic' && m !== 'fd') throw new RangeError(`method must be 'analytic' or 'fd', got ${String(m)}`);
    if (m === 'analytic' && !this.twin.stepVjp) throw new TypeError(`method 'analytic' needs a twin with stepVjp; the ${opts.model.name} twin has none`);
    this.method = m;
  }

  /** One twin step in normalised units: drives a [inChannels] → next state and scaled output. */
  stepNorm(state: Float64Array, a: ArrayLike<number>): { state: Float64Array; output: Float64Array } {
    const u = this.u;
    for (let c = 0; c < this.inChannels; c++) u[c] = this.inMin + ((a[c] + 1) / 2) * this.inSpan;
    const st = this.twin.step(state, u);
    const o = st.output;
    for (let i = 0; i < o.length; i++) o[i] = (o[i] - this.outMin) / this.outSpan;
    return st;
  }

  private steps(drives: ArrayLike<number>): number {
    const t = drives.length / this.inChannels;
    if (!Number.isInteger(t) || t < 1) throw new RangeError(`drives must hold a positive multiple of ${this.inChannels} values`);
    return t;
  }

  /**
   * The twin's scaled responses to `drives` (from rest): Float64Array [T * outChannels]. With a
   * latency L the first L rows are the scaled output of the rest state stepped with a = 0 (the
   * model's rest output is not exposed by the twin; these rows do not depend on the drives).
   */
  respond(drives: ArrayLike<number>): Float64Array {
    const T = this.steps(drives), ci = this.inChannels, co = this.outChannels, L = this.latency;
    const out = new Float64Array(T * co);
    let s = this.twin.init();
    if (L > 0) {
      const rest = this.stepNorm(this.twin.init(), new Float64Array(ci)).output;
      for (let t = 0; t < Math.min(L, T); t++) out.set(rest, t * co);
    }
    for (let k = 0; k + L < T; k++) {
      const st = this.stepNorm(s, sub(drives, k * ci, ci));
      out.set(st.output, (k + L) * co);
      s = st.state;
    }
    return out;
  }

  /**
   * dyᵀ ∂r/∂a at `drives` by the adjoint sweep (see the module comment).
   * @param drives [T * inChannels] in [-1, 1]
   * @param dy [T * outChannels], the upstream gradient dL/dr
   * @returns Float64Array [T * inChannels]
   */
  vjp(drives: ArrayLike<number>, dy: ArrayLike<number>): Float64Array {
    const T = this.steps(drives), ci = this.inChannels, co = this.outChannels, L = this.latency;
    if (dy.length !== T * co) throw new RangeError(`dy must hold ${T * co} values, got ${dy.length}`);
    const K = Math.max(0, T - L);
    const n = this.twin.stateSize;
    const states: Float64Array[] = [];
    let s = this.twin.init();
    for (let k = 0; k < K; k++) {
      states.push(s);
      s = this.stepNorm(s, sub(drives, k * ci, ci)).state;
    }
    if (this.method === 'analytic') return this.vjpAnalytic(drives, dy, states);
    const g = new Float64Array(T * ci);
    let lambda = new Float64Array(n);
    let lambdaZero = true;
    const a = new Float64Array(ci);
    for (let k = K - 1; k >= 0; k--) {
      const dyk = sub(dy, (k + L) * co, co);
      const dyZero = allZero(dyk);
      if (dyZero && lambdaZero) continue; // nothing downstream of step k: zero gradient
      const sk = Float64Array.from(states[k]);
      for (let c = 0; c < ci; c++) a[c] = drives[k * ci + c];
      // Directional derivative of the step along one coordinate, contracted with (λ, dy_k).
      const contract = (bump: (sign: number) => void, hj: number): number => {
        bump(+1);
        const p = this.stepNorm(sk, a);
        bump(-1);
        const m = this.stepNorm(sk, a);
        bump(0);
        let v = 0;
        if (!lambdaZero) for (let i = 0; i < n; i++) v += lambda[i] * (p.state[i] - m.state[i]);
        if (!dyZero) for (let i = 0; i < co; i++) v += dyk[i] * (p.output[i] - m.output[i]);
        return v / (2 * hj);
      };
      for (let c = 0; c < ci; c++) {
        const hj = this.h, a0 = a[c];
        g[k * ci + c] = contract((sg) => { a[c] = a0 + sg * hj; }, hj);
      }
      const next = new Float64Array(n);
      for (let j = 0; j < n; j++) {
        const x0 = sk[j], hj = this.h * Math.max(1, Math.abs(x0));
        next[j] = contract((sg) => { sk[j] = x0 + sg * hj; }, hj);
      }
      lambda = next;
      lambdaZero = next.every((v) => v === 0);
    }
    return g;
  }

  /**
   * The twin's stepVjp in normalised units (method 'analytic' only): `dy` is the cotangent of the
   * scaled output r, `lambda` that of the next twin state (twin units, as the sweep carries it);
   * returns the cotangents of the state and of the drives a (written to `dA` [inChannels]).
   * `null` means zero (see ReservoirTwin.stepVjp). The drives go to device units exactly as
   * stepNorm converts them, so the twin's clip tests see the same values as its step.
   */
  stepVjpNorm(state: Float64Array, a: ArrayLike<number>, lambda: Float64Array | null, dy: ArrayLike<number> | null, dA: Float64Array): Float64Array {
    const twin = this.twin;
    if (!twin.stepVjp) throw new TypeError('stepVjpNorm needs a twin with stepVjp');
    const ci = this.inChannels, co = this.outChannels, u = this.u;
    for (let c = 0; c < ci; c++) u[c] = this.inMin + ((a[c] + 1) / 2) * this.inSpan;
    let dyDev: Float64Array | null = null;
    if (dy) {
      dyDev = this.dyDev;
      for (let i = 0; i < co; i++) dyDev[i] = dy[i] / this.outSpan;
    }
    const r = twin.stepVjp(state, u, lambda, dyDev);
    const du = this.inSpan / 2;
    for (let c = 0; c < ci; c++) dA[c] = r.dInput[c] * du;
    return r.dState;
  }

  /** The adjoint sweep of {@link vjp} with the twin's stepVjp; `states[k]` is the twin state before step k. */
  private vjpAnalytic(drives: ArrayLike<number>, dy: ArrayLike<number>, states: Float64Array[]): Float64Array {
    const ci = this.inChannels, co = this.outChannels, L = this.latency, K = states.length;
    const g = new Float64Array(drives.length);
    let lambda: Float64Array | null = null;
    for (let k = K - 1; k >= 0; k--) {
      const dyk = sub(dy, (k + L) * co, co);
      const dyZero = allZero(dyk);
      if (dyZero && lambda === null) continue; // nothing downstream of step k: zero gradient
      const dState = this.stepVjpNorm(states[k], sub(drives, k * ci, ci), lambda, dyZero ? null : dyk, g.subarray(k * ci, (k + 1) * ci));
      lambda = dState.some((v) => v !== 0) ? dState : null;
    }
    return g;
  }

  /** DeviceSurrogate: {@link vjp} on tensors (drives [T, inChannels], dy [T, outChannels]); ctx is ignored (segments start from rest). */
  vjpSeq(drives: tf.Tensor2D, dy: tf.Tensor2D): tf.Tensor2D {
    const g = this.vjp(drives.dataSync(), dy.dataSync());
    return tf.tensor2d(Float32Array.from(g), [drives.shape[0], this.inChannels]);
  }
}

/**
 * dyᵀ ∂r/∂a by brute force: central differences of the whole episode map, one drive at a time
 * (re-running the twin from that step on), O(T² · inChannels) steps. For tests on tiny episodes.
 */
export function bruteForceTwinVjp(oracle: TwinGradient, drives: ArrayLike<number>, dy: ArrayLike<number>, eps = 1e-6): Float64Array {
  const ci = oracle.inChannels, co = oracle.outChannels, L = oracle.latency;
  const T = drives.length / ci;
  const g = new Float64Array(T * ci);
  const states: Float64Array[] = [];
  let s = oracle.twin.init();
  for (let k = 0; k < T; k++) {
    states.push(s);
    s = oracle.stepNorm(s, sub(drives, k * ci, ci)).state;
  }
  const a = Float64Array.from(drives);
  const tail = (k: number): Float64Array => {
    // Responses of rows k+L … T-1 from state k with the (perturbed) drives.
    const out = new Float64Array(Math.max(0, T - L - k) * co);
    let st = states[k];
    for (let j = k; j + L < T; j++) {
      const r = oracle.stepNorm(st, sub(a, j * ci, ci));
      out.set(r.output, (j - k) * co);
      st = r.state;
    }
    return out;
  };
  for (let k = 0; k + L < T; k++) {
    for (let c = 0; c < ci; c++) {
      const i = k * ci + c, x0 = a[i];
      a[i] = x0 + eps;
      const p = tail(k);
      a[i] = x0 - eps;
      const m = tail(k);
      a[i] = x0;
      let v = 0;
      for (let q = 0; q < p.length; q++) v += dy[(k + L) * co + q] * (p[q] - m[q]);
      g[i] = v / (2 * eps);
    }
  }
  return g;
}

/** Where the oracle's model comes from when it is not the device's own twin. */
export interface TwinSource {
  /** The model itself (wins over the device's twin). */
  model?: ReservoirModel;
}

/**
 * The model behind a simulated device: `src.model`, else the twin whoever opened the simulator
 * handed over with it (Device.twin). A real device has none: TypeError.
 */
export function twinModelFor(device: Pick<Device, 'twin'> | undefined, src: TwinSource = {}): ReservoirModel {
  const model = src.model ?? device?.twin;
  if (!model) throw new TypeError('the oracle needs a simulated device (sim:<profile>) or `model`: a real device has no twin');
  return model;
}

/** NMSE of the twin's responses against measured ones (mean over channels of MSE / variance); the twin-matches-device check. */
export function twinMismatch(oracle: TwinGradient, drives: ArrayLike<number>, measured: ArrayLike<number>): number {
  const p = oracle.respond(drives), co = oracle.outChannels;
  const { se, ss } = channelErrors(p, sub(measured, 0, p.length), co);
  let total = 0, used = 0;
  for (let c = 0; c < co; c++) if (ss[c] > 0) { total += se[c] / ss[c]; used++; }
  return used ? total / used : 0;
}

/** Whether every value of `a` is 0: a cotangent row with nothing to propagate. */
export function allZero(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) return false;
  return true;
}

function sub(a: ArrayLike<number>, from: number, n: number): ArrayLike<number> {
  return (a as Float64Array).subarray ? (a as Float64Array).subarray(from, from + n) : Array.prototype.slice.call(a, from, from + n);
}
