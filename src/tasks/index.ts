/**
 * Benchmark tasks for reservoir training: pure, seeded generators `(n, params, { seed })` and
 * their metrics, plus a registry with one uniform shape so a trainer can take
 * `--task narma10|mackey-glass|memory-capacity|waveforms|channel-eq`.
 *
 * ```ts
 * const data = generateTask('narma10', 2000, {}, { seed: 1 });
 * // data.inputs: steps x inChannels, data.targets: steps x outChannels (row-major)
 * const w = data.washout * data.outChannels;
 * data.score(pred.subarray(w), data.targets.subarray(w));
 * ```
 */
import { channelEqualisation, channelEqualisationDefaults, symbolErrorRate, type ChannelEqualisationParams } from './channel-equalisation.js';
import { mackeyGlass, mackeyGlassDefaults, multiStepDataset, type MackeyGlassParams } from './mackey-glass.js';
import { memoryCapacity, memoryCapacityDefaults, memoryTask, type MemoryCapacityParams } from './memory-capacity.js';
import { nmse, nrmse } from '../core/metrics.js';
import { narma10, narma10Defaults, type Narma10Params } from './narma10.js';
import { accuracy, waveformDefaults, waveforms, type WaveformParams } from './waveforms.js';
import { checkInt, checkKeys } from '../core/validate.js';

export { mse, nmse, nrmse, mean, variance, squaredCorrelation } from '../core/metrics.js';
export { narma10, narma10Response, narma10Defaults, type Narma10Params, type Narma10Data, type Narma10Response } from './narma10.js';
export { mackeyGlass, mackeyGlassDefaults, oneStepDataset, multiStepDataset, type MackeyGlassParams } from './mackey-glass.js';
export { memoryTask, memoryCapacity, memoryCapacityDefaults, type MemoryCapacityParams, type MemoryTaskData } from './memory-capacity.js';
export { waveforms, waveSample, accuracy, waveformDefaults, SINE, SQUARE, type WaveformParams, type WaveformData } from './waveforms.js';
export {
  channelEqualisation, channelNonlinearity, nearestSymbol, symbolErrorRate, channelEqualisationDefaults, SYMBOLS, CHANNEL_TAPS,
  type ChannelEqualisationParams, type ChannelEqualisationData,
} from './channel-equalisation.js';
export type { ClassSet, ClassSplit } from './classes.js';
export { softmaxCrossEntropy, classAccuracy, confusionMatrix, argmaxRows, MAX_CLASSES, type Logits } from './class-metrics.js';
export { syntheticClasses, syntheticClassesDefaults, type SyntheticClassesOptions } from './synthetic-classes.js';
export { loadMnist, locateMnist, mnistDefaults, MnistDataError, MNIST_PIXELS, MNIST_CLASSES, type MnistOptions } from './mnist.js';

/** Names accepted by `--task`. */
export type TaskName = 'narma10' | 'mackey-glass' | 'memory-capacity' | 'waveforms' | 'channel-eq';

/** Metric names a {@link TaskData} can report. */
export type MetricName = 'nmse' | 'nrmse' | 'memory-capacity' | 'accuracy' | 'symbol-error-rate';

/**
 * One task instance in a uniform shape. Row t of `inputs` is what the model is fed at step t;
 * row t of `targets` is what it must output at step t, having seen input rows 0..t.
 */
export interface TaskData {
  /** A registered TaskName, or the name of a task defined elsewhere. */
  task: TaskName | (string & {});
  /** Number of time steps (rows). */
  steps: number;
  inChannels: number;
  /** Row-major steps x inChannels: `inputs[t * inChannels + c]`. */
  inputs: Float64Array;
  outChannels: number;
  /** Row-major steps x outChannels: `targets[t * outChannels + c]`. */
  targets: Float64Array;
  /** Suggested number of leading steps to drop before fitting and scoring (at most steps / 2). */
  washout: number;
  metric: MetricName;
  /** True for accuracy and memory capacity, false for errors. */
  higherIsBetter: boolean;
  /**
   * The metric on row-major steps x outChannels arrays of equal length (for example the rows
   * after the washout). Scores every row it is given.
   */
  score(pred: Float64Array, target: Float64Array): number;
}

/** One registry entry. */
export interface TaskSpec<P extends object> {
  /** One line for `--help`. */
  describe: string;
  /** The parameter names `generate` accepts (everything else is a RangeError). */
  params: readonly string[];
  generate(n: number, params: P, options: { seed: number }): TaskData;
}

const washoutFor = (suggested: number, n: number): number => Math.min(suggested, Math.floor(n / 2));

/** Splits row-major steps x k into k channel arrays. */
function columns(x: Float64Array, k: number): Float64Array[] {
  if (x.length % k !== 0) throw new RangeError(`array length ${x.length} is not a multiple of outChannels = ${k}`);
  const rows = x.length / k;
  const out = Array.from({ length: k }, () => new Float64Array(rows));
  for (let t = 0; t < rows; t++) for (let c = 0; c < k; c++) out[c][t] = x[t * k + c];
  return out;
}

