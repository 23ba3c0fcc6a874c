/**
 * `oracle`: the PAT loop with the exact gradient. Same episodes, windows, readout scheme, Adam and
 * device-sample accounting as `pat`, and the forward pass is still the device's measured
 * response; only the backward pass differs: dL/d(drives) is the exact VJP of the simulated
 * device's float64 twin at the drives sent (twin-grad.ts) instead of the surrogate's VJP.
 *
 * Benchmarks only: it needs a simulator whose model is known (`model`, or the device's own twin,
 * which openDevice('sim:<profile>') hands over, see twinModelFor). After the first episode the
 * twin's response is compared with the measured one (`twinCheck`, NMSE) and a mismatch is an Error.
 * It is the upper bound of what a better surrogate could give `pat`.
 *
 * Fidelity (fidelity.ts), per episode in `fidelity` of the episode record (extra field):
 * - unless `fidelity: false`, a surrogate is fitted alongside exactly as `pat` fits it (no extra
 *   device samples, CPU only; but `surrogate.design` 'auto' explores the device first, counted as
 *   in pat) and the cosine / norm ratio of its VJP against the twin's is logged (`vjpCosine`,
 *   `vjpNormRatio`), and its drift NMSE as `surrogateNmse`;
 * - with `fidelity: { reading: { directions } }` a device reading of the surrogate's gradient is
 *   added (slope ± standard error, and the twin's slope along the same directions; 2 x directions
 *   + 1 extra episodes, counted in deviceSamples and in the budget check).
 *
 * ```ts
 * const device = await openDevice('sim:analog', { seed: 1 });
 * const res = await train({ task: 'narma10', device, trainer: 'oracle', seed: 1 });   // device = await openDevice('sim:analog')
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import { physicalLayer } from '../surrogate/physical-layer.js';
import {
  type TrainOptions, type TrainResult, type EpisodeRecord, dropRows, episodeReadout, finalCost, inputLayer, resolve, targetRows, finishOnDevice,
} from './common.js';
import { GuardedAdam } from './guarded-adam.js';
import { type FidelityRecord, type ReadingOptions, episodeFidelity, readingSegments, readoutUpstream } from './fidelity.js';
import { RidgeReadout, measure } from './hybrid.js';
import type { RidgeAccumulator } from './ridge.js';
import { chooseSurrogate, surrogateRefitter, vjpPath } from './surrogate-setup.js';
import { TwinGradient, type TwinSource, twinMismatch, twinModelFor } from './twin-grad.js';

/** Fidelity monitoring options of `oracle`. */
export interface FidelityOptions {
  /** Log the surrogate-vs-twin VJP cosine every this many episodes. Defaults to 1. */
  every?: number;
  /** Device reading of the surrogate's gradient (fidelity.ts; 2 x directions + 1 episodes each time). Defaults to none. */
  reading?: ReadingOptions;
}

/** Options beyond {@link TrainOptions} for `oracle`. */
export interface OracleOptions extends TrainOptions, TwinSource {
  /** Largest NMSE of the twin against the first measured episode. Defaults to 0.1. */
  twinCheck?: number;
  /** Fidelity monitoring; false turns it (and the companion surrogate) off. Defaults to {}. */
  fidelity?: FidelityOptions | false;
  /** Relative FD step of the twin's step Jacobians. Defaults to 1e-6. */
  twinStep?: number;
}

/** An episode record with the oracle's extra fields. */
export interface OracleEpisodeRecord extends EpisodeRecord {
  /** Twin-vs-device NMSE (first episode only). */
  twinNmse?: number;
  fidelity?: FidelityRecord;
}

