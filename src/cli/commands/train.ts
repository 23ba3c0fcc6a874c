import { resolve as resolvePath } from 'node:path';
import type { Argv } from 'yargs';
import { DEFAULT_DEVICE, openReconnectingDevice } from '../../device/index.js';
import {
  type TrainConfig, interruptRequested, loadResume, pickCalibration,
  parseRecordPolicy, policyPhrase, policyText, projectedBytes, sizeText, TRAIN_FLAG_DEFAULTS, trainOptionsOf, trainSettings, withRecordedRun,
} from '../../session/index.js';
import { taskNames } from '../../tasks/index.js';
import {
  BACKEND_CHOICES, type BackendChoice, DEFAULT_EPISODES, EXPLORE_SHARE, type EpisodeRecord, type TrainResult, selectBackend,
  train, type TrainerName,
} from '../../train/index.js';
import { TrainingInterrupted } from '../../train/common.js';
import { surrogateShape } from '../../train/surrogate-setup.js';
import { CLASS_TASK_NAMES, isClassTask } from '../../tasks/class-tasks.js';
import { CHAIN_CHECKPOINT_EVERY, isChainConfig, readModelSpec, trainChainCommand } from './train-chain.js';
import { isSeriesChainConfig, seriesShapeOf, trainSeriesChainCommand } from './train-series-chain.js';
import { SERIES_CHECKPOINT_EVERY } from '../../train/chain/series.js';
import { checkModelSpec, ModelSpecError, taskKind } from '../../train/chain/spec.js';
import type { ModelSpec } from '../../train/chain/spec-types.js';
import { LIVE_OPTION, startLive } from '../live.js';
import { Progress } from '../progress.js';
import { UsageError, defaultDbPath, intArg, numArg, modelFileError, stoppedTraining, usage, writeModelFile } from '../util.js';

/** EXPLORE_SHARE as the help text states it. */
const EXPLORE_PERCENT = Math.round(EXPLORE_SHARE * 100);

const TRAINERS = ['pat', 'classic', 'digital', 'oracle', 'insilico', 'spsa'] as const;

/** Episode record field -> metric name, in the order they are recorded. */
const EPISODE_METRICS: readonly [keyof EpisodeRecord, string][] = [
  ['loss', 'loss'], ['readoutNmse', 'readout_nmse'], ['surrogateNmse', 'surrogate_nmse'], ['surrogateHeldOutNmse', 'surrogate_heldout_nmse'],
  ['saturation', 'saturation'], ['fidelityCosine', 'fidelity_cosine'], ['fidelitySlope', 'fidelity_slope'], ['fidelitySlopeSe', 'fidelity_slope_se'],
  ['fidelityTwinSlope', 'fidelity_twin_slope'], ['fidelityDirections', 'fidelity_directions'], ['fidelitySamples', 'fidelity_samples'],
  ['deviceSamples', 'device_samples'], ['driftAlarms', 'drift_alarms'], ['learningRate', 'learning_rate'], ['rollbacks', 'rollbacks'],
];

