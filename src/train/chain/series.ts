/**
 * Chains of physical layers on a time series (issue 12): physics-aware training with more than one
 * device in the loop (`rhil train --model-spec` with two or more physical layers; one is trainPat). The chain
 *
 *     u ─► taps ─► input layer (TappedDense) ─► a₁ ─► device 1 ─► r₁
 *       ─► taps of r₁ ─► between layer (TappedDense, units = device 2's drives) ─► a₂ ─► device 2 ─► r₂
 *       ─► … ─► ridge readout on the last layer's responses
 *
 * runs each physical layer on the WHOLE episode sequence from a reset (the devices have memory, so
 * the order of the steps matters): layer k+1's drives are computed from layer k's measured
 * responses, then measured as one segment of their own. A device may appear twice (the same board
 * used as layer 1 and layer 2, each layer its own segments and its own surrogate).
 *
 * One episode:
 * 1. a window of washout + steps rows of the training sequence (drawn as pat draws it); the forward
 *    pass measured layer by layer;
 * 2. every physical layer's (drive, response) pairs go to its own refit scheduler
 *    (surrogate-setup.surrogateRefitter: pat's NARX surrogate, replay, held-out tail and drift
 *    alarm; layer 1 seeded exactly as pat seeds its surrogate, layer k > 1 from the fork
 *    `layer-<k>`), which refits on them (lag 0: the step waits for that refit);
 * 3. the training readout from summed ridge statistics of the last `readoutEpisodes` episodes
 *    (common.episodeReadout), held constant during the step;
 * 4. the step ({@link seriesGradients}): the forward value of each physical layer is what the
 *    device measured, its backward pass the VJP of its surrogate (vjpSeq, through the sequence)
 *    at the drives sent; the digital layers by autodiff; the chain rule through all of them; one
 *    Adam step on every digital layer's weights.
 * 5. the rising-loss guard (`guard`, as pat's: on unless false; step-guard.ts, guarded-adam.ts) on
 *    the episode losses, over every digital layer's weights at once: a block of 5 episodes whose
 *    mean log loss rises well above the best block's rolls every layer back to the weights the
 *    best block started from and steps on at half the rate with a fresh Adam (down to a
 *    sixteenth); a loss that is not finite rolls back at once. The readout ring, built from the
 *    undone weights' responses, is emptied. An episode measured ahead with weights a rollback has
 *    since undone takes no step and stays out of the readout (its pairs still refit the
 *    surrogates). Records carry learningRate, rollbacks and rollback as pat's do.
 *
 * Pipelining (`pipeline`, default true, as pat's): episode e+1 is launched once episode e's last
 * segment is out and episode e-1 is stepped, and the host starts on episode e (steps 2-5) once
 * e+1's first segment is out, so the devices measure e+1 while the host refits and steps on e.
 * e+1's forward pass is still layer by layer (layer k+1's drives need layer k's responses), and
 * every digital layer's drives in it are computed with the weights from before step e: the
 * weights are copied when e+1 is launched and its forward pass runs on the copies. A between
 * layer's drives are computed only when the previous layer's responses are in, by which time step
 * e may or may not have been taken; on the copies that timing cannot reach them, so the whole
 * chain is one step stale, fixed by the episode index, and the same seed gives the same numbers.
 * The step takes its gradient at the drives sent ({@link seriesGradients}' straight-through
 * terms), as pat's does. With `pipeline: false` episode e+1 is launched after step e.
 *
 * With one physical layer this is pat (`trainPat` with the same `pipeline` and `fidelityEvery:
 * 0`): the same windows, initial weights, stale drives, surrogate, refits, readout and steps, so
 * the same numbers, pipelined or not (test/train/chain/series.test.ts checks both).
 * `gradient: 'oracle'` takes each layer's VJP from its simulator's exact twin instead
 * (twin-grad.ts; benchmarks only).
 *
 * Checkpoints (`onCheckpoint` every `checkpointEvery` episodes and after the last): the digital
 * layers, Adam's state, the guard's state and the weights it would roll back to (a resumed run goes
 * on at its rate), the episodes done, the readout's ridge-statistics ring and each layer's
 * surrogate (checkpoint.ts SeriesChainCheckpoint), and, when the next episode is already being
 * measured (pipelined), the weights it was launched with (`ahead`); `resume` continues from one,
 * drawing the episode windows again from the seed past the ones done and measuring the first
 * episode again with the `ahead` weights. On a deterministic device under oracle the resumed run
 * lands exactly on the uninterrupted one, pipelined or not (tested). The result's `model`
 * (series-model.ts) is what `rhil run --model` measures again.
 *
 * Device-sample accounting: every layer's segment counts (an episode of K physical layers costs
 * K·(washout + steps)), and the final readout fit and test run the whole chain (K times
 * finalCost). A record's count is the samples up to its own episode; the budget also counts the
 * episode measured ahead (its segments still to be measured as washout + steps each), so no
 * episode is launched that would leave too little for the final fit and test of the whole chain,
 * as pat does.
 *
 * Device utilisation (`deviceUtilisation`): the time with a segment outstanding on some device
 * over the wall time of the training episodes, both on the host, as pat's. Measured on a paced
 * two-layer chain (test/train/chain/series.test.ts, 200 ms segments): 0.98 pipelined against
 * 0.88 sequential. scripts/bench/chain-utilisation.ts --variants series2 (NARMA10, pat, seed 1,
 * 20 episodes, one board in its own process): busy 29 % → 43 % of the training time at 0.2 ms a
 * step, 60 % → 91 % at 0.8 ms; at the profile's own 10 µs a step the host is the bottleneck and
 * there is nothing to gain. The stale step costs accuracy early: test NMSE 0.15-0.16 pipelined
 * against 0.11-0.12 sequential after 20 episodes, 0.072 against 0.071 after 100 (README).
 *
 * Measured (scripts/bench/chain-series.ts, which has the table): on NARMA10 two layers of
 * sim:analog-awg or sim:fpga-awg do not beat one at equal device samples (0.077-0.102 against
 * 0.029-0.052 test NMSE, seeds 1-3), nor at equal episodes; see there for why.
 *
 * ```ts
 * const dev = await openDevice('sim:analog-awg', { seed: 1 });
 * const two = await trainSeriesChain({ task: 'narma10', seed: 1, devices: [dev, dev], budget: 48100 });
 * two.test.value;   // test NMSE
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import type { Device } from '../../device/client.js';
import type { DeviceSurrogate } from '../../surrogate/narx.js';
import type { LaggedRefitter } from '../../surrogate/lagged-refit.js';
import { physicalLayer } from '../../surrogate/physical-layer.js';
import { checkInt } from '../../core/validate.js';
import type { TaskData } from '../../tasks/index.js';
import {
  type EpisodeRecord, type Resolved, type TrainOptions, dropRows, episodeReadout, finalCost, finalEvaluation, inputLayer, resolve, targetRows,
} from '../common.js';
import { type InputNorm, TappedDense, inputNorm, tapFeatures } from '../input-layer.js';
import { RidgeReadout } from '../readout.js';
import { RidgeAccumulator } from '../ridge.js';
import { type SeriesChainCheckpoint, SERIES_CHECKPOINT_FORMAT, parseSeriesChainCheckpoint } from './checkpoint.js';
import { optimizerState, restoreOptimizer } from './optimizer-state.js';
import { GuardedAdam, type GuardedVariables } from '../guarded-adam.js';
import { SERIES_MODEL_FORMAT, type SeriesChainModelJSON, measureChain } from './series-model.js';
import type { Measurement } from '../device-units.js';
import { surrogateDefaults, surrogateRefitter } from '../surrogate-setup.js';
import { TwinGradient, twinMismatch, twinModelFor } from '../twin-grad.js';
import { saturation } from '../pat.js';
import { BusyClock } from '../busy-clock.js';

/** Where each physical layer's backward pass comes from. */
export type SeriesGradient = 'pat' | 'oracle';

