/**
 * Physics-aware training (Wright et al., Nature 601, 2022): the forward pass runs on the device,
 * the backward pass through the vector-Jacobian product of a surrogate fitted on the device's
 * own (drive, response) pairs. Per episode:
 *
 * 1. drives a = inputLayer(taps of u) for a window of washout + T steps of the training sequence;
 * 2. measure a on the device (reset, batches of maxBatch, re-measure on a state break);
 * 3. add (a, r) to the replay buffer (one segment per episode epoch); surrogate NMSE on these
 *    newest pairs before the refit (drift alarm); refit the surrogate: `firstEpochs` after
 *    episode 0, then `refitEpochs` every `refitEvery` episodes on `fitExamples` replay samples;
 * 4. training readout W from the summed ridge statistics of the last `readoutEpisodes` episodes
 *    (see common.episodeReadout), held constant;
 * 5. L = MSE(r[washout:] W + b, y); dL/dr pulled back to a by physicalLayer(surrogate, r) (the
 *    surrogate VJP at the drives sent), then into the input layer by autodiff; one Adam step.
 *
 * Refits run in the foreground, between measuring and the gradient step (no pipelining).
 *
 * ```ts
 * const res = await trainPat({ task: 'narma10', device: await openDevice('sim:analog'), trainer: 'pat', seed: 1, episodes: 30 });
 * res.test.value;   // test NMSE
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import { NarxSurrogate } from '../surrogate/narx.js';
import { physicalLayer } from '../surrogate/physical-layer.js';
import { ReplayBuffer } from '../surrogate/replay.js';
import {
  type TrainOptions, type TrainResult, type EpisodeRecord, baseResult, deviceResponder, dropRows, episodeReadout, finalCost,
  finalEvaluation, resolve, targetRows,
} from './common.js';
import { RidgeReadout, TappedDense, inputNorm, measure } from './hybrid.js';
import type { RidgeAccumulator } from './ridge.js';

export async function trainPat(o: TrainOptions): Promise<TrainResult> {
  const t0 = performance.now();
  const device = o.device;
  if (!device) throw new TypeError('pat needs a device');
  const r = resolve(o);
  const info = device.info;
  if (info.inChannels < 1 || info.outChannels < 1) throw new RangeError('device has no channels');
  const ci = info.inChannels, co = info.outChannels;
  const s = o.surrogate ?? {};
  const so = {
    window: s.window ?? 1, responseLags: s.responseLags ?? 1, hidden: s.hidden ?? [64],
    firstEpochs: s.firstEpochs ?? 40, refitEpochs: s.refitEpochs ?? 4, refitEvery: s.refitEvery ?? 1,
    fitExamples: s.fitExamples ?? 2048, learningRate: s.learningRate ?? 3e-3, recent: s.recent ?? 4096, reservoir: s.reservoir ?? 4096,
  };
  const L = r.washout + r.steps;
  const layer = new TappedDense({
    inChannels: r.train.inChannels, taps: r.taps, units: ci, seed: r.rng.fork('input-layer').nextU32(), gain: r.gain,
    norm: inputNorm(r.train.inputs, r.train.inChannels),
  });
  const surrogate = new NarxSurrogate({
    inChannels: ci, outChannels: co, window: so.window, responseLags: so.responseLags, hidden: so.hidden, seed: r.rng.fork('surrogate').nextU32(),
  });
  const buffer = new ReplayBuffer({
    inChannels: ci, outChannels: co, window: so.window, responseLags: so.responseLags, recent: so.recent, reservoir: so.reservoir,
    seed: r.rng.fork('replay').nextU32(),
  });
  const readout = new RidgeReadout(co, r.train.outChannels, r.readout);
  const optimizer: tf.Optimizer = tf.train.adam(r.learningRate);
  const windows = r.rng.fork('episodes'), sampling = r.rng.fork('replay-sample');
  const ring: RidgeAccumulator[] = [];
  const episodes: EpisodeRecord[] = [];
  let samples = 0, fitted = false;
  try {
    for (let e = 0; e < r.episodes; e++) {
      if (samples + L + finalCost(r) > r.budget) break;
      const start = windows.int(r.trainSteps - L + 1);
      const x = layer.features2d(r.train.inputs, start, L);
      try {
        const aT = tf.tidy(() => layer.apply(x));
        const a = aT.dataSync();
        aT.dispose();
        const m = await measure(device, a, r.maxRetries);
        samples += m.samples;
        // Surrogate: drift check on the newest pairs, then refit.
        const added = buffer.add(m.drives, m.responses, m.epoch);
        const surrogateNmse = fitted ? surrogate.evaluate(buffer.newest(added)) : undefined;
        if (!fitted || e % so.refitEvery === 0) {
          surrogate.fit(buffer.sample(so.fitExamples, sampling), {
            epochs: fitted ? so.refitEpochs : so.firstEpochs, learningRate: so.learningRate, seed: e,
          });
          fitted = true;
        }
        // Readout (constant in the gradient step).
        const X = dropRows(m.responses, r.washout, co), Y = targetRows(r.train, start + r.washout, r.steps);
        const readoutNmse = episodeReadout(r, readout, ring, X, Y);
        // Loss and the physics-aware gradient.
        const loss = tf.tidy(() => {
          const { W, b } = readout.tensors();
          const measured = tf.tensor2d(m.responses, [L, co]);
          const target = tf.tensor2d(Float32Array.from(Y), [r.steps, r.train.outChannels]);
          const device$ = physicalLayer(surrogate, measured);
          const { value, grads } = tf.variableGrads(() => {
            const y = device$(layer.apply(x)).slice([r.washout, 0], [r.steps, co]);
            return tf.mean(tf.squaredDifference(tf.add(tf.matMul(y, W), b), target)) as tf.Scalar;
          }, layer.variables);
          optimizer.applyGradients(grads);
          return value;
        });
        const rec: EpisodeRecord = { loss: loss.dataSync()[0], deviceSamples: samples, breaks: m.breaks };
        loss.dispose();
        if (readoutNmse !== undefined) rec.readoutNmse = readoutNmse;
        if (surrogateNmse !== undefined) rec.surrogateNmse = surrogateNmse;
        episodes.push(rec);
        r.onEpisode?.(rec, e);
      } finally {
        x.dispose();
      }
    }
    const fitSteps = Number.isFinite(r.budget) ? Math.min(r.fitSteps, r.budget - samples - finalCost(r, 0)) : r.fitSteps;
    if (fitSteps < 10) throw new RangeError(`budget ${r.budget} leaves ${fitSteps} steps for the final readout fit`);
    const final = await finalEvaluation(r, co, deviceResponder(r, device, layer, (n) => { samples += n; }), fitSteps);
    return {
      ...baseResult(o, r, 'pat', t0),
      episodes,
      test: { metric: r.test.metric, value: final.value },
      deviceSamples: samples,
      model: { inputLayer: layer.toJSON(), readout: final.readout.toJSON(), surrogate: surrogate.toJSON() },
    };
  } finally {
    optimizer.dispose();
    layer.dispose();
    surrogate.dispose();
  }
}
