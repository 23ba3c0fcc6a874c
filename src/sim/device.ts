/**
 * The device side of protocol v1 (firmware-protocol/SPEC.md) around any simulated reservoir: what
 * the firmware on a real board does, served over a Link. It answers every request in arrival
 * order with exactly one reply, keeps the state epoch and the STATUS counters the SPEC asks for,
 * and can pace itself in wall time and inject seeded faults into its byte stream and session.
 *
 * Wire formats come from the model's ranges: integer ranges that fit u16 travel as u16 (analog
 * ADC counts, optical camera counts), integer ranges that fit i16 as i16 (fpga Q1.15), anything
 * else as f32. A wire sample is fed to the model as is (device units, the model clips to its
 * inRange and flags INPUT_CLIPPED); a model output y becomes round(y) clipped to
 * [max(outMin, formatMin), min(outMax, formatMax)] (NaN gives outMin), flagged OUTPUT_SATURATED
 * when clipped here or when the model says so. Requests pass through the queue (queue.ts), the
 * dispatcher (dispatch.ts) and the transmit line (line.ts); this file is the board around them.
 *
 * ```ts
 * const [host, board] = createMemoryPair();
 * const dev = new SimDevice(createModel('analog', {}, 7), { seed: 7 });
 * dev.attach(board);           // sends BOOT, then serves until the link closes
 * ```
 */
import {
  BOOT_REASON, CAPABILITY, FLAG_RESPONSE, FRAME_OVERHEAD, FrameDecoder, FrameEncoder, type Frame, type Info, LIMITS, MAX_FRAME,
  MESSAGE_TYPE, MIN_MAX_FRAME, type Message, PROTOCOL_VERSION, type Process, RESULT_STATUS, type Result, SAMPLE_SIZE,
  type SampleFormat, type Samples, type Status, createSamples,
} from '../protocol/index.js';
import type { Link } from '../transport/link.js';
import { type Board, dispatch } from './dispatch.js';
import { ByteFaults, type FaultCounts, type FaultOptions, emptyFaultCounts, resolveFaults } from './faults.js';
import { SimLine } from './line.js';
import type { ReservoirModel } from './model.js';
import { RequestQueue } from './queue.js';
import { Rng, checkSeed } from '../core/rng.js';

/** Firmware string a SimDevice reports by default. */
export const SIM_FIRMWARE = 'reservoir-hil sim 0.1.0';
/** Largest maxBatch a SimDevice chooses by itself. */
export const SIM_MAX_BATCH_CAP = 4096;

/** Wall-time behaviour of the simulated board. Everything is off by default (replies come as fast as the event loop allows). */
export interface PacingOptions {
  /** Hold each RESULT until count x samplePeriodNs of wall time has passed since its batch started, like the real device; idle wall time then also advances the model's drift clock. Defaults to false. */
  samplePeriod?: boolean;
  /** Emulate a UART at this many baud: every outgoing byte takes 10 bit times and a frame arrives when its last byte is through. Defaults to off. */
  baudRate?: number;
}

