/**
 * A Device that outlives its sessions: when the link closes (a board unplugged, a simulator
 * restarted) or the device stops answering (a hang), it fails the batches in flight with a
 * StateBreakError (reason 'reconnect'), closes the old session, reconnects with backoff, checks
 * that the same board answered, and hands the caller a fresh session at its next resetState().
 * Nothing measured before the loss is ever joined to anything after it: the caller re-measures
 * from a reset and a washout, as after any other break. One `results$` and one `events$` run
 * across sessions, so a recorder sees one run.
 *
 * ```ts
 * const dev = await openReconnectingDevice('/dev/ttyACM0', { reconnect: { attempts: 5 } });
 * const m = await measure(dev, drives);   // a replug mid-segment costs one re-measurement
 * console.log(dev.stats.reconnects, dev.stats.faults);
 * ```
 *
 * Telling a lost reply from a hung device: a control request (RESET_STATE, GET_STATUS, CONFIGURE,
 * PING) that times out is followed by PING probes. A PONG means only the reply was lost (a
 * corrupted frame) and the request is sent again (each of them is safe to repeat); silence means
 * the device hung. A PROCESS that times out is a break the caller resolves with resetState(),
 * which is where a hang then shows. With `attempts: 0` faults are told apart the same way, but
 * the first lost session stops the device with a DeviceLostError naming the fault.
 */
import { Observable, Subject, type Subscription } from 'rxjs';
import type { ConfigParam, Info, Samples, Status } from '../protocol/index.js';
import type { BatchResult, Device, DeviceClient, DeviceEvent } from './client.js';
import {
  type BreakReason, type LossKind, DeviceChangedError, DeviceLostError, DeviceTimeoutError, IncompatibleDeviceError, LinkClosedError,
  StateBreakError,
} from './errors.js';
import { deviceIdentity } from './identity.js';

export interface ReconnectOptions {
  /** Connect attempts per lost session; 0 stops at the first loss with a DeviceLostError. Integer >= 0. Defaults to 5. */
  attempts?: number;
  /** Wait before the first attempt, in ms (a replugged board needs time to enumerate). Defaults to 250. */
  initialDelayMs?: number;
  /** Each wait is this many times the previous one, >= 1. Defaults to 2. */
  backoff?: number;
  /** Longest wait between attempts, in ms. Defaults to 5000. */
  maxDelayMs?: number;
  /** No attempt starts later than this many ms after the loss, whatever attempts remain. Defaults to 60000. */
  totalMs?: number;
  /** PINGs that must all go unanswered before a device whose reply timed out counts as hung, >= 1. Defaults to 2. */
  probes?: number;
  /** Times a control request is sent again after its reply was lost while the device answers PING. Defaults to 3. */
  lostReplyRetries?: number;
  /** Names the device in messages. Defaults to 'device'. */
  name?: string;
}

/** Faults met, by kind: sessions lost ('unplug', 'hang'), lost control replies, and state breaks by reason. */
export type FaultKind = LossKind | 'lostReply' | Exclude<BreakReason, 'closed' | 'unresolved' | 'reconnect'>;

export interface ReconnectStats {
  /** Sessions replaced after a loss. */
  reconnects: number;
  /** Connect attempts made after losses, successful or not. */
  attempts: number;
  /** Of those, the ones that failed. */
  failedAttempts: number;
  /** Faults met, by kind (every kind present, zero when none). */
  faults: Record<FaultKind, number>;
}

const FAULT_KINDS: readonly FaultKind[] = ['unplug', 'hang', 'lostReply', 'boot', 'epoch', 'error', 'timeout', 'order', 'clock'];

/** Checks `opts` and fills in the defaults; RangeError naming the first bad option. */
export function resolveReconnectOptions(opts: ReconnectOptions = {}): Required<ReconnectOptions> {
  if (typeof opts !== 'object' || opts === null) throw new RangeError('reconnect options must be an object');
  return {
    attempts: opt('attempts', opts.attempts, 5, 0, true),
    initialDelayMs: opt('initialDelayMs', opts.initialDelayMs, 250, 0),
    backoff: opt('backoff', opts.backoff, 2, 1),
    maxDelayMs: opt('maxDelayMs', opts.maxDelayMs, 5000, 0),
    totalMs: opt('totalMs', opts.totalMs, 60_000, 0),
    probes: opt('probes', opts.probes, 2, 1, true),
    lostReplyRetries: opt('lostReplyRetries', opts.lostReplyRetries, 3, 0, true),
    name: opts.name ?? 'device',
  };
}

