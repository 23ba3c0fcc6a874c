/**
 * Optical setup: a phase-only spatial light modulator (SLM) illuminates a random scattering medium
 * and a camera records the speckle intensity.
 *
 * Medium: a complex Gaussian transmission matrix T (outChannels x inChannels), entries with
 * independent real and imaginary parts N(0, 1 / (2 inChannels)), so E|E_m|^2 = 1.
 * For step k, with SLM code d_j (drive clipped to [0, 2^slmBits - 1] and rounded):
 *   phi_j(k) = pi ((1 - alpha) d_j / (2^slmBits - 1) + alpha r_j(k)),
 *   r_j(k)   = clip(F_{q(j)}(k-1) / (2^cameraBits - 1), 0, 1)      (feedback of the previous frame),
 *   E_m(k)   = sum_j T_mj exp(i phi_j(k)),   I_m(k) = |E_m(k)|^2,
 *   F_m(k)   = clip(round(b + S I_m + sqrt(g max(S I_m, 0)) n1 + sigma_r n2), 0, 2^cameraBits - 1),
 * where alpha is `feedback`, q a fixed random map from SLM pixels to camera pixels, S = exposure
 * (2^cameraBits - 1) the counts per unit mean intensity, b the black level, g the shot-noise factor
 * (Poisson in photoelectrons, approximated by a Gaussian with variance g * signal counts), sigma_r
 * the read noise and n1, n2 ~ N(0, 1). Outputs are non-negative integer camera counts; a count
 * above the top code is clipped (status bit 2). The frame rate sets samplePeriodNs.
 */
import { Rng, checkSeed } from '../core/rng.js';
import {
  DelayLine, type ReservoirModel, type ReservoirTwin, STATUS_INPUT_CLIPPED, STATUS_OUTPUT_SATURATED,
  checkBuffers, clipSlope, intOption, numOption, rejectUnknown,
} from './model.js';

/** Options of the optical scattering reservoir. */
export interface OpticalOptions {
  /** Number of SLM macropixels (input channels). Defaults to 64. */
  inChannels: number;
  /** Number of camera pixels read out (output channels). Defaults to 128. */
  outChannels: number;
  /** SLM drive resolution in bits: drive 0..2^bits - 1 maps to phase 0..pi, in [1, 16]. Defaults to 8. */
  slmBits: number;
  /** Camera resolution in bits (8, 10 and 12 are typical), in [1, 16]. Defaults to 8. */
  cameraBits: number;
  /** Camera frame rate in Hz; samplePeriodNs = 1e9 / frameRateHz. Defaults to 1000. */
  frameRateHz: number;
  /** Fraction alpha of the previous frame mixed into the SLM phases, in [0, 1). Defaults to 0 (no feedback, no memory). */
  feedback: number;
  /** Mean speckle intensity as a fraction of the camera's full scale, > 0. Defaults to 0.1. */
  exposure: number;
  /** Black level added to every pixel, in counts, >= 0. Defaults to 0. */
  blackLevel: number;
  /** Shot-noise factor g: variance in counts^2 per count of signal (counts per photoelectron), >= 0. Defaults to 0.1. */
  shotNoise: number;
  /** Read-noise standard deviation in counts, >= 0. Defaults to 0.5. */
  readNoiseSigma: number;
  /** Output latency in frames: the host receives the frame of `latencySamples` steps earlier, in [0, 1024]. Defaults to 0. */
  latencySamples: number;
}

export const opticalDefaults: Readonly<OpticalOptions> = Object.freeze({
  inChannels: 64,
  outChannels: 128,
  slmBits: 8,
  cameraBits: 8,
  frameRateHz: 1000,
  feedback: 0,
  exposure: 0.1,
  blackLevel: 0,
  shotNoise: 0.1,
  readNoiseSigma: 0.5,
  latencySamples: 0,
});

/** Validates `overrides` over the defaults; RangeError naming the first bad option. */
export function resolveOpticalOptions(overrides: Partial<OpticalOptions> = {}): OpticalOptions {
  const m = 'optical';
  rejectUnknown(m, overrides, Object.keys(opticalDefaults));
  const o: OpticalOptions = { ...opticalDefaults, ...overrides };
  intOption(m, 'inChannels', o.inChannels, 1, 65536);
  intOption(m, 'outChannels', o.outChannels, 1, 1 << 22);
  intOption(m, 'slmBits', o.slmBits, 1, 16);
  intOption(m, 'cameraBits', o.cameraBits, 1, 16);
  numOption(m, 'frameRateHz', o.frameRateHz, 0, 1e9, 'lo');
  numOption(m, 'feedback', o.feedback, 0, 1, 'hi');
  numOption(m, 'exposure', o.exposure, 0, 1e6, 'lo');
  numOption(m, 'blackLevel', o.blackLevel, 0, 65535);
  numOption(m, 'shotNoise', o.shotNoise, 0, 1e6);
  numOption(m, 'readNoiseSigma', o.readNoiseSigma, 0, 1e6);
  intOption(m, 'latencySamples', o.latencySamples, 0, 1024);
  return o;
}

