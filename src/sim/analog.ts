/**
 * Analog electronics board: a delay-based reservoir with one Mackey-Glass nonlinear node,
 * time-multiplexed into N virtual nodes by a random input mask (Appeltant et al., "Information
 * processing using a single dynamical node as complex system", Nat. Commun. 2, 468, 2011).
 *
 * Continuous form (time in units of the node's response time T):
 *   dx/dt = -x(t) + f(x(t - tau) + gamma J(t)),   f(a) = eta a / (1 + |a|^p),
 * with the delay tau = N theta and the masked input J(t) = sum_c M[i][c] s_c(k) held constant over
 * the i-th node interval of length theta. Integrating exactly over one interval (drive held
 * constant) gives the standard virtual-node coupling used here, for step k and node i = 0..N-1:
 *   x_i(k) = e^(-theta) x_{i-1}(k) + (1 - e^(-theta)) f(x_i(k-1) + gamma J_i(k)),
 *   x_{-1}(k) := x_{N-1}(k-1)          (the loop closes on the previous step's last node),
 *   J_i(k)    = sum_c M[i][c] s_c(k),   s_c = 2 d_c / (2^dacBits - 1) - 1  in [-1, 1],
 * where d_c is the DAC code (the drive clipped to [0, 2^dacBits - 1] and rounded) and the mask
 * M[i][c] is uniform in [-1, 1] (Appeltant used a binary mask; a uniform one gives more diverse
 * nodes). Since |f'| <= eta for p in [1, 2], eta < 1 makes the map a contraction (fading memory).
 *
 * Read-out: every virtual node goes to one ADC channel, with slow linear drift and read noise:
 *   y_i = round(mid + mid g(t) x_i / fullScale + o(t) + sigma n),  n ~ N(0, 1),  mid = (2^adcBits - 1)/2,
 *   g(t) = 1 + gainDriftPerHour t_h,  o(t) = offsetDriftPerHour t_h,
 * clipped to the rails [0, 2^adcBits - 1] (status bit 2). t_h is device time in hours; it advances
 * by samplePeriodNs per step and by advanceTime(ns).
 */
import { Rng, checkSeed } from '../core/rng.js';
import {
  DelayLine, type ReservoirModel, type ReservoirTwin, STATUS_INPUT_CLIPPED, STATUS_OUTPUT_SATURATED,
  checkBuffers, clipSlope, intOption, numOption, rejectUnknown,
} from './model.js';

/** Options of the analog delay reservoir. */
export interface AnalogOptions {
  /** Number of virtual nodes N along the delay loop; each is one output channel. Defaults to 50. */
  nodes: number;
  /** Number of DAC input channels, mixed into every virtual node by the mask. Defaults to 1. */
  inChannels: number;
  /** Feedback strength eta of the Mackey-Glass nonlinearity, in (0, 2]; below 1 for fading memory. Defaults to 0.9. */
  eta: number;
  /** Input scaling gamma applied to the masked input, in [0, 10]. Defaults to 0.5. */
  gamma: number;
  /** Mackey-Glass exponent p, in [1, 20]. Defaults to 2. */
  p: number;
  /** Virtual node separation theta, in units of the node response time, in (0, 10]. Defaults to 0.2. */
  theta: number;
  /** Duration of one virtual node in ns; samplePeriodNs = nodes * nodeSeparationNs. Defaults to 200. */
  nodeSeparationNs: number;
  /** DAC resolution in bits (drive range 0..2^bits - 1), in [1, 16]. Defaults to 12. */
  dacBits: number;
  /** ADC resolution in bits (response range 0..2^bits - 1), in [1, 16]. Defaults to 12. */
  adcBits: number;
  /** Node amplitude that maps to the ADC rails (x = +-fullScale -> 2^adcBits - 1 / 0), > 0. Defaults to 1. */
  fullScale: number;
  /** Standard deviation of the additive Gaussian read noise, in ADC counts, >= 0. Defaults to 2. */
  noiseSigma: number;
  /** Read-out gain drift, as a fraction per hour of device time (g = 1 + rate t_h). Defaults to 0.002. */
  gainDriftPerHour: number;
  /** Read-out offset drift, in ADC counts per hour of device time. Defaults to 4. */
  offsetDriftPerHour: number;
  /** Output latency in steps: the ADC delivers the state of `latencySamples` steps earlier, in [0, 1024]. Defaults to 0. */
  latencySamples: number;
}