function opt(name: string, v: number | undefined, def: number, min: number, integer = false): number {
  const x = v ?? def;
  if (typeof x !== 'number' || !Number.isFinite(x) || x < min || (integer && !Number.isInteger(x))) {
    throw new RangeError(`option reconnect.${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got ${String(x)}`);
  }
  return x;
}

/** What must not change across a reconnect; a difference is named field by field. */
function sameDevice(a: { info: Info; maxBatch: number }, b: { info: Info; maxBatch: number }): string {
  const ia = { ...deviceIdentity(a.info), maxBatch: a.maxBatch } as Record<string, unknown>;
  const ib = { ...deviceIdentity(b.info), maxBatch: b.maxBatch } as Record<string, unknown>;
  return Object.keys(ia).filter((k) => ia[k] !== ib[k]).map((k) => `${k} ${JSON.stringify(ib[k])} (was ${JSON.stringify(ia[k])})`).join(', ');
}

export class ReconnectingDevice implements Device {
  /** INFO of the current session (identity and shape never change: a different board stops the device). */
  info: Info;
  maxBatch: number;
  readonly events$: Observable<DeviceEvent>;
  /** Every accepted batch of every session, in order. Completes on close or when the device is lost for good. */
  readonly results$: Observable<BatchResult>;
  readonly stats: ReconnectStats = { reconnects: 0, attempts: 0, failedAttempts: 0, faults: Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number> };

  private readonly events = new Subject<DeviceEvent>();
  private readonly results = new Subject<BatchResult>();
  private client: DeviceClient;
  /** Subscriptions to the current session; empty once it is retired (lost or closed). */
  private subs: Subscription[] = [];
  /** Decoder rejections of sessions already closed. */
  private readonly pastRejects: Record<string, number> = {};
  /** Epoch of the last batch or reset seen, and its value when the session was lost. */
  private lastEpoch: number | undefined;
  private epochBeforeLoss: number | undefined;
  /** Set from a loss until the caller's next successful resetState(): PROCESS is refused meanwhile. */
  private lossBreak: StateBreakError | null = null;
  private recovery: Promise<void> | null = null;
  /** The device is gone for good (or closed): every call rejects with this. */
  private fatal: Error | null = null;
  private closing = false;
  private wake: (() => void) | null = null;
  /** Parameters applied so far, replayed on a new session (a rebooted board forgets them). */
  private readonly configured = new Map<string, ConfigParam>();

  private constructor(private readonly connect: () => Promise<DeviceClient>, first: DeviceClient, private readonly o: Required<ReconnectOptions>) {
    this.events$ = this.events.asObservable();
    this.results$ = this.results.asObservable();
    this.client = first;
    this.info = first.info;
    this.maxBatch = first.maxBatch;
    this.adopt(first);
  }

  /**
   * Connects once through `connect` (a failure here is the caller's, as without reconnecting) and
   * returns the device; later sessions come from the same function. Options are checked first,
   * so a typo does not cost a connect.
   */
  static async open(connect: () => Promise<DeviceClient>, opts: ReconnectOptions = {}): Promise<ReconnectingDevice> {
    const o = resolveReconnectOptions(opts);
    return new ReconnectingDevice(connect, await connect(), o);
  }

  /** The simulated device's model (the same across sessions of the same board). */
  get twin(): DeviceClient['twin'] {
    return this.client.twin;
  }

  /** Decoder rejections by reason over every session. */
  get rejects(): Readonly<Record<string, number>> {
    const sum: Record<string, number> = { ...this.pastRejects };
    if (this.subs.length > 0) for (const [k, n] of Object.entries(this.client.rejects)) sum[k] = (sum[k] ?? 0) + n;
    return sum;
  }

  /** True until close() or a loss that could not be recovered. */
  get isOpen(): boolean {
    return this.fatal === null;
  }

  /** True from a loss until the new session is in place. */
  get reconnecting(): boolean {
    return this.recovery !== null;
  }

  async process(input: Samples | ArrayLike<number>): Promise<BatchResult> {
    if (this.fatal) throw this.fatal;
    if (this.lossBreak) {
      throw new StateBreakError(`${this.o.name}: the session was replaced (${this.lossBreak.message}); call resetState() and wash out before processing`, 'unresolved');
    }
    const c = this.client;
    try {
      return await c.process(input);
    } catch (e) {
      throw this.translate(c, e);
    }
  }