/** Options of {@link trainSeriesChain}: the common ones (task, seed, episodes, budget, taps, washout, steps, …) plus the chain's. */
export interface SeriesChainOptions extends Omit<TrainOptions, 'device' | 'trainer' | 'calibration' | 'resume' | 'onCheckpoint' | 'checkpointEvery' | 'pipeline' | 'fidelityEvery' | 'fidelityDirections' | 'refitWorker' | 'onEpisode'> {
  /** The physical layers in order, at least one. The same device may appear more than once. */
  devices: Device[];
  /** 'pat' (each layer's surrogate VJP) or 'oracle' (each simulator's exact twin VJP). Defaults to 'pat'. */
  gradient?: SeriesGradient;
  /** Tapped delays of every between layer over the previous layer's responses. Defaults to 1 (the current response). */
  betweenTaps?: number;
  /**
   * Standard deviation of a between layer's initial pre-activations (x W) on the first responses it
   * sees: its random weights are scaled to it ({@link scaleToUnitStd}). Defaults to 1, the
   * input layer's scale on independent unit-variance taps. A device's response channels are
   * strongly correlated (every node sees the same drive history), so TappedDense's fan-in scaling
   * alone gives pre-activations several times larger: layer 2's drives then sat at the tanh's
   * ends (NARMA10 on sim:analog-awg, seed 1: 67 % of them with |a| > 0.95).
   */
  betweenGain?: number;
  /** oracle: largest NMSE of each layer's twin against its first measured episode. Defaults to 0.1. */
  twinCheck?: number;
  /** Names of the physical layers for the result's description (e.g. `sim:analog-awg`). Defaults to each device's INFO model. */
  names?: string[];
  /** Called after every episode with its record. */
  onEpisode?: (record: SeriesEpisodeRecord, index: number) => void;
  /**
   * Measure episode e+1's forward pass through the chain while the host refits and steps on
   * episode e, with every digital layer's weights from before step e (one step stale, as pat's
   * `pipeline`). Defaults to true.
   */
  pipeline?: boolean;
  /** Called every `checkpointEvery` episodes, and after the last, with the state `resume` continues from (after the episode's step). */
  onCheckpoint?: (c: SeriesChainCheckpoint) => void | Promise<void>;
  /** Episodes between checkpoints. Defaults to 10 (see SERIES_CHECKPOINT_EVERY). */
  checkpointEvery?: number;
  /** Continue from this checkpoint of a run with the same task, seed, gradient, layers and settings. */
  resume?: SeriesChainCheckpoint;
}

