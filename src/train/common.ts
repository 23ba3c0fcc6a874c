/**
 * What every trainer shares: the options, the task split, the result shape, and the final
 * evaluation (fit a ridge readout on a fresh measured segment of the training sequence, then
 * score it on a test sequence drawn with a different seed).
 *
 * Device-sample accounting: every vector sent to the device counts, washout and re-measured
 * segments included. The final fit segment costs washout + fitSteps samples and the test
 * segment washout + testSteps.
 */
import { type DeviceIdentity, deviceIdentity } from '../device/identity.js';
import * as tf from '@tensorflow/tfjs';
import type { Device } from '../device/client.js';
import { Rng, checkSeed } from '../core/rng.js';
import { generateTask, type MetricName, type TaskData } from '../tasks/index.js';
import type { SurrogateJSON } from '../surrogate/saved.js';
import type { RefitOptions } from '../surrogate/refit.js';
import { RidgeReadout, TappedDense, inputNorm, measure, type MeasureOptions, type ReadoutJSON, type RidgeReadoutOptions, type TappedDenseJSON } from './hybrid.js';
import type { RidgeAccumulator } from './ridge.js';
import type { GuardOptions } from './step-guard.js';
import type { GuardCheckpoint } from './guarded-adam.js';
import type { AppliedCalibration } from '../calibration/apply.js';

export type TrainerName = 'pat' | 'classic' | 'digital' | 'oracle' | 'insilico' | 'spsa';

/** Options of the surrogate used by `pat`. */
export interface SurrogateTrainOptions {
  /**
   * Drive window W of the NARX surrogate. Defaults to 4 (NARMA10 on sim:analog, seeds 1-3, 100
   * episodes of 400 steps: test NMSE 0.077 against 0.107 with window 1, at the same run time).
   */
  window?: number;
  /** Measured-response lags R (teacher forcing). Defaults to 1. */
  responseLags?: number;
  /** Hidden layer sizes. Defaults to [64]. */
  hidden?: number[];
  /** Epochs of the first fit (after episode 0). Defaults to 40. */
  firstEpochs?: number;
  /** Epochs of every later refit. Defaults to 4. */
  refitEpochs?: number;
  /** Refit every this many episodes (after the first fit). Defaults to 1. */
  refitEvery?: number;
  /** Examples sampled from the replay buffer per refit. Defaults to 2048. */
  fitExamples?: number;
  /** Adam learning rate of the surrogate fits. Defaults to 3e-3. */
  learningRate?: number;
  /** Newest examples kept by the replay buffer. Defaults to 4096. */
  recent?: number;
  /** Reservoir-sampled examples kept by the replay buffer. Defaults to 4096. */
  reservoir?: number;
  /**
   * Refits the surrogate of episode e's step lags behind: 0 waits for the refit on episode e's own
   * pairs (it still overlaps the next measurement); 1 uses the refit on the pairs up to e - 1, so
   * the refit also overlaps the step. Defaults to 0: NARMA10 on sim:analog-awg, seeds 1-3, test
   * NMSE 0.032 against 0.041 with lag 1, at 91-95 % device utilisation (bench:utilisation).
   */
  lag?: 0 | 1;
  /**
   * pat: the step backpropagates through the surrogate's response lags as well as its drive
   * window (SeqContext.throughResponses): the device's memory held in its state is then part of
   * the gradient. Defaults to true for design 'state' (its memory is in the response lag), false
   * otherwise.
   */
  throughResponses?: boolean;
  /**
   * pat, with throughResponses: the share of the adjoint passed back per step along the response
   * lags (SeqContext.responseDecay), in [0, 1]. Defaults to 0.5 for design 'state'
   * (designs.ts STATE_VJP, where the figures are), 1 otherwise.
   */
  responseDecay?: number;
  /**
   * pat and oracle's fidelity companion: the surrogate's design (surrogate/designs.ts). `narx` is
   * the NARX MLP of `window`, `responseLags` and `hidden` above. `state` is a state-space model:
   * window 1, the last measured responses as the state, `stateWidth` hidden units (one per response
   * channel), the step's gradient through the responses. `memoryless` is window 1, no
   * response lags, `memorylessWidth` hidden units (256 for sim:optical): for a device whose
   * response depends on the current drive only. `auto` first explores the device
   * (train/explore.ts: memory probe, random segments, held-out NMSE and a device-measured
   * gradient-fidelity reading of each design) and trains with the best of `narx` (two widths),
   * `state`, `memoryless` and `transmission`; the exploration's samples count in `deviceSamples` and in
   * the budget. `window`, `responseLags` and `hidden` given here override the design's. Defaults
   * to 'narx' (issue 11: optical test NMSE 0.250 with it, 0.129 memoryless; fpga 0.076 and 0.072).
   */
  design?: SurrogateDesignOption;
  /** design 'auto': the exploration's settings. Defaults to {} (see {@link ExploreSettings}). */
  explore?: ExploreSettings;
}