export const analogDefaults: Readonly<AnalogOptions> = Object.freeze({
  nodes: 50,
  inChannels: 1,
  eta: 0.9,
  gamma: 0.5,
  p: 2,
  theta: 0.2,
  nodeSeparationNs: 200,
  dacBits: 12,
  adcBits: 12,
  fullScale: 1,
  noiseSigma: 2,
  gainDriftPerHour: 0.002,
  offsetDriftPerHour: 4,
  latencySamples: 0,
});

const NS_PER_HOUR = 3.6e12;

/** Validates `overrides` over the defaults; RangeError naming the first bad option. */
export function resolveAnalogOptions(overrides: Partial<AnalogOptions> = {}): AnalogOptions {
  const m = 'analog';
  rejectUnknown(m, overrides, Object.keys(analogDefaults));
  const o: AnalogOptions = { ...analogDefaults, ...overrides };
  intOption(m, 'nodes', o.nodes, 1, 100000);
  intOption(m, 'inChannels', o.inChannels, 1, 1024);
  numOption(m, 'eta', o.eta, 0, 2, 'lo');
  numOption(m, 'gamma', o.gamma, 0, 10);
  numOption(m, 'p', o.p, 1, 20);
  numOption(m, 'theta', o.theta, 0, 10, 'lo');
  numOption(m, 'nodeSeparationNs', o.nodeSeparationNs, 0, 1e9, 'lo');
  intOption(m, 'dacBits', o.dacBits, 1, 16);
  intOption(m, 'adcBits', o.adcBits, 1, 16);
  numOption(m, 'fullScale', o.fullScale, 0, 1e6, 'lo');
  numOption(m, 'noiseSigma', o.noiseSigma, 0, 1e6);
  numOption(m, 'gainDriftPerHour', o.gainDriftPerHour, -1, 1);
  numOption(m, 'offsetDriftPerHour', o.offsetDriftPerHour, -1e6, 1e6);
  intOption(m, 'latencySamples', o.latencySamples, 0, 1024);
  return o;
}

/** The parameters and mask shared by the device model and its twin. */
interface AnalogCore {
  readonly n: number;
  readonly inCh: number;
  readonly eta: number;
  readonly gamma: number;
  readonly p: number;
  readonly decay: number; // e^(-theta)
  readonly mask: Float64Array; // n x inCh, row-major
}

/** |a|^p, with the common exponents without Math.pow. */
function absPow(a: number, p: number): number {
  const abs = a < 0 ? -a : a;
  return p === 2 ? a * a : p === 1 ? abs : Math.pow(abs, p);
}

/**
 * One step of the virtual-node coupling, in place: x <- x(k) from x(k-1) and the normalised drive
 * s in [-1, 1] (see the module comment for the equation).
 */
function analogUpdate(c: AnalogCore, x: Float64Array, s: Float64Array): void {
  const { n, inCh, eta, gamma, p, decay, mask } = c;
  const kin = 1 - decay;
  let prev = x[n - 1]; // x_{-1}(k) = x_{N-1}(k-1)
  for (let i = 0; i < n; i++) {
    let j = 0;
    const row = i * inCh;
    for (let ch = 0; ch < inCh; ch++) j += mask[row + ch] * s[ch];
    const a = x[i] + gamma * j;
    const f = (eta * a) / (1 + absPow(a, p));
    prev = decay * prev + kin * f;
    x[i] = prev;
  }
}

