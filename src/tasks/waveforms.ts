/**
 * Sine / square waveform classification (Paquot et al. 2012, "Optoelectronic reservoir
 * computing", Sci. Rep. 2, 287; after Rodan & Tino 2011): the input is a random sequence of
 * segments, each `cycles` periods of either
 *
 *   sine:   u(j) = sin(2 pi j / P),
 *   square: u(j) = +1 for (j mod P) < P/2, -1 otherwise,
 *
 * with j the sample index within the segment and P = `period` samples (8 by default). Each
 * segment's shape is chosen with probability 1/2 (seeded). The target is the label of the wave
 * the current sample belongs to: 0 for sine, 1 for square, per sample; the last segment is cut at n.
 *
 * ```ts
 * const { u, label } = waveforms(800, {}, { seed: 2 });
 * accuracy(readout, label); // readout thresholded at 0.5
 * ```
 */
import { Rng, checkSeed } from '../core/rng.js';
import { checkSameLength, checkInt, checkKeys, checkNumber } from '../core/validate.js';

/** Waveform options. */
export interface WaveformParams {
  /** Samples per period P (at least 2). Defaults to 8. */
  period?: number;
  /** Whole periods per segment. Defaults to 1. */
  cycles?: number;
}

/** The defaults applied to every field of {@link WaveformParams}. */
export const waveformDefaults: Readonly<Required<WaveformParams>> = Object.freeze({ period: 8, cycles: 1 });

/** Label of a sine sample. */
export const SINE = 0;
/** Label of a square sample. */
export const SQUARE = 1;

/** Input samples and per-sample labels (0 sine, 1 square). */
export interface WaveformData {
  u: Float64Array;
  label: Float64Array;
}

/** Sample j of one period-P wave: sin(2 pi j / P), or +1/-1 for the first/second half period. */
export function waveSample(kind: typeof SINE | typeof SQUARE, j: number, period: number): number {
  const phase = j % period;
  return kind === SINE ? Math.sin((2 * Math.PI * phase) / period) : phase < period / 2 ? 1 : -1;
}

/** n samples of random sine/square segments with labels. Deterministic in `seed` (stream `fork('waveforms')`). */
export function waveforms(n: number, params: WaveformParams = {}, { seed }: { seed: number }): WaveformData {
  checkInt(n, 'n', 1);
  checkSeed(seed);
  checkKeys(params, Object.keys(waveformDefaults), 'waveforms');
  const period = checkInt(params.period ?? waveformDefaults.period, 'period', 2);
  const cycles = checkInt(params.cycles ?? waveformDefaults.cycles, 'cycles', 1);
  const rng = new Rng(seed).fork('waveforms');
  const segment = period * cycles;
  const u = new Float64Array(n);
  const label = new Float64Array(n);
  for (let start = 0; start < n; start += segment) {
    const kind = rng.int(2) === 0 ? SINE : SQUARE;
    for (let j = 0; j < segment && start + j < n; j++) {
      u[start + j] = waveSample(kind, j, period);
      label[start + j] = kind;
    }
  }
  return { u, label };
}

/**
 * Fraction of samples whose prediction, thresholded (`pred >= threshold` means 1, else 0),
 * equals the 0/1 label. RangeError on a length mismatch or a label that is not 0 or 1.
 */
export function accuracy(pred: ArrayLike<number>, label: ArrayLike<number>, threshold = 0.5): number {
  const n = checkSameLength(pred, label, 'pred', 'label');
  checkNumber(threshold, 'threshold');
  let hits = 0;
  for (let i = 0; i < n; i++) {
    if (label[i] !== 0 && label[i] !== 1) throw new RangeError(`label must be 0 or 1, got ${label[i]} at ${i}`);
    if ((pred[i] >= threshold ? 1 : 0) === label[i]) hits++;
  }
  return hits / n;
}
