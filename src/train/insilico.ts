/**
 * `insilico`: fit a surrogate once on a random exploration of the device, train the input layer
 * entirely on the surrogate (forward and backward through it, plain autodiff), then deploy: the
 * final readout fit and the test run on the real device as for every trainer.
 *
 * 1. Exploration: segments of washout + steps drives, measured on the device (counted). Even
 *    segments: the task's training inputs through a random TappedDense (fresh seed, gain uniform in
 *    [0.5, 2] x the init gain), so the drives look like what an input layer produces; odd segments:
 *    i.i.d. uniform drives in [-1, 1]. Exploration spends `exploreShare` (default 1) of the
 *    training budget, where the training budget is `budget - finalCost` with a budget and
 *    `episodes x (washout + steps)` (what pat's training spends) without one; so by default
 *    insilico uses exactly pat's device samples.
 * 2. Surrogate: a NARX MLP fitted on all the exploration pairs (`fitEpochs`, default 60). The
 *    in-silico forward pass must run closed-loop (there is no measured response to feed back), so
 *    the default surrogate is a pure drive-window model (responseLags 0, window 16); responseLags
 *    must be 0.
 * 3. Training: `episodes` episodes as pat's (same windows, readout scheme and Adam), with the
 *    responses predicted by the surrogate instead of measured; no device samples.
 * 4. Deployment: final readout fit and test on the device. Two numbers on the last episode record
 *    say how far the trained drives left the explored region: `surrogateNmse` (surrogate NMSE on
 *    exploration data, in-sample) and the extra field `deployNmse` (surrogate NMSE on the device's
 *    responses to the trained layer's final fit segment, out of sample); also `exploreSamples`.
 *
 * ```ts
 * const res = await train({ task: 'narma10', device, trainer: 'insilico', seed: 1, episodes: 30 });
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import { NarxSurrogate } from '../surrogate/narx.js';
import { ReplayBuffer } from '../surrogate/replay.js';
import {
  type TrainOptions, type TrainResult, type EpisodeRecord, baseResult, episodeReadout, finalCost,
  finalEvaluation, resolve, targetRows, finalFitSteps, testTrace } from './common.js';
import { RidgeReadout, TappedDense, inputNorm, measure } from './hybrid.js';
import type { RidgeAccumulator } from './ridge.js';
import { surrogateDefaults } from './surrogate-setup.js';
import { cutWindows } from '../surrogate/windows.js';

export interface InsilicoSettings {
  /** Share of the training budget spent on exploration, in (0, 1]. Defaults to 1. */
  exploreShare?: number;
  /** Epochs of the one surrogate fit. Defaults to 60. */
  fitEpochs?: number;
}

export interface InsilicoOptions extends TrainOptions {
  insilico?: InsilicoSettings;
}

/** The insilico episode record: the usual fields plus the deployment check. */
export interface InsilicoEpisodeRecord extends EpisodeRecord {
  /** Surrogate NMSE on the device's responses to the trained layer's final fit segment (last record only). */
  deployNmse?: number;
  /** Device samples spent on exploration (last record only). */
  exploreSamples?: number;
}

