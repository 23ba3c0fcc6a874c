/**
 * `rhil train --model-spec FILE` on a time-series task with two or more physical layers: the spec's
 * chain trained by trainSeriesChain (train/chain/series.ts, pat or oracle), recorded like a train
 * run (the spec in the config; loss, readout NMSE and device samples per episode; the test NMSE;
 * checkpoints every --checkpoint-every episodes; the model as an artifact, with the device
 * utilisation of its pipelined training) and saved to a
 * `rhil-series-chain-model/1` file that `rhil run --model` measures again. One physical layer is not
 * this command: it is `rhil train --device D` (train.ts), number for number.
 */
import { resolve as resolvePath } from 'node:path';
import { interruptRequested, withRecordedRun } from '../../session/index.js';
import { type BackendChoice, DEFAULT_EPISODES, selectBackend } from '../../train/index.js';
import { type SeriesChainCheckpoint, parseSeriesChainCheckpoint } from '../../train/chain/checkpoint.js';
import { SERIES_CHECKPOINT_EVERY, type SeriesGradient, trainSeriesChain } from '../../train/chain/series.js';
import { ModelSpecError, type SeriesChainShape, checkModelSpec, describeChain, seriesChainShape, taskInputWidth, taskOutputWidth } from '../../train/chain/spec.js';
import type { ModelSpec } from '../../train/chain/spec-types.js';
import { Progress } from '../progress.js';
import { UsageError, defaultDbPath, modelFileError, stoppedTraining, writeModelFile } from '../util.js';
import { closeAll, openChainDevices } from './train-chain.js';

/** What a series chain model file holds: the chain, how it was trained, what it scored, and the settings to measure it again. */
export const SERIES_CHAIN_FILE_KIND = 'rhil-series-chain-model/1';

/** The trainers of a series chain: each layer's surrogate VJP, or each simulator's exact twin VJP. */
export const SERIES_CHAIN_TRAINERS: readonly SeriesGradient[] = ['pat', 'oracle'];

/** A series chain run's stored config: what `--resume` continues it with. */
export interface SeriesChainRunConfig {
  chain: 'series';
  modelSpec: ModelSpec;
  specFile: string;
  task: string;
  trainer: SeriesGradient;
  seed: number;
  episodes: number;
  budget: number | null;
  devices: string[];
  backend: string;
  checkpointEvery: number;
  /** false: trained with --no-guard (absent: the rising-loss guard on, as in runs recorded before it guarded chains). */
  guard?: false;
  resumedFrom?: number;
}

/** Whether a train run's stored config is a series chain run's. */
export function isSeriesChainConfig(c: unknown): c is SeriesChainRunConfig {
  return typeof c === 'object' && c !== null && (c as { chain?: unknown }).chain === 'series' && typeof (c as { modelSpec?: unknown }).modelSpec === 'object';
}

/** A spec checked as a time-series chain: a usage error (exit 2) naming the file, layer and field. */
export function seriesShapeOf(spec: ModelSpec, file: string): SeriesChainShape {
  try {
    return seriesChainShape(spec, { file });
  } catch (e) {
    if (e instanceof ModelSpecError) throw new UsageError(e.message);
    throw e;
  }
}

export interface SeriesChainRunArgs {
  spec: ModelSpec;
  specFile: string;
  task: string;
  trainer?: string;
  seed: number;
  episodes?: number;
  budget?: number;
  backend?: BackendChoice;
  out?: string;
  db?: string;
  json: boolean;
  verbose: boolean;
  checkpointEvery?: number;
  /** --guard / --no-guard: the rising-loss guard over every digital layer (default on; a resume keeps the run's own unless given). */
  guard?: boolean;
  /** Continue this recorded run from its checkpoint (its config decides spec, task, trainer, seed, episodes and budget). */
  resume?: { id: number; config: SeriesChainRunConfig; checkpoint: unknown };
}

