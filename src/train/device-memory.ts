/**
 * How long the device itself remembers its drive: linear recall at each delay and the linear
 * memory capacity (Jaeger 2002, as src/tasks/memory-capacity.ts defines it), measured with one
 * segment and a ridge readout on the responses. The number of input taps of the digital input
 * layer follows from it: a tap at lag j feeds u(t - j) into a device that remembers it for `reach`
 * more steps, so taps + reach steps of history are visible to the readout.
 *
 * The probe drives every channel with the same scalar u(t) ~ U[-1, 1] through a fixed random ±1
 * mask (seeded), so a multi-channel board is probed as its input layer would use it.
 *
 * ```ts
 * const mem = await deviceMemory(deviceMeasurer(device), { inChannels: 50, outChannels: 50, seed: 3 });
 * const taps = suggestTaps(mem.reach, 20);
 * ```
 */
import { Rng, checkSeed } from '../core/rng.js';
import { memoryTask } from '../tasks/memory-capacity.js';
import { squaredCorrelation } from '../core/metrics.js';
import { RidgeAccumulator } from './ridge.js';
import type { Measurer } from './spot-check.js';

/** Options of {@link deviceMemory}. */
export interface DeviceMemoryOptions {
  /** Drive channels of the device. */
  inChannels: number;
  /** Response channels of the device. */
  outChannels: number;
  /** Seed of the probe input and mask. */
  seed: number;
  /** Largest delay K. Defaults to 20. */
  maxDelay?: number;
  /** Probe length in steps. Defaults to max(1000, 5 (outChannels + 1)). */
  steps?: number;
  /** Fraction of the probe that fits the readout (the rest scores it). Defaults to 0.7. */
  trainFraction?: number;
}

/** What {@link deviceMemory} returns. */
export interface DeviceMemory {
  /** recall[k] = r² of the readout for u(t - k) on the held-out part, k = 0..K. */
  recall: number[];
  /** Linear memory capacity Σ_{k ≥ 1} recall[k]. */
  capacity: number;
  /** Largest k with recall[j] ≥ 0.5 for every 1 ≤ j ≤ k (0: the device forgets within a step). */
  reach: number;
  /** Device samples spent. */
  samples: number;
  /** State breaks recovered from. */
  breaks: number;
}

const LAMBDAS = [1e-8, 1e-6, 1e-4, 1e-2, 1];

/** Measures recall at delays 0..K and the memory capacity (module comment). */
export async function deviceMemory(measureSeg: Measurer, o: DeviceMemoryOptions): Promise<DeviceMemory> {
  const ci = o.inChannels, co = o.outChannels, K = o.maxDelay ?? 20;
  const n = o.steps ?? Math.max(1000, 5 * (co + 1));
  const frac = o.trainFraction ?? 0.7;
  if (!Number.isInteger(K) || K < 1) throw new RangeError(`maxDelay must be a positive integer, got ${String(K)}`);
  if (!Number.isInteger(n) || n < 4 * K) throw new RangeError(`steps must be an integer >= 4 maxDelay, got ${String(n)}`);
  if (!(frac > 0 && frac < 1)) throw new RangeError(`trainFraction must be in (0, 1), got ${String(frac)}`);
  const seed = checkSeed(o.seed);
  const { u } = memoryTask(n, { maxDelay: K }, { seed });
  const maskRng = new Rng(seed).fork('memory-mask');
  const mask = Float32Array.from({ length: ci }, () => (maskRng.uniform() < 0.5 ? -1 : 1));
  const drives = new Float32Array(n * ci);
  for (let t = 0; t < n; t++) for (let c = 0; c < ci; c++) drives[t * ci + c] = mask[c] * u[t];
  const m = await measureSeg(drives);
  if (m.responses.length !== n * co) throw new RangeError(`the device answered ${m.responses.length} values, expected ${n * co}`);
  // Targets from the drives as sent (rounded, clipped), channel 0 undone by its mask sign.
  const sent = Float64Array.from({ length: n }, (_, t) => m.drives[t * ci] * mask[0]);
  const rows = (from: number, to: number): { X: Float64Array; Y: Float64Array } => {
    const X = Float64Array.from(m.responses.subarray(from * co, to * co));
    const Y = new Float64Array((to - from) * (K + 1));
    for (let t = from; t < to; t++) for (let k = 0; k <= K; k++) Y[(t - from) * (K + 1) + k] = sent[t - k];
    return { X, Y };
  };
  const split = K + Math.floor((n - K) * frac);
  const tr = rows(K, split), te = rows(split, n);
  const acc = new RidgeAccumulator(co, K + 1).add(tr.X, tr.Y);
  const { lambda } = acc.chooseLambda(te.X, te.Y, LAMBDAS);
  const pred = acc.predict(te.X, acc.solve(lambda));
  const rowsTe = n - split;
  const recall: number[] = [];
  for (let k = 0; k <= K; k++) {
    const p = Float64Array.from({ length: rowsTe }, (_, i) => pred[i * (K + 1) + k]);
    const y = Float64Array.from({ length: rowsTe }, (_, i) => te.Y[i * (K + 1) + k]);
    recall.push(squaredCorrelation(p, y));
  }
  let reach = 0;
  while (reach < K && recall[reach + 1] >= 0.5) reach++;
  return { recall, capacity: recall.slice(1).reduce((a, b) => a + b, 0), reach, samples: m.samples, breaks: m.breaks };
}

/**
 * Input taps so that taps + reach covers `horizon` steps of history (at least 1 tap, at most
 * `horizon`): the device's own memory replaces taps it makes redundant.
 */
export function suggestTaps(reach: number, horizon: number): number {
  if (!Number.isInteger(horizon) || horizon < 1) throw new RangeError(`horizon must be a positive integer, got ${String(horizon)}`);
  return Math.min(horizon, Math.max(1, horizon - Math.max(0, Math.floor(reach))));
}
