/**
 * `rhil run --model CHAIN.json`: a chain trained by `rhil train --model-spec` measured through its
 * devices on its task's test split (the split its training seed gave: examples it never trained
 * on), with the accuracy, cross-entropy and confusion matrix, recorded as a run; a time-series
 * chain of several physical layers on its task's test sequence, with its test NMSE.
 */
import { withRecordedRun } from '../../session/index.js';
import { isClassTask, loadClassTask } from '../../tasks/class-tasks.js';
import { argmaxRows, confusionMatrix } from '../../tasks/class-metrics.js';
import { classMetrics } from '../../train/chain/train.js';
import { ChainModel } from '../../train/chain/model.js';
import { deviceResponder } from '../../train/chain/responders.js';
import type { ModelSpec } from '../../train/chain/spec-types.js';
import { UsageError } from '../util.js';
import { CHAIN_FILE_KIND, closeAll, openChainDevices } from './train-chain.js';
import { SERIES_CHAIN_FILE_KIND } from './train-series-chain.js';
import { ModelSpecError, checkModelSpec, seriesChainShape, taskKind } from '../../train/chain/spec.js';
import type { SeriesChainSettings } from '../../train/chain/series.js';
import { type SeriesChainModel, loadSeriesChainModel, testSeriesChain } from '../../train/chain/series-model.js';
import { type Resolved, resolve } from '../../train/common.js';

interface ChainFile {
  kind: typeof CHAIN_FILE_KIND;
  task: string;
  seed: number;
  spec: ModelSpec;
  test?: { accuracy?: number };
  model: unknown;
}

export function isChainFile(json: unknown): json is ChainFile {
  return json !== null && typeof json === 'object' && (json as { kind?: unknown }).kind === CHAIN_FILE_KIND;
}

export async function runChainModel(file: ChainFile, source: string, a: { seed?: number; db?: string; json: boolean; backend: string }): Promise<void> {
  if (typeof file.task !== 'string' || !isClassTask(file.task)) throw new UsageError(`model from ${source}: task ${JSON.stringify(file.task)} is not a classification task`);
  if (!Number.isInteger(file.seed) || file.seed < 0) throw new UsageError(`model from ${source}: seed must be a non-negative integer, got ${JSON.stringify(file.seed)}`);
  let model: ChainModel;
  try {
    model = ChainModel.fromJSON(file.model);
  } catch (e) {
    throw new UsageError(`model from ${source}: ${(e as Error).message}`);
  }
  const say = (s: string) => { if (!a.json) console.log(s); };
  try {
    const data = loadClassTask(file.task, file.seed);
    if (data.features !== model.features || data.classes !== model.classes) {
      throw new UsageError(`model from ${source}: it takes ${model.features} features into ${model.classes} classes, task ${file.task} has ${data.features} and ${data.classes}`);
    }
    const seed = a.seed ?? file.seed;
    const devices = await openChainDevices(model.spec, seed);
    try {
      const config = { model: source, task: file.task, seed, devices: Object.keys(devices), backend: a.backend };
      await withRecordedRun({ db: a.db, kind: 'run', config, seed, backend: a.backend, device: Object.values(devices)[0], recordBatches: false }, async (ctx) => {
        const { probabilities, samples } = await model.predict(data.test.x, data.test.count, deviceResponder(devices));
        const predicted = argmaxRows(probabilities, data.classes);
        const { accuracy, crossEntropy } = classMetrics(probabilities, data.test.labels, data.classes);
        const confusion = confusionMatrix(predicted, data.test.labels, data.classes);
        ctx.metric('test_accuracy', 0, accuracy);
        ctx.metric('test_cross_entropy', 0, crossEntropy);
        ctx.artifact('confusion_matrix', 'confusion-matrix', { classes: data.classes, rows: 'true class', columns: 'predicted class', counts: confusion });
        if (a.json) {
          console.log(JSON.stringify({ task: file.task, seed, accuracy, crossEntropy, confusion, deviceSamples: samples, trainedAccuracy: file.test?.accuracy ?? null, runId: ctx.runId }, null, 2));
          return;
        }
        say(`confusion matrix (rows: true class, columns: predicted)\n${confusion.map((r, i) => `${String(i).padStart(3)} | ${r.map((v) => String(v).padStart(4)).join(' ')}`).join('\n')}`);
        say(`test accuracy ${accuracy.toFixed(4)}, cross-entropy ${crossEntropy.toFixed(4)} (${file.task}, ${data.test.count} test examples, ${samples} device samples)` +
          (file.test?.accuracy !== undefined ? `; at the end of training: ${file.test.accuracy.toFixed(4)}` : '') + (ctx.runId !== null ? `; run ${ctx.runId} in ${a.db}` : ''));
      });
    } finally {
      await closeAll(devices);
    }
  } finally {
    model.dispose();
  }
}

/** A series chain model file (train-series-chain.ts), as far as the kind tells. */
interface SeriesChainFile {
  kind: typeof SERIES_CHAIN_FILE_KIND;
  task: unknown;
  seed: unknown;
  spec: unknown;
  settings: unknown;
  test?: { value?: unknown };
  model: unknown;
}

