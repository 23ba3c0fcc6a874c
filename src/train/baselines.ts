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
 * - random features (trainRandomFeatures, not a trainer name of its own): `digital` with no
 *   training episodes, so a fixed random tanh layer on the same taps and a ridge readout, without
 *   the device; the gap to `classic` is what the device's dynamics add over a random projection.
 *
 * `digital` (heldOut) and `classic` (heldOutFraction) take an option that scores the run on
 * held-out rows of the training sequence (TrainResult.heldOut), which train/tune.ts sweeps rank by.
 */
import * as tf from '@tensorflow/tfjs';
import {
  type TrainOptions, type TrainResult, type EpisodeRecord, type HeldOutScore, type Resolved, baseResult, deviceResponder, episodeReadout, finalCost,
  finalEvaluation, inputLayer, resolve, targetRows, testTrace,
} from './common.js';
import { RidgeReadout, type TappedDense } from './hybrid.js';
import { betterThan, heldOutScore, rowSlice } from './held-out.js';
import type { RidgeAccumulator } from './ridge.js';

/** Options beyond {@link TrainOptions} for `classic`. */
export interface ClassicOptions extends TrainOptions {
  /**
   * Score the run on the last `heldOutFraction` of the readout fit segment's scored rows with a
   * readout fitted on the rest (TrainResult.heldOut); the final readout is still fitted on all of
   * them. It costs no device samples: the rows are measured anyway. Defaults to none (no score);
   * {@link CLASSIC_HELD_OUT_FRACTION} is what train/tune.ts uses.
   */
  heldOutFraction?: number;
}

/** The share of the fit segment train/tune.ts holds out for classic. */
export const CLASSIC_HELD_OUT_FRACTION = 0.2;

