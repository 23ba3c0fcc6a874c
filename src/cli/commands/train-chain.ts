/**
 * `rhil train --model-spec FILE`: a declared chain of layers (train/chain) trained on a static
 * classification task, recorded like any train run (config with the spec, loss and device
 * samples per step, test accuracy and cross-entropy, the confusion matrix and the model as
 * artifacts) and saved to a model file that `rhil run --model` applies.
 */
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { type Device, openDevice } from '../../device/index.js';
import { interruptRequested, withRecordedRun } from '../../session/index.js';
import { CLASS_TASK_NAMES, isClassTask, loadClassTask } from '../../tasks/class-tasks.js';
import { taskNames } from '../../tasks/index.js';
import { argmaxRows, confusionMatrix } from '../../tasks/class-metrics.js';
import { type BackendChoice, selectBackend } from '../../train/index.js';
import { ModelSpecError, checkModelSpec, describeChain, parseModelSpec } from '../../train/chain/spec.js';
import { CHAIN_TRAINERS, type ChainTrainerName, trainChain } from '../../train/chain/train.js';
import type { ModelSpec } from '../../train/chain/spec-types.js';
import { Progress } from '../progress.js';
import { UsageError, defaultDbPath, modelFileError, stoppedTraining, writeModelFile } from '../util.js';
import { type ChainCheckpoint, parseChainCheckpoint } from '../../train/chain/checkpoint.js';

/** What a chain model file holds: the chain, how it was trained, and what it scored. */
export const CHAIN_FILE_KIND = 'rhil-chain-model/1';

/** Steps between a chain run's checkpoints unless --checkpoint-every says otherwise: a checkpoint is the whole model and Adam's moments, so not every step. */
export const CHAIN_CHECKPOINT_EVERY = 50;

/** A chain run's stored config: what `--resume` continues it with. */
export interface ChainRunConfig {
  modelSpec: ModelSpec;
  specFile: string;
  task: string;
  trainer: ChainTrainerName;
  seed: number;
  epochs: number;
  budget: number | null;
  devices: string[];
  backend: string;
  checkpointEvery: number;
  /** false: trained with --no-guard (absent: the rising-loss guard on, as in runs recorded before it guarded chains). */
  guard?: false;
  resumedFrom?: number;
}

/** Whether a train run's stored config is a classification chain run's (a spec run on a time series is a series chain's, or with one physical layer a plain train run's). */
export function isChainConfig(c: unknown): c is ChainRunConfig {
  return typeof c === 'object' && c !== null && typeof (c as { modelSpec?: unknown }).modelSpec === 'object' && isClassTask((c as { task?: unknown }).task as string);
}

export interface ChainRunArgs {
  specFile: string;
  task?: string;
  trainer?: string;
  seed: number;
  epochs?: number;
  budget?: number;
  backend?: BackendChoice;
  out?: string;
  db?: string;
  json: boolean;
  /** Steps between checkpoints. Defaults to CHAIN_CHECKPOINT_EVERY. */
  checkpointEvery?: number;
  /** --guard / --no-guard: the rising-loss guard over every trainable layer (default on; a resume keeps the run's own unless given). */
  guard?: boolean;
  /** Continue this recorded run from its checkpoint (its config decides spec, task, trainer, seed, epochs and budget). */
  resume?: { id: number; config: ChainRunConfig; checkpoint: unknown };
}

/** Reads and checks a model-spec file: a one-line usage error (exit 2) naming the file, layer and field. */
export function readModelSpec(file: string): ModelSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`--model-spec: cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    return parseModelSpec(text, file);
  } catch (e) {
    if (e instanceof ModelSpecError) throw new UsageError(e.message);
    throw e;
  }
}

/** A resumed run's stored spec, checked as a spec file is (a database is untrusted input too). */
function checkedStoredSpec(config: ChainRunConfig, id: number): ModelSpec {
  try {
    return checkModelSpec(config.modelSpec, undefined, { file: `run ${id}'s model spec` });
  } catch (e) {
    if (e instanceof ModelSpecError) throw new UsageError(`--resume ${id}: ${e.message}`);
    throw e;
  }
}

/** Opens every device the spec's physical layers name, once each; closes them all if one fails. */
export async function openChainDevices(spec: ModelSpec, seed: number): Promise<Record<string, Device>> {
  const names = [...new Set(spec.layers.flatMap((l) => (l.kind === 'physical' ? [l.device] : [])))];
  const devices: Record<string, Device> = {};
  try {
    for (const name of names) {
      devices[name] = await openDevice(name, { seed }).catch((e: unknown) => {
        throw e instanceof RangeError ? new UsageError(`--model-spec: device '${name}': ${e.message}`) : e;
      });
    }
    return devices;
  } catch (e) {
    await closeAll(devices);
    throw e;
  }
}

