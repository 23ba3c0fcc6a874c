import { SerialPort } from 'serialport';
import type { Link } from './link.js';
import { StreamLink } from './stream-link.js';

export interface SerialOptions {
  /** Line rate in baud. Defaults to 115200. */
  baudRate?: number;
  /**
   * Ask the driver to hand received bytes up at once instead of batching them. Defaults to true.
   * Linux only: sets ASYNC_LOW_LATENCY (TIOCSSERIAL) through @serialport/bindings-cpp; ignored
   * elsewhere. Best effort: a port that refuses (a pty, some USB drivers) still opens, and
   * `SerialLink.lowLatency` says what the kernel reports afterwards.
   */
  lowLatency?: boolean;
}

/** A Link over a serial port, with what the kernel reports about low-latency mode. */
export interface SerialLink extends Link {
  /** True only when the driver reports ASYNC_LOW_LATENCY set after open (Linux). */
  readonly lowLatency: boolean;
}

/**
 * Opens a serial port (USB CDC-ACM, FTDI, a pty) 8N1, no flow control, and returns a Link.
 * Options are checked synchronously, before anything is opened: a bad one throws a RangeError
 * naming it. Failing to open rejects with an Error naming the path.
 *
 * @example
 * const link = await openSerial('/dev/ttyACM0', { baudRate: 921600 });
 */
export function openSerial(path: string, opts: SerialOptions = {}): Promise<SerialLink> {
  const valid = validateSerialOptions(opts);
  if (typeof path !== 'string' || path === '') throw new RangeError(`path must be a non-empty string, got ${String(path)}`);
  return openValidated(path, valid);
}

async function openValidated(path: string, { baudRate, lowLatency }: Required<SerialOptions>): Promise<SerialLink> {
  const name = `serial:${path}`;
  const port = new SerialPort({ path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => {
    if (err) reject(new Error(`${name}: cannot open: ${err.message}${openAdvice(err.message)}`, { cause: err }));
    else resolve();
  }));
  keepBothPollEvents(port);
  const inEffect = lowLatency ? await trySetLowLatency(port) : false;
  // Closing an already-closed port (after a disconnect) only reports "Port is not open".
  const release = () => new Promise<void>((resolve) => {
    if (!port.isOpen) return resolve();
    port.close(() => resolve());
  });
  const link = new StreamLink(name, port, port, release) as StreamLink & { lowLatency: boolean };
  Object.defineProperty(link, 'lowLatency', { value: inEffect, enumerable: true });
  return link;
}

/** What a lab user can do about the usual reasons a port does not open. */
function openAdvice(message: string): string {
  if (/Cannot lock port|Resource temporarily unavailable|EBUSY/i.test(message)) return ' (the port is busy: another program has it open; close that program, or pass another --device)';
  if (/No such file|ENOENT/i.test(message)) return ' (no such port: is the board plugged in? `rhil devices` lists the serial ports)';
  if (/Permission denied|EACCES/i.test(message)) return ' (permission denied: add your user to the group that owns the port, e.g. dialout, and log in again)';
  return '';
}

/** Applies the defaults and throws a RangeError naming the first bad option. */
export function validateSerialOptions(opts: SerialOptions): Required<SerialOptions> {
  const baudRate = opts.baudRate ?? 115200;
  if (!(Number.isInteger(baudRate) && baudRate > 0)) throw new RangeError(`baudRate must be a positive integer, got ${String(opts.baudRate)}`);
  const lowLatency = opts.lowLatency ?? true;
  if (typeof lowLatency !== 'boolean') throw new RangeError(`lowLatency must be a boolean, got ${String(opts.lowLatency)}`);
  return { baudRate, lowLatency };
}

/**
 * Sets ASYNC_LOW_LATENCY via the binding's set({ lowLatency }) and reads it back: bindings-cpp 13
 * does not report a failed TIOCSSERIAL (its SetBaton formats the message but never calls
 * SetError), so get() is the only way to know. SerialPort#set also re-sends its default
 * modem lines (DTR and RTS asserted, as they are after open), so the board is not reset.
 * A pty has no modem lines at all (TIOCMGET fails with ENOTTY), which is fine: nothing to set.
 */
async function trySetLowLatency(port: SerialPort): Promise<boolean> {
  if (process.platform !== 'linux') return false;
  const ok = await new Promise<boolean>((resolve) => port.set({ lowLatency: true } as Parameters<SerialPort['set']>[0], (err) => resolve(!err)));
  if (!ok) return false;
  return new Promise<boolean>((resolve) => port.get((err, status) => {
    resolve(!err && (status as { lowLatency?: boolean } | undefined)?.lowLatency === true);
  }));
}

const UV_READABLE = 1;
const UV_WRITABLE = 2;

interface PollerLike {
  poll(flags: number): void;
  listenerCount(event: string): number;
}

/**
 * Works around a full-duplex stall in @serialport/bindings-cpp 13 (Unix): its native
 * Poller::poll(events) calls uv_poll_start with only the new event, dropping the one already
 * waited for. A write that hit EAGAIN waits for "writable"; when the reader then waits for
 * "readable", the writable interest is lost and the write never completes unless more bytes
 * arrive. (Seen here as a 1 MiB write over a pty that hung forever, every few runs.) With a
 * device that only answers after it has received a whole batch, that is a deadlock.
 * Fix: whenever the JS side asks to poll, also ask for every event someone is still waiting on.
 * Uses the binding's internals (port.port.poller), so it checks they are there and otherwise
 * does nothing.
 */
function keepBothPollEvents(port: SerialPort): void {
  const poller = (port as unknown as { port?: { poller?: PollerLike } }).port?.poller;
  if (!poller || typeof poller.poll !== 'function' || typeof poller.listenerCount !== 'function') return;
  const poll = poller.poll.bind(poller);
  poller.poll = (flags: number) => poll(flags
    | (poller.listenerCount('readable') > 0 ? UV_READABLE : 0)
    | (poller.listenerCount('writable') > 0 ? UV_WRITABLE : 0));
}
