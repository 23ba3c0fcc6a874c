/**
 * The bookkeeping of continuous refitting, used by the one refit scheduler (lagged-refit.ts).
 * Per observed segment (one contiguous measurement, one state epoch):
 * 1. newest-pairs NMSE: the surrogate's error on every example of the segment, measured BEFORE
 *    any refit has seen them (undefined until the first fit has finished);
 * 2. the last `holdOut` fraction of the segment's steps is kept out of the replay buffer: its
 *    examples go to a held-out ring (the newest `heldOutSize`), the rest to the buffer;
 * 3. drift alarm: newest NMSE > `driftFactor` x baseline, the baseline being an exponential moving
 *    average (weight `baselineAlpha`) of the held-out NMSE measured right after every refit;
 * 4. a refit is called for after the first segment (`firstEpochs`), every `every` new buffered
 *    pairs (`epochs`), and at once on a drift alarm; it takes its sample from the buffer when it starts.
 *
 * Steps 1-4 are {@link RefitCore}'s. The fit itself is {@link fitJSONInSlices}: Adam for about
 * `sliceMs` at a time, yielding to the event loop in between so device I/O keeps flowing. The math
 * does not depend on where it yields (one Adam state across slices), so the fitted weights are the
 * same for the same data and seeds whatever the timing.
 */
import { Rng, checkSeed } from '../core/rng.js';
import { checkInt, checkNumber } from '../core/validate.js';
import { NarxAdam, adamEpochs } from './adam-step.js';
import { NarxSurrogate } from './narx.js';
import { type RefittableSurrogate, type SurrogateJSON, isTransmissionJSON } from './saved.js';
import { TransmissionSurrogate } from './transmission.js';
import type { ReplayBuffer } from './replay.js';
import { cutWindows, rowLengths, segmentLength, warmup, type Examples, type WindowShape } from './windows.js';

/** One contiguous measured segment: drives [T * inChannels], responses [T * outChannels]. */
export interface ObservedSegment {
  drives: ArrayLike<number>;
  responses: ArrayLike<number>;
  /** The device's state epoch of the segment. */
  epoch: number;
}

/** A refit that finished, or a drift alarm. */
export interface RefitEvent {
  kind: 'refit' | 'drift';
  /** Examples (pairs with a full window) observed so far, held-out ones included. */
  pairsSeen: number;
  /** refit: the held-out NMSE right after it; drift: the baseline (EMA) it was compared with. */
  heldOutNmse: number | undefined;
  /** The newest segment's NMSE before it was refitted (undefined before the first fit). */
  newestNmse: number | undefined;
  /** refit: 'first', 'every' or 'drift' (what started it); drift: the comparison, in words. */
  reason: string;
  /** Refits finished so far (this one included). */
  refits: number;
  /** Drift alarms so far (this one included). */
  driftAlarms: number;
}

/** Options of the refit scheduler (lagged-refit.ts LaggedRefitter). */
export interface RefitOptions {
  /** Refit every this many new buffered pairs. Defaults to 1024. */
  every?: number;
  /** Drift alarm when the newest NMSE exceeds this times the held-out baseline. Defaults to 2. */
  driftFactor?: number;
  /** Weight of the newest post-fit held-out NMSE in the baseline EMA, in (0, 1]. Defaults to 0.3. */
  baselineAlpha?: number;
  /** Fraction of each segment's steps (its tail) held out of the buffer, in [0, 0.5]. Defaults to 0.1. */
  holdOut?: number;
  /** Newest held-out examples kept. Defaults to 256. */
  heldOutSize?: number;
  /** Fewest examples a segment needs for its NMSE to be measured. Defaults to 16. */
  minPairs?: number;
  /** Epochs of the first fit. Defaults to 40. */
  firstEpochs?: number;
  /** Epochs of every later refit. Defaults to 4. */
  epochs?: number;
  /** Examples sampled from the buffer per refit. Defaults to 2048. */
  examples?: number;
  /** Examples per Adam step. Defaults to 64. */
  batchSize?: number;
  /** Adam learning rate. Defaults to 3e-3. */
  learningRate?: number;
  /** Seed of the replay sampling and the shuffling. Defaults to 0. */
  seed?: number;
  /** Fit once, then never again (errors and drift alarms are still tracked). Defaults to false. */
  freeze?: boolean;
  /** Work per slice of a refit before yielding to the event loop, in ms. Defaults to 4. */
  sliceMs?: number;
  /** Called with every event. Defaults to none. */
  onEvent?: (event: RefitEvent) => void;
  /** Called when a refit fails (idle() rejects too). Defaults to none. */
  onError?: (error: unknown) => void;
}

