import { cobsDecodeInto } from './cobs.js';
import { crc32c } from './crc32c.js';
import {
  type Frame, FRAME_OVERHEAD, HEADER_SIZE, KIND_OF_TYPE, MAX_FRAME, PROTOCOL_VERSION, isDeviceToHost,
} from './messages.js';
import { readPayload } from './payload.js';

/** Why a frame was dropped; the order is the order of the checks in SPEC.md section 2. */
export const REJECT_REASONS = ['oversize', 'empty', 'cobs', 'short', 'crc', 'length', 'version', 'type', 'payload'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export type DecodeEvent =
  | { ok: true; frame: Frame }
  /** `seq` and `type` are present once the CRC has passed (version, type, payload), so a device can reply ERROR. */
  | { ok: false; reason: RejectReason; seq?: number; type?: number; why?: string };

export interface DecoderOptions {
  /** Largest unstuffed frame accepted; also bounds the decoder's memory. Defaults to MAX_FRAME (65547). */
  maxFrame?: number;
  /**
   * Which message types are legal: 'host' accepts device-to-host types only, 'device' the
   * reverse, 'any' both (tools, tests). Defaults to 'any'.
   */
  role?: 'host' | 'device' | 'any';
}

export type DecoderCounts = Record<RejectReason | 'frames', number>;

/**
 * Streaming frame decoder: feed it bytes in any chunking and it calls `sink` once per frame,
 * valid or rejected. It never throws on input, resynchronises at the next 0x00 after garbage,
 * and holds at most two fixed buffers sized from maxFrame however long a run of bytes without
 * a delimiter is.
 *
 * @example
 * const dec = new FrameDecoder({ role: 'host' });
 * port.on('data', (chunk) => dec.push(chunk, (ev) => ev.ok ? handle(ev.frame) : log(ev.reason)));
 */
export class FrameDecoder {
  readonly counts: DecoderCounts = Object.fromEntries(['frames', ...REJECT_REASONS].map((k) => [k, 0])) as DecoderCounts;
  private readonly role: 'host' | 'device' | 'any';
  private maxFrame: number;
  private maxEncoded: number;
  /** Encoded bytes of a frame that spans chunks. */
  private pending: Uint8Array;
  private pendingLen = 0;
  /** True while skipping an oversize frame up to its delimiter. */
  private discarding = false;
  private frame: Uint8Array;
  private view: DataView;

  constructor(opts: DecoderOptions = {}) {
    const maxFrame = opts.maxFrame ?? MAX_FRAME;
    if (!Number.isInteger(maxFrame) || maxFrame < FRAME_OVERHEAD || maxFrame > MAX_FRAME) {
      throw new RangeError(`maxFrame must be an integer in ${FRAME_OVERHEAD}..${MAX_FRAME}, got ${maxFrame}`);
    }
    this.role = opts.role ?? 'any';
    this.maxFrame = maxFrame;
    this.maxEncoded = maxFrame + Math.floor(maxFrame / 254) + 1;
    this.pending = new Uint8Array(this.maxEncoded);
    this.frame = new Uint8Array(maxFrame);
    this.view = new DataView(this.frame.buffer);
  }

  /** Lowers the accepted frame size, e.g. to the device's INFO.maxFrame; never raises it. */
  limitFrameSize(maxFrame: number): void {
    if (Number.isInteger(maxFrame) && maxFrame >= FRAME_OVERHEAD && maxFrame < this.maxFrame) {
      this.maxFrame = maxFrame;
      this.maxEncoded = maxFrame + Math.floor(maxFrame / 254) + 1;
    }
  }

  /** Feeds bytes; calls `sink` synchronously for each frame that ends inside `chunk`. */
  push(chunk: Uint8Array, sink: (ev: DecodeEvent) => void): void {
    let pos = 0;
    const n = chunk.length;
    while (pos < n) {
      const z = chunk.indexOf(0, pos);
      const stop = z < 0 ? n : z;
      if (this.discarding) {
        // Skipping the tail of an oversize frame.
      } else if (z >= 0 && this.pendingLen === 0) {
        this.finish(chunk, pos, stop, sink);
      } else {
        const add = stop - pos;
        if (this.pendingLen + add > this.maxEncoded) {
          this.discarding = true;
          this.pendingLen = 0;
          this.reject('oversize', sink);
        } else {
          this.pending.set(chunk.subarray(pos, stop), this.pendingLen);
          this.pendingLen += add;
          if (z >= 0) this.finish(this.pending, 0, this.pendingLen, sink);
        }
      }
      if (z < 0) break;
      // The delimiter ends whatever frame (or oversize run) was open.
      this.pendingLen = 0;
      this.discarding = false;
      pos = z + 1;
    }
  }

  /** Convenience for tests and tools: all events of one chunk. */
  decode(chunk: Uint8Array): DecodeEvent[] {
    const out: DecodeEvent[] = [];
    this.push(chunk, (ev) => out.push(ev));
    return out;
  }

  private reject(reason: RejectReason, sink: (ev: DecodeEvent) => void, seq?: number, type?: number, why?: string): void {
    this.counts[reason]++;
    sink(seq === undefined ? { ok: false, reason } : why === undefined ? { ok: false, reason, seq, type } : { ok: false, reason, seq, type, why });
  }

  /** Checks one complete encoded frame `src[start..end)` in SPEC order. */
  private finish(src: Uint8Array, start: number, end: number, sink: (ev: DecodeEvent) => void): void {
    if (end === start) return this.reject('empty', sink);
    if (end - start > this.maxEncoded) return this.reject('oversize', sink);
    const len = cobsDecodeInto(src, start, end, this.frame, this.maxFrame);
    if (len === -2) return this.reject('oversize', sink);
    if (len < 0) return this.reject('cobs', sink);
    if (len < FRAME_OVERHEAD) return this.reject('short', sink);
    const f = this.frame;
    const v = this.view;
    if (crc32c(f, 0, len - 4) !== v.getUint32(len - 4, true)) return this.reject('crc', sink);
    const payloadLen = v.getUint16(6, true);
    if (payloadLen !== len - FRAME_OVERHEAD) return this.reject('length', sink);
    const type = f[1];
    const seq = v.getUint16(4, true);
    if (f[0] !== PROTOCOL_VERSION) return this.reject('version', sink, seq, type);
    const kind = KIND_OF_TYPE.get(type);
    const wrongWay = this.role === 'host' ? !isDeviceToHost(type) : this.role === 'device' ? isDeviceToHost(type) : false;
    if (kind === undefined || wrongWay) return this.reject('type', sink, seq, type);
    const problem: { why?: string } = {};
    const message = readPayload(kind, f, v, HEADER_SIZE, len - 4, problem);
    if (message === null) return this.reject('payload', sink, seq, type, problem.why);
    this.counts.frames++;
    sink({ ok: true, frame: { seq, flags: f[2], message } });
  }
}
