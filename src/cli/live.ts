/** The `--live [PORT]` option of the recording commands: parse it, bind the server before the run starts. */
import { LivePortError, LiveServer } from '../live/index.js';
import { UsageError } from './util.js';

/** yargs definition shared by train, calibrate and run (a string, so `--live` alone is '' rather than a missing number). */
export const LIVE_OPTION = {
  type: 'string',
  describe: 'serve a live view of the run at http://127.0.0.1:PORT while it records (--live alone: a free port; the address is printed); it closes when the run ends',
} as const;

/** The port `--live` asks for: '' (the flag alone) is any free port; undefined is no live view. */
export function livePort(v: string | undefined, flag = '--live'): number | undefined {
  if (v === undefined) return undefined;
  if (v === '') return 0;
  if (!/^\d+$/.test(v) || Number(v) > 65535) {
    throw new UsageError(`${flag} must be a port number in 0..65535${flag === '--live' ? ' (or nothing for a free port)' : ''}, got '${v}'`);
  }
  return Number(v);
}

/**
 * Binds the live view's server when `--live` was given (null otherwise), before the device is
 * opened, so a port in use is a usage error, not a failed run. Prints its address on stderr.
 */
export async function startLive(v: string | undefined, recording: boolean, opts: { pollMs?: number } = {}): Promise<LiveServer | null> {
  const port = livePort(v);
  if (port === undefined) return null;
  if (!recording) throw new UsageError('--live shows what the run records, so it needs recording; drop --no-record');
  try {
    const live = await LiveServer.listen({ port, pollMs: opts.pollMs });
    process.stderr.write(`live view: ${live.url}\n`);
    return live;
  } catch (e) {
    throw e instanceof LivePortError ? new UsageError(`--live ${port}: ${e.message}`) : e;
  }
}