/**
 * Episodes between a series chain's checkpoints unless told otherwise. Not `rhil train`'s 1: a
 * checkpoint holds every layer's surrogate, Adam's moments and the readout's summed statistics
 * besides the weights (1.1 MB of JSON for two layers of sim:analog-awg under pat, measured,
 * against 0.43 MB for one-layer pat's), written to the database each time; 10 episodes of two
 * layers on sim:analog-awg are 5-10 s of work, which is what an interrupt can cost.
 */
export const SERIES_CHECKPOINT_EVERY = 10;

/** One training episode of a series chain. */
export interface SeriesEpisodeRecord extends Pick<EpisodeRecord, 'loss' | 'readoutNmse' | 'deviceSamples' | 'breaks' | 'learningRate' | 'rollbacks' | 'rollback'> {
  /** Per physical layer: the surrogate's NMSE on this episode's pairs before its refit (pat; absent before the first fit). */
  surrogateNmse?: (number | undefined)[];
  /** Per physical layer: the share of its drives with |a| > 0.95. */
  saturation: number[];
  /** oracle, episode 0: each layer's twin-vs-device NMSE. */
  twinNmse?: number[];
}

/** What {@link trainSeriesChain} returns. */
export interface SeriesChainResult {
  /** The chain in words, e.g. "taps 20 → sim:analog-awg → taps 1 → sim:analog-awg → ridge". */
  chain: string;
  gradient: SeriesGradient;
  task: string;
  seed: number;
  episodes: SeriesEpisodeRecord[];
  test: { metric: string; value: number };
  /** Device samples of the whole run: every layer's training segments, final fit and test. */
  deviceSamples: number;
  /**
   * Mean readoutNmse of the last 10 training episodes (each scored by the readout of the episodes
   * before it): a score from the training sequence only, for choosing settings without the test.
   */
  trainNmse?: number;
  /** Per physical layer: held-out NMSE of its surrogate at the end (pat). */
  surrogateHeldOutNmse?: (number | undefined)[];
  /** Wall-clock duration in ms (not deterministic). */
  elapsedMs: number;
  /**
   * Time with a segment outstanding on some device over the wall time of the training episodes,
   * both measured on the host (as TrainResult.deviceUtilisation; not deterministic).
   */
  deviceUtilisation?: number;
  /** The trained chain (series-model.ts). */
  model: SeriesChainModelJSON;
  /** The settings that shape the task's sequences and the chain: what measuring the model again needs (series-model.ts testSeriesChain). */
  settings: SeriesChainSettings;
}

/** The options that decide a series chain's task sequences and layer shapes, as resolved. */
export interface SeriesChainSettings {
  taskParams: Record<string, unknown>;
  taps: number;
  betweenTaps: number;
  washout: number;
  steps: number;
  trainSteps: number;
  fitSteps: number;
  testSteps: number;
}

/**
 * Tapped delays of a sequence as a differentiable tensor: row t of the result is
 * [ũ(t), ũ(t-1), …, ũ(t-taps+1)] (channels inside each lag), ũ = (r - shift) / scale, ũ = 0 before
 * row 0: the same layout as input-layer.tapFeatures, so a TappedDense applies to it unchanged.
 * @param r [L, channels]
 * @returns [L, taps * channels]
 */
export function tapTensor(r: tf.Tensor2D, taps: number, norm: InputNorm): tf.Tensor2D {
  return tf.tidy(() => {
    const [L, c] = r.shape;
    const u = tf.div(tf.sub(r, tf.tensor1d(norm.shift)), tf.tensor1d(norm.scale)) as tf.Tensor2D;
    const lags: tf.Tensor2D[] = [u];
    for (let k = 1; k < taps; k++) {
      lags.push(k >= L ? tf.zeros([L, c]) : tf.pad(u.slice([0, 0], [L - k, c]), [[k, 0], [0, 0]]));
    }
    return taps === 1 ? u : tf.concat(lags, 1);
  });
}

/** One measured episode of a chain of K physical layers, as the step needs it. Every array is row-major. */
export interface SeriesStepEpisode {
  /** Tapped features of the task input [L, first.features]. */
  x: Float32Array;
  /** Per physical layer k: the drives sent [L, inChannels_k] in [-1, 1]. */
  sent: Float32Array[];
  /** Per physical layer k: the measured responses [L, outChannels_k]. */
  measured: Float32Array[];
  /** Targets [steps, outputs] for rows washout.. of the episode. */
  target: Float32Array;
  /** Readout held constant in the step: W [outChannels_K, outputs], b [outputs]. */
  W: Float32Array;
  b: Float32Array;
  washout: number;
}

