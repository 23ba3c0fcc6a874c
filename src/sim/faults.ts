/**
 * Seeded fault injection for the simulated device: what a bad cable, a noisy UART or a flaky
 * board does to the byte stream and to the session. Byte faults act on wire bytes after
 * encoding (COBS, CRC and the delimiter included), so the host's decoder has to catch them.
 * Every injected fault is counted, so a test can compare what the host detected with what
 * was injected.
 *
 * ```ts
 * const inj = new ByteFaults({ bitFlipRate: 1e-4 }, new Rng(7));
 * const wire = inj.outgoing(encoder.encode(frame)); // some bits flipped, counted in inj.counts
 * ```
 */
import { Rng } from '../core/rng.js';

/** Faults a SimDevice injects. Every field is optional; all are off by default. */
export interface FaultOptions {
  /** Probability that each outgoing bit is flipped, in [0, 1]. Defaults to 0. */
  bitFlipRate?: number;
  /** Probability that each incoming bit is flipped before the device decodes it, in [0, 1]. Defaults to 0. */
  inBitFlipRate?: number;
  /** Probability that each outgoing byte is dropped, in [0, 1]. Defaults to 0. */
  dropByteRate?: number;
  /** Extra delay of every outgoing frame in ms (replies stay in order), >= 0. Defaults to 0. */
  delayMs?: number;
  /** Uniform extra delay in [0, jitterMs) ms on top of delayMs, per frame, >= 0. Defaults to 0. */
  jitterMs?: number;
  /** After this many processed batches since the last boot the device reboots (BOOT, new epoch, queue lost). Defaults to off. */
  resetAfterBatches?: number;
  /** BOOT reason sent after a resetAfterBatches reboot: 3 (requested) or 4 (fault recovery). Defaults to 4. */
  resetReason?: 3 | 4;
  /** After this many processed batches since the last boot the device closes the link (an unplug). Defaults to off. */
  disconnectAfterBatches?: number;
  /** After this many processed batches since the last boot the device stops answering anything until re-attached. Defaults to off. */
  hangAfterBatches?: number;
}

/** Injected faults by kind. Counters only grow (for the device's lifetime, across boots). */
export interface FaultCounts {
  /** Outgoing bits flipped. */
  bitFlips: number;
  /** Incoming bits flipped. */
  inBitFlips: number;
  /** Outgoing bytes dropped. */
  droppedBytes: number;
  /** Outgoing frames (delimiter included) that lost or had flipped at least one byte. */
  corruptedFrames: number;
  /** Outgoing frames held back by delayMs/jitterMs. */
  delayedFrames: number;
  /** Reboots by resetAfterBatches. */
  resets: number;
  /** Link closes by disconnectAfterBatches. */
  disconnects: number;
  /** Hangs by hangAfterBatches. */
  hangs: number;
}

export function emptyFaultCounts(): FaultCounts {
  return { bitFlips: 0, inBitFlips: 0, droppedBytes: 0, corruptedFrames: 0, delayedFrames: 0, resets: 0, disconnects: 0, hangs: 0 };
}

const KNOWN: readonly (keyof FaultOptions)[] = [
  'bitFlipRate', 'inBitFlipRate', 'dropByteRate', 'delayMs', 'jitterMs',
  'resetAfterBatches', 'resetReason', 'disconnectAfterBatches', 'hangAfterBatches',
];

/** Checks `f` and returns a copy; RangeError naming the first bad option (as `faults.<name>`). */
export function resolveFaults(f: FaultOptions = {}): Readonly<FaultOptions> {
  if (typeof f !== 'object' || f === null) throw new RangeError(`option 'faults' must be an object`);
  for (const k of Object.keys(f)) {
    if (!(KNOWN as readonly string[]).includes(k)) throw new RangeError(`unknown option 'faults.${k}'`);
  }
  const rate = (k: keyof FaultOptions) => {
    const v = f[k];
    if (v !== undefined && (typeof v !== 'number' || !(v >= 0 && v <= 1))) throw new RangeError(`option 'faults.${k}' must be a number in [0, 1], got ${String(v)}`);
  };
  const ms = (k: keyof FaultOptions) => {
    const v = f[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) throw new RangeError(`option 'faults.${k}' must be a finite number >= 0, got ${String(v)}`);
  };
  const count = (k: keyof FaultOptions) => {
    const v = f[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 1)) throw new RangeError(`option 'faults.${k}' must be an integer >= 1, got ${String(v)}`);
  };
  rate('bitFlipRate'); rate('inBitFlipRate'); rate('dropByteRate');
  ms('delayMs'); ms('jitterMs');
  count('resetAfterBatches'); count('disconnectAfterBatches'); count('hangAfterBatches');
  if (f.resetReason !== undefined && f.resetReason !== 3 && f.resetReason !== 4) {
    throw new RangeError(`option 'faults.resetReason' must be 3 or 4, got ${String(f.resetReason)}`);
  }
  return Object.freeze({ ...f });
}