/**
 * The adjoint of {@link analogUpdate} at state x(k-1) = `x` and drive `s`, for the cotangent `mu`
 * of x(k) (added to in place): returns the cotangents of x(k-1) and of s. `outCotangent(i, x_i(k))`
 * adds the read-out's share to mu_i; it gets x(k) because the read-out's clip at the rails depends on it.
 * The chain x_i(k) = decay x_{i-1}(k) + kin f(a_i) runs forward over the nodes, so its adjoint runs
 * backward: c_i = mu_i + decay c_{i+1} is the total cotangent of x_i(k), c_i kin f'(a_i) goes to
 * x_i(k-1) and, through the mask, to s; the loop closure x_{-1}(k) = x_{N-1}(k-1) adds decay c_0 to
 * x_{N-1}(k-1). f'(a) = eta (1 + (1 - p)|a|^p) / (1 + |a|^p)^2, continuous at 0 for every p >= 1.
 */
function analogAdjoint(c: AnalogCore, x: Float64Array, s: Float64Array, mu: Float64Array, outCotangent?: (i: number, xi: number) => number): { dx: Float64Array; ds: Float64Array } {
  const { n, inCh, eta, gamma, p, decay, mask } = c;
  const kin = 1 - decay;
  // Pre-activations once (the mask sums are the cost); x(k) from them with analogUpdate's arithmetic.
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let j = 0;
    const row = i * inCh;
    for (let ch = 0; ch < inCh; ch++) j += mask[row + ch] * s[ch];
    a[i] = x[i] + gamma * j;
  }
  if (outCotangent) {
    let prev = x[n - 1];
    for (let i = 0; i < n; i++) {
      const f = (eta * a[i]) / (1 + absPow(a[i], p));
      prev = decay * prev + kin * f;
      mu[i] += outCotangent(i, prev);
    }
  }
  const dx = new Float64Array(n), ds = new Float64Array(inCh);
  let carry = 0;
  for (let i = n - 1; i >= 0; i--) {
    carry = mu[i] + decay * carry;
    if (carry === 0) continue;
    const ap = absPow(a[i], p), den = 1 + ap;
    const ga = (carry * kin * eta * (1 + (1 - p) * ap)) / (den * den);
    dx[i] += ga;
    const gs = gamma * ga, row = i * inCh;
    if (gs !== 0) for (let ch = 0; ch < inCh; ch++) ds[ch] += mask[row + ch] * gs;
  }
  dx[n - 1] += decay * carry;
  return { dx, ds };
}

/**
 * Simulated analog delay reservoir in device units (DAC/ADC codes). See the module comment for the
 * equations. `reset()` zeroes the node states and the latency line; the noise stream keeps going
 * (a real board's noise does not restart) and the drift clock keeps its time, so after a reset a
 * noisy model's outputs differ from a fresh model's by noise only.
 */
export class AnalogReservoir implements ReservoirModel {
  readonly name = 'analog' as const;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly inRange: readonly [number, number];
  readonly outRange: readonly [number, number];
  readonly samplePeriodNs: number;
  readonly options: Readonly<AnalogOptions>;
  private readonly core: AnalogCore;
  private readonly noise: Rng;
  private readonly x: Float64Array;
  private readonly s: Float64Array;
  private readonly line: DelayLine;
  private elapsedNs = 0;

  /** @param seed uint32; the mask comes from fork('mask'), the read noise from fork('noise'). */
  constructor(options: Partial<AnalogOptions> = {}, seed: number) {
    const o = resolveAnalogOptions(options);
    checkSeed(seed);
    this.options = Object.freeze(o);
    this.inChannels = o.inChannels;
    this.outChannels = o.nodes;
    this.inRange = [0, 2 ** o.dacBits - 1];
    this.outRange = [0, 2 ** o.adcBits - 1];
    this.samplePeriodNs = o.nodes * o.nodeSeparationNs;
    const rng = new Rng(seed);
    const maskRng = rng.fork('mask');
    const mask = new Float64Array(o.nodes * o.inChannels);
    for (let i = 0; i < mask.length; i++) mask[i] = maskRng.range(-1, 1);
    this.core = { n: o.nodes, inCh: o.inChannels, eta: o.eta, gamma: o.gamma, p: o.p, decay: Math.exp(-o.theta), mask };
    this.noise = rng.fork('noise');
    this.x = new Float64Array(o.nodes);
    this.s = new Float64Array(o.inChannels);
    this.line = new DelayLine(o.latencySamples, o.nodes);
  }