/** Options of a SimDevice; validated at construction (RangeError naming the option). */
export interface SimDeviceOptions {
  /** PROCESS frames that may be in flight (INFO `credits`), integer in 1..255. Defaults to 4. */
  credits?: number;
  /** Largest unstuffed frame the device accepts and sends (INFO `maxFrame`), integer in 64..65547. Defaults to 65547. */
  maxFrame?: number;
  /** Most vectors per PROCESS (INFO `maxBatch`), at least 1 and small enough that a full PROCESS and RESULT fit maxFrame. Defaults to the largest that fits, at most 4096. */
  maxBatch?: number;
  /** INFO vendor, at most 64 UTF-8 bytes. Defaults to 'reservoir-hil'. */
  vendor?: string;
  /** INFO model, at most 64 UTF-8 bytes. Defaults to `sim-<model name>`. */
  model?: string;
  /** INFO serial, at most 64 UTF-8 bytes. Defaults to `SIM-` and the seed in 8 hex digits. */
  serial?: string;
  /** INFO firmware, at most 64 UTF-8 bytes. Defaults to SIM_FIRMWARE. */
  firmware?: string;
  /** Boot counter reported by the first BOOT; every later boot (re-attach, reset fault) adds one. Integer in 0..2^32-1. Defaults to 1. */
  bootCount?: number;
  /** Seed (uint32) of the boot epochs, the temperature wander and the faults. Defaults to 1. */
  seed?: number;
  /**
   * Seed (uint32) of the boot epochs alone, overriding `seed` for them. A simulator restarted with
   * the same seed would otherwise boot into the epochs it reported before, which SPEC.md section 6
   * asks a board not to do (`rhil sim` draws this from the OS's entropy, as a board without
   * persistent storage would from a hardware source). Defaults to `seed`.
   */
  epochSeed?: number;
  /** Board temperature in °C around which STATUS wanders slowly (±0.55 °C), or null for a board without a sensor. Defaults to 25. */
  temperatureC?: number | null;
  /** Wall-time pacing. Defaults to none. */
  pacing?: PacingOptions;
  /** Fault injection, seeded and counted in `device.faults`. Defaults to none. */
  faults?: FaultOptions;
}

const KNOWN_OPTIONS = ['credits', 'maxFrame', 'maxBatch', 'vendor', 'model', 'serial', 'firmware', 'bootCount', 'seed', 'epochSeed', 'temperatureC', 'pacing', 'faults'];

/** The wire format for a value range in device units: u16 or i16 when the range is integer and fits, else f32. */
export function wireFormatFor(range: readonly [number, number]): SampleFormat {
  const [lo, hi] = range;
  if (Number.isInteger(lo) && Number.isInteger(hi)) {
    if (lo >= 0 && hi <= 0xffff) return 'u16';
    if (lo >= -0x8000 && hi <= 0x7fff) return 'i16';
  }
  return 'f32';
}

const PROCESS_TYPE = MESSAGE_TYPE.process;
const NS_PER_MS = 1e6;

/**
 * A simulated board running protocol v1 firmware around `model`. `attach(link)` powers it up on
 * that link (BOOT first) and serves until the link closes; attach again to a new link after a
 * disconnect, like a board replugged (a new boot: rest state, new epoch, counters from zero,
 * bootCount + 1).
 */
export class SimDevice {
  /** What INFO reports. */
  readonly info: Info;
  /** Injected faults by kind, over the device's lifetime. */
  readonly faults: FaultCounts = emptyFaultCounts();

  private readonly credits: number;
  private readonly maxFrame: number;
  private readonly pacing: Readonly<PacingOptions>;
  private readonly faultOpts: Readonly<FaultOptions>;
  private readonly byteFaults: ByteFaults;
  private readonly epochRng: Rng;
  private readonly line: SimLine;
  private readonly queue: RequestQueue;
  private readonly temperature: { base: number; p1: number; p2: number } | null;
  private readonly encoder: FrameEncoder;
  private readonly outLo: number;
  private readonly outHi: number;
  private readonly period: number;

  private link: Link | null = null;
  /** Bumped at every boot and detach, so stale timer callbacks can tell they are stale. */
  private gen = 0;
  /** Bumped at every attach and detach, so handlers of an old link can tell. */
  private linkGen = 0;
  private boots = 0;
  private batchesTotal = 0;

  // ---- per boot ----
  private decoder: FrameDecoder;
  /** A paced RESULT is being held; the queue waits behind it. */
  private busy = false;
  private hung = false;
  private epochValue = 0;
  private bootCountValue: number;
  private droppedBatches = 0;
  private bootWall = 0;
  /** Device clock since boot in ns: samples processed x samplePeriodNs plus idle time when paced. */
  private deviceNs = 0;
  private lastBatchEndWall = 0;
  private batchesSinceBoot = 0;
  private paceTimer: NodeJS.Timeout | null = null;