export function isSeriesChainFile(json: unknown): json is SeriesChainFile {
  return json !== null && typeof json === 'object' && (json as { kind?: unknown }).kind === SERIES_CHAIN_FILE_KIND;
}

/** The settings a series chain file must hold to regenerate its task's sequences: each a positive integer, taskParams an object. */
function seriesSettings(v: unknown, source: string): SeriesChainSettings {
  const s = v as Partial<SeriesChainSettings> | null;
  if (s === null || typeof s !== 'object') throw new UsageError(`model from ${source}: settings must be an object (taps, washout, steps, trainSteps, fitSteps, testSteps, ...)`);
  for (const k of ['taps', 'betweenTaps', 'steps', 'trainSteps', 'fitSteps', 'testSteps'] as const) {
    if (!Number.isSafeInteger(s[k]) || (s[k] as number) < 1) throw new UsageError(`model from ${source}: settings.${k} must be a positive integer, got ${JSON.stringify(s[k])}`);
  }
  if (!Number.isSafeInteger(s.washout) || (s.washout as number) < 0) throw new UsageError(`model from ${source}: settings.washout must be a non-negative integer, got ${JSON.stringify(s.washout)}`);
  if (s.taskParams === null || typeof s.taskParams !== 'object' || Array.isArray(s.taskParams)) throw new UsageError(`model from ${source}: settings.taskParams must be an object`);
  return s as SeriesChainSettings;
}

/**
 * `rhil run --model` on a series chain: the task's test sequence (the one its training seed gave)
 * measured through the chain on its devices and scored by its readout, recorded as a run. On a
 * deterministic device with the training's seed it is the training's own test NMSE.
 */
export async function runSeriesChainModel(file: SeriesChainFile, source: string, a: { seed?: number; db?: string; json: boolean; backend: string }): Promise<void> {
  const fail = (what: string): never => { throw new UsageError(`model from ${source}: ${what}`); };
  if (typeof file.task !== 'string' || taskKind(file.task) !== 'time-series') fail(`task ${JSON.stringify(file.task)} is not a time-series task`);
  if (!Number.isSafeInteger(file.seed) || (file.seed as number) < 0) fail(`seed must be a non-negative integer, got ${JSON.stringify(file.seed)}`);
  const task = file.task as string, trainSeed = file.seed as number;
  let spec: ModelSpec;
  let shape;
  try {
    spec = checkModelSpec(file.spec, undefined, { file: 'its spec' });
    shape = seriesChainShape(spec, { file: 'its spec' });
  } catch (e) {
    if (e instanceof ModelSpecError) return fail(e.message);
    throw e;
  }
  if (shape.physical.length < 2) fail(`its spec has ${shape.physical.length} physical layer; a series chain file has two or more`);
  const settings = seriesSettings(file.settings, source);
  if (settings.taps !== shape.taps || settings.betweenTaps !== shape.betweenTaps) fail(`settings.taps ${settings.taps} and betweenTaps ${settings.betweenTaps} differ from its spec's ${shape.taps} and ${shape.betweenTaps}`);
  let r: Resolved;
  try {
    r = resolve({ task, trainer: 'pat', seed: trainSeed, ...settings });
  } catch (e) {
    return fail(`settings: ${(e as Error).message}`);
  }
  const seed = a.seed ?? trainSeed;
  const devices = await openChainDevices(spec, seed);
  try {
    const layers = shape.physical.map((p) => devices[p.device]);
    let model: SeriesChainModel;
    try {
      model = loadSeriesChainModel(file.model, { inputs: r.test.inChannels, outputs: r.test.outChannels, devices: layers.map((d) => d.info) });
    } catch (e) {
      return fail((e as Error).message);
    }
    try {
      const trained = typeof file.test?.value === 'number' ? file.test.value : undefined;
      const config = { model: source, task, seed, trainSeed, devices: shape.physical.map((p) => p.device), backend: a.backend };
      await withRecordedRun({ db: a.db, kind: 'run', config, seed, backend: a.backend, device: layers[0], recordBatches: false }, async (ctx) => {
        const t = await testSeriesChain(model, layers, r);
        ctx.metric(`test_${t.metric}`, 0, t.value);
        if (a.json) {
          console.log(JSON.stringify({ task, seed, metric: t.metric, value: t.value, deviceSamples: t.samples, trainedValue: trained ?? null, runId: ctx.runId }, null, 2));
          return;
        }
        console.log(`test ${t.metric} ${t.value.toFixed(4)} (${task}, ${r.testSteps} test steps through ${layers.length} physical layers, ${t.samples} device samples)` +
          (trained !== undefined ? `; at the end of training: ${trained.toFixed(4)}` : '') + (ctx.runId !== null ? `; run ${ctx.runId} in ${a.db}` : ''));
      });
    } finally {
      model.dispose();
    }
  } finally {
    await closeAll(devices);
  }
}