export async function closeAll(devices: Record<string, Device>): Promise<void> {
  await Promise.all(Object.values(devices).map((d) => d.close().catch(() => undefined)));
}

export async function trainChainCommand(a: ChainRunArgs): Promise<void> {
  const prev = a.resume?.config;
  const spec = prev ? checkedStoredSpec(prev, a.resume!.id) : readModelSpec(a.specFile);
  const task = prev?.task ?? a.task ?? spec.task;
  if (task === undefined) throw new UsageError(`--model-spec ${a.specFile}: no task: give --task or a 'task' field (a classification task, ${CLASS_TASK_NAMES.join(', ')}, or a time series, ${taskNames.join(', ')})`);
  // A time series is train.ts's (one physical layer) or train-series-chain.ts's.
  if (!isClassTask(task)) throw new UsageError(`--model-spec: task '${task}' is not a classification task (${CLASS_TASK_NAMES.join(', ')})`);
  // --task may differ from the spec's own task, which the spec was checked against as read: check it against the one it trains on.
  if (!prev && task !== spec.task) {
    try {
      checkModelSpec({ ...spec, task }, undefined, { file: a.specFile });
    } catch (e) {
      if (e instanceof ModelSpecError) throw new UsageError(e.message);
      throw e;
    }
  }
  const trainer = (prev?.trainer ?? a.trainer ?? 'pat') as ChainTrainerName;
  if (!CHAIN_TRAINERS.includes(trainer)) throw new UsageError(`--trainer ${trainer} does not train a chain (${CHAIN_TRAINERS.join(', ')})`);
  let checkpoint: ChainCheckpoint | undefined;
  if (a.resume) {
    try {
      checkpoint = parseChainCheckpoint(a.resume.checkpoint, trainer);
    } catch (e) {
      throw new UsageError(`--resume ${a.resume.id}: ${(e as Error).message}; start a new run`);
    }
  }
  const epochs = prev ? prev.epochs : a.epochs ?? 1;
  const budget = prev ? prev.budget ?? undefined : a.budget;
  const checkpointEvery = a.checkpointEvery ?? CHAIN_CHECKPOINT_EVERY;
  // As plain `rhil train`: the flag given, else the run's own (a resume), else on.
  const guard = a.guard ?? (prev ? prev.guard !== false : true);
  const say = (s: string) => { if (!a.json) console.log(s); };
  const backend = await selectBackend(a.backend);
  say(`backend ${backend.detail}`);
  const data = loadClassTask(task, a.seed);
  const devices = trainer === 'digital' ? {} : await openChainDevices(spec, a.seed);
  try {
    // Real boards' widths are known only now: check the chain connects on them. The digital trainer
    // opens no device and trains the chain without its physical layers, already checked as read.
    try {
      if (trainer !== 'digital') checkModelSpec(spec, (name) => devices[name]?.info, { file: a.specFile, inputWidth: data.features });
    } catch (e) {
      if (e instanceof ModelSpecError) throw new UsageError(e.message);
      throw e;
    }
    for (const [name, d] of Object.entries(devices)) say(`device ${name}: ${d.info.vendor} ${d.info.model}, ${d.info.inChannels} in, ${d.info.outChannels} out`);
    say(`chain ${describeChain(spec, { inputWidth: data.features, outputWidth: data.classes, devices: (n) => devices[n]?.info })}`);
    say(`task ${task}: ${data.train.count} training and ${data.test.count} test examples, ${data.classes} classes (${data.source})`);
    const config: ChainRunConfig = {
      modelSpec: spec, specFile: prev ? prev.specFile : resolvePath(a.specFile), task, trainer, seed: a.seed, epochs, budget: budget ?? null,
      devices: Object.keys(devices), backend: a.backend ?? 'auto', checkpointEvery, ...(guard ? {} : { guard: false as const }), ...(a.resume ? { resumedFrom: a.resume.id } : {}),
    };
    if (checkpoint) say(`resuming run ${a.resume!.id} from its checkpoint after step ${checkpoint.steps} (${checkpoint.samples.explore + checkpoint.samples.train} device samples)`);
    const first = Object.values(devices)[0];
    let runId: number | null = null;
    let signal: AbortSignal | undefined;
    let savedTo: string | null = null;
    let progress: Progress | null = null;
    let lastCheckpoint = checkpoint?.steps ?? 0;
    let done = lastCheckpoint;
    const where = a.db !== undefined && a.db !== defaultDbPath() ? ` --db ${a.db}` : '';
    try {
      await withRecordedRun({ db: a.db, kind: 'train', config, seed: a.seed, backend: backend.name, device: first, recordBatches: false }, async (ctx) => {
        runId = ctx.runId;
        signal = ctx.signal;
        if (runId !== null) say(`recording run ${runId} in ${a.db}`);
        const result = await trainChain({
          trainer, spec, data, devices, seed: a.seed, epochs, budget, resume: checkpoint, checkpointEvery, guard,
          onCheckpoint: (c) => {
            ctx.artifact('checkpoint', 'checkpoint', c, { replace: true });
            lastCheckpoint = c.steps;
          },
          onStep: (s) => {
            if (ctx.signal.aborted) throw ctx.signal.reason;
            done = s.step + 1;
            ctx.metric('loss', s.step, s.loss);
            ctx.metric('device_samples', s.step, s.samples);
            if (s.learningRate !== undefined) ctx.metric('learning_rate', s.step, s.learningRate);
            if (s.rollbacks !== undefined) ctx.metric('rollbacks', s.step, s.rollbacks);
            if (!a.json) {
              progress ??= new Progress({ total: s.steps, unit: 'steps', label: 'training', start: checkpoint?.steps ?? 0 });
              progress.update(s.step + 1, `loss ${s.loss.toFixed(3)}`);
            }
          },
        });
        (progress as Progress | null)?.finish();
        try {
          const predicted = argmaxRows(result.test.probabilities, data.classes);
          const confusion = confusionMatrix(predicted, data.test.labels, data.classes);
          const saved = {
            kind: CHAIN_FILE_KIND, task, trainer, seed: a.seed, spec, deviceSpecs: Object.keys(devices), backend: backend.detail,
            test: { accuracy: result.test.accuracy, crossEntropy: result.test.crossEntropy, confusion }, deviceSamples: result.deviceSamples,
            samples: result.samples, surrogates: result.surrogates, steps: result.steps, seconds: result.seconds, model: result.model.toJSON(),
          };
          const text = JSON.stringify(saved);
          const file = writeModelFile(a.out, `rhil-${task}-chain-${trainer}-seed${a.seed}${ctx.runId !== null ? `-run${ctx.runId}` : ''}`, text);
          savedTo = file.savedTo;
          ctx.metric('test_accuracy', result.steps, result.test.accuracy);
          ctx.metric('test_cross_entropy', result.steps, result.test.crossEntropy);
          ctx.artifact('confusion_matrix', 'confusion-matrix', { classes: data.classes, rows: 'true class', columns: 'predicted class', counts: confusion });
          ctx.artifact('model', 'chain-model', { ...saved, savedTo: savedTo && resolvePath(savedTo) });
          if (file.error) throw modelFileError(a.out, file.error, ctx.runId, where);
          if (a.json) {
            console.log(JSON.stringify({ ...saved, model: undefined, savedTo, runId: ctx.runId }, null, 2));
            return;
          }
          for (const s of result.surrogates) say(`layer ${s.layer + 1} surrogate ${s.design} (held-out NMSE ${s.heldOutNmse.toFixed(3)})`);
          say(`confusion matrix (rows: true class, columns: predicted)\n${confusion.map((r, i) => `${String(i).padStart(3)} | ${r.map((v) => String(v).padStart(4)).join(' ')}`).join('\n')}`);
          say(`test accuracy ${result.test.accuracy.toFixed(4)}, cross-entropy ${result.test.crossEntropy.toFixed(4)} (${task}, chain, ${trainer}, seed ${a.seed}, ${result.deviceSamples} device samples, ${result.seconds.toFixed(1)} s); model saved to ${savedTo}` +
            (ctx.runId !== null ? `; run ${ctx.runId} in ${a.db}` : ''));
        } finally {
          result.model.dispose();
        }
      });
    } catch (e) {
      (progress as Progress | null)?.clear();
      throw stoppedTraining(e, {
        runId, where, unit: 'step', done, lastCheckpoint, resumedAt: checkpoint?.steps ?? 0, savedTo, what: 'chain', interrupted: interruptRequested(signal),
      });
    }
  } finally {
    await closeAll(devices);
  }
}