/** The surrogate designs a trainer can be asked for (see SurrogateTrainOptions.design). */
export type SurrogateDesignOption = 'auto' | 'narx' | 'state' | 'memoryless' | 'transmission';

/** Settings of the exploration that design 'auto' runs before training. */
export interface ExploreSettings {
  /**
   * Device samples of the exploration. Defaults to 15 % of the run's planned samples (the
   * budget, or episodes x (washout + steps) plus the final fit and test when there is none), and
   * at least what the memory probe, the fidelity reading and 8 segments need (5,200 with the
   * default segments and directions on up to 199 response channels): 7,215 of a default
   * 100-episode run, about 18 segments of 200 steps.
   */
  budget?: number;
  /** Steps per random segment. Defaults to 200. */
  segmentSteps?: number;
  /** Directions of the fidelity reading. Defaults to 6. */
  directions?: number;
  /** Epochs of each candidate design's fit. Defaults to 30. */
  epochs?: number;
}

/** What a run records of a surrogate design other than the default: what was asked, what it trained with. */
export interface SurrogateChoiceRecord {
  requested: 'auto' | 'state' | 'memoryless' | 'transmission';
  design: 'narx' | 'state' | 'memoryless' | 'transmission';
  window: number;
  responseLags: number;
  hidden: number[];
  /** Device samples of the exploration (0 when the design was forced). */
  samples: number;
  /** design 'auto': exploreRecord of the exploration (every design's scores, the device's memory, suggested taps). */
  exploration?: Record<string, unknown>;
}

/** Training episodes when none are given. */
export const DEFAULT_EPISODES = 100;

/** Options of {@link train}. */
export interface TrainOptions {
  /** A task of the registry by name, or a task of your own (see {@link CustomTask}). */
  task: string | CustomTask;
  /** Task parameters (registry tasks). Defaults to {}. */
  taskParams?: Record<string, unknown>;
  /** The device (pat, classic). Not used by `digital`. */
  device?: Device;
  trainer: TrainerName;
  /** Seeds everything: task sequences, init, episode windows, surrogate, replay. */
  seed: number;
  /** Training episodes (pat, digital). Defaults to 100 (NARMA10 on sim:analog: test NMSE about 0.08, against 0.15-0.25 after 30). */
  episodes?: number;
  /**
   * Device-sample budget for the whole run (training episodes, final fit and test). `pat` stops
   * training before an episode that would leave too little for the final fit and test;
   * `classic` spends everything not needed for the test on its readout fit segment.
   * Defaults to no limit (classic then uses fitSteps).
   */
  budget?: number;
  /** Tapped delays D of the input layer. Defaults to 20. */
  taps?: number;
  /** Washout steps at the start of every measured segment. Defaults to 50. */
  washout?: number;
  /** Scored steps T per episode. Defaults to 400. */
  steps?: number;
  /** Adam learning rate of the input layer (pat) or digital layer. Defaults to 0.03 (0.01 trains about half as fast on NARMA10). */
  learningRate?: number;
  /** Init gain of the input layer (see TappedDense). Defaults to 1. */
  gain?: number;

