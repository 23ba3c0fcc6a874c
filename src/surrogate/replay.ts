/**
 * ReplayBuffer: a bounded store of surrogate training examples (windows.ts layout) cut from the
 * device's (drive, response) stream.
 *
 * It keeps two fixed-size stores, allocated once:
 * - `recent`: the N newest examples (a ring), for fast adaptation and the drift check (`newest`);
 * - `reservoir`: M examples drawn uniformly from everything ever added (Vitter's algorithm R,
 *   seeded), so the surrogate does not forget regions of drive space it has not seen lately.
 * An example may sit in both stores. Memory is (N + M) rows plus a max(W-1, R)-row segment tail,
 * whatever is added.
 *
 * Windows are cut only inside one contiguous segment (one unbroken device state epoch): an `add`
 * with the same `epoch` as the previous one continues that segment; any other `add` starts a new
 * one, and its first max(W-1, R) steps yield no example.
 *
 * ```ts
 * const buf = new ReplayBuffer({ inChannels: 1, outChannels: 4, window: 5, responseLags: 0, recent: 2048, reservoir: 8192, seed: 1 });
 * buf.add(batch.input, batch.output, batch.epoch);
 * surrogate.fit(buf.sample(4096, rng));
 * const drift = surrogate.evaluate(buf.newest(256));
 * ```
 */
import { Rng, checkSeed } from '../core/rng.js';
import { checkWindowShape, rowLengths, segmentLength, warmup, writeExample, type Examples, type WindowShape } from './windows.js';

/** Options of {@link ReplayBuffer}. */
export interface ReplayOptions extends WindowShape {
  /** N ≥ 0: newest examples kept. */
  recent: number;
  /** M ≥ 0: reservoir-sampled examples kept (N + M ≥ 1). */
  reservoir: number;
  /** Seed of the reservoir's replacement draws. Defaults to 0. */
  seed?: number;
}

const MAX_ROWS = 1 << 24;

export class ReplayBuffer {
  readonly shape: WindowShape;
  readonly recentCapacity: number;
  readonly reservoirCapacity: number;
  private readonly len: { drives: number; history: number; targets: number };
  private readonly recent: Store;
  private readonly reservoir: Store;
  private readonly rng: Rng;
  private recentCount = 0;
  private recentHead = 0;
  private seenCount = 0;
  // Segment continuation: the last max(W-1, R) steps of the current segment and its length so far.
  private readonly tailDrives: Float32Array;
  private readonly tailResponses: Float32Array;
  private tailRows = 0;
  private segmentSteps = 0;
  private epoch: number | undefined;

  constructor(opts: ReplayOptions) {
    this.shape = checkWindowShape(opts);
    for (const k of ['recent', 'reservoir'] as const) {
      const v = opts[k];
      if (!Number.isInteger(v) || v < 0 || v > MAX_ROWS) throw new RangeError(`${k} must be an integer in [0, 2^24], got ${String(v)}`);
    }
    if (opts.recent + opts.reservoir < 1) throw new RangeError('recent + reservoir must be at least 1');
    this.recentCapacity = opts.recent;
    this.reservoirCapacity = opts.reservoir;
    this.len = rowLengths(this.shape);
    this.recent = newStore(opts.recent, this.len);
    this.reservoir = newStore(opts.reservoir, this.len);
    this.rng = new Rng(checkSeed(opts.seed ?? 0)).fork('reservoir');
    const lag = warmup(this.shape);
    this.tailDrives = new Float32Array(lag * this.shape.inChannels);
    this.tailResponses = new Float32Array(lag * this.shape.outChannels);
  }

  /** Examples held: recent + reservoir (an example in both counts twice). */
  get size(): number {
    return this.recentCount + Math.min(this.seenCount, this.reservoirCapacity);
  }

  /** Examples ever added. */
  get seen(): number {
    return this.seenCount;
  }

  /** Bytes held by the stores and the segment tail; fixed at construction. */
  get byteLength(): number {
    return [this.recent, this.reservoir].reduce((s, st) => s + st.drives.byteLength + st.history.byteLength + st.targets.byteLength, 0)
      + this.tailDrives.byteLength + this.tailResponses.byteLength;
  }