/**
 * The chain's physics-aware step: L and dL/dθ for the input layer's and every between layer's
 * weights. With ā the drives a layer computes from the values the forward pass measured,
 *
 *     a₁ = sent₁ + (first(x) - stop(first(x)))
 *     r_k = physicalLayer(vjps[k], measured_k)(a_k)          value measured_k, backward vjps[k] at a_k
 *     a_{k+1} = sent_{k+1} + (between_k(taps(r_k)) - stop(between_k(taps(measured_k))))
 *     L = mean((r_K[washout:] W + b - y)²)
 *
 * so the forward values are exactly what was sent and measured, and the gradient is the chain
 * rule through each layer's VJP at the drives sent and the digital layers' Jacobians at the
 * measured responses. With a layer's VJP missing (before its first fit) the loss only.
 */
export function seriesGradients(
  first: TappedDense, between: readonly TappedDense[], ep: SeriesStepEpisode, vjps: readonly (DeviceSurrogate | undefined)[], throughResponses = false,
): { loss: number; grads?: tf.NamedTensorMap } {
  const K = ep.sent.length;
  if (ep.measured.length !== K || vjps.length !== K || between.length !== K - 1) {
    throw new RangeError(`a chain of ${K} physical layers needs ${K} measured responses, ${K} VJPs and ${K - 1} between layers, got ${ep.measured.length}, ${vjps.length}, ${between.length}`);
  }
  const L = ep.x.length / first.features, outputs = ep.b.length, steps = L - ep.washout;
  const ready = vjps.every((v) => v !== undefined);
  const out = tf.tidy(() => {
    const x = tf.tensor2d(ep.x, [L, first.features]);
    const sent = ep.sent.map((s) => tf.tensor2d(s, [L, s.length / L]));
    const measured = ep.measured.map((m) => tf.tensor2d(m, [L, m.length / L]));
    const co = measured[K - 1].shape[1];
    const target = tf.tensor2d(ep.target, [steps, outputs]);
    const W = tf.tensor2d(ep.W, [co, outputs]), b = tf.tensor1d(ep.b);
    // Made outside the objective: constants to the gradient.
    const now = [first.apply(x), ...between.map((l, k) => l.apply(tapTensor(measured[k], l.taps, l.norm)))];
    const objective = (): tf.Scalar => {
      let a = tf.add(tf.sub(first.apply(x), now[0]), sent[0]) as tf.Tensor2D;
      let r = measured[0];
      for (let k = 0; k < K; k++) {
        r = ready ? physicalLayer(vjps[k]!, measured[k], { throughResponses })(a) : measured[k];
        if (k + 1 < K) {
          const l = between[k];
          a = tf.add(tf.sub(l.apply(tapTensor(r, l.taps, l.norm)), now[k + 1]), sent[k + 1]) as tf.Tensor2D;
        }
      }
      const y = r.slice([ep.washout, 0], [steps, co]);
      return tf.mean(tf.squaredDifference(tf.add(tf.matMul(y, W), b), target)) as tf.Scalar;
    };
    if (!ready) return { value: objective() };
    return tf.variableGrads(objective, [...first.variables, ...between.flatMap((l) => l.variables)]);
  }) as { value: tf.Scalar; grads?: tf.NamedTensorMap };
  const loss = out.value.dataSync()[0];
  out.value.dispose();
  return { loss, grads: out.grads };
}

/**
 * Scales a layer's weights so that its pre-activations x W on the features `x` [rows * features]
 * have standard deviation `std` (over every row and unit); the bias stays. A layer whose
 * pre-activations are all equal is left as it is.
 */
export function scaleToUnitStd(layer: TappedDense, x: Float32Array, std = 1): void {
  const z = tf.tidy(() => tf.matMul(tf.tensor2d(x, [x.length / layer.features, layer.features]), layer.W).dataSync());
  let m = 0, v = 0;
  for (let i = 0; i < z.length; i++) m += z[i];
  m /= z.length;
  for (let i = 0; i < z.length; i++) v += (z[i] - m) ** 2;
  const sd = Math.sqrt(v / z.length);
  if (!(sd > 1e-12)) return;
  const w = layer.snapshot();
  layer.restore({ W: w.W.map((x) => (x * std) / sd), b: w.b });
}

/** A short description of the chain. */
function describe(names: readonly string[], taps: number, betweenTaps: number): string {
  return [`taps ${taps}`, ...names.flatMap((n, k) => (k === 0 ? [n] : [`taps ${betweenTaps}`, n])), 'ridge'].join(' → ');
}

