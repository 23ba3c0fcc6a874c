import { spawn, type ChildProcess } from 'node:child_process';
import type { Link } from './link.js';
import { StreamLink } from './stream-link.js';

export interface PtyOptions {
  /** The socat executable. Defaults to `socat` on PATH (Debian/Ubuntu: apt-get install socat). */
  socatPath?: string;
  /** Give up if socat has not set up its ptys after this many milliseconds. Defaults to 5000. */
  startTimeoutMs?: number;
}

export interface CreatePtyOptions extends PtyOptions {
  /**
   * A fixed path (a symbolic link socat creates to the pty, replacing a stale one, removed when
   * socat exits), so a host can reopen the same path after the serving process restarts, as
   * after unplugging and replugging a board. Defaults to none: the path is the /dev/pts/N given.
   */
  link?: string;
}

export interface Pty {
  /** The pty for the other program to open as a serial port, e.g. `/dev/pts/4`, or the fixed `link` path when one was asked for. */
  readonly path: string;
  /** This side: bytes written here come out of `path`, bytes written to `path` arrive here. */
  readonly link: Link;
  /** Closes the link and ends socat; resolves when the child has exited. */
  close(): Promise<void>;
}

export interface PtyPair {
  /** Two ptys wired to each other: what is written to one is read from the other. */
  readonly paths: [string, string];
  /** Ends socat; resolves when the child has exited. */
  close(): Promise<void>;
}

/**
 * A pseudo-terminal whose other end is a Link in this process, so a simulator can stand in for a
 * board that a program opens with openSerial(path). Runs `socat -d -d PTY,raw,echo=0 STDIO`.
 *
 * @example
 * const pty = await createPty();
 * pty.link.setHandlers({ data: (b) => board.receive(b), close: () => {} });
 * const host = await openSerial(pty.path);
 */
export async function createPty(opts: CreatePtyOptions = {}): Promise<Pty> {
  const fixed = opts.link;
  // socat splits addresses at these characters; a path holding one would silently mean something else.
  if (fixed !== undefined && (typeof fixed !== 'string' || fixed === '' || /[,:!\s\\'"]/.test(fixed))) {
    throw new RangeError(`pty link path must be a non-empty path without ',', ':', '!', quotes, backslashes or spaces, got ${JSON.stringify(fixed)}`);
  }
  const socat = await startSocat(opts, [fixed === undefined ? 'PTY,raw,echo=0' : `PTY,raw,echo=0,link=${fixed}`, 'STDIO'], 1);
  const path = fixed ?? socat.paths[0];
  const link = new StreamLink(`pty:${path}`, socat.child.stdout!, socat.child.stdin!, (graceful) => stopSocat(socat, graceful));
  return { path, link, close: () => link.close() };
}

/**
 * Two ptys wired back to back (`socat PTY,raw,echo=0 PTY,raw,echo=0`): open each with
 * openSerial for a serial loopback without hardware, or to measure raw pty echo latency.
 */
export async function createPtyPair(opts: PtyOptions = {}): Promise<PtyPair> {
  const socat = await startSocat(opts, ['PTY,raw,echo=0', 'PTY,raw,echo=0'], 2);
  return { paths: [socat.paths[0], socat.paths[1]], close: () => stopSocat(socat, false) };
}

/**
 * One pty that echoes every byte back (`socat PTY,raw,echo=0 PIPE`): a stand-in for a serial
 * device with TX wired to RX.
 */
export async function createPtyEcho(opts: PtyOptions = {}): Promise<PtyPair & { path: string }> {
  // socat is the only reader of its own pipe: with its default 8 KiB blocks it blocks for good
  // in write(2) once ~64 KiB is outstanding. Blocks of one pipe page never block after poll.
  const socat = await startSocat(opts, ['PTY,raw,echo=0', 'PIPE'], 1, ['-b', '4096']);
  return { path: socat.paths[0], paths: [socat.paths[0], socat.paths[0]], close: () => stopSocat(socat, false) };
}

/**
 * Spawns socat with `-d -d` (notices on stderr) and waits until it has printed `count`
 * "PTY is /dev/pts/N" lines and "starting data transfer loop", so both ends exist before we
 * return. Keeps reading stderr afterwards so socat never blocks on a full pipe.
 */
interface Socat {
  child: ChildProcess;
  paths: string[];
  /** Resolves on the child's 'close': it has exited and all its stdio pipes are closed. */
  closed: Promise<void>;
}

function startSocat(opts: PtyOptions, addresses: string[], count: number, extra: string[] = []): Promise<Socat> {
  const socat = opts.socatPath ?? 'socat';
  const timeoutMs = opts.startTimeoutMs ?? 5000;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new RangeError(`startTimeoutMs must be a positive number of milliseconds, got ${timeoutMs}`);
  const stdinMode = addresses.includes('STDIO') ? 'pipe' : 'ignore';
  // -t: after one side reaches EOF, wait this long (seconds) before exiting. The default 0.5 s
  // would make every close slow.
  const child = spawn(socat, ['-d', '-d', '-t', '0.05', ...extra, ...addresses], { stdio: [stdinMode, stdinMode, 'pipe'] });
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return new Promise((resolve, reject) => {
    let log = '';
    const paths: string[] = [];
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.off('error', onError);
      child.off('exit', onExit);
      if (err) {
        // Reap the child before reporting, so a failed start leaves nothing running.
        if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) child.kill('SIGKILL');
        void closed.then(() => reject(err));
      } else resolve({ child, paths, closed });
    };
    const onError = (err: NodeJS.ErrnoException) => {
      finish(err.code === 'ENOENT'
        ? new Error(`socat not found: install it (apt-get install socat); tried "${socat}"`, { cause: err })
        : new Error(`cannot start socat ("${socat}"): ${err.message}`, { cause: err }));
    };
    const onExit = (code: number | null, signal: string | null) => {
      finish(new Error(`socat exited (${signal ?? `code ${code}`}) before its ptys were ready: ${log.trim().slice(-500)}`));
    };
    const timer = setTimeout(() => finish(new Error(`socat did not set up its ptys within ${timeoutMs} ms: ${log.trim().slice(-500)}`)), timeoutMs);
    child.once('error', onError);
    child.once('exit', onExit);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      if (done) return; // keep draining, stop parsing
      log += text;
      for (const m of text.matchAll(/PTY is (\S+)/g)) paths.push(m[1]);
      if (paths.length >= count && /starting data transfer loop/.test(log)) finish();
    });
  });
}

/**
 * Ends socat and resolves once it has exited and its pipes are closed (no zombie, no handles).
 * Graceful: close its stdin so it forwards what it has and exits by itself (-t 0.05). Otherwise
 * SIGTERM. Either way it is killed if it has not exited within a second.
 */
function stopSocat(socat: Socat, graceful: boolean): Promise<void> {
  const { child, closed } = socat;
  if (child.exitCode === null && child.signalCode === null) {
    if (graceful && child.stdin && !child.stdin.destroyed) child.stdin.end();
    else child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 1000);
    return closed.then(() => clearTimeout(timer));
  }
  return closed;
}