  /**
   * Adds T steps of one segment and cuts every complete example in it.
   * @param drives flat [T * inChannels]
   * @param responses flat [T * outChannels], the device's response to these drives
   * @param epoch the device's state epoch; equal to the previous add's epoch = same segment
   * @returns the number of examples added
   */
  add(drives: ArrayLike<number>, responses: ArrayLike<number>, epoch?: number): number {
    const s = this.shape, ci = s.inChannels, co = s.outChannels;
    const t = segmentLength(s, drives, responses);
    if (epoch === undefined || epoch !== this.epoch) {
      this.tailRows = 0;
      this.segmentSteps = 0;
    }
    this.epoch = epoch;
    // The steps this call can see: the kept tail, then the new ones.
    const c = this.tailRows;
    const d = new Float32Array((c + t) * ci), y = new Float32Array((c + t) * co);
    d.set(this.tailDrives.subarray(0, c * ci));
    y.set(this.tailResponses.subarray(0, c * co));
    for (let i = 0; i < t * ci; i++) d[c * ci + i] = drives[i];
    for (let i = 0; i < t * co; i++) y[c * co + i] = responses[i];
    const lag = warmup(s), start = this.segmentSteps - c;   // segment position of row 0 of d and y
    let added = 0;
    const row = newStore(1, this.len);
    for (let i = c; i < c + t; i++) {
      if (start + i < lag) continue;
      writeExample(s, d, y, i, row.drives, row.history, row.targets, 0);
      this.push(row);
      added++;
    }
    this.segmentSteps += t;
    this.tailRows = Math.min(lag, c + t);
    this.tailDrives.set(d.subarray((c + t - this.tailRows) * ci, (c + t) * ci));
    this.tailResponses.set(y.subarray((c + t - this.tailRows) * co, (c + t) * co));
    return added;
  }

  /**
   * Up to k distinct held examples (min(k, size)), uniformly without replacement over the
   * recent and reservoir stores together.
   */
  sample(k: number, rng: Rng): Examples {
    const total = this.size;
    const n = Math.max(0, Math.min(Math.floor(k), total));
    const idx = new Int32Array(total).map((_, i) => i);
    for (let i = 0; i < n; i++) {
      const j = i + rng.int(total - i);
      const tmp = idx[i]; idx[i] = idx[j]; idx[j] = tmp;
    }
    return this.gather(idx.subarray(0, n));
  }

  /** The min(k, N held) newest examples, oldest first. */
  newest(k: number): Examples {
    const n = Math.max(0, Math.min(Math.floor(k), this.recentCount));
    const cap = this.recentCapacity;
    const idx = new Int32Array(n).map((_, i) => (this.recentHead - n + i + cap) % cap);
    return this.gather(idx);
  }

  private push(row: Store): void {
    if (this.recentCapacity > 0) {
      copyRow(row, 0, this.recent, this.recentHead, this.len);
      this.recentHead = (this.recentHead + 1) % this.recentCapacity;
      this.recentCount = Math.min(this.recentCount + 1, this.recentCapacity);
    }
    // Algorithm R: the i-th example (0-based) replaces a uniform slot j < M with probability M/(i+1).
    const i = this.seenCount++;
    if (i < this.reservoirCapacity) copyRow(row, 0, this.reservoir, i, this.len);
    else if (this.reservoirCapacity > 0) {
      const j = this.rng.int(i + 1);
      if (j < this.reservoirCapacity) copyRow(row, 0, this.reservoir, j, this.len);
    }
  }

  /** Examples at combined indices: [0, recentCount) recent slots, then reservoir slots. */
  private gather(indices: Int32Array): Examples {
    const out = newStore(indices.length, this.len);
    indices.forEach((g, o) => {
      if (g < this.recentCount) copyRow(this.recent, g, out, o, this.len);
      else copyRow(this.reservoir, g - this.recentCount, out, o, this.len);
    });
    return { count: indices.length, ...out };
  }
}

interface Store {
  drives: Float32Array;
  history: Float32Array;
  targets: Float32Array;
}

function newStore(rows: number, len: { drives: number; history: number; targets: number }): Store {
  return { drives: new Float32Array(rows * len.drives), history: new Float32Array(rows * len.history), targets: new Float32Array(rows * len.targets) };
}

function copyRow(src: Store, i: number, dst: Store, j: number, len: { drives: number; history: number; targets: number }): void {
  for (const k of ['drives', 'history', 'targets'] as const) {
    const n = len[k];
    if (n > 0) dst[k].set(src[k].subarray(i * n, (i + 1) * n), j * n);
  }
}