/**
 * Gap to the next event of a Bernoulli(p) process, by inversion of the geometric distribution:
 * k = floor(ln U / ln(1 - p)), so a long frame costs one draw per fault, not one per bit.
 */
function geometricGap(rng: Rng, p: number): number {
  if (p >= 1) return 0;
  const u = 1 - rng.uniform(); // (0, 1]
  return Math.floor(Math.log(u) / Math.log1p(-p));
}

/** Byte-stream faults (bit flips, dropped bytes) with their own seeded streams and counters. */
export class ByteFaults {
  private readonly outFlip: Rng;
  private readonly inFlip: Rng;
  private readonly drop: Rng;
  /** Bits (outgoing) / bytes (dropped) / bits (incoming) left before the next fault. */
  private nextOutFlip: number;
  private nextDrop: number;
  private nextInFlip: number;

  constructor(private readonly opts: Readonly<FaultOptions>, rng: Rng, readonly counts: FaultCounts = emptyFaultCounts()) {
    this.outFlip = rng.fork('fault-out-flip');
    this.inFlip = rng.fork('fault-in-flip');
    this.drop = rng.fork('fault-drop');
    this.nextOutFlip = this.gap(this.outFlip, opts.bitFlipRate);
    this.nextDrop = this.gap(this.drop, opts.dropByteRate);
    this.nextInFlip = this.gap(this.inFlip, opts.inBitFlipRate);
  }

  private gap(rng: Rng, p: number | undefined): number {
    return p ? geometricGap(rng, p) : Infinity;
  }

  /** True when outgoing bytes can be changed at all. */
  get touchesOutgoing(): boolean {
    return !!(this.opts.bitFlipRate || this.opts.dropByteRate);
  }

  /** Applies bit flips, then byte drops, to one outgoing frame's wire bytes. Returns `bytes` itself when untouched. */
  outgoing(bytes: Uint8Array): Uint8Array {
    if (!this.touchesOutgoing) return bytes;
    let out = bytes;
    let hit = false;
    const bits = bytes.length * 8;
    if (this.nextOutFlip < bits) {
      out = Uint8Array.from(bytes);
      let at = this.nextOutFlip;
      while (at < bits) {
        out[at >>> 3] ^= 1 << (at & 7);
        this.counts.bitFlips++;
        at += 1 + this.gap(this.outFlip, this.opts.bitFlipRate);
      }
      this.nextOutFlip = at - bits;
      hit = true;
    } else {
      this.nextOutFlip -= bits;
    }
    if (this.nextDrop < out.length) {
      let at = this.nextDrop;
      let from = 0;
      const n = out.length;
      const chunks: Uint8Array[] = [];
      while (at < n) {
        chunks.push(out.subarray(from, at));
        this.counts.droppedBytes++;
        from = at + 1;
        at = from + this.gap(this.drop, this.opts.dropByteRate);
      }
      chunks.push(out.subarray(from, n));
      this.nextDrop = at - n;
      const joined = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
      let w = 0;
      for (const c of chunks) { joined.set(c, w); w += c.length; }
      out = joined;
      hit = true;
    } else {
      this.nextDrop -= out.length;
    }
    if (hit) this.counts.corruptedFrames++;
    return out;
  }

  /** Applies incoming bit flips to a received chunk. Returns `chunk` itself when untouched. */
  incoming(chunk: Uint8Array): Uint8Array {
    if (!this.opts.inBitFlipRate) return chunk;
    const bits = chunk.length * 8;
    if (this.nextInFlip >= bits) {
      this.nextInFlip -= bits;
      return chunk;
    }
    const out = Uint8Array.from(chunk);
    let at = this.nextInFlip;
    while (at < bits) {
      out[at >>> 3] ^= 1 << (at & 7);
      this.counts.inBitFlips++;
      at += 1 + this.gap(this.inFlip, this.opts.inBitFlipRate);
    }
    this.nextInFlip = at - bits;
    return out;
  }
}