  /** Opens a new segment, on a new session if the old one was lost (waiting for the reconnect). */
  async resetState(): Promise<number> {
    let epoch = await this.withSession((c) => c.resetState());
    // A board that came back in an epoch it used just before the loss (SPEC.md section 6 asks it
    // not to) would make the new segment read as the old one's continuation in a recording.
    if (this.lossBreak && epoch === this.epochBeforeLoss) epoch = await this.withSession((c) => c.resetState());
    this.lossBreak = null;
    return epoch;
  }

  async configure(params: ConfigParam[]): Promise<number> {
    const epoch = await this.withSession((c) => c.configure(params));
    for (const p of params) {
      this.configured.delete(p.name);
      this.configured.set(p.name, p);
    }
    return epoch;
  }

  getStatus(): Promise<Status> {
    return this.withSession((c) => c.getStatus());
  }

  ping(data?: Uint8Array): Promise<Uint8Array> {
    return this.withSession((c) => c.ping(data));
  }

  /** Stops reconnecting and closes the session; later calls reject with LinkClosedError. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.wake?.();
    await this.recovery?.catch(() => undefined);
    const c = this.client;
    this.retire();
    await c.close();
    this.end(this.fatal ?? new LinkClosedError(`${this.o.name}: session closed`));
  }

  // ---------------------------------------------------------------------------------------------

  private adopt(c: DeviceClient): void {
    this.client = c;
    this.info = c.info;
    this.maxBatch = c.maxBatch;
    // retire() unsubscribes before the session is closed, so nothing a lost session still emits
    // (a late result, its own 'closed') reaches the caller or the recorder.
    this.subs = [
      c.results$.subscribe((r) => {
        this.lastEpoch = r.epoch;
        this.results.next(r);
      }),
      c.events$.subscribe((ev) => {
        if (ev.type === 'closed') {
          if (!this.closing) this.lose(c, 'unplug', ev.error ? `link closed: ${ev.error.message}` : 'link closed');
          return;
        }
        if (ev.type === 'break' && ev.reason in this.stats.faults) this.stats.faults[ev.reason as FaultKind]++;
        if (ev.type === 'reset') this.lastEpoch = ev.epoch;
        this.events.next(ev);
      }),
    ];
  }

  /** Detaches the current session (its emissions are ignored from now on) and keeps its counts. */
  private retire(): void {
    if (this.subs.length === 0) return;
    for (const s of this.subs) s.unsubscribe();
    this.subs = [];
    for (const [k, n] of Object.entries(this.client.rejects)) this.pastRejects[k] = (this.pastRejects[k] ?? 0) + n;
  }

  /** What a failed call on session `c` means to the caller. */
  private translate(c: DeviceClient, e: unknown): unknown {
    if (this.closing) return e;
    if (e instanceof LinkClosedError) {
      this.lose(c, 'unplug', e.message);
      return this.fatal ?? this.lossBreak ?? e;
    }
    return e;
  }

  /**
   * Runs a control request, sent again after a lost reply, on the current session; when the
   * session is lost meanwhile it waits for the next one and runs it there (at most `attempts`
   * sessions per call, so a board that hangs at once every time still ends in an error).
   */
  private async withSession<T>(fn: (c: DeviceClient) => Promise<T>): Promise<T> {
    for (let sessions = 0; ; sessions++) {
      if (this.recovery) await this.recovery;
      if (this.fatal) throw this.fatal;
      const c = this.client;
      try {
        return await this.control(c, fn);
      } catch (e) {
        const t = this.translate(c, e);
        if (t === this.lossBreak && this.lossBreak && !this.fatal && sessions < this.o.attempts) continue;
        throw t;
      }
    }
  }

  private async control<T>(c: DeviceClient, fn: (c: DeviceClient) => Promise<T>): Promise<T> {
    for (let lost = 0; ; lost++) {
      try {
        return await fn(c);
      } catch (e) {
        // A reboot swallowed the request; it is answered by the rebooted board if sent again.
        const rebooted = e instanceof StateBreakError && e.reason === 'boot';
        if (!(e instanceof DeviceTimeoutError) && !rebooted) throw e;
        if (rebooted) {
          if (lost < this.o.lostReplyRetries) continue;
          throw e;
        }
        if (await this.alive(c)) {
          this.stats.faults.lostReply++;
          if (lost < this.o.lostReplyRetries) continue;
          throw e;
        }
        if (this.client === c) this.lose(c, 'hang', `${(e as Error).message}, nor to ${this.o.probes} PING${this.o.probes > 1 ? 's' : ''}`);
        throw this.fatal ?? this.lossBreak ?? e;
      }
    }
  }