/** Medium, feedback map and scales shared by the device model and its twin. */
interface OpticalCore {
  readonly nIn: number;
  readonly nOut: number;
  readonly re: Float64Array; // T, nOut x nIn row-major
  readonly im: Float64Array;
  readonly fbMap: Int32Array; // q(j)
  readonly alpha: number;
  readonly slmMax: number;
  readonly camMax: number;
  readonly countsPerUnit: number; // S
}

/**
 * Noise-free camera signal S I_m + b (unrounded, unclipped) for SLM codes `d` (already clipped)
 * and previous frame `prev`, written into `signal`. `cs` is scratch of length 2 nIn; it is left
 * holding (cos phi_j, sin phi_j), and `field` (length 2 nOut), if given, receives (Re E_m, Im E_m).
 */
function opticalSignal(c: OpticalCore, d: ArrayLike<number>, prev: ArrayLike<number>, black: number, cs: Float64Array, signal: Float64Array, field?: Float64Array): void {
  const { nIn, nOut, re, im, fbMap, alpha, slmMax, camMax, countsPerUnit } = c;
  for (let j = 0; j < nIn; j++) {
    let phi = (1 - alpha) * (d[j] / slmMax);
    if (alpha > 0) {
      const r = prev[fbMap[j]] / camMax;
      phi += alpha * (r < 0 ? 0 : r > 1 ? 1 : r);
    }
    phi *= Math.PI;
    cs[2 * j] = Math.cos(phi);
    cs[2 * j + 1] = Math.sin(phi);
  }
  for (let m = 0; m < nOut; m++) {
    let er = 0;
    let ei = 0;
    const row = m * nIn;
    for (let j = 0; j < nIn; j++) {
      const tr = re[row + j];
      const ti = im[row + j];
      const cr = cs[2 * j];
      const ci = cs[2 * j + 1];
      er += tr * cr - ti * ci;
      ei += tr * ci + ti * cr;
    }
    signal[m] = black + countsPerUnit * (er * er + ei * ei);
    if (field) { field[2 * m] = er; field[2 * m + 1] = ei; }
  }
}

/**
 * The adjoint of {@link opticalSignal} through the camera clip: for `mu`, the cotangent of the
 * clipped frame, returns the cotangents of the SLM codes (before their clip) and of the previous
 * frame. With E_m = er_m + i ei_m = sum_j (tr + i ti) e^(i phi_j) and I_m = er_m² + ei_m²:
 *   dI_m/dphi_j = 2 (er_m (-tr sin phi_j - ti cos phi_j) + ei_m (tr cos phi_j - ti sin phi_j)),
 * and phi_j = pi ((1 - alpha) d_j / slmMax + alpha clip(prev_q(j) / camMax, 0, 1)). O(nOut nIn),
 * about two forward steps.
 */
function opticalAdjoint(c: OpticalCore, d: ArrayLike<number>, prev: ArrayLike<number>, black: number, mu: Float64Array): { dd: Float64Array; dPrev: Float64Array } {
  const { nIn, nOut, re, im, fbMap, alpha, slmMax, camMax, countsPerUnit } = c;
  const cs = new Float64Array(2 * nIn), signal = new Float64Array(nOut), field = new Float64Array(2 * nOut);
  opticalSignal(c, d, prev, black, cs, signal, field);
  const dphi = new Float64Array(nIn);
  for (let m = 0; m < nOut; m++) {
    const g = mu[m] === 0 ? 0 : mu[m] * clipSlope(signal[m], 0, camMax);
    if (g === 0) continue;
    const er = 2 * countsPerUnit * g * field[2 * m], ei = 2 * countsPerUnit * g * field[2 * m + 1];
    const row = m * nIn;
    for (let j = 0; j < nIn; j++) {
      const tr = re[row + j], ti = im[row + j], cr = cs[2 * j], si = cs[2 * j + 1];
      dphi[j] += er * (-tr * si - ti * cr) + ei * (tr * cr - ti * si);
    }
  }
  const dd = new Float64Array(nIn), dPrev = new Float64Array(nOut);
  for (let j = 0; j < nIn; j++) {
    dd[j] = (dphi[j] * Math.PI * (1 - alpha)) / slmMax;
    if (alpha > 0) dPrev[fbMap[j]] += ((dphi[j] * Math.PI * alpha) / camMax) * clipSlope(prev[fbMap[j]] / camMax, 0, 1);
  }
  return { dd, dPrev };
}

/**
 * Simulated optical reservoir in device units (SLM codes in, camera counts out). See the module
 * comment for the equations. `reset()` clears the previous frame (dark) and the latency line; the
 * noise stream keeps going, so a noisy model's frames after reset differ from a fresh model's by
 * noise only. No drift is modelled (no advanceTime).
 */
export class OpticalReservoir implements ReservoirModel {
  readonly name = 'optical' as const;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly inRange: readonly [number, number];
  readonly outRange: readonly [number, number];
  readonly samplePeriodNs: number;
  readonly options: Readonly<OpticalOptions>;
  private readonly core: OpticalCore;
  private readonly noise: Rng;
  private readonly d: Float64Array;
  private readonly cs: Float64Array;
  private readonly signal: Float64Array;
  private readonly frame: Float64Array;
  private readonly line: DelayLine;

