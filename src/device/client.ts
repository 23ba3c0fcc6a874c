/**
 * Host side of one device session over any Link: handshake, requests matched to replies,
 * credits, timeouts, and the state-continuity rules of SPEC.md section 6. Every RESULT is
 * checked against the PROCESS it answers (order, batch id, shape, epoch, clock) before it is
 * handed out together with its own input, so a response is never attributed to the wrong drive.
 */
import { Observable, Subject } from 'rxjs';
import {
  type DecodeEvent, type Frame, type Info, type Message, type MessageKind, type RejectReason, type SampleFormat, type Samples, type Status,
  type ConfigParam, FLAG_RESPONSE, FrameDecoder, FrameEncoder, KIND_OF_TYPE, MESSAGE_TYPE, PROTOCOL_VERSION,
  createSamples, formatOfSamples,
} from '../protocol/index.js';
import type { Link } from '../transport/link.js';
import type { BatchResult, Device, DeviceEvent, DiscardCause } from './device.js';
import type { ReservoirModel } from '../core/reservoir.js';
import {
  type BreakReason, DeviceRequestError, DeviceTimeoutError, IncompatibleDeviceError, LinkClosedError,
  ProtocolViolationError, StateBreakError,
} from './errors.js';

/** What a caller needs from a device; checked against INFO at connect. */
export interface DeviceRequirements {
  inChannels?: number;
  outChannels?: number;
  inFormat?: SampleFormat;
  outFormat?: SampleFormat;
  /** Capability bits (CAPABILITY.*) that must all be set. */
  capabilities?: number;
  /** The device must accept batches of at least this many vectors. */
  minBatch?: number;
}

export interface ConnectOptions {
  /** Reply timeout of HELLO and other control requests, in ms. Defaults to 1000. */
  timeoutMs?: number;
  /** Allowance per PROCESS on top of its nominal duration (count x samplePeriod, for it and the batches ahead of it), in ms. Defaults to 1000. */
  processTimeoutMs?: number;
  /** HELLO attempts before giving up (a board may still be booting). Defaults to 3. */
  helloAttempts?: number;
  /** Checked against INFO; a mismatch fails connect with IncompatibleDeviceError. Defaults to no requirement. */
  requires?: DeviceRequirements;
  /** The exact model behind the device when it is a simulator (see Device.twin). Defaults to none. */
  twin?: ReservoirModel;
}

export type { BatchResult, DeviceEvent, DiscardCause } from './device.js';

/** A request timer firing this much after its deadline means this thread was busy, not that the device was silent (expire). */
const LATE_TIMER_MS = 20;

interface Pending {
  seq: number;
  kind: MessageKind;
  resolve(m: Message): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
  /** Its deadline was extended once because the timer fired late (see expire). */
  graced?: boolean;
  batchId?: number;
  count?: number;
  input?: Samples;
  /** Rejected already (after a break); still holds a device credit until its reply or a reset ACK. */
  abandoned?: boolean;
  /** Decoder rejection counts when it was sent, so a timeout can name what was lost since. */
  rejectsAtSend: Record<string, number>;
}

const REPLY_KINDS: Partial<Record<MessageKind, MessageKind>> = {
  hello: 'info', configure: 'ack', process: 'result', resetState: 'ack', getStatus: 'status', ping: 'pong',
};

function checkOption(name: string, v: number | undefined, def: number, min: number): number {
  const x = v ?? def;
  if (!Number.isFinite(x) || x < min) throw new RangeError(`option ${name} must be a number >= ${min}, got ${x}`);
  return x;
}

export type { Device } from './device.js';

export class DeviceClient implements Device {
  /** The device's INFO from the handshake. */
  info!: Info;
  /** Largest batch that fits both PROCESS and RESULT into the device's maxFrame. */
  maxBatch = 0;
  readonly twin?: ReservoirModel;
  /** Decoder rejection counts on this link (bytes from the device). */
  get rejects(): Readonly<Record<string, number>> { return this.decoder.counts; }
  /** Device events: boots, breaks, rejections, discarded replies, close. Completes on close. */
  readonly events$: Observable<DeviceEvent>;
  /**
   * Every batch accepted (all continuity checks passed), in device order, as the caller receives
   * it: the tap a recorder subscribes to. Completes on close.
   */
  readonly results$: Observable<BatchResult>;