/** What the refit scheduler's `observe` reports about one segment. */
export interface SegmentReport {
  /** Examples of the segment. */
  pairs: number;
  /** NMSE of the surrogate on them before any refit saw them; undefined before the first fit or below minPairs. */
  newestNmse: number | undefined;
  /** The held-out baseline (EMA) the newest NMSE was compared with. */
  baseline: number | undefined;
  /** Whether this segment raised the drift alarm. */
  drift: boolean;
}

/** A handle that stops {@link fitJSONInSlices} at its next slice and clears its pending immediate. */
export class SliceCancel {
  cancelled = false;
  private handle: NodeJS.Immediate | undefined;
  private wake: (() => void) | undefined;

  cancel(): void {
    this.cancelled = true;
    if (this.handle) clearImmediate(this.handle);
    this.handle = undefined;
    this.wake?.();
  }

  /** Resolves on the next turn of the event loop (at once when cancelled). */
  yield(): Promise<void> {
    return new Promise((resolve) => {
      if (this.cancelled) return resolve();
      this.wake = resolve;
      this.handle = setImmediate(() => { this.handle = undefined; resolve(); });
    });
  }
}

/** What a fit in slices takes besides the surrogate and the examples. */
export interface SliceFitOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  /** Work per slice before yielding to the event loop, in ms (Infinity: never yield). */
  sliceMs: number;
}

/**
 * A surrogate's fit on its JSON, in slices of about `sliceMs` between which it yields to the event
 * loop, giving the same weights as its fit: the fitted JSON, or undefined when cancelled. It holds
 * no tensor between slices (NARX) or only the fit's own (transmission, released when it ends).
 */
export async function fitJSONInSlices(start: SurrogateJSON, examples: Examples, opts: SliceFitOptions, cancel = new SliceCancel()): Promise<SurrogateJSON | undefined> {
  if (examples.count < 1) throw new RangeError('fitJSONInSlices needs at least one example');
  if (isTransmissionJSON(start)) {
    const s = TransmissionSurrogate.fromJSON(start);
    try {
      const steps = s.fitSteps(examples, { epochs: opts.epochs, batchSize: opts.batchSize, learningRate: opts.learningRate, seed: opts.seed });
      const done = await sliced(steps, opts.sliceMs, cancel);
      return done && !cancel.cancelled ? s.toJSON() : undefined;
    } finally {
      s.dispose();
    }
  }
  let from = start;
  if (!start.normalized) {
    const s = NarxSurrogate.fromJSON(start);
    try {
      s.fit(examples, { epochs: 0 });
      from = s.toJSON();
    } finally {
      s.dispose();
    }
  }
  const adam = new NarxAdam(from, examples, opts.learningRate);
  const done = await sliced(adamEpochs(adam, examples.count, opts.epochs, opts.batchSize, opts.seed), opts.sliceMs, cancel);
  return done && !cancel.cancelled ? adam.toJSON(from) : undefined;
}

/** Runs a fit's steps, yielding to the event loop every `sliceMs`: false when cancelled (the steps are then returned early). */
async function sliced(steps: Generator<void, number>, sliceMs: number, cancel: SliceCancel): Promise<boolean> {
  let t = performance.now();
  for (let r = steps.next(); ; r = steps.next()) {
    if (r.done) return true;
    if (performance.now() - t > sliceMs) {
      await cancel.yield();
      t = performance.now();
    }
    if (cancel.cancelled) {
      steps.return(NaN);
      return false;
    }
  }
}

/** {@link RefitOptions} with every default filled in and checked. */
export type ResolvedRefitOptions = Required<Omit<RefitOptions, 'onEvent' | 'onError'>> & Pick<RefitOptions, 'onEvent' | 'onError'>;

