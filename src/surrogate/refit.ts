/**
 * Continuous refitting of a surrogate on the device's observed segments, with a drift alarm.
 *
 * Per observed segment (one contiguous measurement, one state epoch):
 * 1. newest-pairs NMSE: the surrogate's error on every example of the segment, measured BEFORE
 *    any refit has seen them (undefined until the first fit has finished);
 * 2. the last `holdOut` fraction of the segment's steps is kept out of the replay buffer: its
 *    examples go to a held-out ring (the newest `heldOutSize`), the rest to the buffer;
 * 3. drift alarm: newest NMSE > `driftFactor` x baseline, the baseline being an exponential moving
 *    average (weight `baselineAlpha`) of the held-out NMSE measured right after every refit;
 * 4. a refit starts after the first segment (`firstEpochs`), every `every` new buffered pairs
 *    (`epochs`), and at once on a drift alarm. A trigger while a refit runs leaves one pending
 *    refit (triggers coalesce); a refit takes its sample from the buffer when it starts.
 *
 * Refits never block the caller: {@link fitInSlices} runs Adam for about `sliceMs` at a time and
 * yields to the event loop (setImmediate) in between, so device I/O keeps flowing. The math does
 * not depend on where it yields (one Adam optimiser across slices), so the fitted weights are the
 * same for the same data and seeds whatever the timing. `cancel()` drops the pending refit, stops
 * the running one at its next slice and clears its immediate.
 *
 * ```ts
 * segments$.pipe(continuousRefit(surrogate, buffer, { every: 1024 })).subscribe((ev) => {
 *   if (ev.kind === 'drift') console.warn(`drift: ${ev.reason}`);
 *   else console.log(`refit ${ev.refits}: held-out NMSE ${ev.heldOutNmse}`);
 * });
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import { Observable, type OperatorFunction } from 'rxjs';
import { Rng, checkSeed } from '../sim/rng.js';
import type { NarxSurrogate } from './narx.js';
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

/** Options of {@link ContinuousRefitter} and {@link continuousRefit}. */
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

/** What {@link ContinuousRefitter.observe} reports about one segment. */
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

/** A handle that stops {@link fitInSlices} at its next slice and clears its pending immediate. */
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

/**
 * Adam on the surrogate's normalised-output MSE (the loss of NarxSurrogate.fit), in slices of
 * about `sliceMs` between which it yields to the event loop. The first fit of a surrogate sets
 * its normalisation from `examples` first (NarxSurrogate.fit with 0 epochs).
 * @returns the mean loss of the last epoch; NaN when cancelled or epochs = 0
 */
export async function fitInSlices(
  surrogate: NarxSurrogate, examples: Examples,
  opts: { epochs: number; batchSize: number; learningRate: number; seed: number; sliceMs: number }, cancel = new SliceCancel(),
): Promise<number> {
  if (examples.count < 1) throw new RangeError('fitInSlices needs at least one example');
  surrogate.fit(examples, { epochs: 0 });   // sets the normalisation on the first fit only; checks the shapes
  const { yStd } = surrogate.toJSON();
  const weight = tf.tensor1d(yStd.map((s) => 1 / (s * s)));
  const optimizer: tf.Optimizer = tf.train.adam(opts.learningRate);
  const rng = new Rng(checkSeed(opts.seed)).fork('shuffle');
  const n = examples.count, order = new Int32Array(n).map((_, i) => i);
  const len = rowLengths(surrogate.shape), vars = surrogate.variables;
  let last = NaN, t = performance.now();
  try {
    for (let e = 0; e < opts.epochs; e++) {
      for (let i = n - 1; i > 0; i--) { const j = rng.int(i + 1); const x = order[i]; order[i] = order[j]; order[j] = x; }
      let sum = 0;
      for (let s = 0; s < n; s += opts.batchSize) {
        if (performance.now() - t > opts.sliceMs) { await cancel.yield(); t = performance.now(); }
        if (cancel.cancelled) return NaN;
        const batch = rows(examples, order.subarray(s, Math.min(n, s + opts.batchSize)), len);
        const loss = tf.tidy(() => {
          const y = tf.tensor2d(batch.targets, [batch.count, len.targets]);
          const { value, grads } = tf.variableGrads(
            () => tf.mean(tf.mul(tf.squaredDifference(surrogate.predictExamples(batch), y), weight)) as tf.Scalar, vars);
          optimizer.applyGradients(grads);
          return value;
        });
        sum += loss.dataSync()[0] * batch.count;
        loss.dispose();
      }
      last = sum / n;
    }
    return last;
  } finally {
    optimizer.dispose();
    weight.dispose();
  }
}