  private readonly events = new Subject<DeviceEvent>();
  private readonly results = new Subject<BatchResult>();
  private readonly decoder = new FrameDecoder({ role: 'host' });
  private encoder = new FrameEncoder();
  private readonly pending = new Map<number, Pending>();
  /** PROCESS requests in send order, abandoned ones included (they hold device credits). */
  private readonly inFlight: Pending[] = [];
  /**
   * Calls not yet written, in call order: a PROCESS waits here for a credit and every later
   * PROCESS, RESET_STATE or CONFIGURE waits behind it, so requests reach the device in call order
   * (a reset written ahead of a waiting batch would land inside that batch's segment).
   */
  private readonly queue: { process: boolean; go: () => void }[] = [];
  /** Whether a call let go from the queue has not written yet (the next waits for it). */
  private handing = false;
  private seq = 0;
  private nextBatchId = 1;
  private segmentEpoch: number | undefined;
  /** Device clock of the last accepted RESULT since the last BOOT: RESET_STATE does not restart it (SPEC 6). */
  private lastTimestampUs = -1;
  /** Recently answered request seqs, to tell a duplicate reply from one for a request never sent. */
  private readonly answered = new Set<number>();
  private readonly discards: Record<DiscardCause, number> = { abandoned: 0, duplicate: 0, unmatched: 0, unsolicited: 0 };
  private broken: StateBreakError | null = null;
  private closed: Error | null = null;
  /** Reply timeout of a request other than PROCESS, in ms. */
  readonly timeoutMs: number;
  /** Reply timeout of a PROCESS batch (plus the batch's own time), in ms. */
  readonly processTimeoutMs: number;

  private constructor(private readonly link: Link, opts: ConnectOptions) {
    this.timeoutMs = checkOption('timeoutMs', opts.timeoutMs, 1000, 1);
    this.processTimeoutMs = checkOption('processTimeoutMs', opts.processTimeoutMs, 1000, 1);
    this.twin = opts.twin;
    this.events$ = this.events.asObservable();
    this.results$ = this.results.asObservable();
    link.setHandlers({
      data: (chunk) => this.decoder.push(chunk, (ev) => {
        if (ev.ok) this.onFrame(ev.frame);
        else this.onReject(ev);
      }),
      close: (err) => this.shutdown(new LinkClosedError(`${link.name}: link closed${err ? `: ${err.message}` : ''}`), err),
    });
  }

  /**
   * Opens a session: resynchronises the device's receiver, HELLO -> INFO, checks the version and
   * `requires`. Closes the link on failure.
   */
  static async connect(link: Link, opts: ConnectOptions = {}): Promise<DeviceClient> {
    const client = new DeviceClient(link, opts);
    try {
      await link.write(Uint8Array.of(0));
      const attempts = checkOption('helloAttempts', opts.helloAttempts, 3, 1);
      let info: Info | undefined;
      for (let i = 1; !info; i++) {
        try {
          info = (await client.request({ kind: 'hello', minVersion: PROTOCOL_VERSION, maxVersion: PROTOCOL_VERSION })) as Info;
        } catch (e) {
          if (!(e instanceof DeviceTimeoutError) || i >= attempts) throw e;
        }
      }
      client.adopt(info, opts.requires ?? {});
      return client;
    } catch (e) {
      await client.close();
      if (e instanceof DeviceRequestError && e.code === 1) {
        throw new IncompatibleDeviceError(`${link.name}: device speaks protocol ${e.detail & 0xff}..${(e.detail >> 8) & 0xff}, host speaks ${PROTOCOL_VERSION}`);
      }
      throw e;
    }
  }

  private adopt(info: Info, req: DeviceRequirements): void {
    const name = this.link.name;
    if (info.protocolVersion !== PROTOCOL_VERSION) throw new IncompatibleDeviceError(`${name}: device chose protocol ${info.protocolVersion}, host speaks ${PROTOCOL_VERSION}`);
    const mismatch: string[] = [];
    for (const k of ['inChannels', 'outChannels', 'inFormat', 'outFormat'] as const) {
      if (req[k] !== undefined && req[k] !== info[k]) mismatch.push(`${k} ${info[k]} (need ${req[k]})`);
    }
    if (req.capabilities !== undefined && (info.capabilities & req.capabilities) !== req.capabilities) {
      mismatch.push(`capabilities 0x${info.capabilities.toString(16)} (need 0x${req.capabilities.toString(16)})`);
    }
    // The decoder refused an INFO whose maxBatch does not fit its maxFrame (SPEC 3), so it is usable as is.
    this.maxBatch = info.maxBatch;
    if (this.maxBatch < Math.max(1, req.minBatch ?? 1)) mismatch.push(`usable batch ${this.maxBatch} (need ${Math.max(1, req.minBatch ?? 1)})`);
    if (mismatch.length) throw new IncompatibleDeviceError(`${name}: ${info.vendor} ${info.model} does not fit: ${mismatch.join(', ')}`);
    this.info = info;
    this.encoder = new FrameEncoder(info.maxFrame);
    this.decoder.limitFrameSize(info.maxFrame);
  }