export async function trainClassic(o: ClassicOptions): Promise<TrainResult> {
  const t0 = performance.now();
  const device = o.device;
  if (!device) throw new TypeError('classic needs a device');
  // With a budget, the training sequence is drawn long enough to spend all of it on the fit segment.
  const washout = o.washout ?? 50;
  const trainSteps = o.budget !== undefined && Number.isFinite(o.budget)
    ? Math.max(o.trainSteps ?? 4000, Math.floor(o.budget) - washout - (o.testSteps ?? 1000))
    : o.trainSteps;
  const r = resolve({ ...o, trainSteps });
  const fraction = o.heldOutFraction;
  if (fraction !== undefined && !(fraction > 0 && fraction < 1)) throw new RangeError(`heldOutFraction must be in (0, 1), got ${String(fraction)}`);
  const layer = inputLayer(r, device.info.inChannels);
  try {
    const fitSteps = Number.isFinite(r.budget)
      ? Math.min(r.trainSteps - r.washout, r.budget - finalCost(r, 0))
      : r.fitSteps;
    if (fitSteps < 10) throw new RangeError(`budget ${r.budget} leaves ${fitSteps} steps for the readout fit`);
    let samples = 0;
    const respond = deviceResponder(r, device, layer, (n) => { samples += n; });
    let fitResponses: Float32Array | undefined;
    // The fit segment's responses are kept for the held-out score, so it needs no measurement of its own.
    const final = await finalEvaluation(r, device.info.outChannels, async (task, length) => {
      const resp = await respond(task, length);
      if (task === r.train) fitResponses = resp;
      return resp;
    }, fitSteps);
    let heldOut: HeldOutScore | undefined;
    if (fraction !== undefined) {
      const outs = device.info.outChannels, held = Math.floor(fraction * fitSteps), fit = fitSteps - held;
      if (fit < 10 || held < 1) throw new RangeError(`heldOutFraction ${fraction} of ${fitSteps} fit steps leaves ${fit} to fit and ${held} to score`);
      const X = rowSlice(fitResponses!, r.washout, fitSteps, outs);
      heldOut = heldOutScore(r.train, outs,
        { X: rowSlice(X, 0, fit, outs), Y: targetRows(r.train, r.washout, fit) },
        { X: rowSlice(X, fit, held, outs), Y: targetRows(r.train, r.washout + fit, held) }, r.readout);
    }
    return {
      ...baseResult(o, r, 'classic', t0),
      episodes: [],
      test: { metric: r.test.metric, value: final.value },
      ...(heldOut ? { heldOut } : {}),
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
  /**
   * Early stopping on held-out windows: the last `steps` steps of the training sequence are kept
   * out of every episode window; before training and after every `every` episodes (and the last)
   * a readout fitted on the final fit segment is scored on them, and the layer keeps the weights
   * of the best score (TrainResult.heldOut, with the episodes they were taken after). The final
   * fit segment must end before the held-out steps. Defaults to none (all of the training
   * sequence is cut into episodes and the last weights are kept); given, steps defaults to
   * {@link DIGITAL_HELD_OUT_STEPS} and every to 5.
   */
  heldOut?: { steps?: number; every?: number };
}

/** Held-out steps of DigitalOptions.heldOut when none are given: a quarter of the default 4,000-step training sequence. */
export const DIGITAL_HELD_OUT_STEPS = 1000;

/** DigitalOptions.heldOut resolved and checked against the run's sequence lengths. */
function digitalHeldOut(r: Resolved, h: DigitalOptions['heldOut']): { steps: number; every: number } | undefined {
  if (h === undefined) return undefined;
  const steps = h.steps ?? DIGITAL_HELD_OUT_STEPS, every = h.every ?? 5;
  if (!Number.isInteger(steps) || steps < 10) throw new RangeError(`heldOut.steps must be an integer >= 10, got ${String(h.steps)}`);
  if (!Number.isInteger(every) || every < 1) throw new RangeError(`heldOut.every must be an integer >= 1, got ${String(h.every)}`);
  const span = r.trainSteps - steps;
  if (r.washout + r.fitSteps > span || r.washout + r.steps > span) {
    throw new RangeError(`heldOut.steps ${steps} leaves ${span} of trainSteps ${r.trainSteps}, less than washout + fitSteps (${r.washout + r.fitSteps}) or washout + steps (${r.washout + r.steps})`);
  }
  return { steps, every };
}

/** The digital layer scored on the held-out tail [span, trainSteps) with a readout fitted on the final fit segment. */
function digitalHeldOutScore(r: Resolved, layer: TappedDense, span: number, steps: number): HeldOutScore {
  const u = layer.units;
  return heldOutScore(r.train, u,
    { X: rowSlice(layer.run(r.train.inputs, 0, r.washout + r.fitSteps), r.washout, r.fitSteps, u), Y: targetRows(r.train, r.washout, r.fitSteps) },
    { X: layer.run(r.train.inputs, span, steps), Y: targetRows(r.train, span, steps) }, r.readout);
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
  const hold = digitalHeldOut(r, o.heldOut);
  const span = r.trainSteps - (hold?.steps ?? 0);
  let best: { score: HeldOutScore; weights: { W: Float32Array; b: Float32Array } } | undefined;
  const check = (episodesDone: number): void => {
    if (!hold) return;
    const score = { ...digitalHeldOutScore(r, layer, span, hold.steps), episodes: episodesDone };
    if (betterThan(score, best?.score)) best = { score, weights: layer.snapshot() };
  };
  try {
    check(0);
    for (let e = 0; e < r.episodes; e++) {
      const start = windows.int(span - L + 1);
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
      if ((e + 1) % (hold?.every ?? 1) === 0 || e + 1 === r.episodes) check(e + 1);
    }
    if (best && best.score.episodes !== r.episodes) layer.restore(best.weights);
    const final = await finalEvaluation(r, units, async (task, length) => layer.run(task.inputs, 0, length));
    return {
      ...baseResult(o, r, 'digital', t0),
      device: null,
      episodes,
      test: { metric: r.test.metric, value: final.value },
      ...(best ? { heldOut: best.score } : {}),
      deviceSamples: 0,
      model: { inputLayer: layer.toJSON(), readout: final.readout.toJSON() },
      trace: testTrace(r, layer, final, units),
    };
  } finally {
    optimizer.dispose();
    layer.dispose();
  }
}

/**
 * Random features: the digital layer's seeded random tanh units on the same taps, never trained,
 * and a ridge readout; no device sample is spent. `units` defaults to the device's outChannels
 * (the device is only read for its width, never measured), or 50 without one. The result is a
 * `digital` result with no episodes. With `heldOut`, it is scored on held-out training steps as
 * `digital` is (train/tune.ts sweeps its gain).
 */
export async function trainRandomFeatures(o: Omit<DigitalOptions, 'trainer'> & { trainer?: 'digital' }): Promise<TrainResult> {
  if (o.episodes !== undefined && o.episodes !== 0) throw new RangeError(`random features train no episodes; episodes must be 0 or absent, got ${String(o.episodes)}`);
  const units = o.units ?? o.device?.info.outChannels ?? 50;
  return trainDigital({ ...o, trainer: 'digital', episodes: 0, units, device: undefined });
}