  /** Length of the training sequence episodes are cut from. Defaults to 4000. */
  trainSteps?: number;
  /** Scored steps of the final readout fit segment. Defaults to 2000. */
  fitSteps?: number;
  /** Scored steps of the test sequence. Defaults to 1000. */
  testSteps?: number;
  /** Episodes whose readout statistics are summed for the training readout. Defaults to 4. */
  readoutEpisodes?: number;
  /** Readout options (λ grid, accumulator hook). */
  readout?: RidgeReadoutOptions;
  /** Surrogate options (pat). */
  surrogate?: SurrogateTrainOptions;
  /** Re-measurements allowed per segment after a state break. Defaults to 3. */
  maxRetries?: number;
  /** Called after every episode with its record. */
  onEpisode?: (record: EpisodeRecord, index: number) => void;
  /**
   * pat: measure the next episode on the device while the host refits and steps on the current
   * one (its drives are then one step stale: computed before the current step). Defaults to true.
   */
  pipeline?: boolean;
  /**
   * pat: weight β of a pre-activation penalty β·Var(target)·mean(z²) added to the training loss
   * (β in NMSE units; Var over the training sequence's targets, all channels), z = x W + b the
   * input layer's pre-tanh output. It keeps the drives off the tanh's flat ends (|a| → 1),
   * where the surrogate has few pairs and its slope is least reliable. Defaults to 0: on NARMA10
   * (sim:analog, seeds 1-3) β 0.01-1 cut the saturated share (EpisodeRecord.saturation) from
   * about 0.4-0.5 to 0.3-0 but raised the test NMSE at every β.
   */
  drivePenalty?: number;
  /**
   * pat, oracle: the rising-loss guard (train/step-guard.ts, guarded-adam.ts). When a block of
   * episode losses rises well above the best block's, the input layer goes back to the weights the
   * best block started from and steps on at half the rate (a fresh Adam), down to a sixteenth.
   * false turns it off; an object sets its options. Defaults to on.
   */
  guard?: boolean | Omit<GuardOptions, 'learningRate'>;
  /**
   * pat: refit the surrogate in a worker thread (its own tfjs on this thread's backend) instead of on
   * this thread in slices; a worker that cannot start or load tfjs falls back to this thread.
   * Both give the same numbers. Defaults to false: a refit (about 60 ms of CPU with the default
   * surrogate, wasm) and the host's other work fit in one 225 ms episode (2,000 samples/s) on one
   * thread. On the shared 2-core benchmark machine (bench:utilisation) the worker gave 79-96 %
   * device utilisation against 90-97 % without: 1-2 points more when the machine was quiet, up
   * to 14 points less when it was busy (its start costs about 0.5 s of CPU, and other processes
   * leave it no core of its own). It pays where the refit and the host's work together exceed an
   * episode's device time and a core is free.
   */
  refitWorker?: boolean;
  /** pat: fit the surrogate after the first episode only, never refit (drift is still tracked). Defaults to false. */
  freezeSurrogate?: boolean;
  /**
   * pat: the continuous refit's drift alarm and held-out set (see surrogate/refit.ts). Defaults to
   * driftFactor 2, holdOut 0.1, baselineAlpha 0.3, heldOutSize 256.
   */
  refit?: Pick<RefitOptions, 'driftFactor' | 'holdOut' | 'baselineAlpha' | 'heldOutSize'>;
  /**
   * Stops training at the next episode boundary (the measurement in flight finishes first): the
   * trainer then throws a {@link TrainingInterrupted} carrying the episodes done. Defaults to none.
   */
  signal?: AbortSignal;
  /**
   * pat: called after every `checkpointEvery` episodes with the state `resume` continues from.
   * Defaults to none.
   */
  onCheckpoint?: (c: TrainCheckpoint) => void;
  /** pat: episodes between checkpoints. Defaults to 1. */
  checkpointEvery?: number;
  /** pat: continue from this checkpoint (same task, trainer, seed and device shape). Defaults to none. */
  resume?: TrainCheckpoint;
  /**
   * Drive linearisation and response normalisation from a calibration record of this device,
   * applied by every measurement. Defaults to none (raw device units, scaled by INFO's ranges).
   */
  calibration?: AppliedCalibration;
  /**
   * pat: a gradient fidelity check every this many episodes (0: never): the slope of the device's
   * directional derivatives on the surrogate's, ± its standard error, from `fidelityDirections`
   * random directions (2 x fidelityDirections + 1 extra segments of an episode's length, counted;
   * skipped when the budget has no room), and on a simulator with a twin, the cosine between the
   * surrogate's and the twin's VJP (no device samples). Defaults to 25 (a check costs 7 episodes'
   * worth of samples: 28 % on top of the training episodes' at 25, 70 % at 10).
   */
  fidelityEvery?: number;
  /** pat: directions of the fidelity check's device reading, at least 2. Defaults to 3 (7 segments a check). */
  fidelityDirections?: number;
}

