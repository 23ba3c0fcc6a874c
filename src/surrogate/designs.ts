/**
 * The family of surrogate designs a device can be given, and the width rules that size them from
 * the channel counts (one surrogate size for every device fits none of them: issue 11 measured the
 * 64-unit NARX's held-out error at 0.011, 0.061 and 0.18 for 50, 100 and 200 response channels).
 *
 * - `narx`: drive window W and R measured-response lags (defaults 4 and 1, the trainers' current
 *   shape), one tanh layer: for a device with memory. Offered at two widths when they differ, the
 *   trainers' {@link NARX_BASE_WIDTH} and {@link narxWidth} scaled to the channel counts, and the
 *   exploration picks: the wider one fits held-out pairs better, but pat steps with its VJP, and on
 *   sim:analog-awg the 64-unit VJP agreed better with the device (cosine 0.59 against 0.46) and
 *   trained better (NARMA10 0.031 against 0.042), while on sim:fpga the 112-unit one won both.
 * - `state`: a state-space model of a board whose memory lives in its state (a delay loop, an
 *   echo-state network): window 1, the last measured response vector as the state, one tanh unit
 *   per response channel ({@link stateWidth}), and the gradient taken along the state
 *   (`throughResponses`: an adjoint sweep through the measured responses), not along a window of
 *   past drives. A NARX's drive window grows its inputs with W·inChannels and lets it explain a
 *   response by the drives instead of the state; on sim:analog-awg at 200 nodes (1,000 inputs) its
 *   held-out NMSE was 0.49 and its VJP's cosine to the twin's 0.49, this design's 0.12 and 0.83.
 * - `memoryless`: window 1, no lags, one layer of {@link memorylessWidth} units: for a device whose
 *   response depends on the current drive only, where every unit goes to the static map.
 * - `transmission`: a fitted complex transmission matrix with intensity readout
 *   (transmission.ts): for a scattering medium read by a camera.
 *
 * ```ts
 * for (const d of surrogateDesigns(64, 128)) { const s = d.build(1); s.fit(cutWindows(s.shape, drives, responses)); … }
 * ```
 */
import { type DeviceSurrogate, type FitOptions, NarxSurrogate, type VjpPath } from './narx.js';
import { TransmissionSurrogate } from './transmission.js';
import type { Examples, WindowShape } from './windows.js';

/** What exploration needs of a surrogate: fit, held-out error, VJP. NarxSurrogate is one. */
export interface FittableSurrogate extends DeviceSurrogate {
  readonly shape: WindowShape;
  fit(examples: Examples, opts?: FitOptions): number;
  /** Mean over channels of MSE / Var(target) on `examples`. */
  evaluate(examples: Examples): number;
  dispose(): void;
}

export type DesignName = 'narx' | 'state' | 'memoryless' | 'transmission';

/** One candidate design, built fresh per seed. */
export interface SurrogateDesign {
  readonly name: DesignName;
  readonly window: number;
  readonly responseLags: number;
  /** Hidden layer sizes of MLP designs (absent for a structured model). */
  readonly hidden?: readonly number[];
  /** Fit options that suit this design (epochs, learning rate). */
  readonly fit: FitOptions;
  /** What its VJP goes through besides the drive window: the state design's runs along the measured responses. */
  readonly vjp: VjpPath;
  /**
   * Trainable parameters: what a fit and a VJP cost grows with, the exploration's tie-break
   * between designs it cannot tell apart (a count, not a timing, so the choice stays reproducible).
   */
  readonly parameters: number;
  build(seed: number): FittableSurrogate;
}

/** Weights and biases of an MLP with F inputs, these hidden layers and `outputs` outputs. */
export function mlpParameters(inputs: number, hidden: readonly number[], outputs: number): number {
  let n = 0, f = inputs;
  for (const h of [...hidden, outputs]) {
    n += (f + 1) * h;
    f = h;
  }
  return n;
}

const roundUp16 = (x: number): number => 16 * Math.ceil(x / 16);
const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));

/**
 * Hidden width of a NARX surrogate: at least the response channel count (the hidden layer is the
 * bottleneck every output is read from) and at least the geometric mean of its F = W·in + R·out
 * inputs and its outputs; rounded up to 16, in [32, 1024]. Gives 64 for sim:analog (1 in, 50 out,
 * W 4, R 1: the trainers' current 64), 112 for analog-awg and fpga, 416 for fpga-large.
 */