export function trainCommand(y: Argv): Argv {
  return y.command(
    'train',
    'Train the digital input layer and readout around the device on a task, then test and save the model',
    (a) => a
      // No yargs defaults on the settings a resumed run takes from its first part: an absent flag
      // must be told apart from one given with the default value.
      .option('task', { type: 'string', choices: [...taskNames, ...CLASS_TASK_NAMES], defaultDescription: 'narma10', describe: `benchmark task: a time series (${taskNames.join(', ')}), or with --model-spec a classification task (${CLASS_TASK_NAMES.join(', ')}); overrides the spec's task` })
      .option('model-spec', { type: 'string', describe: 'train a declared chain of layers (YAML or JSON; see README, deep physical networks). On a classification task: digital and physical layers and a softmax readout, with --trainer pat|oracle|digital|classic|insilico, --seed, --epochs (passes over the training set, default 1), --budget, --out, --checkpoint-every (steps). On a time series: digital (tanh, taps) -> physical -> [digital (tanh, taps) -> physical]... -> ridge readout; with one physical layer it is the model --device trains (the spec\'s device, taps and surrogate; default narx), with every train flag but --device and --surrogate; with two or more, --trainer pat|oracle, --seed, --episodes, --budget, --out, --checkpoint-every (episodes). An interrupted chain run continues with --resume RUN' })
      .option('epochs', { type: 'number', describe: 'with --model-spec: passes over the training set (default 1)' })
      .option('budget', { type: 'number', describe: 'with --model-spec (a classification chain, or a time-series chain of two or more physical layers): device samples of the whole run, test included' })
      .option('device', { type: 'string', defaultDescription: DEFAULT_DEVICE, describe: 'serial path, tcp://host:port or sim:<profile>' })
      .option('trainer', { type: 'string', choices: TRAINERS as unknown as string[], defaultDescription: 'pat', describe: 'pat: physics-aware training through the device; classic: fixed random input layer + ridge; digital: the digital layers alone, no device; oracle: pat with the exact gradient of a simulator\'s twin (sim:<profile> only, benchmark); insilico: fit a surrogate on random exploration, train on the surrogate, deploy on the device; spsa: gradient-free SPSA on the device' })
      .option('seed', { type: 'number', defaultDescription: '1', describe: 'seeds the task, the initialisation, the surrogate and a simulated device' })
      .option('reconnect', { type: 'string', describe: 'after an unplug or a hang, reconnect to the same board (checked by identity) up to N attempts per loss and re-measure the cut segment from a reset (--reconnect alone: 5); default off: the run stops with an error naming the fault' })
      .option('episodes', { type: 'number', defaultDescription: String(DEFAULT_EPISODES), describe: 'training episodes (with --resume: the new total)' })
      .option('learning-rate', { type: 'number', defaultDescription: '0.03', describe: 'Adam learning rate of the digital layer' })
      .option('refit-every', { type: 'number', defaultDescription: '1', describe: 'pat: refit the surrogate every N episodes\' worth of pairs. Above 1 the surrogate in use is one refit stale and each refit runs in the background across the N episodes, so a board faster than the host\'s refit is not left waiting (see README, device utilisation)' })
      .option('refit-worker', { type: 'boolean', defaultDescription: 'false', describe: 'pat: run the surrogate refits in a worker thread (a host core to spare), with the same numbers as on the training thread' })
      .option('guard', { type: 'boolean', defaultDescription: 'true', describe: 'pat, oracle (and a chain, --model-spec, over all its trainable layers): the rising-loss guard: when the mean log loss of a block of 5 episodes rises above the best block\'s by more than 50 % and 4 standard errors, go back to the weights the best block started from and go on at half the learning rate, down to a sixteenth (--no-guard: a fixed rate)' })
      .option('surrogate', { type: 'string', defaultDescription: 'auto for pat, narx for oracle', describe: `pat, oracle: the surrogate's design: narx (4-drive window, 1 response lag, 64 hidden units); state (a state-space model: the last measured responses as the state, one hidden unit per response channel, the gradient along the state: for a delay loop or echo-state board with many channels); memoryless (window 1, no lags, wider: for a device without memory); transmission (a fitted complex transmission matrix with intensity readout: for a scattering medium read by a camera); auto (explore the device with ${EXPLORE_PERCENT} % of the run's samples, then train with the design of fewest parameters whose score is within one standard error of the best of narx, state, memoryless and transmission; the choice is stored as the run's surrogate_choice artifact)` })
      .option('backend', { type: 'string', choices: BACKEND_CHOICES as unknown as string[], defaultDescription: 'auto', describe: 'tfjs backend (auto: tensorflow if installed, else wasm, else cpu)' })
      .option('out', { type: 'string', describe: 'where to save the trained model and run metadata (JSON; replaced if it exists); default rhil-<task>-<trainer>-seed<seed>-run<id>.json, never replacing a file (-2, -3, ... added)' })
      .option('db', { type: 'string', defaultDescription: '$RHIL_DB or rhil.db', describe: 'run database that records the run (config, every device batch, metrics per episode, checkpoints, the model)' })
      .option('record', { type: 'boolean', default: true, describe: 'record the run in the database (--no-record: write no database)' })
      .option('record-batches', { type: 'string', default: 'all', describe: 'which device batches the run records: all, none, or every N (metrics, checkpoints, the model and every event are kept either way)' })
      .option('calibration', { type: 'string', defaultDescription: 'auto', describe: 'auto: the newest calibration of this device in the database, if any; none; a calibration id; or a calibration JSON file' })
      .option('resume', { type: 'number', describe: 'continue interrupted train run RUN from its last checkpoint, as a new run (same task, trainer, seed and calibration)' })
      .option('checkpoint-every', { type: 'number', defaultDescription: `${TRAIN_FLAG_DEFAULTS.checkpointEvery} (a classification chain: ${CHAIN_CHECKPOINT_EVERY} steps; a time-series chain of several physical layers: ${SERIES_CHECKPOINT_EVERY} episodes)`, describe: 'pat: save a checkpoint to the database every N episodes (a classification chain: every N steps)' })
      .option('max-retries', { type: 'number', default: TRAIN_FLAG_DEFAULTS.maxRetries, describe: 're-measurements of a segment after state breaks (lost replies, reboots) before the run stops; raise it on a noisy link' })
      .option('live', LIVE_OPTION)
      .option('verbose', { type: 'boolean', default: false, describe: 'print one line per episode' })
      .option('json', { type: 'boolean', default: false, describe: 'print nothing but the result as JSON' })
      .example('$0 train', 'NARMA10 on the built-in analog simulator with physics-aware training')
      .example('$0 train --device /dev/ttyACM0 --trainer classic --seed 3', 'a board on USB, baseline trainer')
      .example('$0 train --resume 12', 'continue run 12 after Ctrl-C')
      .example('$0 train --model-spec scripts/examples/chains/narma-analog.yaml', 'the default model, declared as a chain of one physical layer')
      .epilogue('Ctrl-C stops after the batch in flight: the run is marked interrupted in the database, the last checkpoint kept, and rhil exits with 130; a second Ctrl-C exits at once (130; what was committed stays valid). Exit codes: 0 ok, 1 failure, 2 usage error, 130 interrupted.'),
    async (args) => {
      const dbPath = args.db ?? defaultDbPath();
      const resumeId = intArg('resume', args.resume, 1, Number.MAX_SAFE_INTEGER);
      const resumed = resumeId === undefined ? undefined : usage(() => loadResume(dbPath, resumeId));
      if (resumed && isChainConfig(resumed.config)) {
        // The run's own spec, task, trainer, seed, epochs and budget: a resume continues it as it was.
        const changed = (['model-spec', 'task', 'trainer', 'seed', 'epochs', 'budget', 'episodes', 'surrogate', 'refit-every', 'learning-rate', 'calibration', 'device'] as const).filter((k) => args[k] !== undefined);
        if (changed.length > 0) throw new UsageError(`--resume ${resumeId}: run ${resumeId} is a chain run, continued as it was configured; drop --${changed[0]}`);
        return trainChainCommand({
          specFile: resumed.config.specFile, seed: resumed.config.seed, backend: args.backend as BackendChoice | undefined, out: args.out,
          db: args.record ? dbPath : undefined, json: args.json, checkpointEvery: intArg('checkpoint-every', args['checkpoint-every'], 1, 1_000_000),
          guard: args.guard, resume: { id: resumed.id, config: resumed.config, checkpoint: resumed.checkpoint },
        });
      }
      if (resumed && isSeriesChainConfig(resumed.config)) {
        const changed = (['model-spec', 'task', 'trainer', 'seed', 'epochs', 'budget', 'episodes', 'surrogate', 'refit-every', 'learning-rate', 'calibration', 'device'] as const).filter((k) => args[k] !== undefined);
        if (changed.length > 0) throw new UsageError(`--resume ${resumeId}: run ${resumeId} is a chain run, continued as it was configured; drop --${changed[0]}`);
        const c = resumed.config;
        return trainSeriesChainCommand({
          spec: storedSpec(c.modelSpec, resumed.id), specFile: c.specFile, task: c.task, seed: c.seed, backend: args.backend as BackendChoice | undefined, out: args.out,
          db: args.record ? dbPath : undefined, json: args.json, verbose: args.verbose, checkpointEvery: intArg('checkpoint-every', args['checkpoint-every'], 1, 1_000_000),
          guard: args.guard, resume: { id: resumed.id, config: c, checkpoint: resumed.checkpoint },
        });
      }
      // A spec on a time series with one physical layer is today's model: it trains below as --device would, with the spec's taps and surrogate.
      let fromSpec: { modelSpec: ModelSpec; specFile: string; device: string; taps: number; surrogate: string } | undefined;
      if (args['model-spec'] !== undefined) {
        const file = args['model-spec'];
        const spec = readModelSpec(file);
        const task = args.task ?? spec.task;
        if (task !== undefined && taskKind(task) === 'time-series') {
          const shape = seriesShapeOf(spec, file);
          const notForSpec = (['device', 'surrogate', 'epochs', 'resume', ...(shape.physical.length > 1 ? ['refit-every', 'refit-worker', 'learning-rate', 'calibration', 'reconnect'] as const : ['budget'] as const)] as const)
            .filter((k) => args[k] !== undefined);
          if (notForSpec.length > 0) {
            throw new UsageError(`--model-spec on a time series does not take --${notForSpec[0]} (the spec names each layer's device and surrogate; ` +
              (shape.physical.length > 1 ? 'a chain of several physical layers takes --trainer pat|oracle, --episodes, --seed, --budget, --checkpoint-every)' : 'one physical layer trains as rhil train --device does, by --episodes)'));
          }
          if (shape.physical.length > 1) {
            return trainSeriesChainCommand({
              spec, specFile: file, task, trainer: args.trainer, seed: intArg('seed', args.seed, 0, 0xffffffff) ?? 1,
              episodes: intArg('episodes', args.episodes, 1, 100000), budget: intArg('budget', args.budget, 1, Number.MAX_SAFE_INTEGER),
              backend: args.backend as BackendChoice | undefined, out: args.out, db: args.record ? dbPath : undefined, json: args.json, verbose: args.verbose,
              checkpointEvery: intArg('checkpoint-every', args['checkpoint-every'], 1, 1_000_000), guard: args.guard,
            });
          }
          fromSpec = { modelSpec: spec, specFile: resolvePath(file), device: shape.physical[0].device, taps: shape.taps, surrogate: shape.physical[0].surrogate };
        }
      }
      if (args['model-spec'] !== undefined && !fromSpec) {
        const chainOnly = (['episodes', 'resume', 'surrogate', 'refit-every', 'learning-rate', 'calibration', 'device'] as const).filter((k) => args[k] !== undefined);
        if (chainOnly.length > 0) throw new UsageError(`--model-spec does not take --${chainOnly[0]} (a chain names its devices in its layers and trains for --epochs)`);
        return trainChainCommand({
          specFile: args['model-spec'], task: args.task, trainer: args.trainer, seed: intArg('seed', args.seed, 0, 0xffffffff) ?? 1,
          epochs: numArg('epochs', args.epochs, 0, 1000), budget: intArg('budget', args.budget, 1, Number.MAX_SAFE_INTEGER),
          backend: args.backend as BackendChoice | undefined, out: args.out, db: args.record ? dbPath : undefined, json: args.json,
          checkpointEvery: intArg('checkpoint-every', args['checkpoint-every'], 1, 1_000_000), guard: args.guard,
        });
      }
      if (!fromSpec) for (const k of ['epochs', 'budget'] as const) if (args[k] !== undefined) throw new UsageError(`--${k} is for a chain: give --model-spec`);
      if (args.task !== undefined && isClassTask(args.task)) throw new UsageError(`--task ${args.task} is a classification task: train it as a chain with --model-spec FILE`);
      const recording = args.record;
      const checkpointEvery = intArg('checkpoint-every', args['checkpoint-every'], 1, 1_000_000) ?? TRAIN_FLAG_DEFAULTS.checkpointEvery;
      const maxRetries = intArg('max-retries', args['max-retries'], 0, 1_000_000)!;
      const policy = usage(() => parseRecordPolicy(args['record-batches']));
      const { task, trainer, seed, episodes, learningRate, surrogate, refitEvery, refitWorker, guard, taps, backend: backendChoice, device: deviceSpec } = usage(() => trainSettings({
        task: args.task, trainer: args.trainer as TrainerName | undefined, seed: intArg('seed', args.seed, 0, 0xffffffff),
        episodes: intArg('episodes', args.episodes, 1, 100000), learningRate: numArg('learning-rate', args['learning-rate'], 1e-6, 10),
        surrogate: fromSpec?.surrogate ?? args.surrogate, refitEvery: intArg('refit-every', args['refit-every'], 1, 1000), refitWorker: args['refit-worker'], guard: args.guard, backend: args.backend as BackendChoice | undefined,
        device: fromSpec?.device ?? args.device, taps: fromSpec?.taps,
      }, resumed, { device: DEFAULT_DEVICE, episodes: DEFAULT_EPISODES }));
      // A resumed spec run keeps its spec in the config, as its first part recorded it.
      const spec = fromSpec ?? (resumed?.config.modelSpec ? { modelSpec: resumed.config.modelSpec, specFile: resumed.config.specFile! } : undefined);
      const prev = resumed?.config;

      const quiet = args.json;
      const say = (s: string) => { if (!quiet) console.log(s); };
      const backend = await selectBackend(backendChoice);
      say(`backend ${backend.detail}`);
      // --reconnect alone takes the default attempts; absent (or --no-reconnect) it is 0: an unplug or
      // a hang is still told apart from a lost reply, and stops the run with an error that names it.
      const reconnect = typeof args.reconnect === 'string' ? intArg('reconnect', args.reconnect === '' ? 5 : Number(args.reconnect), 0, 1000)! : 0;
      const live = await startLive(args.live, recording);
      const device = trainer === 'digital' ? undefined : await openReconnectingDevice(deviceSpec, { seed, reconnect: { attempts: reconnect } })
        .catch(async (e: unknown) => { await live?.close(); throw e instanceof RangeError ? new UsageError(`--device: ${e.message}`) : e; });
      try {
        if (device) say(`device ${deviceSpec}: ${device.info.vendor} ${device.info.model}, ${device.info.inChannels} in, ${device.info.outChannels} out`);
        // A spec's layer widths against the board it names, known only now (a simulator's were checked as the spec was read).
        if (device && spec) usage(() => specFits(spec.modelSpec, spec.specFile, deviceSpec, device.info, task));
        const choice = args.calibration ?? (prev ? undefined : 'auto');
        const cal = device ? usage(() => pickCalibration(choice, prev?.calibration, device, dbPath, recording)) : { used: null, applied: undefined, note: 'none (no device)' };
        if (device) say(`calibration ${cal.note}`);
        const config: TrainConfig = {
          task, trainer, seed, episodes, learningRate, surrogate, refitEvery, refitWorker, guard, device: device ? deviceSpec : null, backend: backendChoice, checkpointEvery, maxRetries, reconnect,
          calibrationChoice: choice ?? prev!.calibrationChoice, calibration: cal.used, out: args.out === undefined ? null : resolvePath(args.out),
          recordBatches: policyText(policy),
          ...(taps !== undefined ? { taps } : {}),
          ...(spec ? { modelSpec: spec.modelSpec, specFile: spec.specFile } : {}),
          ...(resumeId !== undefined ? { resumedFrom: resumeId } : {}),
        };
        const first = resumed?.checkpoint.episode ?? 0;
        if (resumed) say(`resuming run ${resumeId} from its checkpoint after episode ${first} (${resumed.checkpoint.deviceSamples} device samples)`);
        const progress = quiet ? null : new Progress({ total: episodes, unit: 'episodes', label: 'training', start: first });
        let runId: number | null = null;
        let lastCheckpoint = first;
        let done = first;
        let firstSamples = 0;
        let savedTo: string | null = null;
        let signal: AbortSignal | undefined;
        const where = dbPath === defaultDbPath() ? '' : ` --db ${dbPath}`;
        try {
          return await withRecordedRun({
            db: recording ? dbPath : undefined, kind: 'train', config, seed, backend: backend.name, device, recordBatches: policy,
            calibrationId: cal.used && 'id' in cal.used ? cal.used.id : undefined,
          }, async (ctx) => {
            runId = ctx.runId;
            signal = ctx.signal;
            if (runId !== null) say(`recording run ${runId} in ${dbPath}`);
            if (runId !== null) live?.attach(dbPath, runId);
            const result = await train({
              ...trainOptionsOf({ task, trainer, seed, episodes, learningRate, surrogate, refitEvery, refitWorker, guard, taps, checkpointEvery, maxRetries }),
              device, signal: ctx.signal, calibration: cal.applied, resume: resumed?.checkpoint,
              onEpisode: (r, i) => {
                for (const [field, name] of EPISODE_METRICS) {
                  const v = r[field];
                  if (typeof v === 'number') ctx.metric(name, i, v);
                }
                done = i + 1;
                // The second episode tells how much one records (the first also carries what came
                // before it: the exploration of --surrogate auto, 15 % of the run): say where the run is going.
                if (i === first) firstSamples = r.deviceSamples;
                if (i === first + 1 && ctx.runId !== null && device && episodes > i + 1) {
                  const per = r.deviceSamples - firstSamples;
                  const bytes = projectedBytes(per * (episodes - i - 1), device.info.inChannels, device.info.outChannels, device.maxBatch, policy);
                  const line = `recording ${policyPhrase(policy)}: about ${sizeText(bytes)} of batches for the ${episodes - i - 1 === 1 ? 'episode' : `${episodes - i - 1} episodes`} to come, ${per} device samples each, then the test and the model (--record-batches all|none|every N)`;
                  if (progress) progress.log(line); else say(line);
                }
                if (args.verbose) progress?.log(episodeLine(r, i, episodes));
                progress?.update(i + 1, `loss ${r.loss.toExponential(2)}`);
              },
              onCheckpoint: (c) => {
                ctx.artifact('checkpoint', 'checkpoint', c, { replace: true });
                lastCheckpoint = c.episode;
              },
            });
            progress?.finish();
            const saved = { ...result, backend: backend.detail, deviceSpec: device ? deviceSpec : null, calibration: cal.used };
            // The file first: a database that fails now must not cost the trained model.
            const text = JSON.stringify(saved);
            const file = writeModelFile(args.out, `rhil-${task}-${trainer}-seed${seed}${ctx.runId !== null ? `-run${ctx.runId}` : ''}`, text);
            savedTo = file.savedTo;
            ctx.metric(`test_${result.test.metric}`, result.episodes.length, result.test.value);
            ctx.artifact('model', 'model', { ...saved, savedTo: savedTo && resolvePath(savedTo) });
            const trace = (result as TrainResult & { trace?: unknown }).trace;
            if (trace !== undefined) ctx.artifact('test_trace', 'trace', trace);
            if (result.surrogateChoice) {
              const c = result.surrogateChoice;
              ctx.artifact('surrogate_choice', 'surrogate-choice', c);
              say(`surrogate ${c.design} (${surrogateShape(c)})` +
                (c.exploration ? `, chosen by exploring the device (${c.samples} samples)` : ''));
            }
            if (file.error) throw modelFileError(args.out, file.error, ctx.runId, where);
            if (quiet) {
              console.log(JSON.stringify({ ...saved, model: undefined, trace: undefined, savedTo, runId: ctx.runId, calibration: cal.used }, null, 2));
            } else {
              say(`test ${result.test.metric} ${result.test.value.toFixed(4)} (${result.task.name}, ${trainer}, seed ${seed}, ${result.deviceSamples} device samples, ${(result.elapsedMs / 1000).toFixed(1)} s); model saved to ${savedTo}` +
                (ctx.runId !== null ? `; run ${ctx.runId} in ${dbPath}` : ''));
            }
          });
        } catch (e) {
          progress?.clear();
          // An interrupt during the final fit and test surfaces as the signal's reason, not TrainingInterrupted.
          const interrupted = e instanceof TrainingInterrupted || interruptRequested(signal);
          throw stoppedTraining(e, {
            runId, where, unit: 'episode', done: e instanceof TrainingInterrupted ? e.episodes.length : done, lastCheckpoint, resumedAt: first, savedTo,
            what: 'model', interrupted,
          });
        }
      } finally {
        await device?.close();
        await live?.close();
      }
    },
  );
}