/**
 * A task defined outside the registry: `generate(n, { seed })` returns n steps of it (inputs,
 * targets, metric), pure and seeded like the registry's generators, so train and test sequences
 * come from different seeds of the same process.
 */
export interface CustomTask {
  name: string;
  generate(n: number, options: { seed: number }): TaskData;
}

/** The name a run records for its task. */
export function taskName(task: string | CustomTask): string {
  return typeof task === 'string' ? task : task.name;
}

/** n steps of the task, checked to be the shape a trainer relies on. */
function taskData(task: string | CustomTask, n: number, params: Record<string, unknown>, seed: number): TaskData {
  if (typeof task === 'string') return generateTask(task, n, params, { seed });
  if (task === null || typeof task !== 'object' || typeof task.generate !== 'function' || typeof task.name !== 'string' || !task.name) {
    throw new TypeError('task must be a registered name or { name, generate(n, { seed }) }');
  }
  const d = task.generate(n, { seed });
  const bad =
    d?.steps !== n ? `${String(d?.steps)} steps, asked for ${n}` :
    !(Number.isInteger(d.inChannels) && d.inChannels >= 1 && d.inputs?.length === n * d.inChannels) ? 'inputs that are not steps x inChannels' :
    !(Number.isInteger(d.outChannels) && d.outChannels >= 1 && d.targets?.length === n * d.outChannels) ? 'targets that are not steps x outChannels' :
    typeof d.score !== 'function' ? 'no score function' : '';
  if (bad) throw new RangeError(`task ${task.name}: generate(${n}) returned ${bad}`);
  return d;
}

/** State of a pat run after an episode, enough to continue it (see TrainOptions.resume). */
export interface TrainCheckpoint {
  format: 'rhil-checkpoint/1';
  trainer: TrainerName;
  task: string;
  seed: number;
  /** Episodes finished. */
  episode: number;
  /** Device samples spent so far. */
  deviceSamples: number;
  episodes: EpisodeRecord[];
  inputLayer: TappedDenseJSON;
  surrogate?: SurrogateJSON;
  /** The surrogate design when not the default 'narx' (a resume must ask for the same). */
  surrogateChoice?: SurrogateChoiceRecord;
  /** pat's rising-loss guard: its state and the weights it would roll back to (GuardedAdam.toJSON). */
  guard?: GuardCheckpoint;
}

