/**
 * What a `train` session decides before training starts: the settings of a resumed run (taken from
 * its first part, refused where they conflict), the run to resume from, and which calibration the
 * device's drives go through. The command line only parses flags and hands them here.
 *
 * ```ts
 * const resumed = resumeId === undefined ? undefined : loadResume(db, resumeId);
 * const s = trainSettings(flags, resumed);
 * const cal = pickCalibration(flags.calibration ?? (resumed ? undefined : 'auto'), resumed?.config.calibration, device, db, true);
 * ```
 */
import type Database from 'better-sqlite3';
import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { type AppliedCalibration, applyCalibration, hasSweep } from '../calibration/index.js';
import type { Device } from '../device/client.js';
import { DEFAULT_DEVICE } from '../device/open.js';
import { getRun, openRecordDb, readArtifact } from '../record/index.js';
import { type AnyTrainOptions, type BackendChoice, DEFAULT_EPISODES, SURROGATE_DESIGNS, type SurrogateDesignOption, type TrainerName } from '../train/index.js';
import type { TrainCheckpoint } from '../train/common.js';
import type { ModelSpec } from '../train/chain/spec-types.js';
import { CalibrationError, assertCalibrationFits, findNewestCalibration, loadCalibration, readCalibrationFile } from './calibrations.js';
import { SessionError, explainDbError } from './run.js';

/** Which calibration a run used, as stored in its config (so a resume uses the same one). */
export type UsedCalibration = { id: number; name: string } | { path: string } | null;

/** The settings a train run stores as its config; `--resume` reads them back. */
export interface TrainConfig {
  task: string;
  trainer: TrainerName;
  seed: number;
  episodes: number;
  learningRate: number;
  /** --surrogate (absent in runs recorded before it existed: narx; see defaultSurrogate for a fresh run's). */
  surrogate?: SurrogateDesignOption;
  /** --refit-every (absent in runs recorded before it existed: 1). */
  refitEvery?: number;
  /** --refit-worker (absent in runs recorded before it existed: false). */
  refitWorker?: boolean;
  /** --guard, pat and oracle's rising-loss guard (absent in runs recorded before it existed: on). */
  guard?: boolean;
  device: string | null;
  backend: BackendChoice;
  checkpointEvery: number;
  maxRetries: number;
  /** Reconnect attempts per loss (0: off). */
  reconnect: number;
  /** What --calibration asked for ('auto', 'none', an id or a path) and what it resolved to. */
  calibrationChoice: string;
  calibration: UsedCalibration;
  /** The model file named by --out, or null for the default name (unique per run; the path saved is in the model artifact). */
  out: string | null;
  /** Which device batches were recorded (--record-batches). */
  recordBatches?: string;
  /** Tapped delays of the input layer, when not the trainers' default (a spec's first layer). */
  taps?: number;
  /** The model spec a `--model-spec` run on a time series with one physical layer was declared by (train/chain/spec-types.ts), and its file. */
  modelSpec?: ModelSpec;
  specFile?: string;
  resumedFrom?: number;
}

export interface Resumed {
  id: number;
  config: TrainConfig;
  checkpoint: TrainCheckpoint;
}

/** The settings given on the command line; undefined where a flag was absent. */
export interface GivenTrainSettings {
  task?: string;
  trainer?: TrainerName;
  seed?: number;
  episodes?: number;
  learningRate?: number;
  surrogate?: string;
  refitEvery?: number;
  refitWorker?: boolean;
  guard?: boolean;
  backend?: BackendChoice;
  device?: string;
  /** The input layer's tapped delays (a spec's); undefined: the trainers' default. */
  taps?: number;
}

/** A train run's settings, every one resolved. */
export interface TrainSettings {
  task: string;
  trainer: TrainerName;
  seed: number;
  episodes: number;
  learningRate: number;
  surrogate: SurrogateDesignOption;
  refitEvery: number;
  refitWorker: boolean;
  guard: boolean;
  backend: BackendChoice;
  device: string;
  /** undefined: the trainers' default (20). */
  taps?: number;
}

/**
 * `--surrogate`'s default for a fresh run. pat explores the connected device and trains with the
 * design that suits it (issue 11: one design for every board left pat 4-5x behind on a scattering
 * medium and without a lead at 100-200 virtual nodes). oracle's surrogate only reports gradient
 * fidelity, so it does not spend samples exploring; the other trainers have no surrogate.
 */