/** Checks `opts` and fills in the defaults; throws RangeError naming the first bad option. */
export function resolveRefitOptions(opts: RefitOptions): ResolvedRefitOptions {
  const num = (v: number | undefined, d: number, name: string, lo: number, hi: number): number => checkNumber(v ?? d, name, { min: lo, max: hi });
  const int = (v: number | undefined, d: number, name: string, lo: number, hi: number): number => checkInt(v ?? d, name, lo, hi);
  return {
    every: int(opts.every, 1024, 'every', 1, 2 ** 30),
    driftFactor: num(opts.driftFactor, 2, 'driftFactor', 1, 1e9),
    baselineAlpha: num(opts.baselineAlpha, 0.3, 'baselineAlpha', 1e-6, 1),
    holdOut: num(opts.holdOut, 0.1, 'holdOut', 0, 0.5),
    heldOutSize: int(opts.heldOutSize, 256, 'heldOutSize', 0, 2 ** 24),
    minPairs: int(opts.minPairs, 16, 'minPairs', 2, 2 ** 30),
    firstEpochs: int(opts.firstEpochs, 40, 'firstEpochs', 1, 1e6),
    epochs: int(opts.epochs, 4, 'epochs', 1, 1e6),
    examples: int(opts.examples, 2048, 'examples', 1, 2 ** 24),
    batchSize: int(opts.batchSize, 64, 'batchSize', 1, 2 ** 20),
    learningRate: num(opts.learningRate, 3e-3, 'learningRate', 1e-12, 10),
    seed: checkSeed(opts.seed ?? 0),
    freeze: opts.freeze ?? false,
    sliceMs: num(opts.sliceMs, 4, 'sliceMs', 0, 1e6),
    onEvent: opts.onEvent,
    onError: opts.onError,
  };
}

/** One refit to run: what {@link fitJSONInSlices} needs besides the surrogate. */
export interface RefitJob {
  examples: Examples;
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  sliceMs: number;
  /** What started it: 'first', 'every' or 'drift'. */
  reason: string;
}

/** What {@link RefitCore.take} made of a segment, and the refit it asks for, if any. */
export interface TakenSegment extends SegmentReport {
  trigger: 'first' | 'drift' | 'every' | undefined;
}

/**
 * The bookkeeping both refitters share (module comment, steps 1-4): the held-out ring, the
 * baseline, the drift alarm, the refit triggers, the replay sampling and the counts. It never
 * fits; its owner runs the jobs it hands out and reports them back with {@link finished}.
 */
export class RefitCore {
  readonly shape: WindowShape;
  private readonly sampling: Rng;
  private readonly heldOut: HeldOutRing;
  private sinceRefit = 0;
  private seen = 0;
  private started = 0;
  private done = 0;
  private alarms = 0;
  private ema: number | undefined;
  private lastHeldOut: number | undefined;
  private lastNewest: number | undefined;

  /** @param fitted whether the surrogate is fitted already (its first refit then runs `epochs`, not `firstEpochs`) */
  constructor(readonly o: ResolvedRefitOptions, surrogate: RefittableSurrogate, readonly buffer: ReplayBuffer, public fitted = false) {
    const s = surrogate.shape, b = buffer.shape;
    if (s.inChannels !== b.inChannels || s.outChannels !== b.outChannels || s.window !== b.window || s.responseLags !== b.responseLags) {
      throw new RangeError('surrogate and replay buffer must have the same window shape');
    }
    this.shape = s;
    this.heldOut = new HeldOutRing(s, o.heldOutSize);
    this.sampling = new Rng(o.seed).fork('refit-sample');
  }

  get stats(): { refits: number; driftAlarms: number; pairsSeen: number; heldOutNmse: number | undefined; baseline: number | undefined; fitted: boolean } {
    return { refits: this.done, driftAlarms: this.alarms, pairsSeen: this.seen, heldOutNmse: this.lastHeldOut, baseline: this.ema, fitted: this.fitted };
  }

  /** Refits handed out so far. */
  get jobs(): number {
    return this.started;
  }