export async function trainSeriesChainCommand(a: SeriesChainRunArgs): Promise<void> {
  const prev = a.resume?.config;
  const { spec, task } = a;
  const shape = seriesShapeOf(spec, a.specFile);
  const K = shape.physical.length;
  const trainer = (prev?.trainer ?? a.trainer ?? 'pat') as SeriesGradient;
  if (!SERIES_CHAIN_TRAINERS.includes(trainer)) throw new UsageError(`--trainer ${trainer} does not train a time-series chain of ${K} physical layers (${SERIES_CHAIN_TRAINERS.join(', ')})`);
  let checkpoint: SeriesChainCheckpoint | undefined;
  if (a.resume) {
    try {
      checkpoint = parseSeriesChainCheckpoint(a.resume.checkpoint, { gradient: trainer, task, seed: a.seed, layers: K });
    } catch (e) {
      throw new UsageError(`--resume ${a.resume.id}: ${(e as Error).message}; start a new run`);
    }
  }
  const episodes = prev ? prev.episodes : a.episodes ?? DEFAULT_EPISODES;
  const budget = prev ? prev.budget ?? undefined : a.budget;
  if (checkpoint && checkpoint.episode > episodes) throw new UsageError(`--resume ${a.resume!.id}: the checkpoint has ${checkpoint.episode} episodes, more than the run's ${episodes}`);
  const checkpointEvery = a.checkpointEvery ?? prev?.checkpointEvery ?? SERIES_CHECKPOINT_EVERY;
  // As plain `rhil train`: the flag given, else the run's own (a resume), else on.
  const guard = a.guard ?? (prev ? prev.guard !== false : true);
  const say = (s: string) => { if (!a.json) console.log(s); };
  const backend = await selectBackend(a.backend);
  say(`backend ${backend.detail}`);
  const devices = await openChainDevices(spec, a.seed);
  try {
    const inputWidth = taskInputWidth(task);
    try {
      // Real boards' widths are known only now: check the chain connects on them.
      checkModelSpec(spec, (name) => devices[name]?.info, { file: a.specFile, inputWidth });
    } catch (e) {
      if (e instanceof ModelSpecError) throw new UsageError(e.message);
      throw e;
    }
    const layers = shape.physical.map((p) => devices[p.device]);
    for (const [name, d] of Object.entries(devices)) say(`device ${name}: ${d.info.vendor} ${d.info.model}, ${d.info.inChannels} in, ${d.info.outChannels} out`);
    say(`chain ${describeChain(spec, { inputWidth, outputWidth: taskOutputWidth(task), devices: (n) => devices[n]?.info })} (time series, ${trainer})`);
    const config: SeriesChainRunConfig = {
      chain: 'series', modelSpec: spec, specFile: prev ? prev.specFile : resolvePath(a.specFile), task, trainer, seed: a.seed, episodes, budget: budget ?? null,
      devices: shape.physical.map((p) => p.device), backend: a.backend ?? 'auto', checkpointEvery, ...(guard ? {} : { guard: false as const }), ...(a.resume ? { resumedFrom: a.resume.id } : {}),
    };
    const first = checkpoint?.episode ?? 0;
    if (checkpoint) say(`resuming run ${a.resume!.id} from its checkpoint after episode ${first} (${checkpoint.deviceSamples} device samples)`);
    let runId: number | null = null;
    let signal: AbortSignal | undefined;
    let savedTo: string | null = null;
    const progress = a.json ? null : new Progress({ total: episodes, unit: 'episodes', label: 'training', start: first });
    let lastCheckpoint = first;
    let done = first;
    const where = a.db !== undefined && a.db !== defaultDbPath() ? ` --db ${a.db}` : '';
    try {
      await withRecordedRun({ db: a.db, kind: 'train', config, seed: a.seed, backend: backend.name, device: layers[0], recordBatches: false }, async (ctx) => {
        runId = ctx.runId;
        signal = ctx.signal;
        if (runId !== null) say(`recording run ${runId} in ${a.db}`);
        const result = await trainSeriesChain({
          task, seed: a.seed, episodes, budget, devices: layers, gradient: trainer, taps: shape.taps, betweenTaps: shape.betweenTaps,
          names: shape.physical.map((p) => p.device), signal: ctx.signal, checkpointEvery, resume: checkpoint, guard,
          onEpisode: (r, i) => {
            // The metrics `rhil train` records per episode (the report's curves), each layer's own under its number.
            ctx.metric('loss', i, r.loss);
            if (r.readoutNmse !== undefined) ctx.metric('readout_nmse', i, r.readoutNmse);
            ctx.metric('device_samples', i, r.deviceSamples);
            if (r.learningRate !== undefined) ctx.metric('learning_rate', i, r.learningRate);
            if (r.rollbacks !== undefined) ctx.metric('rollbacks', i, r.rollbacks);
            r.saturation.forEach((v, k) => ctx.metric(`saturation_layer${k + 1}`, i, v));
            r.surrogateNmse?.forEach((v, k) => { if (v !== undefined) ctx.metric(`surrogate_nmse_layer${k + 1}`, i, v); });
            done = i + 1;
            if (a.verbose) progress?.log(`episode ${String(i + 1).padStart(3)}/${episodes}  loss ${r.loss.toExponential(3)}` +
              (r.readoutNmse !== undefined ? `  readout nmse ${r.readoutNmse.toFixed(4)}` : '') + `  device samples ${r.deviceSamples}`);
            progress?.update(i + 1, `loss ${r.loss.toExponential(2)}`);
          },
          onCheckpoint: (c) => {
            ctx.artifact('checkpoint', 'checkpoint', c, { replace: true });
            lastCheckpoint = c.episode;
          },
        });
        progress?.finish();
        const saved = {
          kind: SERIES_CHAIN_FILE_KIND, task, trainer, seed: a.seed, spec, deviceSpecs: config.devices, backend: backend.detail, chain: result.chain,
          settings: result.settings, test: result.test, trainNmse: result.trainNmse ?? null, surrogateHeldOutNmse: result.surrogateHeldOutNmse ?? null,
          deviceSamples: result.deviceSamples, episodes: result.episodes.length, seconds: result.elapsedMs / 1000,
          // As `rhil train` keeps pat's in its model file and artifact (the result's deviceUtilisation).
          deviceUtilisation: result.deviceUtilisation ?? null, model: result.model,
        };
        // The file first: a database that fails now must not cost the trained chain.
        const text = JSON.stringify(saved);
        const file = writeModelFile(a.out, `rhil-${task}-chain-${trainer}-seed${a.seed}${ctx.runId !== null ? `-run${ctx.runId}` : ''}`, text);
        savedTo = file.savedTo;
        ctx.metric(`test_${result.test.metric}`, result.episodes.length, result.test.value);
        ctx.artifact('model', 'series-chain-model', { ...saved, savedTo: savedTo && resolvePath(savedTo) });
        if (file.error) throw modelFileError(a.out, file.error, ctx.runId, where);
        if (a.json) {
          console.log(JSON.stringify({ ...saved, model: undefined, savedTo, runId: ctx.runId }, null, 2));
          return;
        }
        say(`test ${result.test.metric} ${result.test.value.toFixed(4)} (${task}, chain of ${K} physical layers, ${trainer}, seed ${a.seed}, ${result.deviceSamples} device samples, ${(result.elapsedMs / 1000).toFixed(1)} s); model saved to ${savedTo}` +
          (ctx.runId !== null ? `; run ${ctx.runId} in ${a.db}` : ''));
      });
    } catch (e) {
      progress?.clear();
      throw stoppedTraining(e, { runId, where, unit: 'episode', done, lastCheckpoint, resumedAt: first, savedTo, what: 'chain', interrupted: interruptRequested(signal) });
    }
  } finally {
    await closeAll(devices);
  }
}
