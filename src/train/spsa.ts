/**
 * `spsa`: gradient-free training of the input layer with simultaneous-perturbation stochastic
 * approximation (Spall, IEEE Trans. Aerosp. Electron. Syst. 34, 1998). Per iteration k (one
 * "episode", same window draw as pat):
 *
 *   Δ ∈ {-1, +1}^p Rademacher (seeded), θ± = θ ± c_k Δ (θ = all of W and b),
 *   L± = loss with the layer θ± measured on the device (two episodes, both counted),
 *   ĝ = (L+ - L-) / (2 c_k) · Δ  (Δ_i = 1/Δ_i for Rademacher),   θ ← θ - a_k ĝ,
 *   a_k = a / (k + 1 + A)^0.602,  c_k = c / (k + 1)^0.101.
 *
 * The loss of one measured episode is the in-sample NMSE of a ridge readout fitted on that
 * episode's scored rows with a fixed λ (`lambda`): what the best linear readout can do with these
 * responses, with no dependence on earlier readouts (both sides see the same window, so the
 * difference is common-random-number). The episode record's `loss` is (L+ + L-)/2.
 *
 * Defaults: c = 0.05 (perturbation of each weight, ~1/8 of the init scale), A = 10 % of the
 * iterations, and a calibrated from the first estimate so that a_0 · mean|ĝ_0| = `step0` (0.02);
 * pass `a` to fix it. Every iteration costs 2 (washout + steps) device samples (twice pat's episode).
 *
 * ```ts
 * const res = await train({ task: 'narma10', device, trainer: 'spsa', seed: 1, episodes: 30, spsa: { c: 0.05 } });
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import type { Device } from '../device/client.js';
import {
  type TrainOptions, type TrainResult, type EpisodeRecord, type Resolved, dropRows, finalCost, inputLayer, resolve, targetRows, finishOnDevice,
} from './common.js';
import { measure } from './hybrid.js';
import { nmse } from '../core/metrics.js';
import { RidgeAccumulator } from './ridge.js';

/** SPSA gains. */
export interface SpsaGains {
  /** Step gain a; defaults to calibration from the first gradient estimate (see step0). */
  a?: number;
  /** Perturbation gain c. Defaults to 0.05. */
  c?: number;
  /** Stability constant A. Defaults to 10 % of the episodes. */
  A?: number;
  /** Exponents (Spall's asymptotically practical values). Default 0.602 and 0.101. */
  alpha?: number;
  gamma?: number;
  /** Target mean |step| of the first iteration when `a` is calibrated. Defaults to 0.02. */
  step0?: number;
  /** Fixed ridge λ of the per-episode loss. Defaults to 1e-4. */
  lambda?: number;
}

export interface SpsaOptions extends TrainOptions {
  spsa?: SpsaGains;
}

/** In-sample NMSE of a ridge readout with fixed λ fitted on these rows. */
export function ridgeLoss(X: ArrayLike<number>, Y: ArrayLike<number>, features: number, outputs: number, lambda: number): number {
  const acc = new RidgeAccumulator(features, outputs).add(X, Y);
  const w = acc.solve(lambda);
  return nmse(acc.predict(X, w), Y, outputs);
}

export async function trainSpsa(o: SpsaOptions): Promise<TrainResult> {
  const t0 = performance.now();
  const device: Device | undefined = o.device;
  if (!device) throw new TypeError('spsa needs a device');
  const r: Resolved = resolve(o);
  const ci = device.info.inChannels, co = device.info.outChannels, outs = r.train.outChannels;
  const g = o.spsa ?? {};
  const c = g.c ?? 0.05, alpha = g.alpha ?? 0.602, gamma = g.gamma ?? 0.101, step0 = g.step0 ?? 0.02, lambda = g.lambda ?? 1e-4;
  const A = g.A ?? Math.max(1, Math.round(0.1 * r.episodes));
  let a = g.a;
  for (const [k, v] of Object.entries({ c, step0, lambda })) if (!(v > 0 && Number.isFinite(v))) throw new RangeError(`spsa.${k} must be positive, got ${String(v)}`);
  const L = r.washout + r.steps;
  const layer = inputLayer(r, ci);
  const windows = r.rng.fork('episodes'), perturb = r.rng.fork('spsa-delta');
  const episodes: EpisodeRecord[] = [];
  const nW = layer.features * ci, p = nW + ci;
  let theta = Float64Array.from([...layer.W.dataSync(), ...layer.b.dataSync()]);
  const setTheta = (t: Float64Array): void => {
    tf.tidy(() => {
      layer.W.assign(tf.tensor2d(Float32Array.from(t.subarray(0, nW)), [layer.features, ci]));
      layer.b.assign(tf.tensor1d(Float32Array.from(t.subarray(nW))));
    });
  };
  let samples = 0;
  try {
    const lossAt = async (t: Float64Array, start: number): Promise<{ loss: number; breaks: number }> => {
      setTheta(t);
      const m = await measure(device, layer.run(r.train.inputs, start, L), r.measure);
      samples += m.samples;
      const X = dropRows(m.responses, r.washout, co), Y = targetRows(r.train, start + r.washout, r.steps);
      return { loss: ridgeLoss(X, Y, co, outs, lambda), breaks: m.breaks };
    };
    for (let k = 0; k < r.episodes; k++) {
      if (samples + 2 * L + finalCost(r) > r.budget) break;
      const start = windows.int(r.trainSteps - L + 1);
      const ck = c / (k + 1) ** gamma;
      const delta = Float64Array.from({ length: p }, () => (perturb.uniform() < 0.5 ? -1 : 1));
      const plus = await lossAt(theta.map((v, i) => v + ck * delta[i]), start);
      const minus = await lossAt(theta.map((v, i) => v - ck * delta[i]), start);
      const scale = (plus.loss - minus.loss) / (2 * ck);
      if (a === undefined) a = scale !== 0 ? (step0 * (1 + A) ** alpha) / Math.abs(scale) : undefined; // |ĝ_i| = |scale|
      const ak = a === undefined ? 0 : a / (k + 1 + A) ** alpha;
      theta = theta.map((v, i) => v - ak * scale * delta[i]);
      const rec: EpisodeRecord = { loss: (plus.loss + minus.loss) / 2, deviceSamples: samples, breaks: plus.breaks + minus.breaks };
      episodes.push(rec);
      r.onEpisode?.(rec, k);
    }
    setTheta(theta);
    return await finishOnDevice(o, r, 'spsa', t0, device, layer, samples, episodes);
  } finally {
    layer.dispose();
  }
}