  constructor(readonly model: ReservoirModel, opts: SimDeviceOptions = {}) {
    if (typeof opts !== 'object' || opts === null) throw new RangeError('SimDevice options must be an object');
    for (const k of Object.keys(opts)) if (!KNOWN_OPTIONS.includes(k)) throw new RangeError(`SimDevice: unknown option '${k}'`);
    const int = (name: string, v: unknown, lo: number, hi: number): number => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
        throw new RangeError(`SimDevice: option '${name}' must be an integer in [${lo}, ${hi}], got ${String(v)}`);
      }
      return v;
    };
    const str = (name: string, v: unknown): string => {
      if (typeof v !== 'string' || Buffer.byteLength(v, 'utf8') > LIMITS.infoString) {
        throw new RangeError(`SimDevice: option '${name}' must be a string of at most ${LIMITS.infoString} UTF-8 bytes, got ${JSON.stringify(v)}`);
      }
      return v;
    };

    this.credits = int('credits', opts.credits ?? 4, 1, 255);
    this.maxFrame = int('maxFrame', opts.maxFrame ?? MAX_FRAME, MIN_MAX_FRAME, MAX_FRAME);
    const seed = opts.seed ?? 1;
    try { checkSeed(seed); } catch { throw new RangeError(`SimDevice: option 'seed' must be an integer in [0, 2^32 - 1], got ${String(seed)}`); }
    if (opts.epochSeed !== undefined) {
      try { checkSeed(opts.epochSeed); } catch { throw new RangeError(`SimDevice: option 'epochSeed' must be an integer in [0, 2^32 - 1], got ${String(opts.epochSeed)}`); }
    }
    this.bootCountValue = int('bootCount', opts.bootCount ?? 1, 0, 0xffffffff);
    const temp = opts.temperatureC === undefined ? 25 : opts.temperatureC;
    if (temp !== null && (typeof temp !== 'number' || !Number.isFinite(temp) || Math.abs(temp) > 1000)) {
      throw new RangeError(`SimDevice: option 'temperatureC' must be a finite number of °C or null, got ${String(temp)}`);
    }
    const pacing = opts.pacing ?? {};
    if (typeof pacing !== 'object' || pacing === null) throw new RangeError(`SimDevice: option 'pacing' must be an object`);
    for (const k of Object.keys(pacing)) if (k !== 'samplePeriod' && k !== 'baudRate') throw new RangeError(`SimDevice: unknown option 'pacing.${k}'`);
    if (pacing.samplePeriod !== undefined && typeof pacing.samplePeriod !== 'boolean') {
      throw new RangeError(`SimDevice: option 'pacing.samplePeriod' must be a boolean, got ${String(pacing.samplePeriod)}`);
    }
    if (pacing.baudRate !== undefined && (typeof pacing.baudRate !== 'number' || !Number.isFinite(pacing.baudRate) || pacing.baudRate <= 0)) {
      throw new RangeError(`SimDevice: option 'pacing.baudRate' must be a finite number > 0, got ${String(pacing.baudRate)}`);
    }
    this.pacing = Object.freeze({ ...pacing });
    try {
      this.faultOpts = resolveFaults(opts.faults ?? {});
    } catch (e) {
      throw new RangeError(`SimDevice: ${(e as Error).message}`);
    }

    const inFormat = wireFormatFor(model.inRange);
    const outFormat = wireFormatFor(model.outRange);
    const fitIn = Math.floor((this.maxFrame - FRAME_OVERHEAD - 9) / (SAMPLE_SIZE[inFormat] * model.inChannels));
    const fitOut = Math.floor((this.maxFrame - FRAME_OVERHEAD - 23) / (SAMPLE_SIZE[outFormat] * model.outChannels));
    const fit = Math.min(fitIn, fitOut, SIM_MAX_BATCH_CAP);
    if (fit < 1) throw new RangeError(`SimDevice: option 'maxFrame' ${this.maxFrame} cannot hold one vector of ${model.inChannels} in / ${model.outChannels} out channels`);
    const maxBatch = opts.maxBatch === undefined ? fit : int('maxBatch', opts.maxBatch, 1, fit);

    const rng = new Rng(seed);
    this.epochRng = opts.epochSeed === undefined ? rng.fork('epoch') : new Rng(opts.epochSeed).fork('epoch');
    const jitterRng = rng.fork('jitter');
    this.byteFaults = new ByteFaults(this.faultOpts, rng, this.faults);
    this.line = new SimLine(this.faultOpts, this.byteFaults, jitterRng, this.faults, this.pacing.baudRate);
    const tr = rng.fork('temperature');
    this.temperature = temp === null ? null : { base: temp, p1: tr.range(0, 2 * Math.PI), p2: tr.range(0, 2 * Math.PI) };

    this.period = model.samplePeriodNs;
    const [outMin, outMax] = model.outRange;
    this.outLo = outFormat === 'u16' ? Math.max(0, Math.ceil(outMin)) : outFormat === 'i16' ? Math.max(-0x8000, Math.ceil(outMin)) : outMin;
    this.outHi = outFormat === 'u16' ? Math.min(0xffff, Math.floor(outMax)) : outFormat === 'i16' ? Math.min(0x7fff, Math.floor(outMax)) : outMax;

    this.info = Object.freeze({
      kind: 'info',
      protocolVersion: PROTOCOL_VERSION,
      inFormat,
      outFormat,
      credits: this.credits,
      inChannels: model.inChannels,
      outChannels: model.outChannels,
      maxBatch,
      maxFrame: this.maxFrame,
      samplePeriodNs: Math.min(0xffffffff, Math.round(model.samplePeriodNs)),
      capabilities: CAPABILITY.HW_TIMESTAMP | CAPABILITY.PERSISTENT_BOOT_COUNT | (temp === null ? 0 : CAPABILITY.TEMPERATURE),
      inMin: model.inRange[0],
      inMax: model.inRange[1],
      outMin,
      outMax,
      vendor: str('vendor', opts.vendor ?? 'reservoir-hil'),
      model: str('model', opts.model ?? `sim-${model.name}`),
      serial: str('serial', opts.serial ?? `SIM-${(seed >>> 0).toString(16).padStart(8, '0')}`),
      firmware: str('firmware', opts.firmware ?? SIM_FIRMWARE),
    }) as Info;
    this.encoder = new FrameEncoder(this.maxFrame);
    try {
      this.encoder.encode({ seq: 0, flags: FLAG_RESPONSE, message: this.info });
    } catch {
      throw new RangeError(`SimDevice: option 'maxFrame' ${this.maxFrame} is too small for the INFO frame`);
    }
    this.decoder = new FrameDecoder({ role: 'device', maxFrame: this.maxFrame });
    const board: Board = {
      info: this.info,
      reply: (seq, m) => this.reply(seq, m),
      sendError: (seq, type, code, detail, text) => this.sendError(seq, type, code, detail, text),
      resetState: () => {
        this.model.reset();
        return (this.epochValue = (this.epochValue + 1) >>> 0);
      },
      status: () => this.status(),
      process: (seq, p) => this.process(seq, p),
    };
    this.queue = new RequestQueue(this.info, (e) => dispatch(board, e), () => !this.busy && !this.hung && this.link !== null);
  }

  /** True while serving a link. */
  get attached(): boolean {
    return this.link !== null;
  }

  /** The current state epoch. */
  get epoch(): number {
    return this.epochValue;
  }

  /** The boot counter of the current (or last) boot. */
  get bootCount(): number {
    return this.bootCountValue;
  }

  /** True after hangAfterBatches struck, until the next attach. */
  get isHung(): boolean {
    return this.hung;
  }

  /** Batches answered with RESULT over the device's lifetime. */
  get batchesProcessed(): number {
    return this.batchesTotal;
  }

  /** Powers the board up on `link`: sends BOOT, then serves until the link closes. Throws if already attached. */
  attach(link: Link): void {
    if (this.link) throw new Error(`SimDevice: already attached to ${this.link.name}; detach first`);
    if (!link.isOpen) throw new Error(`SimDevice: cannot attach to closed link ${link.name}`);
    this.link = link;
    this.line.attach(link);
    const lg = ++this.linkGen;
    this.boot(BOOT_REASON.POWER_ON);
    link.setHandlers({
      data: (chunk) => { if (lg === this.linkGen) this.onData(chunk); },
      close: () => { if (lg === this.linkGen) this.teardown(); },
    });
  }

  /** Unplugs the board: stops serving, clears every timer and closes the link. */
  async detach(): Promise<void> {
    const link = this.link;
    this.teardown();
    if (link) await link.close();
  }

  // ---- boot and teardown ------------------------------------------------------------------

  private boot(reason: number): void {
    this.gen++;
    if (this.boots > 0) {
      this.model.reset();
      this.bootCountValue = (this.bootCountValue + 1) >>> 0;
      const old = this.epochValue;
      do this.epochValue = this.epochRng.nextU32(); while (this.epochValue === old);
    } else {
      this.epochValue = this.epochRng.nextU32();
    }
    this.boots++;
    this.clearWork();
    this.decoder = new FrameDecoder({ role: 'device', maxFrame: this.maxFrame });
    this.hung = false;
    this.droppedBatches = 0;
    this.bootWall = performance.now();
    this.lastBatchEndWall = this.bootWall;
    this.deviceNs = 0;
    this.batchesSinceBoot = 0;
    this.send({ seq: 0, flags: 0, message: { kind: 'boot', bootCount: this.bootCountValue, epoch: this.epochValue, reason } });
  }

  /** Drops queued requests and the paced batch, and their timers. */
  private clearWork(): void {
    this.queue.clear();
    this.busy = false;
    if (this.paceTimer) { clearTimeout(this.paceTimer); this.paceTimer = null; }
  }

  private teardown(): void {
    this.gen++;
    this.linkGen++;
    this.link = null;
    this.clearWork();
    this.line.clear();
  }

  // ---- intake ---------------------------------------------------------------------------

  private onData(chunk: Uint8Array): void {
    if (this.hung || this.line.closing) return; // wedged, or being unplugged
    this.decoder.push(this.byteFaults.incoming(chunk), (ev) => this.queue.admit(ev));
    this.queue.schedule();
  }

  private status(): Status {
    const c = this.decoder.counts;
    const wallNs = (performance.now() - this.bootWall) * NS_PER_MS;
    // Uptime is wall time since boot, but never behind the device clock that stamps RESULTs
    // (unpaced, the simulator runs faster than real time).
    const uptimeUs = Math.floor(Math.max(wallNs, this.deviceNs) / 1000);
    let temperatureC: number | null = null;
    if (this.temperature) {
      const t = uptimeUs / 1e6;
      const { base, p1, p2 } = this.temperature;
      temperatureC = base + 0.4 * Math.sin((2 * Math.PI * t) / 900 + p1) + 0.15 * Math.sin((2 * Math.PI * t) / 97 + p2);
    }
    return {
      kind: 'status',
      framesOk: c.frames >>> 0,
      crcErrors: c.crc >>> 0,
      framingErrors: (c.oversize + c.cobs + c.short + c.length) >>> 0,
      rejected: (c.version + c.type + c.payload) >>> 0,
      droppedBatches: this.droppedBatches >>> 0,
      epoch: this.epochValue,
      bootCount: this.bootCountValue,
      uptimeUs,
      temperatureC,
    };
  }

  private process(seq: number, p: Process): void {
    const model = this.model;
    const inCh = model.inChannels;
    const outCh = model.outChannels;
    const paced = this.pacing.samplePeriod === true;
    let startWall = performance.now();
    if (paced) {
      startWall = Math.max(startWall, this.lastBatchEndWall);
      const idle = (startWall - this.bootWall) * NS_PER_MS - this.deviceNs;
      if (idle > 0) {
        model.advanceTime?.(idle);
        this.deviceNs += idle;
      }
    }
    const timestampUs = Math.floor(this.deviceNs / 1000);
    const samples = createSamples(this.info.outFormat, p.count * outCh);
    const y = new Float32Array(outCh);
    let status = 0;
    for (let v = 0; v < p.count; v++) {
      status |= model.step(p.samples.subarray(v * inCh, (v + 1) * inCh), y) & (RESULT_STATUS.INPUT_CLIPPED | RESULT_STATUS.OUTPUT_SATURATED);
      status |= this.toWire(y, samples, v * outCh);
    }
    this.deviceNs += p.count * this.period;
    const result: Result = {
      kind: 'result', batchId: p.batchId, epoch: this.epochValue, timestampUs, status,
      count: p.count, channels: outCh, format: this.info.outFormat, samples,
    };
    if (!paced) return this.finishBatch(seq, result);
    const end = startWall + (p.count * this.period) / NS_PER_MS;
    this.lastBatchEndWall = end;
    this.busy = true;
    const gen = this.gen;
    const wait = () => {
      this.paceTimer = null;
      if (gen !== this.gen) return;
      const left = end - performance.now();
      if (left > 0) return void (this.paceTimer = setTimeout(wait, Math.ceil(left)));
      this.busy = false;
      this.finishBatch(seq, result);
      this.queue.drain();
    };
    wait();
  }

  /** Writes outputs `y` as wire samples at `at`; returns OUTPUT_SATURATED if any was clipped here. */
  private toWire(y: Float32Array, dst: Samples, at: number): number {
    const lo = this.outLo;
    const hi = this.outHi;
    const integer = this.info.outFormat !== 'f32';
    let status = 0;
    for (let k = 0; k < y.length; k++) {
      let v = y[k];
      if (Number.isNaN(v)) { v = lo; status = RESULT_STATUS.OUTPUT_SATURATED; }
      if (integer) v = Math.round(v);
      if (v < lo) { v = lo; status = RESULT_STATUS.OUTPUT_SATURATED; }
      else if (v > hi) { v = hi; status = RESULT_STATUS.OUTPUT_SATURATED; }
      dst[at + k] = v;
    }
    return status;
  }

  /** Sends a RESULT and applies the batch-count faults. */
  private finishBatch(seq: number, result: Result): void {
    this.reply(seq, result);
    this.queue.inFlight--;
    this.batchesSinceBoot++;
    this.batchesTotal++;
    const f = this.faultOpts;
    const n = this.batchesSinceBoot;
    if (f.resetAfterBatches !== undefined && n >= f.resetAfterBatches) {
      this.faults.resets++;
      this.boot(f.resetReason ?? BOOT_REASON.FAULT_RECOVERY);
    } else if (f.disconnectAfterBatches !== undefined && n >= f.disconnectAfterBatches) {
      this.faults.disconnects++;
      this.clearWork();
      this.line.closeAfterFlush(() => {
        const link = this.link;
        this.teardown();
        void link?.close();
      });
    } else if (f.hangAfterBatches !== undefined && n >= f.hangAfterBatches) {
      this.faults.hangs++;
      this.clearWork();
      this.hung = true;
    }
  }

  // ---- output -----------------------------------------------------------------------------

  private reply(seq: number, message: Message): void {
    this.send({ seq, flags: FLAG_RESPONSE, message });
  }

  private sendError(seq: number, type: number, code: number, detail: number, text: string): void {
    // ERROR text is <= 128 bytes and the frame must fit maxFrame (22 bytes of overhead besides the text).
    const room = Math.min(LIMITS.errorText, this.maxFrame - FRAME_OVERHEAD - 10 - 1);
    let t = text;
    while (Buffer.byteLength(t, 'utf8') > room) t = t.slice(0, -1);
    this.reply(seq, { kind: 'error', code, refSeq: seq, refType: type, detail: detail >>> 0, text: t });
    if (type === PROCESS_TYPE) {
      // SPEC section 6: every PROCESS not processed breaks continuity.
      this.epochValue = (this.epochValue + 1) >>> 0;
      this.droppedBatches++;
      this.queue.inFlight--;
    }
  }

  private send(frame: Frame): void {
    if (this.link) this.line.send(this.encoder.encode(frame));
  }
}
