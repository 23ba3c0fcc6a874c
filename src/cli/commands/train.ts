import { existsSync, writeFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import type Database from 'better-sqlite3';
import type { Argv } from 'yargs';
import { type AppliedCalibration, type CalibrationRecord, applyCalibration, hasSweep } from '../../calibration/index.js';
import { DEFAULT_DEVICE, type Device, openReconnectingDevice } from '../../device/index.js';
import { getRun, openRecordDb, readArtifact } from '../../record/index.js';
import {
  CalibrationError, ExitError, INTERRUPT_EXIT_CODE, assertCalibrationFits, explainDbError, findNewestCalibration, loadCalibration,
  readCalibrationFile, withRecordedRun,
} from '../../session/index.js';
import { taskNames } from '../../tasks/index.js';
import {
  BACKEND_CHOICES, type BackendChoice, DEFAULT_EPISODES, EXPLORE_SHARE, type EpisodeRecord, SURROGATE_DESIGNS, type SurrogateDesignOption, type TrainResult, selectBackend,
  train, type TrainerName,
} from '../../train/index.js';
import { type TrainCheckpoint, TrainingInterrupted } from '../../train/common.js';
import { LIVE_OPTION, startLive } from '../live.js';
import { Progress } from '../progress.js';
import { UsageError, defaultDbPath, intArg, numArg } from '../util.js';

/** EXPLORE_SHARE as the help text states it. */
const EXPLORE_PERCENT = Math.round(EXPLORE_SHARE * 100);

const TRAINERS = ['pat', 'classic', 'digital', 'oracle', 'insilico', 'spsa'] as const;

/** Episode record field -> metric name, in the order they are recorded. */
const EPISODE_METRICS: readonly [keyof EpisodeRecord, string][] = [
  ['loss', 'loss'], ['readoutNmse', 'readout_nmse'], ['surrogateNmse', 'surrogate_nmse'], ['surrogateHeldOutNmse', 'surrogate_heldout_nmse'],
  ['saturation', 'saturation'], ['fidelityCosine', 'fidelity_cosine'], ['fidelityDirectional', 'fidelity_directional'],
  ['deviceSamples', 'device_samples'], ['driftAlarms', 'drift_alarms'],
];

/** Which calibration a run used, as stored in its config (so a resume uses the same one). */
type UsedCalibration = { id: number; name: string } | { path: string } | null;

/** The settings a train run stores as its config; `--resume` reads them back. */
interface TrainConfig {
  task: string;
  trainer: TrainerName;
  seed: number;
  episodes: number;
  learningRate: number;
  /** --surrogate (absent in runs recorded before it existed: narx). */
  surrogate?: SurrogateDesignOption;
  device: string | null;
  backend: BackendChoice;
  checkpointEvery: number;
  maxRetries: number;
  /** Reconnect attempts per loss (0: off). */
  reconnect: number;
  /** What --calibration asked for ('auto', 'none', an id or a path) and what it resolved to. */
  calibrationChoice: string;
  calibration: UsedCalibration;
  out: string;
  resumedFrom?: number;
}

export function trainCommand(y: Argv): Argv {
  return y.command(
    'train',
    'Train the digital input layer and readout around the device on a task, then test and save the model',
    (a) => a
      // No yargs defaults on the settings a resumed run takes from its first part: an absent flag
      // must be told apart from one given with the default value.
      .option('task', { type: 'string', choices: taskNames as unknown as string[], defaultDescription: 'narma10', describe: 'benchmark task' })
      .option('device', { type: 'string', defaultDescription: DEFAULT_DEVICE, describe: 'serial path, tcp://host:port or sim:<profile>' })
      .option('trainer', { type: 'string', choices: TRAINERS as unknown as string[], defaultDescription: 'pat', describe: 'pat: physics-aware training through the device; classic: fixed random input layer + ridge; digital: the digital layers alone, no device; oracle: pat with the exact gradient of a simulator\'s twin (sim:<profile> only, benchmark); insilico: fit a surrogate on random exploration, train on the surrogate, deploy on the device; spsa: gradient-free SPSA on the device' })
      .option('seed', { type: 'number', defaultDescription: '1', describe: 'seeds the task, the initialisation, the surrogate and a simulated device' })
      .option('reconnect', { type: 'string', describe: 'after an unplug or a hang, reconnect to the same board (checked by identity) up to N attempts per loss and re-measure the cut segment from a reset (--reconnect alone: 5); default off: the run stops with an error naming the fault' })
      .option('episodes', { type: 'number', defaultDescription: String(DEFAULT_EPISODES), describe: 'training episodes (with --resume: the new total)' })
      .option('learning-rate', { type: 'number', defaultDescription: '0.03', describe: 'Adam learning rate of the digital layer' })
      .option('surrogate', { type: 'string', defaultDescription: 'narx', describe: `pat, oracle: the surrogate's design: narx (4-drive window, 1 response lag, 64 hidden units); memoryless (window 1, no lags, wider: for a device without memory); auto (explore the device with ${EXPLORE_PERCENT} % of the run's samples, then train with the better of narx and memoryless; the choice is stored as the run's surrogate_choice artifact)` })
      .option('backend', { type: 'string', choices: BACKEND_CHOICES as unknown as string[], defaultDescription: 'auto', describe: 'tfjs backend (auto: tensorflow if installed, else wasm, else cpu)' })
      .option('out', { type: 'string', describe: 'where to save the trained model and run metadata (JSON); default rhil-<task>-<trainer>-seed<seed>.json' })
      .option('db', { type: 'string', defaultDescription: '$RHIL_DB or rhil.db', describe: 'run database that records the run (config, every device batch, metrics per episode, checkpoints, the model)' })
      .option('record', { type: 'boolean', default: true, describe: 'record the run in the database (--no-record: write no database)' })
      .option('calibration', { type: 'string', defaultDescription: 'auto', describe: 'auto: the newest calibration of this device in the database, if any; none; a calibration id; or a calibration JSON file' })
      .option('resume', { type: 'number', describe: 'continue interrupted train run RUN from its last checkpoint, as a new run (same task, trainer, seed and calibration)' })
      .option('checkpoint-every', { type: 'number', default: 1, describe: 'pat: save a checkpoint to the database every N episodes' })
      .option('max-retries', { type: 'number', default: 3, describe: 're-measurements of a segment after state breaks (lost replies, reboots) before the run stops; raise it on a noisy link' })
      .option('live', LIVE_OPTION)
      .option('verbose', { type: 'boolean', default: false, describe: 'print one line per episode' })
      .option('json', { type: 'boolean', default: false, describe: 'print nothing but the result as JSON' })
      .example('$0 train', 'NARMA10 on the built-in analog simulator with physics-aware training')
      .example('$0 train --device /dev/ttyACM0 --trainer classic --seed 3', 'a board on USB, baseline trainer')
      .example('$0 train --resume 12', 'continue run 12 after Ctrl-C')
      .epilogue('Ctrl-C stops after the batch in flight: the run is marked interrupted in the database, the last checkpoint kept, and rhil exits with 130; a second Ctrl-C exits at once (130; what was committed stays valid). Exit codes: 0 ok, 1 failure, 2 usage error, 130 interrupted.'),
    async (args) => {
      const dbPath = args.db ?? defaultDbPath();
      const recording = args.record;
      const checkpointEvery = intArg('checkpoint-every', args['checkpoint-every'], 1, 1_000_000)!;
      const maxRetries = intArg('max-retries', args['max-retries'], 0, 1_000_000)!;
      const resumeId = intArg('resume', args.resume, 1, Number.MAX_SAFE_INTEGER);
      const resumed = resumeId === undefined ? undefined : loadResume(dbPath, resumeId);
      const prev = resumed?.config;
      const same = <K extends 'task' | 'trainer' | 'seed'>(k: K, given: TrainConfig[K] | undefined): TrainConfig[K] | undefined => {
        if (prev && given !== undefined && given !== prev[k]) {
          throw new UsageError(`--${k} ${String(given)} differs from run ${resumeId}'s ${String(prev[k])}; a resumed run keeps its task, trainer and seed`);
        }
        return given ?? prev?.[k];
      };
      const task = same('task', args.task) ?? 'narma10';
      const trainer = same('trainer', args.trainer as TrainerName | undefined) ?? 'pat';
      const seed = same('seed', intArg('seed', args.seed, 0, 0xffffffff)) ?? 1;
      const episodes = intArg('episodes', args.episodes, 1, 100000) ?? prev?.episodes ?? DEFAULT_EPISODES;
      const learningRate = numArg('learning-rate', args['learning-rate'], 1e-6, 10) ?? prev?.learningRate ?? 0.03;
      const surrogate = (args.surrogate ?? prev?.surrogate ?? 'narx') as SurrogateDesignOption;
      if (!SURROGATE_DESIGNS.includes(surrogate)) throw new UsageError(`--surrogate must be ${SURROGATE_DESIGNS.join(', ')}, got ${String(surrogate)}`);
      const backendChoice = (args.backend as BackendChoice | undefined) ?? prev?.backend ?? 'auto';
      const deviceSpec = args.device ?? prev?.device ?? DEFAULT_DEVICE;
      // Equal counts are fine: the resumed run then only does the final fit and test.
      if (resumed && resumed.checkpoint.episode > episodes) {
        throw new UsageError(`run ${resumeId} already has ${resumed.checkpoint.episode} episodes, more than --episodes ${episodes}`);
      }
      const out = args.out ?? `rhil-${task}-${trainer}-seed${seed}.json`;

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
        const choice = args.calibration ?? (prev ? undefined : 'auto');
        const cal = device ? pickCalibration(choice, prev?.calibration, device, dbPath, recording) : { used: null, applied: undefined, note: 'none (no device)' };
        if (device) say(`calibration ${cal.note}`);
        const config: TrainConfig = {
          task, trainer, seed, episodes, learningRate, surrogate, device: device ? deviceSpec : null, backend: backendChoice, checkpointEvery, maxRetries, reconnect,
          calibrationChoice: choice ?? prev!.calibrationChoice, calibration: cal.used, out: resolvePath(out),
          ...(resumeId !== undefined ? { resumedFrom: resumeId } : {}),
        };
        const first = resumed?.checkpoint.episode ?? 0;
        if (resumed) say(`resuming run ${resumeId} from its checkpoint after episode ${first} (${resumed.checkpoint.deviceSamples} device samples)`);
        const progress = quiet ? null : new Progress({ total: episodes, unit: 'episodes', label: 'training', start: first });
        let runId: number | null = null;
        let lastCheckpoint = first;
        let done = first;
        let signal: AbortSignal | undefined;
        try {
          return await withRecordedRun({
            db: recording ? dbPath : undefined, kind: 'train', config, seed, backend: backend.name, device,
            calibrationId: cal.used && 'id' in cal.used ? cal.used.id : undefined,
          }, async (ctx) => {
            runId = ctx.runId;
            signal = ctx.signal;
            if (runId !== null) say(`recording run ${runId} in ${dbPath}`);
            if (runId !== null) live?.attach(dbPath, runId);
            const result = await train({
              task, device, trainer, seed, episodes, learningRate, signal: ctx.signal, calibration: cal.applied, checkpointEvery, maxRetries,
              resume: resumed?.checkpoint, surrogate: { design: surrogate },
              onEpisode: (r, i) => {
                for (const [field, name] of EPISODE_METRICS) {
                  const v = r[field];
                  if (typeof v === 'number') ctx.metric(name, i, v);
                }
                done = i + 1;
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
            ctx.metric(`test_${result.test.metric}`, result.episodes.length, result.test.value);
            ctx.artifact('model', 'model', saved);
            const trace = (result as TrainResult & { trace?: unknown }).trace;
            if (trace !== undefined) ctx.artifact('test_trace', 'trace', trace);
            if (result.surrogateChoice) {
              const c = result.surrogateChoice;
              ctx.artifact('surrogate_choice', 'surrogate-choice', c);
              say(`surrogate ${c.design} (window ${c.window}, ${c.responseLags} response lags, ${c.hidden.join('x')} hidden)` +
                (c.exploration ? `, chosen by exploring the device (${c.samples} samples)` : ''));
            }
            writeFileSync(out, JSON.stringify(saved));
            if (quiet) {
              console.log(JSON.stringify({ ...saved, model: undefined, trace: undefined, savedTo: out, runId: ctx.runId, calibration: cal.used }, null, 2));
            } else {
              say(`test ${result.test.metric} ${result.test.value.toFixed(4)} (${result.task.name}, ${trainer}, seed ${seed}, ${result.deviceSamples} device samples, ${(result.elapsedMs / 1000).toFixed(1)} s); model saved to ${out}` +
                (ctx.runId !== null ? `; run ${ctx.runId} in ${dbPath}` : ''));
            }
          });
        } catch (e) {
          progress?.clear();
          // An interrupt during the final fit and test surfaces as the signal's reason, not TrainingInterrupted.
          if (!(e instanceof TrainingInterrupted) && !signal?.aborted) throw e;
          const n = e instanceof TrainingInterrupted ? e.episodes.length : done;
          const where = dbPath === defaultDbPath() ? '' : ` --db ${dbPath}`;
          const resume = lastCheckpoint > first
            ? `; resume with: rhil train --resume ${runId}${where}${lastCheckpoint < n ? ` (continues after episode ${lastCheckpoint})` : ''}`
            : '; no checkpoint was saved, so it cannot be resumed';
          throw new ExitError(runId === null
            ? `interrupted after ${n} episodes (not recorded)`
            : `interrupted after ${n} episodes; run ${runId} marked interrupted${resume}`, INTERRUPT_EXIT_CODE);
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
    `  device samples ${r.deviceSamples}`;
}

/** Opens the run database at `path` for reading what a run needs, with the session's clear errors. */
function openDb(path: string, write: boolean): Database.Database | null {
  if (!write && !existsSync(path)) return null;
  try {
    return openRecordDb(path, write ? {} : { readonly: true });
  } catch (e) {
    throw explainDbError(path, e);
  }
}

/** The run to resume: its stored config and checkpoint, refused unless it is a train run that stopped before completing. */
function loadResume(dbPath: string, id: number): { config: TrainConfig; checkpoint: TrainCheckpoint } {
  if (!existsSync(dbPath)) throw new UsageError(`--resume ${id}: no run database at ${dbPath}; pass --db where run ${id} was recorded`);
  // Opened for writing so that a run whose process died is marked interrupted first.
  const db = openDb(dbPath, true)!;
  try {
    const run = getRun(db, id);
    if (!run) throw new UsageError(`--resume ${id}: no run ${id} in ${dbPath}`);
    if (run.kind !== 'train') throw new UsageError(`--resume ${id}: run ${id} is a ${run.kind} run, not a train run`);
    if (run.status === 'completed') throw new UsageError(`--resume ${id}: run ${id} completed; there is nothing to resume`);
    if (run.status === 'running') throw new UsageError(`--resume ${id}: run ${id} is still running (pid ${run.pid} on ${run.host})`);
    const art = readArtifact(db, id, 'checkpoint');
    if (!art || art.json === undefined) {
      throw new UsageError(`--resume ${id}: run ${id} has no checkpoint (it stopped before its first, or its trainer does not checkpoint); start a new run`);
    }
    const config = run.config as Partial<TrainConfig>;
    if (typeof config?.task !== 'string' || typeof config.trainer !== 'string' || typeof config.seed !== 'number') {
      throw new UsageError(`--resume ${id}: run ${id}'s config lacks task, trainer or seed`);
    }
    return { config: config as TrainConfig, checkpoint: art.json as TrainCheckpoint };
  } finally {
    db.close();
  }
}


/**
 * The calibration for this run: `choice` is --calibration (undefined on a resume without it, which
 * reuses the first part's `previous`, so the checkpoint's weights keep the drive mapping they were
 * trained under).
 */
function pickCalibration(choice: string | undefined, previous: UsedCalibration | undefined, device: Device, dbPath: string, recording: boolean):
  { used: UsedCalibration; applied: AppliedCalibration | undefined; note: string } {
  const info = device.info;
  const byId = (id: number, flag: string) => {
    const db = openDb(dbPath, recording);
    if (!db) throw new UsageError(`${flag}: no run database at ${dbPath}`);
    try {
      const c = loadCalibration(db, id);
      assertCalibrationFits(c.record, info, `calibration ${id}`);
      if (!hasSweep(c.record)) throw new CalibrationError(`calibration ${id} (plan ${c.record.plan.name}) has no sweep, so it cannot map drives`);
      return { used: { id, name: c.name }, applied: applyCalibration(c.record), note: `${id} (${c.name}, ${new Date(c.createdMs).toISOString()})` };
    } catch (e) {
      throw e instanceof CalibrationError ? new UsageError(`${flag}: ${e.message}`) : e;
    } finally {
      db.close();
    }
  };
  const byPath = (path: string, flag: string) => {
    try {
      const record = readCalibrationFile(path);
      assertCalibrationFits(record, info, `calibration ${path}`);
      if (!hasSweep(record)) throw new CalibrationError(`calibration ${path} (plan ${record.plan.name}) has no sweep, so it cannot map drives`);
      return { used: { path: resolvePath(path) }, applied: applyCalibration(record), note: `${path} (plan ${record.plan.name}, ${record.createdAt})` };
    } catch (e) {
      throw e instanceof CalibrationError ? new UsageError(`${flag}: ${e.message}`) : e;
    }
  };
  if (choice === undefined) {
    if (!previous) return { used: null, applied: undefined, note: 'none (as in the resumed run)' };
    return 'id' in previous ? byId(previous.id, 'resumed calibration') : byPath(previous.path, 'resumed calibration');
  }
  if (choice === 'none') return { used: null, applied: undefined, note: 'none (--calibration none)' };
  if (/^\d+$/.test(choice)) return byId(Number(choice), `--calibration ${choice}`);
  if (choice !== 'auto') return byPath(choice, `--calibration ${choice}`);
  const db = openDb(dbPath, recording);
  if (!db) return { used: null, applied: undefined, note: `none (no database at ${dbPath})` };
  try {
    let c;
    try {
      c = findNewestCalibration(db, info, { accept: hasSweep });
    } catch (e) {
      if (e instanceof CalibrationError) throw new CalibrationError(`${e.message}; pass --calibration none or another calibration's id`);
      throw e;
    }
    if (!c) return { used: null, applied: undefined, note: `none (no calibration of ${info.model} serial ${info.serial} with a sweep in ${dbPath}; run rhil calibrate)` };
    return { used: { id: c.id, name: c.name }, applied: applyCalibration(c.record), note: `${c.id} (${c.name}, ${new Date(c.createdMs).toISOString()}; newest of this device)` };
  } finally {
    db.close();
  }
}