/** Thrown by a trainer stopped through TrainOptions.signal; carries what was done. */
export class TrainingInterrupted extends Error {
  constructor(readonly episodes: EpisodeRecord[], readonly deviceSamples: number) {
    super(`training interrupted after ${episodes.length} episodes`);
    this.name = 'TrainingInterrupted';
  }
}

/** One training episode. */
export interface EpisodeRecord {
  /** The minimised loss: MSE of the training readout on this episode's scored steps (in-sample). */
  loss: number;
  /** NMSE on this episode of the readout fitted on the previous episodes (out-of-sample); absent on the first. */
  readoutNmse?: number;
  /** Surrogate NMSE on this episode's pairs before the refit (drift alarm); pat only, absent before the first fit. */
  surrogateNmse?: number;
  /** pat: held-out NMSE of the surrogate in use by this episode's step (absent before one is fitted). */
  surrogateHeldOutNmse?: number;
  /** pat: surrogate refits in use so far (cumulative; the step of episode e uses the refit on pairs up to e - 1). */
  refits?: number;
  /** pat: drift alarms so far (cumulative). */
  driftAlarms?: number;
  /** pat and oracle with the guard: the learning rate of this episode's step. */
  learningRate?: number;
  /** pat and oracle with the guard: rollbacks so far (cumulative). */
  rollbacks?: number;
  /** pat and oracle with the guard: this episode's loss completed a block that rolled the weights back. */
  rollback?: boolean;
  /** pat: share of this episode's drives (all channels, washout included) with |a| > 0.95. */
  saturation?: number;
  /** Device samples used so far, this episode included (cumulative). */
  deviceSamples: number;
  /** State breaks recovered from in this episode. */
  breaks?: number;
  /** pat, on a fidelity episode: cosine between the surrogate's VJP and the simulator twin's exact VJP. */
  fidelityCosine?: number;
  /**
   * pat, on a fidelity episode: slope of the device's measured directional derivatives of the loss
   * on the surrogate's predictions of them, over `fidelityDirections` random drive directions
   * (fidelity.ts); 1 is right. Absent when the surrogate's gradient was 0 or the budget had no room.
   */
  fidelitySlope?: number;
  /** pat, with fidelitySlope: its standard error over the directions. */
  fidelitySlopeSe?: number;
  /** pat, on a fidelity episode with a device reading: the directions it used. */
  fidelityDirections?: number;
  /** pat, on a fidelity episode with a device reading: the device samples it cost (included in deviceSamples). */
  fidelitySamples?: number;
  /** pat, with fidelitySlope on a simulator: the slope the twin's exact derivatives give along the same directions (what fidelitySlope estimates). */
  fidelityTwinSlope?: number;
}

/** The device a run used: its identity and the batch size the client could use. */
export type DeviceSummary = DeviceIdentity & { maxBatch: number };

/** The common result of every trainer. */
export interface TrainResult {
  trainer: TrainerName;
  /** `washout`: leading rows of every measured segment left out of fitting and scoring. */
  task: { name: string; params: Record<string, unknown>; trainSteps: number; testSteps: number; washout: number; metric: MetricName };
  device: DeviceSummary | null;
  backend: string;
  seed: number;
  episodes: EpisodeRecord[];
  test: { metric: MetricName; value: number };
  /** Device samples of the whole run: training, final fit and test. */
  deviceSamples: number;
  /** Wall-clock duration in ms (not deterministic; excluded from comparisons). */
  elapsedMs: number;
  /**
   * pat: device busy time / wall time of the training episodes, busy time being the time a
   * measurement was outstanding (measured on the host around device calls). Not deterministic.
   */
  deviceUtilisation?: number;
  model: { inputLayer: TappedDenseJSON; readout: ReadoutJSON; surrogate?: SurrogateJSON };
  /** Trainers on a device: the start of the test, for reports (see {@link TestTrace}). */
  trace?: TestTrace;
  /** pat, oracle: the surrogate design when not the default (surrogate.design auto or memoryless). */
  surrogateChoice?: SurrogateChoiceRecord;
  /** digital, classic with a held-out option: the score that selects among runs (train/tune.ts), from training data only. */
  heldOut?: HeldOutScore;
}