/** The task registry; see each generator's module for its equation and source. */
export const tasks: {
  narma10: TaskSpec<Narma10Params>;
  'mackey-glass': TaskSpec<MackeyGlassParams & { horizon?: number }>;
  'memory-capacity': TaskSpec<MemoryCapacityParams>;
  waveforms: TaskSpec<WaveformParams>;
  'channel-eq': TaskSpec<ChannelEqualisationParams>;
} = {
  narma10: {
    describe: 'NARMA10 (Atiya & Parlos 2000): input u ~ U[0, 0.5], target y(t+1); scored by NMSE',
    params: Object.keys(narma10Defaults),
    generate(n, params, { seed }) {
      const { u, y } = narma10(n, params, { seed });
      return {
        task: 'narma10', steps: n, inChannels: 1, inputs: u, outChannels: 1, targets: y,
        washout: washoutFor(100, n), metric: 'nmse', higherIsBetter: false, score: nmse,
      };
    },
  },
  'mackey-glass': {
    describe: 'Mackey-Glass tau = 17 series (RK4): input x(t), targets x(t+1) .. x(t+horizon); scored by NRMSE',
    params: [...Object.keys(mackeyGlassDefaults), 'horizon'],
    generate(n, params, { seed }) {
      const { horizon = 1, ...mg } = params;
      checkInt(horizon, 'horizon', 1);
      checkInt(n, 'n', 1);
      const { input, targets } = multiStepDataset(mackeyGlass(n + horizon, mg, { seed }), horizon);
      return {
        task: 'mackey-glass', steps: n, inChannels: 1, inputs: input, outChannels: horizon, targets,
        washout: washoutFor(100, n), metric: 'nrmse', higherIsBetter: false, score: nrmse,
      };
    },
  },
  'memory-capacity': {
    describe: 'Linear memory capacity (Jaeger 2002): input u ~ U[-1, 1], targets u(t-1) .. u(t-K); MC = sum_k r^2',
    params: Object.keys(memoryCapacityDefaults),
    generate(n, params, { seed }) {
      const { u, targets } = memoryTask(n, params, { seed });
      const K = targets.length;
      const rows = new Float64Array(n * K);
      for (let t = 0; t < n; t++) for (let k = 0; k < K; k++) rows[t * K + k] = targets[k][t];
      return {
        task: 'memory-capacity', steps: n, inChannels: 1, inputs: u, outChannels: K, targets: rows,
        washout: washoutFor(Math.max(100, 2 * K), n), metric: 'memory-capacity', higherIsBetter: true,
        score: (pred, target) => memoryCapacity(columns(pred, K), columns(target, K)),
      };
    },
  },
  waveforms: {
    describe: 'Sine / square wave classification (Paquot et al. 2012): label 0 sine, 1 square per sample; scored by accuracy',
    params: Object.keys(waveformDefaults),
    generate(n, params, { seed }) {
      const { u, label } = waveforms(n, params, { seed });
      return {
        task: 'waveforms', steps: n, inChannels: 1, inputs: u, outChannels: 1, targets: label,
        washout: washoutFor(20, n), metric: 'accuracy', higherIsBetter: true, score: (pred, target) => accuracy(pred, target),
      };
    },
  },
  'channel-eq': {
    describe: 'Nonlinear channel equalisation (Jaeger & Haas 2004): input u(t), target d(t-2); scored by symbol error rate',
    params: Object.keys(channelEqualisationDefaults),
    generate(n, params, { seed }) {
      const { u, target } = channelEqualisation(n, params, { seed });
      return {
        task: 'channel-eq', steps: n, inChannels: 1, inputs: u, outChannels: 1, targets: target,
        washout: washoutFor(100, n), metric: 'symbol-error-rate', higherIsBetter: false, score: symbolErrorRate,
      };
    },
  },
};

/** The registered task names, in registry order. */
export const taskNames = Object.keys(tasks) as TaskName[];

/** True when `name` is a registered task. */
export function isTaskName(name: string): name is TaskName {
  return Object.prototype.hasOwnProperty.call(tasks, name);
}

/**
 * Generates task `name` from untyped params (e.g. parsed CLI options). RangeError naming the
 * task for an unknown name, naming the parameter for an unknown or invalid parameter.
 */
export function generateTask(name: string, n: number, params: Record<string, unknown>, options: { seed: number }): TaskData {
  if (!isTaskName(name)) throw new RangeError(`task must be one of ${taskNames.join(', ')}, got ${name}`);
  const spec = tasks[name] as TaskSpec<object>;
  checkKeys(params, spec.params, name);
  return spec.generate(n, params, options);
}