  /**
   * Steps 1-3 for one segment, the newest NMSE measured with `surrogate` (skipped while nothing is
   * fitted), and the refit the segment calls for (step 4).
   */
  take(seg: ObservedSegment, surrogate: RefittableSurrogate): TakenSegment {
    const s = this.shape, t = segmentLength(s, seg.drives, seg.responses);
    const all = cutWindows(s, seg.drives, seg.responses);
    const newest = this.fitted && all.count >= this.o.minPairs ? surrogate.evaluate(all) : undefined;
    // The tail is held out: buffer steps [0, t - h), held-out examples of steps >= t - h.
    const h = Math.floor(t * this.o.holdOut), keep = t - h;
    const added = keep > 0 ? this.buffer.add(sub(seg.drives, 0, keep * s.inChannels), sub(seg.responses, 0, keep * s.outChannels), seg.epoch) : 0;
    const firstHeld = Math.max(0, keep - warmup(s));
    if (all.count > firstHeld) this.heldOut.hold(slice(all, firstHeld, all.count, rowLengths(s)));
    this.seen += all.count;
    this.sinceRefit += added;
    this.lastNewest = newest;
    const baseline = this.ema;
    const drift = newest !== undefined && baseline !== undefined && newest > this.o.driftFactor * baseline;
    if (drift) {
      this.alarms++;
      this.emit('drift', baseline, `newest NMSE ${fmt(newest)} > ${this.o.driftFactor} x held-out baseline ${fmt(baseline)}`);
    }
    let trigger: TakenSegment['trigger'];
    const canRefit = !this.o.freeze || this.started === 0;
    if (canRefit && this.buffer.size > 0) {
      if (this.started === 0 && added > 0) trigger = 'first';
      else if (drift) trigger = 'drift';
      else if (this.sinceRefit >= this.o.every) trigger = 'every';
    }
    return { pairs: all.count, newestNmse: newest, baseline, drift, trigger };
  }

  /** Hands out the next refit: its replay sample is drawn now, so it holds every pair taken so far. */
  job(reason: string): RefitJob {
    this.sinceRefit = 0;
    const examples = this.buffer.sample(this.o.examples, this.sampling);
    return {
      examples, epochs: this.fitted ? this.o.epochs : this.o.firstEpochs, batchSize: this.o.batchSize, learningRate: this.o.learningRate,
      seed: (this.o.seed + this.started++) >>> 0, sliceMs: this.o.sliceMs, reason,
    };
  }

  /** A job's fitted surrogate is in use from now on: held-out NMSE, baseline, counts, the 'refit' event. */
  finished(surrogate: RefittableSurrogate, reason: string): void {
    this.fitted = true;
    this.done++;
    const held = this.heldOut.examples();
    this.lastHeldOut = held.count >= this.o.minPairs ? surrogate.evaluate(held) : undefined;
    if (this.lastHeldOut !== undefined && Number.isFinite(this.lastHeldOut)) {
      this.ema = this.ema === undefined ? this.lastHeldOut : (1 - this.o.baselineAlpha) * this.ema + this.o.baselineAlpha * this.lastHeldOut;
    }
    this.emit('refit', this.lastHeldOut, reason);
  }

  private emit(kind: RefitEvent['kind'], heldOutNmse: number | undefined, reason: string): void {
    this.o.onEvent?.({ kind, pairsSeen: this.seen, heldOutNmse, newestNmse: this.lastNewest, reason, refits: this.done, driftAlarms: this.alarms });
  }
}

/** The newest `size` held-out examples, kept as the segments' tails they came in. */
class HeldOutRing {
  private parts: Examples[] = [];
  private count = 0;

  constructor(private readonly shape: WindowShape, private readonly size: number) {}

  hold(ex: Examples): void {
    if (this.size === 0) return;
    this.parts.push(ex);
    this.count += ex.count;
    while (this.parts.length > 1 && this.count - this.parts[0].count >= this.size) this.count -= this.parts.shift()!.count;
  }

  examples(): Examples {
    const len = rowLengths(this.shape), all = concat(this.parts, len);
    return slice(all, Math.max(0, all.count - this.size), all.count, len);
  }
}


// ---- helpers ----------------------------------------------------------------------------------

function sub(a: ArrayLike<number>, from: number, to: number): ArrayLike<number> {
  return ArrayBuffer.isView(a) ? (a as unknown as Float32Array).subarray(from, to) : Array.prototype.slice.call(a, from, to) as number[];
}

function slice(ex: Examples, from: number, to: number, len: { drives: number; history: number; targets: number }): Examples {
  return { count: to - from, drives: ex.drives.slice(from * len.drives, to * len.drives), history: ex.history.slice(from * len.history, to * len.history), targets: ex.targets.slice(from * len.targets, to * len.targets) };
}

function concat(parts: Examples[], len: { drives: number; history: number; targets: number }): Examples {
  const count = parts.reduce((s, p) => s + p.count, 0);
  const out = { count, drives: new Float32Array(count * len.drives), history: new Float32Array(count * len.history), targets: new Float32Array(count * len.targets) };
  let o = 0;
  for (const p of parts) {
    for (const k of ['drives', 'history', 'targets'] as const) out[k].set(p[k], o * len[k]);
    o += p.count;
  }
  return out;
}

function fmt(x: number): string {
  return x.toPrecision(3);
}