  /** Epoch of the current unbroken segment, once known. */
  get epoch(): number | undefined { return this.segmentEpoch; }
  /** The unresolved break, if any: PROCESS is refused until resetState(). */
  get pendingBreak(): StateBreakError | null { return this.broken; }
  get isOpen(): boolean { return this.closed === null; }
  get inFlightCount(): number { return this.inFlight.length; }

  /** Applies parameters (all or none); resolves with the epoch after it. */
  async configure(params: ConfigParam[]): Promise<number> {
    return ((await this.inTurn(false, () => this.request({ kind: 'configure', params }))) as { epoch: number }).epoch;
  }

  /**
   * Returns the reservoir to rest and opens a new segment; resolves with its epoch. The ACK
   * proves every earlier request was handled, so credits held by abandoned batches are freed.
   */
  async resetState(): Promise<number> {
    const ack = (await this.inTurn(false, () => this.request({ kind: 'resetState' }))) as { epoch: number };
    // No PROCESS is sent while a break is unresolved, so every abandoned batch predates the reset.
    this.releaseAbandoned();
    this.segmentEpoch = ack.epoch;
    this.broken = null;
    this.events.next({ type: 'reset', epoch: ack.epoch });
    return ack.epoch;
  }

  async getStatus(): Promise<Status> {
    return (await this.request({ kind: 'getStatus' })) as Status;
  }

  /** Round trip of a PING carrying `data`; resolves with the echoed bytes (checked equal). */
  async ping(data: Uint8Array = new Uint8Array(0)): Promise<Uint8Array> {
    const pong = (await this.request({ kind: 'ping', data })) as { data: Uint8Array };
    if (Buffer.compare(pong.data, data) !== 0) throw new ProtocolViolationError(`${this.link.name}: PONG does not echo the PING`);
    return pong.data;
  }

  /**
   * Sends one batch of drive vectors (count x inChannels, row-major, in the device's inFormat
   * and units) and resolves with the device's response. Waits for a free credit first.
   * Rejects with StateBreakError when continuity breaks, with RangeError for a malformed batch.
   */
  async process(input: Samples | ArrayLike<number>): Promise<BatchResult> {
    const samples = this.toDrive(input);
    const count = samples.length / this.info.inChannels;
    const m = await this.inTurn(true, () => {
      this.assertUsable();
      const batchId = this.nextBatchId;
      this.nextBatchId = (this.nextBatchId + 1) >>> 0 || 1;
      const batchMs = (count * this.info.samplePeriodNs) / 1e6;
      const aheadMs = this.inFlight.reduce((s, p) => s + ((p.count ?? 0) * this.info.samplePeriodNs) / 1e6, 0);
      return this.request(
        { kind: 'process', batchId, count, channels: this.info.inChannels, format: this.info.inFormat, samples },
        this.processTimeoutMs + batchMs + aheadMs,
        { batchId, count, input: samples },
      );
    }) as Extract<Message, { kind: 'result' }>;
    const batchId = m.batchId;
    const result: BatchResult = { batchId, epoch: m.epoch, timestampUs: m.timestampUs, status: m.status, count, input: samples, output: m.samples };
    this.results.next(result);
    return result;
  }