export function defaultSurrogate(trainer: TrainerName): SurrogateDesignOption {
  return trainer === 'pat' ? 'auto' : 'narx';
}

/**
 * The run's settings: given ones, else (on a resume) the first part's, else the defaults. A
 * resumed run keeps its task, trainer and seed; asking for others is refused.
 */
export function trainSettings(given: GivenTrainSettings, resumed: Resumed | undefined, defaults: { device: string; episodes: number }): TrainSettings {
  const prev = resumed?.config;
  const same = <K extends 'task' | 'trainer' | 'seed'>(k: K, v: TrainConfig[K] | undefined): TrainConfig[K] | undefined => {
    if (prev && v !== undefined && v !== prev[k]) {
      throw new SessionError(`--${k} ${String(v)} differs from run ${resumed!.id}'s ${String(prev[k])}; a resumed run keeps its task, trainer and seed`);
    }
    return v ?? prev?.[k];
  };
  const trainer = same('trainer', given.trainer) ?? 'pat';
  const s: TrainSettings = {
    task: same('task', given.task) ?? 'narma10',
    trainer,
    seed: same('seed', given.seed) ?? 1,
    episodes: given.episodes ?? prev?.episodes ?? defaults.episodes,
    learningRate: given.learningRate ?? prev?.learningRate ?? 0.03,
    // A resumed run recorded before --surrogate existed used narx.
    surrogate: (given.surrogate ?? (prev ? prev.surrogate ?? 'narx' : defaultSurrogate(trainer))) as SurrogateDesignOption,
    refitEvery: given.refitEvery ?? prev?.refitEvery ?? 1,
    refitWorker: given.refitWorker ?? prev?.refitWorker ?? false,
    guard: given.guard ?? prev?.guard ?? true,
    backend: given.backend ?? prev?.backend ?? 'auto',
    device: given.device ?? prev?.device ?? defaults.device,
  };
  const taps = given.taps ?? prev?.taps;
  if (taps !== undefined) s.taps = taps;
  if (!SURROGATE_DESIGNS.includes(s.surrogate)) throw new SessionError(`--surrogate must be ${SURROGATE_DESIGNS.join(', ')}, got ${String(s.surrogate)}`);
  // Equal counts are fine: the resumed run then only does the final fit and test.
  if (resumed && resumed.checkpoint.episode > s.episodes) {
    throw new SessionError(`run ${resumed.id} already has ${resumed.checkpoint.episode} episodes, more than --episodes ${s.episodes}`);
  }
  return s;
}

/** `rhil train`'s --checkpoint-every and --max-retries when not given. */
export const TRAIN_FLAG_DEFAULTS = { checkpointEvery: 1, maxRetries: 3 } as const;

/** What decides a train run's numbers: {@link trainSettings}' result with the CLI's checkpoint and retry settings. */
export type RunSettings = Omit<TrainSettings, 'backend' | 'device'> & { checkpointEvery: number; maxRetries: number };

/**
 * train()'s options for a run's settings, less what each session supplies (device, signal,
 * calibration, resume and the hooks). `rhil train` and the trainer benchmark
 * (scripts/bench/trainers.ts) both build their options here, so the benchmark's figures are what
 * the CLI gives: everything else, pat's fidelity checks every 25 episodes included, stays
 * at the trainers' defaults in both.
 */
export function trainOptionsOf(s: RunSettings): Omit<AnyTrainOptions, 'device'> {
  return {
    task: s.task, trainer: s.trainer, seed: s.seed, episodes: s.episodes, learningRate: s.learningRate,
    checkpointEvery: s.checkpointEvery, maxRetries: s.maxRetries,
    surrogate: { design: s.surrogate, ...(s.refitEvery > 1 ? { refitEvery: s.refitEvery, lag: 1 as const } : {}) }, refitWorker: s.refitWorker,
    ...(s.taps !== undefined ? { taps: s.taps } : {}),
    ...(s.guard ? {} : { guard: false }),
  };
}

/**
 * The options of a fresh `rhil train` given only the flags in `given` (every other flag at its
 * default): what the trainer benchmark runs, so that its figures are the command's.
 */