  /** True if the device answers one of `probes` PINGs. */
  private async alive(c: DeviceClient): Promise<boolean> {
    for (let i = 0; i < this.o.probes; i++) {
      try {
        await c.ping();
        return true;
      } catch (e) {
        if (!(e instanceof DeviceTimeoutError)) return !(e instanceof LinkClosedError);
      }
    }
    return false;
  }

  /** Session `c` is lost: fail what is in flight, close it, and reconnect (or stop, with attempts 0). */
  private lose(c: DeviceClient, kind: LossKind, why: string): void {
    // Only the live session can be lost; a retired one was dealt with when it was retired.
    if (this.client !== c || this.subs.length === 0 || this.fatal || this.closing) return;
    this.stats.faults[kind]++;
    this.epochBeforeLoss = this.lastEpoch;
    const what = kind === 'unplug' ? 'link lost' : 'device stopped answering';
    const msg = `${this.o.name}: ${what} (${why})`;
    this.retire();
    void c.close();
    if (this.o.attempts === 0) {
      this.fatal = new DeviceLostError(`${msg}; not reconnecting (reconnect is off)`, kind, 0);
      this.events.next({ type: 'break', reason: 'reconnect', message: this.fatal.message });
      this.end(this.fatal);
      return;
    }
    this.lossBreak = new StateBreakError(`${msg}; reconnecting, results after this are a new segment`, 'reconnect');
    this.events.next({ type: 'break', reason: 'reconnect', message: this.lossBreak.message });
    this.recovery = this.reconnect(kind, msg).finally(() => { this.recovery = null; });
  }

  private async reconnect(kind: LossKind, msg: string): Promise<void> {
    const t0 = performance.now();
    let last = '';
    let made = 0;
    for (let attempt = 1; attempt <= this.o.attempts; attempt++) {
      const delay = Math.min(this.o.maxDelayMs, this.o.initialDelayMs * this.o.backoff ** (attempt - 1));
      if (performance.now() - t0 + delay > this.o.totalMs) break;
      await this.sleep(delay);
      if (this.closing) return;
      made = attempt;
      this.stats.attempts++;
      let c: DeviceClient;
      try {
        c = await this.connect();
      } catch (e) {
        this.stats.failedAttempts++;
        last = (e as Error).message;
        this.events.next({ type: 'reconnect', attempt, ok: false, message: last });
        if (e instanceof IncompatibleDeviceError) return this.changed(attempt, last);
        continue;
      }
      const diff = sameDevice(this, c);
      if (diff) {
        await c.close();
        this.stats.failedAttempts++;
        return this.changed(attempt, diff);
      }
      try {
        if (this.configured.size > 0) await c.configure([...this.configured.values()]);
      } catch (e) {
        await c.close();
        this.stats.failedAttempts++;
        last = `replaying CONFIGURE: ${(e as Error).message}`;
        this.events.next({ type: 'reconnect', attempt, ok: false, message: last });
        continue;
      }
      if (this.closing) {
        await c.close();
        return;
      }
      this.adopt(c);
      this.stats.reconnects++;
      const i = c.info;
      this.events.next({ type: 'reconnect', attempt, ok: true, message: `${i.vendor} ${i.model} ${i.serial} answered again after ${kind === 'unplug' ? 'an unplug' : 'a hang'} (attempt ${attempt})` });
      return;
    }
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    this.fatal = new DeviceLostError(`${msg}; ${made} reconnect attempt${made === 1 ? '' : 's'} over ${secs} s failed${last ? `, the last: ${last}` : ''}`, kind, made);
    this.end(this.fatal);
  }

  private changed(attempt: number, diff: string): void {
    this.fatal = new DeviceChangedError(`${this.o.name}: after reconnecting, a different device answered (${diff}); not continuing on another board`);
    this.events.next({ type: 'reconnect', attempt, ok: false, message: this.fatal.message });
    this.end(this.fatal);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void { clearTimeout(timer); resolve(); }
      this.wake = () => { this.wake = null; done(); };
    });
  }

  /** The device is finished: callers get `err`, the streams complete. */
  private end(err: Error): void {
    if (this.events.closed || this.events.isStopped) return;
    this.fatal ??= err;
    this.events.next({ type: 'closed', error: err instanceof LinkClosedError && this.closing ? undefined : err });
    this.events.complete();
    this.results.complete();
  }
}