  /** Closes the session and the link; pending requests reject with LinkClosedError. */
  async close(): Promise<void> {
    this.shutdown(new LinkClosedError(`${this.link.name}: session closed`));
    await this.link.close();
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * Runs `send` (which writes a request at once) in call order: at once when nothing waits and,
   * for a PROCESS, a credit is free; else at its turn in the queue. A PROCESS let go after a break
   * or a close throws from `send` (assertUsable) and passes the turn on.
   */
  private inTurn(process: boolean, send: () => Promise<Message>): Promise<Message> {
    if (this.queue.length === 0 && !this.handing && !(process && this.inFlight.length >= this.info.credits)) return send();
    return new Promise<void>((go) => {
      this.queue.push({ process, go });
      this.pump();
    }).then(() => {
      try {
        return send();
      } finally {
        this.handing = false;
        this.pump();
      }
    });
  }

  /** Lets the oldest queued call go if it can write now (a PROCESS needs a credit, unless it is to fail). */
  private pump(): void {
    const head = this.queue[0];
    if (!head || this.handing) return;
    if (head.process && this.inFlight.length >= this.info.credits && !this.closed && !this.broken) return;
    this.queue.shift();
    this.handing = true;
    head.go();
  }

  private assertUsable(): void {
    if (this.closed) throw this.closed;
    if (this.broken) throw new StateBreakError(`${this.link.name}: state continuity broke (${this.broken.message}); call resetState() and wash out before processing`, 'unresolved');
  }

  private toDrive(input: Samples | ArrayLike<number>): Samples {
    if (!this.info) throw new Error('not connected');
    const { inFormat, inChannels } = this.info;
    let samples: Samples;
    if (ArrayBuffer.isView(input) && formatOfSamples(input as Samples) === inFormat) {
      samples = input as Samples;
    } else {
      samples = createSamples(inFormat, input.length);
      const [lo, hi] = inFormat === 'u16' ? [0, 65535] : inFormat === 'i16' ? [-32768, 32767] : [-Infinity, Infinity];
      for (let i = 0; i < input.length; i++) {
        const v = input[i];
        const ok = inFormat === 'f32' ? Number.isFinite(v) : Number.isInteger(v) && v >= lo && v <= hi;
        if (!ok) throw new RangeError(`drive sample ${i} = ${v} is not a ${inFormat} value`);
        samples[i] = v;
      }
    }
    if (samples.length === 0 || samples.length % inChannels !== 0) {
      throw new RangeError(`a batch needs a positive multiple of ${inChannels} samples (inChannels), got ${samples.length}`);
    }
    if (samples.length / inChannels > this.maxBatch) {
      throw new RangeError(`batch of ${samples.length / inChannels} vectors exceeds the device's usable maximum ${this.maxBatch}`);
    }
    return samples;
  }

  private request(message: Message, timeoutMs = this.timeoutMs, extra: Partial<Pending> = {}): Promise<Message> {
    if (this.closed) return Promise.reject(this.closed);
    this.seq = (this.seq + 1) & 0xffff || 1;
    const seq = this.seq;
    const bytes = this.encoder.encode({ seq, flags: 0, message });
    return new Promise<Message>((resolve, reject) => {
      const due = performance.now() + timeoutMs;
      const p: Pending = {
        seq, kind: message.kind, resolve, reject, ...extra, rejectsAtSend: { ...this.decoder.counts },
        timer: setTimeout(() => this.expire(p, timeoutMs, due), timeoutMs),
      };
      this.pending.set(seq, p);
      this.answered.delete(seq);
      if (message.kind === 'process') this.inFlight.push(p);
      this.link.write(bytes).catch((e: Error) => this.fail(p, new LinkClosedError(`${this.link.name}: write failed: ${e.message}`)));
    });
  }

  /**
   * A request's timer fired. Node runs due timers before it reads I/O, so when this thread was busy
   * past the deadline (a long synchronous training step while a pipelined batch was out) the reply
   * may already sit unread in the link's buffer: calling it lost would be a spurious state break,
   * a re-measured segment and, on a noisy board, different numbers. A timer late by more than
   * LATE_TIMER_MS therefore gets one grace period, as long as it was late but at most the timeout,
   * in which I/O is read; only then is the reply lost. A device that does not answer is still
   * caught, at most one timeout later.
   */
  private expire(p: Pending, timeoutMs: number, due: number): void {
    const late = performance.now() - due;
    if (late > LATE_TIMER_MS && !p.graced && this.pending.get(p.seq) === p) {
      p.graced = true;
      p.timer = setTimeout(() => this.onTimeout(p, timeoutMs), Math.min(timeoutMs, late));
      return;
    }
    this.onTimeout(p, timeoutMs);
  }

  private onTimeout(p: Pending, timeoutMs: number): void {
    // Frames lost with a damaged header cannot be attributed; name the ones lost while waiting.
    const seen = Object.entries(this.decoder.counts)
      .filter(([k, n]) => k !== 'frames' && n > (p.rejectsAtSend[k] ?? 0)).map(([k, n]) => `${k} ${n - (p.rejectsAtSend[k] ?? 0)}`);
    const lost = seen.length ? `; meanwhile frames from the device were rejected (${seen.join(', ')})` : '; no frame from the device was rejected meanwhile';
    if (p.kind === 'process') {
      if (p.abandoned) return this.release(p);
      return this.breakState('timeout', `batch ${p.batchId} got no reply within ${Math.round(timeoutMs)} ms${lost}`, p.batchId);
    }
    this.fail(p, new DeviceTimeoutError(`${this.link.name}: no reply to ${p.kind.toUpperCase()} (seq ${p.seq}) within ${this.timeoutMs} ms${lost}`));
  }

  /**
   * A frame from the device was rejected. When its CRC held, its header names the request it
   * answers: that request will get no other reply (one per request, SPEC 1.4), so it fails now
   * with the reason instead of waiting for its timeout.
   */
  private onReject(ev: Extract<DecodeEvent, { ok: false }>): void {
    this.events.next({ type: 'reject', reason: ev.reason, ...(ev.seq !== undefined ? { seq: ev.seq } : {}), ...(ev.why ? { why: ev.why } : {}) });
    const p = ev.seq === undefined ? undefined : this.pending.get(ev.seq);
    if (!p || p.abandoned) return;
    const kind = KIND_OF_TYPE.get(ev.type ?? -1);
    const what = `${kind ? kind.toUpperCase() : `a frame of type 0x${(ev.type ?? 0).toString(16)}`} answering ${p.kind.toUpperCase()} (seq ${p.seq}) was rejected: ${ev.reason}${ev.why ? ` (${ev.why})` : ''}`;
    if (p.kind === 'process') return this.breakState('timeout', `batch ${p.batchId} lost its reply: ${what}`, p.batchId);
    this.fail(p, new ProtocolViolationError(`${this.link.name}: ${what}`));
  }

  private onFrame(frame: Frame): void {
    const m = frame.message;
    if (m.kind === 'boot') {
      this.events.next({ type: 'boot', bootCount: m.bootCount, epoch: m.epoch, reason: m.reason });
      // A board announces itself after power-up, often just as we open the port: before INFO
      // there is no state to lose, and a HELLO the reboot swallowed is retried by connect().
      if (!this.info) return;
      // The device lost whatever it held: control requests will never be answered either.
      for (const p of [...this.pending.values()]) {
        if (p.kind !== 'process') this.fail(p, new StateBreakError(`${this.link.name}: device rebooted before answering ${p.kind}`, 'boot'));
      }
      this.breakState('boot', `device rebooted (boot ${m.bootCount}, reason ${m.reason})`);
      this.releaseAbandoned();
      // The device clock restarts at boot (SPEC 6): a lower timestamp from now on is expected.
      this.lastTimestampUs = -1;
      return;
    }
    if (!(frame.flags & FLAG_RESPONSE)) {
      if (m.kind === 'error') this.events.next({ type: 'deviceError', code: m.code, text: m.text });
      else {
        this.discard(frame, 'unsolicited', 'a reply type with the RESPONSE flag clear');
        if (m.kind === 'result' && this.info && !this.broken) this.breakState('order', `RESULT with the RESPONSE flag clear (batch ${m.batchId}): the device's replies no longer match the host's requests`);
      }
      return;
    }
    const p = this.pending.get(frame.seq);
    if (!p) {
      const cause = this.answered.has(frame.seq) ? 'duplicate' : 'unmatched';
      this.discard(frame, cause, cause === 'duplicate' ? 'its request was answered or given up already' : 'no request with this seq is outstanding');
      // A RESULT nobody asked for, or a second one for a batch, may mean the device ran a batch
      // the host does not know of: the reservoir's state no longer matches the host's record (SPEC 6, rule 5).
      if (m.kind === 'result' && this.info && !this.broken) this.breakState('order', `${cause} RESULT (seq ${frame.seq}, batch ${m.batchId}): the device's replies no longer match the host's requests`);
      return;
    }
    if (p.abandoned) {
      this.discard(frame, 'abandoned', `reply to batch ${p.batchId}, abandoned after a break`);
      return this.release(p);
    }
    if (p.kind === 'process') return this.onProcessReply(p, m);
    if (m.kind === 'error') return this.fail(p, requestError(this.link.name, p, m));
    if (m.kind !== REPLY_KINDS[p.kind]) {
      return this.fail(p, new ProtocolViolationError(`${this.link.name}: ${m.kind} is not a reply to ${p.kind} (seq ${p.seq})`));
    }
    if (m.kind === 'ack' && m.ackedType !== MESSAGE_TYPE[p.kind]) {
      return this.fail(p, new ProtocolViolationError(`${this.link.name}: ACK of type ${m.ackedType} answers ${p.kind}`));
    }
    this.settle(p);
    p.resolve(m);
  }

  private onProcessReply(p: Pending, m: Message): void {
    const name = this.link.name;
    if (this.inFlight[0] !== p) return this.breakState('order', `reply for batch ${p.batchId} overtook batch ${this.inFlight[0]?.batchId}`, p.batchId);
    if (m.kind === 'error') {
      const err = requestError(name, p, m);
      return this.breakState('error', `device refused batch ${p.batchId}: ${err.message}`, p.batchId);
    }
    if (m.kind !== 'result') return this.breakState('order', `${m.kind} is not a reply to PROCESS (batch ${p.batchId})`, p.batchId);
    const info = this.info;
    const wrong =
      m.batchId !== p.batchId ? `batch id ${m.batchId}, expected ${p.batchId}` :
      m.count !== p.count ? `${m.count} vectors, sent ${p.count}` :
      m.channels !== info.outChannels ? `${m.channels} channels, INFO says ${info.outChannels}` :
      m.format !== info.outFormat ? `format ${m.format}, INFO says ${info.outFormat}` : '';
    if (wrong) return this.breakState('order', `RESULT does not match its PROCESS: ${wrong}`, p.batchId);
    if (this.segmentEpoch !== undefined && m.epoch !== this.segmentEpoch) {
      return this.breakState('epoch', `epoch changed from ${this.segmentEpoch} to ${m.epoch} at batch ${p.batchId}`, p.batchId);
    }
    if (m.timestampUs < this.lastTimestampUs) {
      const last = this.lastTimestampUs;
      // Follow the device's clock from here, so the reset after this break is not broken again.
      this.lastTimestampUs = m.timestampUs;
      return this.breakState('clock', `device clock went back from ${last} to ${m.timestampUs} us at batch ${p.batchId} with no BOOT received` +
        ' (a reboot whose BOOT was lost, or a device clock that is not monotonic)', p.batchId);
    }
    this.segmentEpoch = m.epoch;
    this.lastTimestampUs = m.timestampUs;
    this.release(p);
    p.resolve(m);
  }

  /** Marks a break: every batch in flight is rejected and later ones are refused until resetState(). */
  private breakState(reason: BreakReason, message: string, batchId?: number): void {
    const err = new StateBreakError(`${this.link.name}: ${message}`, reason, batchId);
    if (!this.broken) this.broken = err;
    this.events.next({ type: 'break', reason, message: err.message });
    for (const p of this.inFlight) {
      if (p.abandoned) continue;
      p.abandoned = true;
      p.reject(err);
    }
    this.pump();   // queued batches fail now, not when a credit frees
  }

  /** Frees the credits of abandoned batches once the device provably no longer holds them. */
  private releaseAbandoned(): void {
    for (const p of [...this.inFlight]) if (p.abandoned) this.release(p);
  }

  private settle(p: Pending): void {
    clearTimeout(p.timer);
    this.pending.delete(p.seq);
    this.answered.add(p.seq);
    // Bounded memory: only the most recent answers are needed to recognise a duplicate.
    if (this.answered.size > 1024) this.answered.delete(this.answered.values().next().value as number);
  }

  private discard(frame: Frame, cause: DiscardCause, why: string): void {
    const count = ++this.discards[cause];
    this.events.next({ type: 'discarded', seq: frame.seq, kind: frame.message.kind, why, cause, count });
  }

  private release(p: Pending): void {
    this.settle(p);
    const i = this.inFlight.indexOf(p);
    if (i >= 0) {
      this.inFlight.splice(i, 1);
      this.pump();
    }
  }

  private fail(p: Pending, err: Error): void {
    if (p.kind === 'process') {
      if (!p.abandoned) p.reject(err);
      this.release(p);
    } else {
      this.settle(p);
      p.reject(err);
    }
  }

  private shutdown(err: LinkClosedError, cause?: Error): void {
    if (this.closed) return;
    this.closed = err;
    for (const p of [...this.pending.values()]) this.fail(p, err);
    this.inFlight.length = 0;
    this.pump();
    this.events.next({ type: 'closed', error: cause });
    this.events.complete();
    this.results.complete();
  }
}

function requestError(name: string, p: Pending, m: Extract<Message, { kind: 'error' }>): DeviceRequestError {
  return new DeviceRequestError(`${name}: device answered ${p.kind.toUpperCase()} (seq ${p.seq}) with error ${m.code}: ${m.text}`, m.code, m.detail);
}