  /** Device time elapsed (steps plus advanceTime), in ns. Not changed by reset(). */
  get deviceTimeNs(): number {
    return this.elapsedNs;
  }

  reset(): void {
    this.x.fill(0);
    this.line.fill(this.x);
  }

  advanceTime(ns: number): void {
    if (!Number.isFinite(ns) || ns < 0) throw new RangeError(`analog: advanceTime(ns) needs a finite ns >= 0, got ${ns}`);
    this.elapsedNs += ns;
  }

  step(input: ArrayLike<number>, output: Float32Array): number {
    checkBuffers('analog', input, output, this.inChannels, this.outChannels);
    const o = this.options;
    let status = 0;
    const dMax = this.inRange[1];
    for (let c = 0; c < this.inChannels; c++) {
      let d = input[c];
      if (!(d >= 0)) { d = 0; status |= STATUS_INPUT_CLIPPED; } // also catches NaN
      else if (d > dMax) { d = dMax; status |= STATUS_INPUT_CLIPPED; }
      this.s[c] = (2 * Math.round(d)) / dMax - 1;
    }
    analogUpdate(this.core, this.x, this.s);
    this.elapsedNs += this.samplePeriodNs;
    const seen = this.line.push(this.x);

    const th = this.elapsedNs / NS_PER_HOUR;
    const yMax = this.outRange[1];
    const mid = yMax / 2;
    const k = (mid * (1 + o.gainDriftPerHour * th)) / o.fullScale;
    const off = mid + o.offsetDriftPerHour * th;
    const sigma = o.noiseSigma;
    for (let i = 0; i < this.outChannels; i++) {
      let y = off + k * seen[i];
      if (sigma > 0) y += sigma * this.noise.normal();
      y = Math.round(y);
      if (y < 0) { y = 0; status |= STATUS_OUTPUT_SATURATED; }
      else if (y > yMax) { y = yMax; status |= STATUS_OUTPUT_SATURATED; }
      output[i] = y;
    }
    return status;
  }

  /** Float twin: node states as the state, nominal (undrifted) read-out, no rounding or noise. */
  twin(): ReservoirTwin {
    const core = this.core;
    const n = core.n;
    const inCh = core.inCh;
    const dMax = this.inRange[1];
    const yMax = this.outRange[1];
    const mid = yMax / 2;
    const k = mid / this.options.fullScale;
    return {
      stateSize: n,
      inChannels: inCh,
      outChannels: n,
      init: () => new Float64Array(n),
      step: (state, input) => {
        const x = Float64Array.from(state);
        const s = new Float64Array(inCh);
        for (let c = 0; c < inCh; c++) s[c] = (2 * Math.min(Math.max(input[c], 0), dMax)) / dMax - 1;
        analogUpdate(core, x, s);
        const output = new Float64Array(n);
        for (let i = 0; i < n; i++) output[i] = Math.min(Math.max(mid + k * x[i], 0), yMax);
        return { state: x, output };
      },
      stepVjp: (state, input, lambda, dy) => {
        const s = new Float64Array(inCh), sSlope = new Float64Array(inCh);
        for (let c = 0; c < inCh; c++) {
          s[c] = (2 * Math.min(Math.max(input[c], 0), dMax)) / dMax - 1;
          sSlope[c] = (2 / dMax) * clipSlope(input[c], 0, dMax);
        }
        const mu = lambda ? Float64Array.from(lambda) : new Float64Array(n);
        const out = dy ? (i: number, xi: number) => (dy[i] === 0 ? 0 : dy[i] * k * clipSlope(mid + k * xi, 0, yMax)) : undefined;
        const { dx, ds } = analogAdjoint(core, state, s, mu, out);
        for (let c = 0; c < inCh; c++) ds[c] *= sSlope[c];
        return { dState: dx, dInput: ds };
      },
    };
  }
}