export function cliTrainOptions(given: GivenTrainSettings): Omit<AnyTrainOptions, 'device'> {
  return trainOptionsOf({ ...trainSettings(given, undefined, { device: DEFAULT_DEVICE, episodes: DEFAULT_EPISODES }), ...TRAIN_FLAG_DEFAULTS });
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
export function loadResume(dbPath: string, id: number): Resumed {
  if (!existsSync(dbPath)) throw new SessionError(`--resume ${id}: no run database at ${dbPath}; pass --db where run ${id} was recorded`);
  // Opened for writing so that a run whose process died is marked interrupted first.
  const db = openDb(dbPath, true)!;
  try {
    const run = getRun(db, id);
    if (!run) throw new SessionError(`--resume ${id}: no run ${id} in ${dbPath}`);
    if (run.kind !== 'train') throw new SessionError(`--resume ${id}: run ${id} is a ${run.kind} run, not a train run`);
    if (run.status === 'completed') throw new SessionError(`--resume ${id}: run ${id} completed; there is nothing to resume`);
    if (run.status === 'running') throw new SessionError(`--resume ${id}: run ${id} is still running (pid ${run.pid} on ${run.host})`);
    const art = readArtifact(db, id, 'checkpoint');
    if (!art || art.json === undefined) {
      throw new SessionError(`--resume ${id}: run ${id} has no checkpoint (it stopped before its first, or its trainer does not checkpoint); start a new run`);
    }
    const config = run.config as Partial<TrainConfig>;
    if (typeof config?.task !== 'string' || typeof config.trainer !== 'string' || typeof config.seed !== 'number') {
      throw new SessionError(`--resume ${id}: run ${id}'s config lacks task, trainer or seed`);
    }
    return { id, config: config as TrainConfig, checkpoint: art.json as TrainCheckpoint };
  } catch (e) {
    throw explainDbError(dbPath, e);
  } finally {
    db.close();
  }
}

export interface PickedCalibration {
  used: UsedCalibration;
  applied: AppliedCalibration | undefined;
  /** One line for the user: which calibration and why. */
  note: string;
}

/**
 * The calibration for this run: `choice` is --calibration (undefined on a resume without it, which
 * reuses the first part's `previous`, so the checkpoint's weights keep the drive mapping they were
 * trained under). A calibration that does not fit the device is a SessionError.
 */
export function pickCalibration(choice: string | undefined, previous: UsedCalibration | undefined, device: Device, dbPath: string, recording: boolean): PickedCalibration {
  const info = device.info;
  const byId = (id: number, flag: string): PickedCalibration => {
    const db = openDb(dbPath, recording);
    if (!db) throw new SessionError(`${flag}: no run database at ${dbPath}`);
    try {
      const c = loadCalibration(db, id);
      assertCalibrationFits(c.record, info, `calibration ${id}`);
      if (!hasSweep(c.record)) throw new CalibrationError(`calibration ${id} (plan ${c.record.plan.name}) has no sweep, so it cannot map drives`);
      return { used: { id, name: c.name }, applied: applyCalibration(c.record), note: `${id} (${c.name}, ${new Date(c.createdMs).toISOString()})` };
    } catch (e) {
      throw e instanceof CalibrationError ? new SessionError(`${flag}: ${e.message}`) : e;
    } finally {
      db.close();
    }
  };
  const byPath = (path: string, flag: string): PickedCalibration => {
    try {
      const record = readCalibrationFile(path);
      assertCalibrationFits(record, info, `calibration ${path}`);
      if (!hasSweep(record)) throw new CalibrationError(`calibration ${path} (plan ${record.plan.name}) has no sweep, so it cannot map drives`);
      return { used: { path: resolvePath(path) }, applied: applyCalibration(record), note: `${path} (plan ${record.plan.name}, ${record.createdAt})` };
    } catch (e) {
      throw e instanceof CalibrationError ? new SessionError(`${flag}: ${e.message}`) : e;
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

/**
 * Writes `data` to `<stem>.json`, or to `<stem>-2.json`, `-3`, ... when that exists: a file the
 * user did not name is never replaced. Returns the path written; a failed write leaves no file.
 */
export function saveNewFile(stem: string, data: string): string {
  for (let i = 1; ; i++) {
    const path = `${stem}${i === 1 ? '' : `-${i}`}.json`;
    try {
      writeFileSync(path, data, { flag: 'wx' });
      return path;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && i < 10_000) continue;
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') rmSync(path, { force: true });
      throw e;
    }
  }
}

/** Replaces the file the user named with `data` through a temporary file, so a failed write (a full disk) leaves the old one whole. */
export function saveNamedFile(path: string, data: string): string {
  const tmp = `${path}.partial-${process.pid}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  return path;
}
