/**
 * The simulated board's transmit line: byte faults applied, frames leave in order, each when its
 * delay, jitter and (with a baud rate) 10 bit times per byte after the previous one have passed.
 */
import type { Link } from '../transport/link.js';
import type { ByteFaults, FaultCounts, FaultOptions } from './faults.js';
import type { Rng } from '../core/rng.js';

export class SimLine {
  private link: Link | null = null;
  private out: { at: number; bytes: Uint8Array }[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** When the UART is through the last byte handed to it, and when the last queued frame is due (frames never overtake). */
  private lineFreeAt = 0;
  private lastOutAt = 0;
  private closeWhenFlushed: (() => void) | null = null;

  constructor(
    private readonly faults: Readonly<FaultOptions>,
    private readonly byteFaults: ByteFaults,
    private readonly jitterRng: Rng,
    private readonly counts: FaultCounts,
    private readonly baudRate: number | undefined,
  ) {}

  /** True once `closeAfterFlush` was called: nothing more is taken in. */
  get closing(): boolean { return this.closeWhenFlushed !== null; }

  attach(link: Link): void {
    this.clear();
    this.link = link;
  }

  /** Drops what is queued, the timer and the link. */
  clear(): void {
    this.link = null;
    this.out = [];
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    this.lineFreeAt = 0;
    this.lastOutAt = 0;
    this.closeWhenFlushed = null;
  }

  /** Hands a frame to the wire now or at its due time, in order. */
  send(frame: Uint8Array): void {
    if (!this.link) return;
    const bytes = this.byteFaults.outgoing(frame);
    const now = performance.now();
    let at = now;
    const f = this.faults;
    const delay = (f.delayMs ?? 0) + (f.jitterMs ? this.jitterRng.uniform() * f.jitterMs : 0);
    if (delay > 0) { at += delay; this.counts.delayedFrames++; }
    if (this.baudRate) {
      at = Math.max(at, this.lineFreeAt) + (bytes.length * 10 * 1000) / this.baudRate;
      this.lineFreeAt = at;
    }
    at = Math.max(at, this.lastOutAt);
    this.lastOutAt = at;
    if (at <= now && this.out.length === 0) return this.write(bytes);
    this.out.push({ at, bytes });
    this.arm();
  }

  /** Lets the queued frames go out, then calls `close` (an unplug after the last reply). */
  closeAfterFlush(close: () => void): void {
    this.closeWhenFlushed = close;
    this.flush();
  }

  private write(bytes: Uint8Array): void {
    this.link?.write(bytes).catch(() => { /* the link closed under us: its close handler tears down */ });
  }

  private arm(): void {
    if (this.timer || this.out.length === 0) return;
    const wait = Math.max(0, Math.ceil(this.out[0].at - performance.now()));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, wait);
  }

  private flush(): void {
    const now = performance.now();
    while (this.out.length > 0 && this.out[0].at <= now) this.write(this.out.shift()!.bytes);
    if (this.out.length > 0) return this.arm();
    const close = this.closeWhenFlushed;
    this.closeWhenFlushed = null;
    close?.();
  }
}