function episodeLine(r: EpisodeRecord, i: number, episodes: number): string {
  return `episode ${String(i + 1).padStart(3)}/${episodes}  loss ${r.loss.toExponential(3)}` +
    (r.readoutNmse !== undefined ? `  readout nmse ${r.readoutNmse.toFixed(4)}` : '') +
    (r.surrogateNmse !== undefined ? `  surrogate nmse ${r.surrogateNmse.toFixed(4)}` : '') +
    (r.fidelitySlope !== undefined ? `  gradient slope ${r.fidelitySlope.toFixed(3)} ± ${(r.fidelitySlopeSe ?? NaN).toFixed(3)}` : '') +
    `  device samples ${r.deviceSamples}`;
}

/** A resumed run's stored spec, checked as a spec file is (a database is untrusted input too). */
function storedSpec(spec: unknown, id: number): ModelSpec {
  try {
    return checkModelSpec(spec, undefined, { file: `run ${id}'s model spec` });
  } catch (e) {
    if (e instanceof ModelSpecError) throw new UsageError(`--resume ${id}: ${e.message}`);
    throw e;
  }
}

/** A one-layer spec checked against its opened device: its digital layer's units are the device's drives. */
function specFits(spec: ModelSpec, file: string, name: string, info: { inChannels: number; outChannels: number }, task: string): void {
  try {
    checkModelSpec({ ...spec, task }, (n) => (n === name ? info : undefined), { file });
  } catch (e) {
    if (e instanceof ModelSpecError) throw new UsageError(e.message);
    throw e;
  }
}