/**
 * The state machine behind {@link continuousRefit}: see the module comment. `observe` is
 * synchronous and cheap (one prediction over the segment); refits run in the background.
 */
export class ContinuousRefitter {
  private readonly o: Required<Omit<RefitOptions, 'onEvent' | 'onError'>> & Pick<RefitOptions, 'onEvent' | 'onError'>;
  private readonly shape: WindowShape;
  private readonly sampling: Rng;
  private heldOut: Examples[] = [];
  private heldOutCount = 0;
  private sinceRefit = 0;
  private seen = 0;
  private fitted = false;
  private started = 0;
  private done = 0;
  private alarms = 0;
  private ema: number | undefined;
  private lastHeldOut: number | undefined;
  private lastNewest: number | undefined;
  private running: SliceCancel | undefined;
  private pending: string | undefined;
  private failure: unknown;
  private waiters: { resolve(): void; reject(e: unknown): void }[] = [];
  private stopped = false;

  constructor(readonly surrogate: NarxSurrogate, readonly buffer: ReplayBuffer, opts: RefitOptions = {}) {
    const num = (v: number | undefined, d: number, name: string, lo: number, hi: number, integer = false): number => {
      const x = v ?? d;
      if (!(x >= lo && x <= hi) || (integer && !Number.isInteger(x))) throw new RangeError(`${name} must be ${integer ? 'an integer' : 'a number'} in [${lo}, ${hi}], got ${String(v)}`);
      return x;
    };
    this.o = {
      every: num(opts.every, 1024, 'every', 1, 2 ** 30, true),
      driftFactor: num(opts.driftFactor, 2, 'driftFactor', 1, 1e9),
      baselineAlpha: num(opts.baselineAlpha, 0.3, 'baselineAlpha', 1e-6, 1),
      holdOut: num(opts.holdOut, 0.1, 'holdOut', 0, 0.5),
      heldOutSize: num(opts.heldOutSize, 256, 'heldOutSize', 0, 2 ** 24, true),
      minPairs: num(opts.minPairs, 16, 'minPairs', 2, 2 ** 30, true),
      firstEpochs: num(opts.firstEpochs, 40, 'firstEpochs', 1, 1e6, true),
      epochs: num(opts.epochs, 4, 'epochs', 1, 1e6, true),
      examples: num(opts.examples, 2048, 'examples', 1, 2 ** 24, true),
      batchSize: num(opts.batchSize, 64, 'batchSize', 1, 2 ** 20, true),
      learningRate: num(opts.learningRate, 3e-3, 'learningRate', 1e-12, 10),
      seed: checkSeed(opts.seed ?? 0),
      freeze: opts.freeze ?? false,
      sliceMs: num(opts.sliceMs, 4, 'sliceMs', 0, 1e6),
      onEvent: opts.onEvent,
      onError: opts.onError,
    };
    const s = surrogate.shape, b = buffer.shape;
    if (s.inChannels !== b.inChannels || s.outChannels !== b.outChannels || s.window !== b.window || s.responseLags !== b.responseLags) {
      throw new RangeError('surrogate and replay buffer must have the same window shape');
    }
    this.shape = s;
    this.sampling = new Rng(this.o.seed).fork('refit-sample');
  }