  /** @param seed uint32; T comes from fork('medium'), the feedback map from fork('feedback'), noise from fork('noise'). */
  constructor(options: Partial<OpticalOptions> = {}, seed: number) {
    const o = resolveOpticalOptions(options);
    checkSeed(seed);
    this.options = Object.freeze(o);
    this.inChannels = o.inChannels;
    this.outChannels = o.outChannels;
    const slmMax = 2 ** o.slmBits - 1;
    const camMax = 2 ** o.cameraBits - 1;
    this.inRange = [0, slmMax];
    this.outRange = [0, camMax];
    this.samplePeriodNs = 1e9 / o.frameRateHz;
    const rng = new Rng(seed);
    const med = rng.fork('medium');
    const n = o.inChannels * o.outChannels;
    const re = new Float64Array(n);
    const im = new Float64Array(n);
    const sd = Math.sqrt(1 / (2 * o.inChannels));
    for (let i = 0; i < n; i++) {
      re[i] = sd * med.normal();
      im[i] = sd * med.normal();
    }
    const fb = rng.fork('feedback');
    const fbMap = Int32Array.from({ length: o.inChannels }, () => fb.int(o.outChannels));
    this.core = { nIn: o.inChannels, nOut: o.outChannels, re, im, fbMap, alpha: o.feedback, slmMax, camMax, countsPerUnit: o.exposure * camMax };
    this.noise = rng.fork('noise');
    this.d = new Float64Array(o.inChannels);
    this.cs = new Float64Array(2 * o.inChannels);
    this.signal = new Float64Array(o.outChannels);
    this.frame = new Float64Array(o.outChannels);
    this.line = new DelayLine(o.latencySamples, o.outChannels);
  }

  reset(): void {
    this.frame.fill(0);
    this.line.fill(this.frame);
  }

  step(input: ArrayLike<number>, output: Float32Array): number {
    checkBuffers('optical', input, output, this.inChannels, this.outChannels);
    const o = this.options;
    const { slmMax, camMax } = this.core;
    let status = 0;
    for (let j = 0; j < this.inChannels; j++) {
      let v = input[j];
      if (!(v >= 0)) { v = 0; status |= STATUS_INPUT_CLIPPED; }
      else if (v > slmMax) { v = slmMax; status |= STATUS_INPUT_CLIPPED; }
      this.d[j] = Math.round(v);
    }
    opticalSignal(this.core, this.d, this.frame, o.blackLevel, this.cs, this.signal);
    const g = o.shotNoise;
    const sr = o.readNoiseSigma;
    for (let m = 0; m < this.outChannels; m++) {
      let y = this.signal[m];
      if (g > 0) {
        const photo = y - o.blackLevel;
        if (photo > 0) y += Math.sqrt(g * photo) * this.noise.normal();
      }
      if (sr > 0) y += sr * this.noise.normal();
      y = Math.round(y);
      if (y < 0) y = 0; // a camera count cannot be negative; not a saturation
      else if (y > camMax) { y = camMax; status |= STATUS_OUTPUT_SATURATED; }
      this.frame[m] = y;
    }
    const seen = this.line.push(this.frame);
    for (let m = 0; m < this.outChannels; m++) output[m] = seen[m];
    return status;
  }

  /** Float twin: state = previous frame (unrounded counts), no noise; frames clipped to [0, top code]. */
  twin(): ReservoirTwin {
    const core = this.core;
    const black = this.options.blackLevel;
    const { nIn, nOut, slmMax, camMax } = core;
    return {
      stateSize: nOut,
      inChannels: nIn,
      outChannels: nOut,
      init: () => new Float64Array(nOut),
      step: (state, input) => {
        const d = new Float64Array(nIn);
        for (let j = 0; j < nIn; j++) d[j] = Math.min(Math.max(input[j], 0), slmMax);
        const out = new Float64Array(nOut);
        opticalSignal(core, d, state, black, new Float64Array(2 * nIn), out);
        for (let m = 0; m < nOut; m++) out[m] = Math.min(Math.max(out[m], 0), camMax);
        return { state: Float64Array.from(out), output: out };
      },
      // The state is the output (the clipped frame), so both cotangents meet on it.
      stepVjp: (state, input, lambda, dy) => {
        const d = new Float64Array(nIn);
        for (let j = 0; j < nIn; j++) d[j] = Math.min(Math.max(input[j], 0), slmMax);
        const mu = new Float64Array(nOut);
        for (let m = 0; m < nOut; m++) mu[m] = (lambda ? lambda[m] : 0) + (dy ? dy[m] : 0);
        const { dd, dPrev } = opticalAdjoint(core, d, state, black, mu);
        for (let j = 0; j < nIn; j++) dd[j] *= clipSlope(input[j], 0, slmMax);
        return { dState: dPrev, dInput: dd };
      },
    };
  }
}