/**
 * A run's score on held-out rows of its training sequence: what a hyper-parameter sweep compares,
 * so the test sequence never takes part in a choice.
 */
export interface HeldOutScore {
  metric: MetricName;
  value: number;
  higherIsBetter: boolean;
  /** digital: the episodes after which the kept weights were taken (early stopping). */
  episodes?: number;
}

/**
 * The first scored steps of the final test: each inner array is one channel over those steps
 * (drives in [-1, 1] and responses in [0, 1] of the first few device channels; all target and
 * prediction channels up to the same cap).
 */
export interface TestTrace {
  steps: number;
  drive: number[][];
  response: number[][];
  target: number[][];
  prediction: number[][];
}

/** Steps and channels a TestTrace keeps: enough to see the fit, small enough for a report. */
const TRACE_STEPS = 300, TRACE_CHANNELS = 4;

/** Channels [0, min(channels, TRACE_CHANNELS)) of rows [from, from + steps) of a row-major array, channel-major. */
function traceColumns(a: ArrayLike<number>, channels: number, from: number, steps: number): number[][] {
  return Array.from({ length: Math.min(channels, TRACE_CHANNELS) }, (_, c) => Array.from({ length: steps }, (_, t) => a[(from + t) * channels + c]));
}

/** Resolved options with every default applied. */
export interface Resolved {
  task: string;
  taskParams: Record<string, unknown>;
  seed: number;
  episodes: number;
  budget: number;
  taps: number;
  washout: number;
  steps: number;
  learningRate: number;
  gain: number;
  trainSteps: number;
  fitSteps: number;
  testSteps: number;
  readoutEpisodes: number;
  readout: RidgeReadoutOptions;
  /** What every measurement of the run passes to measure(): retries, calibration, signal. */
  measure: MeasureOptions;
  signal?: AbortSignal;
  onEpisode?: (record: EpisodeRecord, index: number) => void;
  pipeline: boolean;
  freezeSurrogate: boolean;
  drivePenalty: number;
  rng: Rng;
  train: TaskData;
  test: TaskData;
}