  /** Refits finished, drift alarms raised, pairs seen, and the last post-fit held-out NMSE. */
  get stats(): { refits: number; driftAlarms: number; pairsSeen: number; heldOutNmse: number | undefined; baseline: number | undefined; fitted: boolean } {
    return { refits: this.done, driftAlarms: this.alarms, pairsSeen: this.seen, heldOutNmse: this.lastHeldOut, baseline: this.ema, fitted: this.fitted };
  }

  /** Whether a refit is running now. */
  get refitting(): boolean {
    return this.running !== undefined;
  }

  /** Takes one segment: measures the newest-pairs NMSE, buffers it, checks for drift, maybe starts a refit. */
  observe(seg: ObservedSegment): SegmentReport {
    if (this.stopped) throw new Error('ContinuousRefitter is cancelled');
    if (this.failure !== undefined) throw this.failure;
    const s = this.shape, t = segmentLength(s, seg.drives, seg.responses);
    const all = cutWindows(s, seg.drives, seg.responses);
    const newest = this.fitted && all.count >= this.o.minPairs ? this.surrogate.evaluate(all) : undefined;
    // The tail is held out: buffer steps [0, t - h), held-out examples of steps >= t - h.
    const h = Math.floor(t * this.o.holdOut), keep = t - h;
    const added = keep > 0 ? this.buffer.add(sub(seg.drives, 0, keep * s.inChannels), sub(seg.responses, 0, keep * s.outChannels), seg.epoch) : 0;
    const firstHeld = Math.max(0, keep - warmup(s));
    if (all.count > firstHeld && this.o.heldOutSize > 0) this.hold(slice(all, firstHeld, all.count, rowLengths(s)));
    this.seen += all.count;
    this.sinceRefit += added;
    this.lastNewest = newest;
    const baseline = this.ema;
    const drift = newest !== undefined && baseline !== undefined && newest > this.o.driftFactor * baseline;
    if (drift) {
      this.alarms++;
      this.emit('drift', baseline, `newest NMSE ${fmt(newest)} > ${this.o.driftFactor} x held-out baseline ${fmt(baseline)}`);
    }
    const canRefit = !this.o.freeze || this.started === 0;
    if (canRefit && this.buffer.size > 0) {
      if (this.started === 0 && added > 0) this.trigger('first');
      else if (drift) this.trigger('drift');
      else if (this.sinceRefit >= this.o.every) this.trigger('every');
    }
    return { pairs: all.count, newestNmse: newest, baseline, drift };
  }

  /** Resolves when no refit is running or pending; rejects with a refit's error. */
  idle(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.running === undefined || this.stopped) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Drops the pending refit, stops the running one, and resolves idle(); observe() throws afterwards. */
  cancel(): void {
    this.stopped = true;
    this.pending = undefined;
    this.running?.cancel();
    this.running = undefined;
    this.settle();
  }

  private trigger(reason: string): void {
    if (this.running) this.pending = this.pending === 'drift' ? 'drift' : reason;
    else this.start(reason);
  }

  private start(reason: string): void {
    const cancel = new SliceCancel();
    this.running = cancel;
    this.sinceRefit = 0;
    const sample = this.buffer.sample(this.o.examples, this.sampling);
    const first = !this.fitted;
    const opts = { epochs: first ? this.o.firstEpochs : this.o.epochs, batchSize: this.o.batchSize, learningRate: this.o.learningRate, seed: (this.o.seed + this.started++) >>> 0, sliceMs: this.o.sliceMs };
    fitInSlices(this.surrogate, sample, opts, cancel).then(() => {
      if (cancel.cancelled) return;
      this.running = undefined;
      this.fitted = true;
      this.done++;
      const held = this.heldOutExamples();
      this.lastHeldOut = held.count >= this.o.minPairs ? this.surrogate.evaluate(held) : undefined;
      if (this.lastHeldOut !== undefined && Number.isFinite(this.lastHeldOut)) {
        this.ema = this.ema === undefined ? this.lastHeldOut : (1 - this.o.baselineAlpha) * this.ema + this.o.baselineAlpha * this.lastHeldOut;
      }
      this.emit('refit', this.lastHeldOut, reason);
      const next = this.pending;
      this.pending = undefined;
      if (next !== undefined && !this.stopped && (!this.o.freeze)) this.start(next);
      else this.settle();
    }).catch((e: unknown) => {
      this.running = undefined;
      this.failure = e;
      this.o.onError?.(e);
      this.settle();
    });
  }

