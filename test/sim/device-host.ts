/**
 * A tiny host for device tests: sends frames over a Link with the real encoder and collects the
 * device's frames with the real host-role decoder.
 */
import {
  type Frame, FrameDecoder, FrameEncoder, type Message, type RejectReason, cobsEncode, crc32c,
} from '../../src/protocol/index.js';
import type { Link } from '../../src/transport/link.js';

type Request = Extract<Message, { kind: 'hello' | 'configure' | 'process' | 'resetState' | 'getStatus' | 'ping' }>;

export class TestHost {
  readonly enc = new FrameEncoder();
  readonly dec = new FrameDecoder({ role: 'host' });
  /** Valid frames received and not yet taken by next(). */
  readonly inbox: Frame[] = [];
  /** Every valid frame received, in order. */
  readonly frames: Frame[] = [];
  readonly rejects: RejectReason[] = [];
  /** Raw wire bytes of each received frame (delimiter excluded), valid or not. */
  readonly raw: Uint8Array[] = [];
  closed = false;
  closeError: Error | undefined;
  private seq = 0;
  private partial: number[] = [];
  private waiter: (() => void) | null = null;
  private closeWaiters: (() => void)[] = [];

  constructor(readonly link: Link) {
    link.setHandlers({
      data: (chunk) => {
        for (const b of chunk) {
          if (b === 0) { this.raw.push(Uint8Array.from(this.partial)); this.partial = []; } else this.partial.push(b);
        }
        this.dec.push(chunk, (ev) => {
          if (ev.ok) { this.inbox.push(ev.frame); this.frames.push(ev.frame); } else this.rejects.push(ev.reason);
        });
        this.waiter?.();
      },
      close: (err) => {
        this.closed = true;
        this.closeError = err;
        for (const w of this.closeWaiters.splice(0)) w();
        this.waiter?.();
      },
    });
  }

  /** Sends `message` as a request with the next seq; returns that seq. */
  send(message: Request): number {
    const seq = this.seq;
    this.seq = (this.seq + 1) & 0xffff;
    void this.link.write(this.enc.encode({ seq, flags: 0, message }));
    return seq;
  }

  /** Writes raw bytes. */
  writeRaw(bytes: Uint8Array): void {
    void this.link.write(bytes);
  }

  /** The next valid frame, or an Error after `timeoutMs`. */
  async next(timeoutMs = 1000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    while (this.inbox.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0 || this.closed) throw new Error(this.closed ? 'link closed' : `no frame within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, left);
        function done(): void { clearTimeout(t); resolve(); }
        this.waiter = done;
      });
      this.waiter = null;
    }
    return this.inbox.shift()!;
  }

  /** Sends a request and returns the next frame (its reply, if nothing else is pending). */
  async request(message: Request, timeoutMs = 1000): Promise<Frame> {
    this.send(message);
    return this.next(timeoutMs);
  }

  /** Resolves when the link has closed. */
  whenClosed(): Promise<void> {
    return this.closed ? Promise.resolve() : new Promise((r) => this.closeWaiters.push(r));
  }
}

/** Wire bytes of a frame with an arbitrary header (version, type) and payload; the CRC is XORed with `crcXor` (0: valid). */
export function rawFrame(version: number, type: number, seq: number, payload: Uint8Array, crcXor = 0): Uint8Array {
  const f = new Uint8Array(12 + payload.length);
  const v = new DataView(f.buffer);
  f[0] = version;
  f[1] = type;
  v.setUint16(4, seq, true);
  v.setUint16(6, payload.length, true);
  f.set(payload, 8);
  v.setUint32(8 + payload.length, (crc32c(f, 0, 8 + payload.length) ^ crcXor) >>> 0, true);
  const e = cobsEncode(f);
  const out = new Uint8Array(e.length + 1);
  out.set(e);
  return out;
}

/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
