import { readFileSync } from 'node:fs';
import { CalibrationError, SessionError } from '../session/index.js';

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