  private settle(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const x of w) this.failure !== undefined ? x.reject(this.failure) : x.resolve();
  }

  private emit(kind: RefitEvent['kind'], heldOutNmse: number | undefined, reason: string): void {
    this.o.onEvent?.({ kind, pairsSeen: this.seen, heldOutNmse, newestNmse: this.lastNewest, reason, refits: this.done, driftAlarms: this.alarms });
  }

  private hold(ex: Examples): void {
    this.heldOut.push(ex);
    this.heldOutCount += ex.count;
    while (this.heldOut.length > 1 && this.heldOutCount - this.heldOut[0].count >= this.o.heldOutSize) this.heldOutCount -= this.heldOut.shift()!.count;
  }

  /** The newest heldOutSize held-out examples. */
  private heldOutExamples(): Examples {
    const len = rowLengths(this.shape), all = concat(this.heldOut, len);
    return slice(all, Math.max(0, all.count - this.o.heldOutSize), all.count, len);
  }
}

/**
 * Observes measured segments, refits the surrogate in the background every `every` new pairs or
 * on a drift alarm, and emits refit and drift events (see the module comment). Completes when
 * the source has completed and the last refit has finished; unsubscribing cancels the refit.
 *
 * @example
 * from(segments).pipe(continuousRefit(surrogate, buffer, { every: 512, driftFactor: 2 })).subscribe((ev) => log(ev));
 *
 * @param surrogate the surrogate refitted in place
 * @param buffer the replay buffer the segments are added to (same window shape)
 * @param opts see {@link RefitOptions}; `onEvent` and `onError` are the subscriber's
 */
export function continuousRefit(surrogate: NarxSurrogate, buffer: ReplayBuffer, opts: Omit<RefitOptions, 'onEvent' | 'onError'> = {}): OperatorFunction<ObservedSegment, RefitEvent> {
  return (source) => new Observable<RefitEvent>((subscriber) => {
    const refitter = new ContinuousRefitter(surrogate, buffer, { ...opts, onEvent: (e) => subscriber.next(e), onError: (e) => subscriber.error(e) });
    const sub = source.subscribe({
      next: (seg) => { try { refitter.observe(seg); } catch (e) { subscriber.error(e); } },
      error: (e: unknown) => subscriber.error(e),
      complete: () => { refitter.idle().then(() => subscriber.complete(), (e: unknown) => subscriber.error(e)); },
    });
    return () => { sub.unsubscribe(); refitter.cancel(); };
  });
}

// ---- helpers ----------------------------------------------------------------------------------

function sub(a: ArrayLike<number>, from: number, to: number): ArrayLike<number> {
  return ArrayBuffer.isView(a) ? (a as unknown as Float32Array).subarray(from, to) : Array.prototype.slice.call(a, from, to) as number[];
}

function slice(ex: Examples, from: number, to: number, len: { drives: number; history: number; targets: number }): Examples {
  return { count: to - from, drives: ex.drives.slice(from * len.drives, to * len.drives), history: ex.history.slice(from * len.history, to * len.history), targets: ex.targets.slice(from * len.targets, to * len.targets) };
}

function rows(ex: Examples, idx: Int32Array, len: { drives: number; history: number; targets: number }): Examples {
  const out = { count: idx.length, drives: new Float32Array(idx.length * len.drives), history: new Float32Array(idx.length * len.history), targets: new Float32Array(idx.length * len.targets) };
  idx.forEach((g, o) => {
    for (const k of ['drives', 'history', 'targets'] as const) if (len[k] > 0) out[k].set(ex[k].subarray(g * len[k], (g + 1) * len[k]), o * len[k]);
  });
  return out;
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
