import { readFileSync } from 'node:fs';
import { CalibrationError, ExitError, INTERRUPT_EXIT_CODE, RecordDbError, SessionError, saveNamedFile, saveNewFile } from '../session/index.js';

/** A mistake in how the command was called (exit code 2), as opposed to a failure doing it (1). */
export class UsageError extends Error {}

/** Runs a session decision, turning what it refuses (a conflicting flag, a calibration that does not fit) into a usage error. */
export function usage<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw e instanceof SessionError || e instanceof CalibrationError ? new UsageError(e.message) : e;
  }
}

/** Where a recorded training run stood when it stopped early, for {@link stoppedTraining}. */
export interface StoppedAt {
  runId: number | null;
  /** ` --db PATH` when the database is not the default one, else ''. */
  where: string;
  /** The unit a run counts in ('episode' for pat and series chains, 'step' for classification chains). */
  unit: 'episode' | 'step';
  /** Units completed (learned) so far. */
  done: number;
  /** Units covered by the newest checkpoint, and by the one it resumed from (0 for a new run). */
  lastCheckpoint: number;
  resumedAt: number;
  /** Where the trained model was saved, if it was. */
  savedTo: string | null;
  /** What was trained, in 'the trained … was saved'. */
  what: string;
  /** Whether the stop was an interrupt (Ctrl-C). */
  interrupted: boolean;
}

/**
 * The error a training command throws when its run stops early: a database failure says what
 * survived (the model file, or how to resume); an interrupt exits 130 with the resume command;
 * anything else is `e` itself. One wording for every trainer, so the resume line is the same.
 */
export function stoppedTraining(e: unknown, s: StoppedAt): unknown {
  const units = `${s.unit}s`;
  const resume = s.lastCheckpoint > s.resumedAt
    ? `resume with: rhil train --resume ${s.runId}${s.where}${s.lastCheckpoint < s.done ? ` (continues after ${s.unit} ${s.lastCheckpoint})` : ''}`
    : 'no checkpoint was saved, so it cannot be resumed';
  // The database failed, not the training: say what survived.
  if (e instanceof RecordDbError && s.runId !== null) {
    return new RecordDbError(e.path, `${e.message}; ${s.savedTo !== null ? `the trained ${s.what} was saved to ${s.savedTo}` : `training stopped after ${s.done} ${units}; ${resume}`}`);
  }
  if (!s.interrupted) return e;
  return new ExitError(s.runId === null
    ? `interrupted after ${s.done} ${units} (not recorded)`
    : `interrupted after ${s.done} ${units}; run ${s.runId} marked interrupted; ${resume}`, INTERRUPT_EXIT_CODE);
}

/**
 * Writes a trained model's file: `out` when the user named one, else a new `<stem>.json` (never
 * replacing one). A failed write is returned, not thrown, so that the caller records the model in
 * its run first and only then throws {@link modelFileError}: a full disk must not cost the model.
 */
export function writeModelFile(out: string | undefined, stem: string, text: string): { savedTo: string | null; error: Error | null } {
  try {
    return { savedTo: out !== undefined ? saveNamedFile(out, text) : saveNewFile(stem, text), error: null };
  } catch (e) {
    return { savedTo: null, error: e as Error };
  }
}

/** The error for a model file that could not be written, saying where the model is kept (run `runId`, if recorded). */
export function modelFileError(out: string | undefined, error: Error, runId: number | null, where: string): Error {
  return new Error(`cannot write the model file ${out ?? 'rhil-…json'}: ${error.message}; ` +
    (runId !== null ? `the model is kept in run ${runId} (rhil run --model-run ${runId}${where})` : 'it was not recorded either, so it is lost'));
}

export function readInput(path: string): Buffer {
  try {
    return readFileSync(path === '-' ? 0 : path);
  } catch (e) {
    throw new UsageError(`cannot read ${path === '-' ? 'standard input' : path}: ${(e as Error).message}`);
  }
}

/**
 * Writes `data` to a stream and resolves once the stream has taken it. Goes through the stream
 * rather than writeSync on its fd: a pipe someone else made non-blocking answers writeSync with
 * EAGAIN as soon as the reader falls 64 KiB behind, while the stream waits for it.
 */
export function writeAll(data: string | Uint8Array, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    out.once('error', onError);
    out.write(data, (e) => {
      out.removeListener('error', onError);
      if (e) reject(e); else resolve();
    });
  });
}

export function intArg(name: string, v: number | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || v < min || v > max) throw new UsageError(`--${name} must be an integer in ${min}..${max}, got ${v}`);
  return v;
}

export function numArg(name: string, v: number | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isFinite(v) || v < min || v > max) throw new UsageError(`--${name} must be a number in ${min}..${max}, got ${v}`);
  return v;
}

/**
 * The run database every recording command writes to unless told otherwise: `$RHIL_DB`, else
 * rhil.db in the working directory (one file per bench or project folder, as lab notebooks go).
 */
export function defaultDbPath(): string {
  return process.env.RHIL_DB || 'rhil.db';
}