/** Trains a series chain (see the module comment). */
export async function trainSeriesChain(o: SeriesChainOptions): Promise<SeriesChainResult> {
  const t0 = performance.now();
  const devices = o.devices;
  if (!Array.isArray(devices) || devices.length < 1) throw new RangeError('a series chain needs at least one physical layer (devices)');
  const gradient = o.gradient ?? 'pat';
  if (gradient !== 'pat' && gradient !== 'oracle') throw new RangeError(`gradient must be pat or oracle, got ${String(gradient)}`);
  const K = devices.length;
  const betweenTaps = checkInt(o.betweenTaps ?? 1, 'betweenTaps', 1);
  const betweenGain = o.betweenGain ?? 1;
  if (!(betweenGain > 0 && Number.isFinite(betweenGain))) throw new RangeError(`betweenGain must be finite and > 0, got ${String(o.betweenGain)}`);
  const lag = o.surrogate?.lag ?? 0;
  if (lag !== 0) throw new RangeError(`a series chain steps with the refit on the episode's own pairs (surrogate.lag 0), got ${String(lag)}`);
  if (o.surrogate?.design !== undefined && o.surrogate.design !== 'narx') {
    throw new RangeError(`a series chain fits each layer's NARX surrogate (surrogate.design narx), got ${String(o.surrogate.design)}`);
  }
  // No calibration: a calibration record belongs to one device, and a chain may have several.
  const common: TrainOptions = { ...o, trainer: 'pat', onEpisode: undefined, calibration: undefined, onCheckpoint: undefined, resume: undefined };
  const r = resolve(common);
  const ci = devices.map((d) => d.info.inChannels), co = devices.map((d) => d.info.outChannels);
  devices.forEach((d, k) => {
    if (!(ci[k] >= 1 && co[k] >= 1)) throw new RangeError(`devices[${k}] has no channels`);
  });
  const L = r.washout + r.steps;
  // Layer 1 gets pat's own seeds (rng forks), so a one-layer chain is pat; layer k > 1 its own fork.
  const layerR = (k: number): Resolved => (k === 0 ? r : { ...r, rng: r.rng.fork(`layer-${k + 1}`) });
  const resume = o.resume ? parseSeriesChainCheckpoint(o.resume, { gradient, task: r.task, seed: r.seed, layers: K }) : undefined;
  const checkpointEvery = checkInt(o.checkpointEvery ?? SERIES_CHECKPOINT_EVERY, 'checkpointEvery', 1);
  const between: TappedDense[] = [];
  const first = resume ? resumedLayer(resume.first, 'first', r.train.inChannels, r.taps, ci[0]) : inputLayer(r, ci[0]);
  const refitters: LaggedRefitter[] = [];
  const twins: TwinGradient[] = [];
  const inFlight: Promise<unknown>[] = [];
  // Adam with the rising-loss guard (guarded-adam.ts) over every digital layer. Made before the
  // first step: the between layers are made on episode 0's responses (a resumed run has them).
  let guarded: GuardedAdam | undefined;
  const optimizer = (): GuardedAdam => (guarded ??= new GuardedAdam(chainVariables(first, between), r.learningRate, o.guard, resume?.guard));
  try {
    resume?.between.forEach((j, k) => between.push(resumedLayer(j, `between[${k}]`, co[k], betweenTaps, ci[k + 1])));
    if (resume?.ahead) {
      // Checked now, not when the first episode is measured with them.
      const ahead = [resumedLayer(resume.ahead.first, 'ahead.first', r.train.inChannels, r.taps, ci[0])];
      resume.ahead.between.forEach((j, k) => ahead.push(resumedLayer(j, `ahead.between[${k}]`, co[k], betweenTaps, ci[k + 1])));
      for (const l of ahead) l.dispose();
    }
    if (resume) await restoreOptimizer(optimizer().optimizer, resume.optimizer, [...first.variables, ...between.flatMap((l) => l.variables)]);
    if (gradient === 'pat') {
      const so = surrogateDefaults(o.surrogate);
      for (let k = 0; k < K; k++) {
        const saved = resume?.surrogates[k];
        if (resume && !saved) throw new RangeError(`resume: the checkpoint has no surrogate for physical layer ${k + 1}`);
        refitters.push(surrogateRefitter(common, layerR(k), so, ci[k], co[k], L, saved ?? undefined));
      }
    } else {
      for (let k = 0; k < K; k++) {
        const t = new TwinGradient({ model: twinModelFor(devices[k]), scaling: devices[k].info });
        if (t.inChannels !== ci[k] || t.outChannels !== co[k]) throw new RangeError(`devices[${k}]: the twin has ${t.inChannels} in / ${t.outChannels} out, the device ${ci[k]} / ${co[k]}`);
        twins.push(t);
      }
    }
    const readout = new RidgeReadout(co[K - 1], r.train.outChannels, r.readout);
    // The windows of the episodes done are drawn again, so a resumed run trains on the windows the uninterrupted one would.
    const windows = r.rng.fork('episodes');
    for (let e = 0; e < (resume?.episode ?? 0); e++) windows.int(r.trainSteps - L + 1);
    const ring: RidgeAccumulator[] = resume ? resume.ring.map((j, i) => resumedSums(j, i, co[K - 1], r.train.outChannels, r.readoutEpisodes)) : [];
    const episodes: SeriesEpisodeRecord[] = resume ? structuredClone(resume.episodes) as SeriesEpisodeRecord[] : [];
    const throughResponses = o.surrogate?.throughResponses ?? false;
    let samples = resume?.deviceSamples ?? 0;
    const final = (fitSteps = r.fitSteps): number => K * finalCost(r, fitSteps);

    /** The between layer k (after physical layer k), made on the first responses it sees: its input normalisation is theirs. */
    const betweenLayer = (k: number, responses: Float32Array): TappedDense => {
      if (!between[k]) {
        between[k] = new TappedDense({
          inChannels: co[k], taps: betweenTaps, units: ci[k + 1], seed: r.rng.fork(`between-${k + 1}`).nextU32(), norm: inputNorm(responses, co[k]),
        });
        scaleToUnitStd(between[k], tapFeatures(responses, co[k], betweenTaps, between[k].norm, 0, responses.length / co[k]), betweenGain);
      }
      return between[k];
    };
    const forward = (x: Float32Array, rows: number) => measureChain(devices, first, betweenLayer, x, rows, r.measure);

    const lead = o.pipeline ?? true;
    // `samples` counts up to the episode learned last (a record's count never depends on timing);
    // the budget also counts the episode launched ahead: its measured segments as measured, the
    // others (still measuring or not yet started) as L each.
    let measuredAhead = 0, pendingSegments = 0;
    const committed = (): number => samples + measuredAhead + pendingSegments * L;
    const more = (e: number): boolean => e < r.episodes && committed() + K * L + final() <= r.budget && !r.signal?.aborted;
    // Time with a segment outstanding on some device over the training episodes' wall time (as pat).
    const clock = new BusyClock();

    /**
     * Episode e: its window (drawn in episode order) and its forward pass through the chain with
     * `weights` (every digital layer's, taken now unless given), run on copies of the layers: a
     * step on the live ones while this forward is on the devices cannot reach its later layers'
     * drives, so they are fixed by the episode index, not by timing.
     */
    const launch = (e: number, weights: LayerWeights = { first: first.toJSON(), between: between.map((l) => l.toJSON()) }, gen = guarded?.generation ?? 0): Launched => {
      const start = windows.int(r.trainSteps - L + 1);
      const x = tapFeatures(r.train.inputs, r.train.inChannels, r.taps, first.norm, start, L);
      clock.begin();
      pendingSegments += K;
      let firstOut!: () => void, lastOut!: () => void;
      const firstSent = new Promise<void>((res) => { firstOut = res; }), lastSent = new Promise<void>((res) => { lastOut = res; });
      const done = (async () => {
        const f = TappedDense.fromJSON(weights.first);
        const bs = weights.between.map((j) => TappedDense.fromJSON(j));
        try {
          // Episode 0 makes the between layers (on its responses, before any step): copied as made.
          const at = (k: number, responses: Float32Array): TappedDense => (bs[k] ??= TappedDense.fromJSON(betweenLayer(k, responses).toJSON()));
          return await measureChain(devices, f, at, x, L, r.measure, {
            start: () => clock.start(),
            sent: (k) => { if (k === 0) firstOut(); if (k === K - 1) lastOut(); },
            end: (k, m) => {
              clock.stop();
              if (m) {
                pendingSegments--;
                measuredAhead += m.samples;
              } else pendingSegments -= K - k;
            },
          });
        } finally {
          f.dispose();
          for (const l of bs) l?.dispose();
        }
      })();
      inFlight.push(done.catch(() => undefined));
      return { e, start, x, weights, gen, firstSent, lastSent, done };
    };

    let deferred: SeriesStepEpisode | undefined;
    /** Host work on a measured episode: refit each layer's surrogate, readout, step, record, checkpoint (`last()`: no episode follows it). */
    const learn = async ({ e, start, x, gen }: Launched, { sent, ms }: Measured, last: () => boolean, ahead?: Launched): Promise<void> => {
      const adam = optimizer();
      const rec: SeriesEpisodeRecord = { loss: NaN, deviceSamples: 0, breaks: 0, saturation: sent.map((a) => saturation(a)) };
      for (const m of ms) {
        samples += m.samples;
        measuredAhead -= m.samples;
        rec.breaks! += m.breaks;
      }
      let vjps: (DeviceSurrogate | undefined)[];
      if (gradient === 'pat') {
        const nmse: (number | undefined)[] = [];
        for (let k = 0; k < K; k++) {
          const seen = await refitters[k].observe({ drives: ms[k].drives, responses: ms[k].responses, epoch: ms[k].epoch });
          nmse.push(seen.newestNmse);
        }
        for (const rf of refitters) await rf.settle();
        if (nmse.some((v) => v !== undefined)) rec.surrogateNmse = nmse;
        vjps = refitters.map((rf) => (rf.fitted ? rf.surrogate : undefined));
      } else {
        if (e === 0) {
          rec.twinNmse = twins.map((t, k) => twinMismatch(t, ms[k].drives, ms[k].responses));
          const tol = o.twinCheck ?? 0.1;
          rec.twinNmse.forEach((v, k) => {
            if (!(v <= tol)) throw new Error(`devices[${k}]: the twin does not match the device (NMSE ${v.toFixed(3)} > ${tol}): wrong profile, seed or overrides?`);
          });
        }
        vjps = twins;
      }
      const X = dropRows(ms[K - 1].responses, r.washout, co[K - 1]), Y = targetRows(r.train, start + r.washout, r.steps);
      // Measured ahead with weights a rollback has since undone (as pat): its pairs went to the
      // surrogates (they are the devices'), its loss is recorded, but it neither steps nor enters
      // the training readout.
      const stale = gen !== adam.generation;
      const readoutNmse = stale ? undefined : episodeReadout(r, readout, ring, X, Y);
      if (readoutNmse !== undefined) rec.readoutNmse = readoutNmse;
      // A resumed run's first episode can be stale with no readout yet (the checkpoint's ring was
      // emptied by the rollback): its loss, which steps nothing, is then taken with a readout fitted
      // on its own rows (the uninterrupted run's used the readout before the rollback).
      if (stale && !readout.fitted) readout.fitSplit({ X, Y });
      const { W, b } = readout.current;
      const ep: SeriesStepEpisode = {
        x, sent, measured: ms.map((m) => m.responses), target: Float32Array.from(Y), W: Float32Array.from(W), b: Float32Array.from(b), washout: r.washout,
      };
      // The gradient is taken at the drives sent (seriesGradients' straight-through terms), so a
      // pipelined episode's stale drives are stepped on where they were measured.
      const step = (p: SeriesStepEpisode, v: readonly (DeviceSurrogate | undefined)[]): number => {
        const { loss, grads } = seriesGradients(first, between, p, v, throughResponses);
        if (grads) {
          adam.optimizer.applyGradients(grads);
          tf.dispose(grads);
        }
        return loss;
      };
      // As pat: before every layer has a fitted surrogate the episode's loss only, its step taken with the first fit.
      if (stale) {
        rec.loss = step(ep, vjps.map(() => undefined));
      } else if (vjps.every((v) => v !== undefined)) {
        if (deferred) step(deferred, vjps);
        deferred = undefined;
        rec.loss = step(ep, vjps);
      } else {
        rec.loss = step(ep, vjps);
        deferred = ep;
      }
      // The training readout's statistics came from the responses to weights a rollback undoes.
      if (adam.recordEpisode(rec, rec.loss, !stale)) ring.length = 0;
      rec.deviceSamples = samples;
      episodes.push(rec);
      o.onEpisode?.(rec, e);
      // A deferred step (no fitted surrogate yet) is not in the weights: no checkpoint until it is.
      if (o.onCheckpoint && !deferred && ((e + 1) % checkpointEvery === 0 || last())) {
        await o.onCheckpoint({
          format: SERIES_CHECKPOINT_FORMAT, gradient, task: r.task, seed: r.seed, episode: e + 1, deviceSamples: samples, episodes: structuredClone(episodes),
          first: first.toJSON(), between: between.map((l) => l.toJSON()), ring: ring.map((a) => a.toJSON()),
          surrogates: gradient === 'pat' ? refitters.map((rf) => rf.surrogate.toJSON()) : devices.map(() => null), optimizer: await optimizerState(adam.optimizer),
          ...(adam.guarded ? { guard: adam.toJSON() } : {}),
          ...(ahead ? { ahead: ahead.weights, ...(ahead.gen !== adam.generation ? { aheadStale: true as const } : {}) } : {}),
        });
      }
      clock.mark();
    };

    // The training loop. Pipelined (as pat): episode e+1 is launched once e's last segment is out
    // and e-1 is stepped, so its drives at every layer are those of the weights before step e,
    // and the first device finds it queued behind e; the host works on e once e+1's first segment
    // is out, on a later macrotask. Sequential: e+1 is launched after step e.
    const e0 = resume?.episode ?? 0;
    // An episode measured ahead with weights the resumed run's last rollback undid is stale here too.
    let next = more(e0) ? launch(e0, lead ? resume?.ahead : undefined, lead && resume?.ahead && resume.aheadStale ? -1 : 0) : undefined;
    for (let e = e0; next; e++) {
      const cur = next;
      next = undefined;
      if (lead) {
        await Promise.race([cur.lastSent, cur.done]);
        if (more(e + 1)) next = launch(e + 1);
      }
      const measured = await cur.done;
      if (next) {
        await Promise.race([next.firstSent, next.done]);
        await new Promise((res) => setTimeout(res, 0));
      }
      const ahead = next;
      // Asked at the checkpoint, after the step: an interrupt during it makes this the last episode.
      await learn(cur, measured, () => (ahead ? !!r.signal?.aborted : !more(e + 1)), ahead);
      if (!lead && more(e + 1)) next = launch(e + 1);
      if (r.signal?.aborted) break;
    }
    if (r.signal?.aborted) throw Object.assign(new Error(`training interrupted after ${episodes.length} episodes`), { name: 'TrainingInterrupted', episodes, deviceSamples: samples + measuredAhead });
    // The final readout fit and test through the whole chain, within what the budget leaves.
    const fitSteps = Number.isFinite(r.budget) ? Math.min(r.fitSteps, Math.floor((r.budget - samples) / K) - finalCost(r, 0)) : r.fitSteps;
    if (fitSteps < 10) throw new RangeError(`budget ${r.budget} leaves ${fitSteps} steps for the final readout fit`);
    const respond = async (task: TaskData, length: number): Promise<Float32Array> => {
      const { ms } = await forward(tapFeatures(task.inputs, task.inChannels, r.taps, first.norm, 0, length), length);
      for (const m of ms) samples += m.samples;
      return ms[K - 1].responses;
    };
    const fin = await finalEvaluation(r, co[K - 1], respond, fitSteps);
    const result: SeriesChainResult = {
      chain: describe(o.names ?? devices.map((d) => d.info.model), r.taps, betweenTaps), gradient, task: r.task, seed: r.seed, episodes,
      test: { metric: r.test.metric, value: fin.value }, deviceSamples: samples, elapsedMs: performance.now() - t0,
      settings: { taskParams: r.taskParams, taps: r.taps, betweenTaps, washout: r.washout, steps: r.steps, trainSteps: r.trainSteps, fitSteps: r.fitSteps, testSteps: r.testSteps },
      model: { format: SERIES_MODEL_FORMAT, first: first.toJSON(), between: between.map((l) => l.toJSON()), readout: fin.readout.toJSON(), surrogates: devices.map(() => null) },
    };
    const scored = episodes.slice(-10).map((x) => x.readoutNmse).filter((x): x is number => x !== undefined);
    const utilisation = clock.utilisation();
    if (utilisation !== undefined) result.deviceUtilisation = utilisation;
    if (scored.length) result.trainNmse = scored.reduce((a, x) => a + x, 0) / scored.length;
    if (gradient === 'pat') {
      for (const rf of refitters) await rf.settle();
      result.surrogateHeldOutNmse = refitters.map((rf) => rf.stats.heldOutNmse);
      result.model.surrogates = refitters.map((rf) => rf.surrogate.toJSON());
    }
    return result;
  } finally {
    // An episode measured ahead of a failed or interrupted step finishes before its layers go.
    await Promise.all(inFlight);
    guarded?.dispose();
    first.dispose();
    for (const l of between) l?.dispose();
    for (const rf of refitters) await rf.close();
  }
}