export async function trainOracle(o: OracleOptions): Promise<TrainResult> {
  const t0 = performance.now();
  const device = o.device;
  if (!device) throw new TypeError('oracle needs a device');
  const r = resolve(o);
  const info = device.info;
  const ci = info.inChannels, co = info.outChannels;
  const model = twinModelFor(device, o);
  const oracle = new TwinGradient({ model, scaling: info, h: o.twinStep });
  if (oracle.inChannels !== ci || oracle.outChannels !== co) throw new RangeError(`the twin has ${oracle.inChannels} in / ${oracle.outChannels} out, the device ${ci} / ${co}`);
  const fid = o.fidelity === false ? undefined : { every: o.fidelity?.every ?? 1, reading: o.fidelity?.reading };
  const readingCost = fid?.reading ? readingSegments(fid.reading) : 0;
  const L = r.washout + r.steps;
  // The same surrogate design (design 'auto' explores the device first: its samples count) and refit
  // scheduler as pat's, fitted along the oracle's trajectory, for its fidelity.
  const chosen = fid ? await chooseSurrogate(o, r, device, ci, co, L) : undefined;
  const layer = inputLayer(r, ci);
  const track = chosen ? surrogateRefitter(o, r, chosen.so, ci, co, L) : undefined;
  const readout = new RidgeReadout(co, r.train.outChannels, r.readout);
  // The same rising-loss guard as pat's, so that oracle stays pat with only the gradient changed.
  const opt = new GuardedAdam(layer, r.learningRate, o.guard);
  const windows = r.rng.fork('episodes'), readingRng = r.rng.fork('fidelity-spot');
  const ring: RidgeAccumulator[] = [];
  const episodes: OracleEpisodeRecord[] = [];
  let samples = chosen?.samples ?? 0;
  try {
    for (let e = 0; e < r.episodes; e++) {
      const withFid = fid !== undefined && e % fid.every === 0;
      if (samples + L * (1 + (withFid ? readingCost : 0)) + finalCost(r) > r.budget) break;
      const start = windows.int(r.trainSteps - L + 1);
      const x = layer.features2d(r.train.inputs, start, L);
      try {
        const aT = tf.tidy(() => layer.apply(x));
        const a = aT.dataSync() as Float32Array;
        aT.dispose();
        const m = await measure(device, a, r.measure);
        samples += m.samples;
        const rec: OracleEpisodeRecord = { loss: NaN, deviceSamples: 0, breaks: m.breaks };
        if (e === 0) {
          rec.twinNmse = twinMismatch(oracle, m.drives, m.responses);
          const tol = o.twinCheck ?? 0.1;
          if (!(rec.twinNmse <= tol)) throw new Error(`the twin does not match the device (NMSE ${rec.twinNmse.toFixed(3)} > ${tol}): wrong profile, seed or overrides?`);
        }
        if (track) {
          const seen = await track.observe({ drives: m.drives, responses: m.responses, epoch: m.epoch });
          await track.settle();
          if (seen.newestNmse !== undefined) rec.surrogateNmse = seen.newestNmse;
        }
        const X = dropRows(m.responses, r.washout, co), Y = targetRows(r.train, start + r.washout, r.steps);
        const readoutNmse = episodeReadout(r, readout, ring, X, Y);
        if (readoutNmse !== undefined) rec.readoutNmse = readoutNmse;
        if (withFid && track) {
          const dy = readoutUpstream(readout.current, m.responses, r.washout, Y, co, r.train.outChannels);
          const f = await episodeFidelity({
            surrogate: track.surrogate, oracle, device: fid.reading ? device : undefined, inChannels: ci, outChannels: co,
            drives: m.drives, measured: m.responses, dy, rng: readingRng, reading: fid.reading && { ...r.measure, ...fid.reading },
            vjp: chosen && vjpPath(chosen.so),
          });
          samples += f.samples;
          rec.breaks = (rec.breaks ?? 0) + f.breaks;
          rec.fidelity = f.record;
        }
        const loss = tf.tidy(() => {
          const { W, b } = readout.tensors();
          const measured = tf.tensor2d(m.responses, [L, co]);
          const target = tf.tensor2d(Float32Array.from(Y), [r.steps, r.train.outChannels]);
          const device$ = physicalLayer(oracle, measured);
          const { value, grads } = tf.variableGrads(() => {
            const y = device$(layer.apply(x)).slice([r.washout, 0], [r.steps, co]);
            return tf.mean(tf.squaredDifference(tf.add(tf.matMul(y, W), b), target)) as tf.Scalar;
          }, layer.variables);
          opt.optimizer.applyGradients(grads);
          return value;
        });
        rec.loss = loss.dataSync()[0];
        loss.dispose();
        if (opt.recordEpisode(rec, rec.loss)) ring.length = 0;
        rec.deviceSamples = samples;
        episodes.push(rec);
        r.onEpisode?.(rec, e);
      } finally {
        x.dispose();
      }
    }
    const result = await finishOnDevice(o, r, 'oracle', t0, device, layer, samples, episodes, track?.surrogate.toJSON());
    if (chosen?.record) result.surrogateChoice = chosen.record;
    return result;
  } finally {
    opt.dispose();
    layer.dispose();
    await track?.close();
  }
}