export function resolve(o: TrainOptions): Resolved {
  const seed = checkSeed(o.seed);
  const int = (v: number | undefined, d: number, name: string, min = 1): number => {
    const x = v ?? d;
    if (!Number.isInteger(x) || x < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${String(v)}`);
    return x;
  };
  const r = {
    task: taskName(o.task),
    taskParams: o.taskParams ?? {},
    seed,
    episodes: int(o.episodes, DEFAULT_EPISODES, 'episodes', 0),
    budget: o.budget ?? Infinity,
    taps: int(o.taps, 20, 'taps'),
    washout: int(o.washout, 50, 'washout', 0),
    steps: int(o.steps, 400, 'steps', 2),
    learningRate: o.learningRate ?? 0.03,
    gain: o.gain ?? 1,
    trainSteps: int(o.trainSteps, 4000, 'trainSteps'),
    fitSteps: int(o.fitSteps, 2000, 'fitSteps', 10),
    testSteps: int(o.testSteps, 1000, 'testSteps', 2),
    readoutEpisodes: int(o.readoutEpisodes, 4, 'readoutEpisodes'),
    readout: o.readout ?? {},
    measure: { maxRetries: int(o.maxRetries, 3, 'maxRetries', 0), calibration: o.calibration, signal: o.signal },
    signal: o.signal,
    onEpisode: o.onEpisode,
    pipeline: o.pipeline ?? true,
    freezeSurrogate: o.freezeSurrogate ?? false,
    drivePenalty: o.drivePenalty ?? 0,
    rng: new Rng(seed),
  };
  if (!(r.learningRate > 0 && Number.isFinite(r.learningRate))) throw new RangeError(`learningRate must be positive, got ${String(o.learningRate)}`);
  if (!(r.drivePenalty >= 0 && Number.isFinite(r.drivePenalty))) throw new RangeError(`drivePenalty must be finite and >= 0, got ${String(o.drivePenalty)}`);
  if (!(r.budget > 0)) throw new RangeError(`budget must be positive, got ${String(o.budget)}`);
  if (r.washout + r.steps > r.trainSteps) throw new RangeError(`washout + steps (${r.washout + r.steps}) exceed trainSteps ${r.trainSteps}`);
  if (r.washout + r.fitSteps > r.trainSteps) throw new RangeError(`washout + fitSteps (${r.washout + r.fitSteps}) exceed trainSteps ${r.trainSteps}`);
  const seedOf = (label: string): number => r.rng.fork(label).nextU32();
  const train = taskData(o.task, r.trainSteps, r.taskParams, seedOf('task-train'));
  const test = taskData(o.task, r.washout + r.testSteps, r.taskParams, seedOf('task-test'));
  return { ...r, train, test };
}

/**
 * The trainers' input layer: tanh over the run's tapped delays of the training input (normalised
 * by its own statistics) into `units` outputs, seeded by `label` so that every trainer with the
 * same seed starts from the same weights.
 */
export function inputLayer(r: Resolved, units: number, label = 'input-layer'): TappedDense {
  return new TappedDense({
    inChannels: r.train.inChannels, taps: r.taps, units, seed: r.rng.fork(label).nextU32(), gain: r.gain,
    norm: inputNorm(r.train.inputs, r.train.inChannels),
  });
}

/** Samples the final fit and test segments cost. */
export function finalCost(r: Resolved, fitSteps = r.fitSteps): number {
  return 2 * r.washout + fitSteps + r.testSteps;
}

/** Steps left for the final readout fit once `spent` device samples are used; RangeError below 10. */
export function finalFitSteps(r: Resolved, spent: number): number {
  const fitSteps = Number.isFinite(r.budget) ? Math.min(r.fitSteps, r.budget - spent - finalCost(r, 0)) : r.fitSteps;
  if (fitSteps < 10) throw new RangeError(`budget ${r.budget} leaves ${fitSteps} steps for the final readout fit`);
  return fitSteps;
}

/** Target rows [start, start + length) of a task, Float64Array [length * outChannels]. */
export function targetRows(t: TaskData, start: number, length: number): Float64Array {
  return t.targets.slice(start * t.outChannels, (start + length) * t.outChannels);
}

/** Rows after the first `skip` of a row-major array with `cols` columns. */
export function dropRows(a: Float32Array, skip: number, cols: number): Float32Array {
  return a.subarray(skip * cols);
}

/**
 * Fits the final readout on a fresh segment of the training sequence (rows [0, washout + fitSteps))
 * and scores it on the test sequence, with `respond` giving the readout features for a segment
 * (the device's scaled responses, or a digital layer's outputs).
 */
export async function finalEvaluation(
  r: Resolved, features: number, respond: (task: TaskData, length: number) => Promise<Float32Array>, fitSteps = r.fitSteps,
): Promise<{ readout: RidgeReadout; value: number; responses: Float32Array; prediction: ArrayLike<number>; target: Float64Array }> {
  const out = r.train.outChannels;
  const readout = new RidgeReadout(features, out, r.readout);
  const fitResp = await respond(r.train, r.washout + fitSteps);
  readout.fitSplit({ X: dropRows(fitResp, r.washout, features), Y: targetRows(r.train, r.washout, fitSteps) });
  const testResp = await respond(r.test, r.washout + r.testSteps);
  const prediction = readout.predict(dropRows(testResp, r.washout, features));
  const target = targetRows(r.test, r.washout, r.testSteps);
  return { readout, value: r.test.score(prediction, target), responses: testResp, prediction, target };
}

/** A `respond` for {@link finalEvaluation}: the layer's drives measured on the device. */
export function deviceResponder(r: Resolved, device: Device, layer: TappedDense, count: (samples: number) => void) {
  return async (task: TaskData, length: number): Promise<Float32Array> => {
    const m = await measure(device, layer.run(task.inputs, 0, length), r.measure);
    count(m.samples);
    return m.responses;
  };
}

export function summarise(device: Device | undefined): DeviceSummary | null {
  if (!device) return null;
  return { ...deviceIdentity(device.info), maxBatch: device.maxBatch };
}

export function baseResult(o: TrainOptions, r: Resolved, trainer: TrainerName, t0: number): Omit<TrainResult, 'episodes' | 'test' | 'deviceSamples' | 'model'> {
  return {
    trainer,
    task: { name: r.task, params: r.taskParams, trainSteps: r.trainSteps, testSteps: r.testSteps, washout: r.washout, metric: r.test.metric },
    device: summarise(o.device),
    backend: tf.getBackend(),
    seed: r.seed,
    elapsedMs: performance.now() - t0,
  };
}

/**
 * The end of every trainer that measures on the device: the final readout fit and the test with
 * the trained layer, within what the budget leaves after `spent` samples, and the result.
 */
export async function finishOnDevice(
  o: TrainOptions, r: Resolved, trainer: TrainerName, t0: number, device: Device, layer: TappedDense,
  spent: number, episodes: EpisodeRecord[], surrogate?: SurrogateJSON,
): Promise<TrainResult> {
  let samples = spent;
  const respond = deviceResponder(r, device, layer, (n) => { samples += n; });
  const final = await finalEvaluation(r, device.info.outChannels, respond, finalFitSteps(r, spent));
  return {
    ...baseResult(o, r, trainer, t0),
    episodes,
    test: { metric: r.test.metric, value: final.value },
    deviceSamples: samples,
    model: { inputLayer: layer.toJSON(), readout: final.readout.toJSON(), ...(surrogate ? { surrogate } : {}) },
    trace: testTrace(r, layer, final, device.info.outChannels),
  };
}

/**
 * The stretch of the test segment a report draws (every trainer stores one): the layer's drives,
 * the readout features (`features` channels), target and prediction.
 */
export function testTrace(r: Resolved, layer: TappedDense, final: { responses: ArrayLike<number>; target: ArrayLike<number>; prediction: ArrayLike<number> },
  features: number): TestTrace {
  const steps = Math.min(TRACE_STEPS, r.testSteps), outs = r.test.outChannels;
  const drives = layer.run(r.test.inputs, 0, r.washout + steps);
  return {
    steps,
    drive: traceColumns(drives, drives.length / (r.washout + steps), r.washout, steps),
    response: traceColumns(final.responses, features, r.washout, steps),
    target: traceColumns(final.target, outs, 0, steps),
    prediction: traceColumns(final.prediction, outs, 0, steps),
  };
}

/**
 * The training readout of one episode (shared by pat and digital): λ chosen on this episode with
 * the summed statistics of the previous `readoutEpisodes - 1` episodes (or on a split of this one
 * when there are none), then solved on them plus this one. The envelope theorem makes the
 * gradient with these weights held constant the gradient of the optimal ridge loss. Returns the
 * out-of-sample NMSE of the previous episodes' readout on this one (undefined on the first).
 */
export function episodeReadout(r: Resolved, readout: RidgeReadout, ring: RidgeAccumulator[], X: ArrayLike<number>, Y: ArrayLike<number>): number | undefined {
  const cur = readout.accumulate({ X, Y });
  let val: number | undefined;
  if (ring.length === 0) readout.fitSplit({ X, Y });
  else val = readout.refresh(ring, { X, Y }).nmse;
  ring.push(cur);
  while (ring.length > r.readoutEpisodes - 1) ring.shift();
  return val;
}