/** Every digital layer's weights (and normalisation), as an episode's forward pass used them. */
type LayerWeights = NonNullable<SeriesChainCheckpoint['ahead']>;

/** An episode launched: its window, the weights of its forward pass, and that forward pass under way. */
interface Launched {
  e: number;
  /** First row of the episode's window in the training sequence. */
  start: number;
  /** Its tapped features [L, taps * inChannels], row-major. */
  x: Float32Array;
  weights: LayerWeights;
  /** The guard's generation (rollbacks in this process) when it was launched: another at its step means its weights were undone. */
  gen: number;
  /** Resolves when the first physical layer's batches are out. */
  firstSent: Promise<void>;
  /** Resolves when the last physical layer's batches are out. */
  lastSent: Promise<void>;
  done: Promise<Measured>;
}

/** The forward pass of one episode as measured: per physical layer the drives computed and the measurement. */
interface Measured { sent: Float32Array[]; ms: Measurement[] }

/** Every digital layer's variables by name, as the guard keeps them: first.W, first.b, between[k].W, between[k].b. */
function chainVariables(first: TappedDense, between: readonly TappedDense[]): GuardedVariables {
  const vars: Record<string, tf.Variable> = { 'first.W': first.W, 'first.b': first.b };
  between.forEach((l, k) => {
    vars[`between[${k}].W`] = l.W;
    vars[`between[${k}].b`] = l.b;
  });
  return vars;
}