export function narxWidth(inChannels: number, outChannels: number, window: number, responseLags: number): number {
  const f = window * inChannels + responseLags * outChannels;
  return clamp(roundUp16(Math.max(outChannels, Math.sqrt(f * outChannels))), 32, 1024);
}

/**
 * Hidden width of a memoryless MLP: twice the NARX rule on its inputs (window 1, no lags), as the
 * static map of a device without memory takes all the capacity; in [64, 1024]. Gives 256 for
 * optical (64 in, 128 out), the width issue 11 measured to take optical from 0.239 to 0.128.
 */
export function memorylessWidth(inChannels: number, outChannels: number): number {
  return clamp(roundUp16(2 * Math.max(outChannels, Math.sqrt(inChannels * outChannels))), 64, 1024);
}

/**
 * Hidden width of a state-space design: one tanh unit per response channel (the state of an
 * echo-state network is one unit per node), rounded up to 16, in [32, 1024].
 */
export function stateWidth(outChannels: number): number {
  return clamp(roundUp16(outChannels), 32, 1024);
}

/**
 * The state design's VJP: along the measured state, each step back passing half the adjoint
 * (SeqContext.responseDecay). The whole Jacobian (1) agreed best with the twin's gradient
 * (cosine 0.87-0.95 on sim:fpga-awg) but trained worse there than the NARX on one seed of three
 * (0.061 against 0.038) and on sim:fpga-large (0.076 against 0.062): the surrogate's state
 * Jacobian is chained over as many steps as the board remembers, tens on an echo-state network,
 * and its errors compound. With 0.5, NARMA10 seeds 1-5 on fpga-awg: 0.038, 0.031, 0.040, 0.029,
 * 0.030 (narx 0.038, 0.034, 0.044, 0.036, 0.032); analog-awg seeds 1-3: 0.035, 0.028, 0.025
 * (with 1: 0.034, 0.037, 0.031).
 */
export const STATE_VJP: Readonly<Required<VjpPath>> = Object.freeze({ throughResponses: true, responseDecay: 0.5 });

/** The NARX width the trainers use when not exploring (`surrogateDefaults`), one of auto's two NARX candidates. */
export const NARX_BASE_WIDTH = 64;

/** Options of {@link surrogateDesigns}. */
export interface DesignOptions {
  /** Drive window of the NARX design. Defaults to 4. */
  window?: number;
  /** Response lags of the NARX design. Defaults to 1. */
  responseLags?: number;
  /** Designs to offer. Defaults to all four. */
  names?: readonly DesignName[];
}

/** The candidate designs for a device with these channel counts. */
export function surrogateDesigns(inChannels: number, outChannels: number, opts: DesignOptions = {}): SurrogateDesign[] {
  const w = opts.window ?? 4, r = opts.responseLags ?? 1;
  const names = opts.names ?? ['narx', 'state', 'memoryless', 'transmission'];
  const mlp = (name: DesignName, window: number, responseLags: number, width: number): SurrogateDesign => ({
    name, window, responseLags, hidden: [width], fit: { epochs: 30, learningRate: 3e-3 }, vjp: name === 'state' ? STATE_VJP : {},
    parameters: mlpParameters(window * inChannels + responseLags * outChannels, [width], outChannels),
    build: (seed) => new NarxSurrogate({ inChannels, outChannels, window, responseLags, hidden: [width], seed }),
  });
  return names.flatMap((n): SurrogateDesign[] => {
    switch (n) {
      case 'narx': return [...new Set([NARX_BASE_WIDTH, narxWidth(inChannels, outChannels, w, r)])].map((width) => mlp('narx', w, r, width));
      case 'state': return [mlp('state', 1, 1, stateWidth(outChannels))];
      case 'memoryless': return [mlp('memoryless', 1, 0, memorylessWidth(inChannels, outChannels))];
      case 'transmission': return [{
        name: 'transmission', window: 1, responseLags: 0, fit: { epochs: 20 }, vjp: {},
        // T (re, im), c (re, im), b and ω
        parameters: 2 * inChannels * outChannels + 3 * outChannels + 1,
        build: (seed) => new TransmissionSurrogate({ inChannels, outChannels, seed }),
      }];
      default: throw new RangeError(`unknown surrogate design '${String(n)}'`);
    }
  });
}
