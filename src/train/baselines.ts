/**
 * Baselines on the same API and sample accounting as `pat`:
 *
 * - `classic`: reservoir computing as usual. The input layer is the same TappedDense with the
 *   same seeded initialisation `pat` starts from, never trained; only the ridge readout is fitted.
 *   With a budget, everything not needed for the test segment goes into the readout fit segment
 *   (the training sequence is drawn long enough for it), so it uses the same device samples as `pat`.
 * - `digital`: the digital layers without the device. The tapped delays feed a TappedDense with
 *   as many tanh units as the device has outputs; it is trained by exact autodiff through the same
 *   episode ridge-readout loss as `pat` (same episodes, windows, readout scheme and Adam), then
 *   the final readout is fitted and tested as for the others. It uses no device samples; the gap
 *   to `pat` is what the physical reservoir adds.
 */
import * as tf from '@tensorflow/tfjs';
import {
  type TrainOptions, type TrainResult, type EpisodeRecord, baseResult, deviceResponder, episodeReadout, finalCost,
  finalEvaluation, inputLayer, resolve, targetRows, testTrace,
} from './common.js';
import { RidgeReadout } from './hybrid.js';
import type { RidgeAccumulator } from './ridge.js';

export async function trainClassic(o: TrainOptions): Promise<TrainResult> {
  const t0 = performance.now();
  const device = o.device;
  if (!device) throw new TypeError('classic needs a device');
  // With a budget, the training sequence is drawn long enough to spend all of it on the fit segment.
  const washout = o.washout ?? 50;
  const trainSteps = o.budget !== undefined && Number.isFinite(o.budget)
    ? Math.max(o.trainSteps ?? 4000, Math.floor(o.budget) - washout - (o.testSteps ?? 1000))
    : o.trainSteps;
  const r = resolve({ ...o, trainSteps });
  const layer = inputLayer(r, device.info.inChannels);
  try {
    const fitSteps = Number.isFinite(r.budget)
      ? Math.min(r.trainSteps - r.washout, r.budget - finalCost(r, 0))
      : r.fitSteps;
    if (fitSteps < 10) throw new RangeError(`budget ${r.budget} leaves ${fitSteps} steps for the readout fit`);
    let samples = 0;
    const final = await finalEvaluation(r, device.info.outChannels, deviceResponder(r, device, layer, (n) => { samples += n; }), fitSteps);
    return {
      ...baseResult(o, r, 'classic', t0),
      episodes: [],
      test: { metric: r.test.metric, value: final.value },
      deviceSamples: samples,
      model: { inputLayer: layer.toJSON(), readout: final.readout.toJSON() },
      trace: testTrace(r, layer, final, device.info.outChannels),
    };
  } finally {
    layer.dispose();
  }
}

/** Options beyond {@link TrainOptions} for `digital`. */
export interface DigitalOptions extends TrainOptions {
  /** Tanh units of the digital layer. Defaults to the device's outChannels, or 50 without a device. */
  units?: number;
}

export async function trainDigital(o: DigitalOptions): Promise<TrainResult> {
  const t0 = performance.now();
  const r = resolve(o);
  const units = o.units ?? o.device?.info.outChannels ?? 50;
  const layer = inputLayer(r, units, 'digital-layer');
  const readout = new RidgeReadout(units, r.train.outChannels, r.readout);
  const optimizer: tf.Optimizer = tf.train.adam(r.learningRate);
  const windows = r.rng.fork('episodes');
  const ring: RidgeAccumulator[] = [];
  const episodes: EpisodeRecord[] = [];
  const L = r.washout + r.steps;
  try {
    for (let e = 0; e < r.episodes; e++) {
      const start = windows.int(r.trainSteps - L + 1);
      const loss = tf.tidy(() => {
        const x = layer.features2d(r.train.inputs, start, L);
        const h = layer.apply(x).slice([r.washout, 0], [r.steps, units]);
        const Y = targetRows(r.train, start + r.washout, r.steps);
        const readoutNmse = episodeReadout(r, readout, ring, h.dataSync(), Y);
        const { W, b } = readout.tensors();
        const target = tf.tensor2d(Float32Array.from(Y), [r.steps, r.train.outChannels]);
        const { value, grads } = tf.variableGrads(() => {
          const hh = layer.apply(x).slice([r.washout, 0], [r.steps, units]);
          return tf.mean(tf.squaredDifference(tf.add(tf.matMul(hh, W), b), target)) as tf.Scalar;
        }, layer.variables);
        optimizer.applyGradients(grads);
        return { value, readoutNmse };
      });
      const rec: EpisodeRecord = { loss: loss.value.dataSync()[0], deviceSamples: 0 };
      loss.value.dispose();
      if (loss.readoutNmse !== undefined) rec.readoutNmse = loss.readoutNmse;
      episodes.push(rec);
      r.onEpisode?.(rec, e);
    }
    const final = await finalEvaluation(r, units, async (task, length) => layer.run(task.inputs, 0, length));
    return {
      ...baseResult(o, r, 'digital', t0),
      device: null,
      episodes,
      test: { metric: r.test.metric, value: final.value },
      deviceSamples: 0,
      model: { inputLayer: layer.toJSON(), readout: final.readout.toJSON() },
      trace: testTrace(r, layer, final, units),
    };
  } finally {
    optimizer.dispose();
    layer.dispose();
  }
}