/** A checkpoint's digital layer, checked to fit this run (a database is untrusted input). */
function resumedLayer(j: unknown, name: string, inChannels: number, taps: number, units: number): TappedDense {
  let l: TappedDense;
  try {
    l = TappedDense.fromJSON(j);
  } catch (e) {
    throw new RangeError(`resume: the checkpoint's ${name} layer: ${(e as Error).message}`);
  }
  if (l.inChannels !== inChannels || l.taps !== taps || l.units !== units) {
    l.dispose();
    throw new RangeError(`resume: the checkpoint's ${name} layer (${l.taps} taps x ${l.inChannels} channels -> ${l.units}) does not fit this run (${taps} x ${inChannels} -> ${units})`);
  }
  return l;
}

/** One entry of a checkpoint's readout ring, checked to fit this run. */
function resumedSums(j: unknown, i: number, features: number, outputs: number, readoutEpisodes: number): RidgeAccumulator {
  if (i >= readoutEpisodes - 1) throw new RangeError(`resume: the checkpoint's readout ring holds more than the ${readoutEpisodes - 1} episodes this run sums`);
  let a: RidgeAccumulator;
  try {
    a = RidgeAccumulator.fromJSON(j);
  } catch (e) {
    throw new RangeError(`resume: the checkpoint's ring[${i}]: ${(e as Error).message}`);
  }
  if (a.features !== features || a.outputs !== outputs) throw new RangeError(`resume: the checkpoint's ring[${i}] sums ${a.features} features x ${a.outputs} outputs; this run ${features} x ${outputs}`);
  return a;
}