export async function trainInsilico(o: InsilicoOptions): Promise<TrainResult> {
  const t0 = performance.now();
  const device = o.device;
  if (!device) throw new TypeError('insilico needs a device');
  const r = resolve(o);
  const ci = device.info.inChannels, co = device.info.outChannels;
  const so = surrogateDefaults(o.surrogate, { window: 16, responseLags: 0, hidden: [64], fitExamples: 1 << 20, recent: 0, reservoir: 1 << 16 });
  if (so.responseLags !== 0) throw new RangeError('insilico runs the surrogate closed-loop: surrogate.responseLags must be 0');
  const share = o.insilico?.exploreShare ?? 1, fitEpochs = o.insilico?.fitEpochs ?? 60;
  if (!(share > 0 && share <= 1)) throw new RangeError(`insilico.exploreShare must be in (0, 1], got ${String(share)}`);
  const L = r.washout + r.steps;
  const trainBudget = Number.isFinite(r.budget) ? r.budget - finalCost(r) : r.episodes * L;
  const segments = Math.floor((share * trainBudget) / L);
  if (segments < 1) throw new RangeError(`the budget leaves no exploration segment of ${L} samples`);
  const norm = inputNorm(r.train.inputs, r.train.inChannels);
  const layer = new TappedDense({ inChannels: r.train.inChannels, taps: r.taps, units: ci, seed: r.rng.fork('input-layer').nextU32(), gain: r.gain, norm });
  const surrogate = new NarxSurrogate({ inChannels: ci, outChannels: co, window: so.window, responseLags: 0, hidden: so.hidden, seed: r.rng.fork('surrogate').nextU32() });
  const buffer = new ReplayBuffer({ inChannels: ci, outChannels: co, window: so.window, responseLags: 0, recent: so.recent, reservoir: so.reservoir, seed: r.rng.fork('replay').nextU32() });
  const readout = new RidgeReadout(co, r.train.outChannels, r.readout);
  const optimizer: tf.Optimizer = tf.train.adam(r.learningRate);
  const explore = r.rng.fork('explore'), windows = r.rng.fork('episodes');
  const ring: RidgeAccumulator[] = [];
  const episodes: InsilicoEpisodeRecord[] = [];
  let samples = 0, breaks = 0;
  try {
    // 1. Exploration on the device.
    for (let s = 0; s < segments; s++) {
      let a: Float32Array;
      if (s % 2 === 0) {
        const rnd = new TappedDense({ inChannels: r.train.inChannels, taps: r.taps, units: ci, seed: explore.nextU32(), gain: r.gain * explore.range(0.5, 2), norm });
        a = rnd.run(r.train.inputs, explore.int(r.trainSteps - L + 1), L);
        rnd.dispose();
      } else {
        a = Float32Array.from({ length: L * ci }, () => explore.range(-1, 1));
      }
      const m = await measure(device, a, r.measure);
      samples += m.samples;
      breaks += m.breaks;
      buffer.add(m.drives, m.responses, m.epoch);
    }
    const exploreSamples = samples;
    // 2. One surrogate fit on everything explored.
    surrogate.fit(buffer.sample(Math.min(so.fitExamples, buffer.size), r.rng.fork('replay-sample')), { epochs: fitEpochs, learningRate: so.learningRate, seed: 1 });
    // 3. Training on the surrogate only.
    for (let e = 0; e < r.episodes; e++) {
      const start = windows.int(r.trainSteps - L + 1);
      const Y = targetRows(r.train, start + r.washout, r.steps);
      const out = tf.tidy(() => {
        const x = layer.features2d(r.train.inputs, start, L);
        const pred = surrogate.predictSeq(layer.apply(x)).slice([r.washout, 0], [r.steps, co]);
        const readoutNmse = episodeReadout(r, readout, ring, pred.dataSync(), Y);
        const { W, b } = readout.tensors();
        const target = tf.tensor2d(Float32Array.from(Y), [r.steps, r.train.outChannels]);
        const { value, grads } = tf.variableGrads(() => {
          const y = surrogate.predictSeq(layer.apply(x)).slice([r.washout, 0], [r.steps, co]);
          return tf.mean(tf.squaredDifference(tf.add(tf.matMul(y, W), b), target)) as tf.Scalar;
        }, layer.variables);
        optimizer.applyGradients(grads);
        return { value, readoutNmse };
      });
      const rec: InsilicoEpisodeRecord = { loss: out.value.dataSync()[0], deviceSamples: samples };
      out.value.dispose();
      if (out.readoutNmse !== undefined) rec.readoutNmse = out.readoutNmse;
      if (e === 0) rec.breaks = breaks;
      episodes.push(rec);
      r.onEpisode?.(rec, e);
    }
    // 4. Deployment on the device (keeps the fit segment's responses for the deployment check).
    let deployNmse: number | undefined;
    const fitSteps = finalFitSteps(r, samples);
    const final = await finalEvaluation(r, co, async (task, length) => {
      const m = await measure(device, layer.run(task.inputs, 0, length), r.measure);
      samples += m.samples;
      if (deployNmse === undefined) deployNmse = surrogate.evaluate(cutWindows(surrogate.shape, m.drives, m.responses));
      return m.responses;
    }, fitSteps);
    const last = episodes[episodes.length - 1] ?? (episodes[0] = { loss: NaN, deviceSamples: samples });
    last.deployNmse = deployNmse;
    last.exploreSamples = exploreSamples;
    last.surrogateNmse = surrogate.evaluate(buffer.sample(Math.min(2048, buffer.size), r.rng.fork('explore-eval')));
    return {
      ...baseResult(o, r, 'insilico', t0),
      episodes,
      test: { metric: r.test.metric, value: final.value },
      deviceSamples: samples,
      model: { inputLayer: layer.toJSON(), readout: final.readout.toJSON(), surrogate: surrogate.toJSON() },
      trace: testTrace(r, layer, final, co),
    };
  } finally {
    optimizer.dispose();
    layer.dispose();
    surrogate.dispose();
  }
}
