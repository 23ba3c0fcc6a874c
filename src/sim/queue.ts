/**
 * The simulated board's request queue: decoder events become entries on arrival (a rejected
 * frame or a PROCESS that fails a check becomes the ERROR to send, decided in SPEC.md section 5
 * order), and entries run strictly in arrival order on a later turn, so requests that arrive
 * together are all taken in first, as the C firmware's poll does.
 */
import { ERROR_CODE, type DecodeEvent, type Info, MESSAGE_TYPE, type Message, PROTOCOL_VERSION, SAMPLE_FORMATS } from '../protocol/index.js';

/** A request, or a reply already decided at intake, waiting for its turn. */
export type Entry =
  | { kind: 'frame'; seq: number; message: Message }
  | { kind: 'error'; seq: number; type: number; code: number; detail: number; text: string };

export const ERROR_TEXT: Record<number, string> = {
  [ERROR_CODE.UNSUPPORTED_VERSION]: 'this device speaks protocol version 1 only',
  [ERROR_CODE.UNKNOWN_TYPE]: 'unknown message type',
  [ERROR_CODE.BAD_PAYLOAD]: 'bad payload',
  [ERROR_CODE.TOO_LARGE]: 'batch larger than maxBatch',
  [ERROR_CODE.BAD_SHAPE]: 'channels or format differ from INFO',
  [ERROR_CODE.NO_CREDIT]: 'no credit: too many PROCESS in flight',
  [ERROR_CODE.NOT_SUPPORTED]: 'CONFIGURE is not supported: this device has no CONFIGURE capability',
};
/** `deviceMin | deviceMax << 8` for UNSUPPORTED_VERSION. */
export const DEVICE_VERSIONS = PROTOCOL_VERSION | (PROTOCOL_VERSION << 8);
const PROCESS_TYPE = MESSAGE_TYPE.process;

export class RequestQueue {
  /** PROCESS frames received and not yet answered (RESULT or ERROR handed to the output). */
  inFlight = 0;
  private entries: Entry[] = [];
  private handle: NodeJS.Immediate | null = null;

  /** `run` executes one entry; the queue runs only while `ready()` (not paced-busy, hung or detached). */
  constructor(private readonly info: Info, private readonly run: (e: Entry) => void, private readonly ready: () => boolean) {}

  /** Turns a decoder event into an entry, checking a PROCESS in SPEC section 5 order. */
  admit(ev: DecodeEvent): void {
    if (!ev.ok) {
      if (ev.seq === undefined || ev.type === undefined) return; // header not trusted: no reply
      const code = ev.reason === 'version' ? ERROR_CODE.UNSUPPORTED_VERSION : ev.reason === 'type' ? ERROR_CODE.UNKNOWN_TYPE : ERROR_CODE.BAD_PAYLOAD;
      const detail = code === ERROR_CODE.UNSUPPORTED_VERSION ? DEVICE_VERSIONS : code === ERROR_CODE.UNKNOWN_TYPE ? ev.type : 0;
      return this.error(ev.seq, ev.type, code, detail);
    }
    const { seq, message } = ev.frame;
    if (message.kind !== 'process') {
      this.entries.push({ kind: 'frame', seq, message });
      return;
    }
    const i = this.info;
    if (this.inFlight >= i.credits) this.error(seq, PROCESS_TYPE, ERROR_CODE.NO_CREDIT, i.credits);
    else if (message.channels !== i.inChannels || message.format !== i.inFormat) {
      this.error(seq, PROCESS_TYPE, ERROR_CODE.BAD_SHAPE, (i.inChannels | (SAMPLE_FORMATS.indexOf(i.inFormat) << 16)) >>> 0);
    } else if (message.count > i.maxBatch) this.error(seq, PROCESS_TYPE, ERROR_CODE.TOO_LARGE, i.maxBatch);
    else {
      this.inFlight++;
      this.entries.push({ kind: 'frame', seq, message });
    }
  }

  /** Runs the queue on a later turn, unless it is empty, already scheduled or not ready. */
  schedule(): void {
    if (this.handle || this.entries.length === 0 || !this.ready()) return;
    this.handle = setImmediate(() => {
      this.handle = null;
      this.drain();
    });
  }

  /** Runs entries in order until the queue is empty or not ready. */
  drain(): void {
    while (this.entries.length > 0 && this.ready()) this.run(this.entries.shift()!);
  }

  /** Drops every entry (a boot, an unplug). */
  clear(): void {
    this.entries = [];
    this.inFlight = 0;
    if (this.handle) { clearImmediate(this.handle); this.handle = null; }
  }

  private error(seq: number, type: number, code: number, detail: number): void {
    if (type === PROCESS_TYPE) this.inFlight++;
    this.entries.push({ kind: 'error', seq, type, code, detail, text: ERROR_TEXT[code] ?? 'error' });
  }
}
