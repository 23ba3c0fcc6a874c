/**
 * The one refit scheduler, for training with the device in the loop (lag 0 or 1): the surrogate in use is always the
 * result of a refit that the previous segment started, so a refit can run while the device
 * measures the next segment and the host steps on the current one, yet which surrogate is in use
 * never depends on how long a refit took.
 *
 * Per segment, {@link LaggedRefitter.observe}:
 * 1. waits for the refit the previous observe started (if any) and puts its surrogate in use
 *    ("publishes" it): held-out NMSE, baseline, `refits` count and 'refit' event happen here;
 * 2. takes the segment (refit.ts RefitCore, steps 1-3): newest-pairs
 *    NMSE with the surrogate now in use, held-out tail, drift alarm;
 * 3. starts the refit the segment calls for (the first fit, every `every` buffered pairs, a drift
 *    alarm), from the weights now in use, on a replay sample drawn now.
 * So after observe(segment e) the surrogate in use was fitted on the pairs up to segment e-1, and
 * at most one refit runs at a time (no triggers to coalesce). With `publishWhenDue` step 1 moves
 * to just before step 3 and happens only when a refit is due: the surrogate in use is then the one
 * the previous refit point started, and a refit has until the next point to run. A surrogate that
 * was fitted already (a checkpoint) is in use from the start and its first refit runs `epochs`,
 * not `firstEpochs`.
 *
 * Where refits run: on this thread by default, in slices that yield to the event loop (refit.ts
 * fitJSONInSlices); with `worker: true` in a worker thread (refit-worker.ts, its own tfjs on this
 * thread's backend), so this thread only samples, posts and publishes, except while the worker
 * is still loading tfjs (half a second of CPU: usually the first fit), when it cannot start or
 * load tfjs, and after it died (its unanswered refits are rerun here). Both run fitJSONInSlices from the same
 * weights on the same backend, so they give the same weights: where a refit ran, and when, does
 * not change the numbers. `close()` terminates the worker, stops a refit running here and
 * disposes the surrogate in use (the refitter owns it, and every one it publishes).
 *
 * ```ts
 * const refitter = new LaggedRefitter(surrogate, buffer, { every: 400 });
 * try {
 *   for (const seg of segments) {
 *     const report = await refitter.observe(seg);   // refitter.surrogate: fitted up to the previous segment
 *     if (refitter.fitted) step(refitter.surrogate);
 *   }
 * } finally {
 *   await refitter.close();
 * }
 * ```
 */
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import type { NarxJSON } from './narx.js';
import { type RefittableSurrogate, type SurrogateJSON, isTransmissionJSON, surrogateFromJSON } from './saved.js';
import type { ReplayBuffer } from './replay.js';
import { RefitCore, SliceCancel, fitJSONInSlices, resolveRefitOptions, type ObservedSegment, type RefitJob, type RefitOptions, type SegmentReport } from './refit.js';
import type { Examples } from './windows.js';

/** Options of {@link LaggedRefitter}: those of {@link RefitOptions} (`onError` is unused: observe rejects) and where to fit. */
export interface LaggedRefitOptions extends Omit<RefitOptions, 'onError'> {
  /** Refit in a worker thread. Defaults to false: on this thread, in slices. */
  worker?: boolean;
  /**
   * Publish a running refit only when the next one is due (after `every` pairs or on a drift
   * alarm), not at the next observe: the surrogate in use is one refit stale and a refit may run
   * across every segment until then, so on a fast device it never holds up a step. The first fit
   * is published at the next observe (steps wait for a surrogate). Defaults to false.
   */
  publishWhenDue?: boolean;
  /** The worker's module. Defaults to refit-worker.js beside this module; tests point it elsewhere. */
  workerUrl?: URL;
}

/** A surrogate's normalisation and weights as transferable arrays (its architecture travels separately). */
export interface PackedWeights {
  normalized: boolean;
  xMean: Float32Array;
  xStd: Float32Array;
  yMean: Float32Array;
  yStd: Float32Array;
  layers: { w: Float32Array; b: Float32Array }[];
}

/** A message to the refit worker: one refit. */
export interface ToWorker {
  type: 'fit';
  id: number;
  start: SurrogateJSON;
  examples: Examples;
  opts: { epochs: number; batchSize: number; learningRate: number; seed: number };
}

/** A message from the refit worker. */
export type FromWorker =
  | { type: 'ready'; backend: string }
  | { type: 'failed'; message: string }
  | { type: 'done'; id: number; weights: PackedWeights }
  /** A transmission matrix comes back whole (structured clone): it is one matrix pair, not a stack of layers. */
  | { type: 'done'; id: number; json: SurrogateJSON }
  | { type: 'error'; id: number; name: string; message: string };

export function packWeights(j: NarxJSON): PackedWeights {
  const f = (a: number[]) => Float32Array.from(a);
  return { normalized: j.normalized, xMean: f(j.xMean), xStd: f(j.xStd), yMean: f(j.yMean), yStd: f(j.yStd), layers: j.layers.map((l) => ({ w: f(l.w), b: f(l.b) })) };
}

/** `start` (architecture) with the weights of `w`: what NarxSurrogate.fromJSON takes (float32 values are exact). */
export function unpackWeights(start: NarxJSON, w: PackedWeights): NarxJSON {
  const a = (x: Float32Array) => Array.from(x);
  return {
    ...start, normalized: w.normalized, xMean: a(w.xMean), xStd: a(w.xStd), yMean: a(w.yMean), yStd: a(w.yStd),
    layers: w.layers.map((l) => ({ w: a(l.w), b: a(l.b) })),
  };
}

const live = new Set<Worker>();

/** Refit workers started and not yet exited, in this process (tests check that none is left). */
export function liveRefitWorkers(): number {
  return live.size;
}

/** The reason refits a refitter had handed out did not finish: it was closed. */
export class RefitterClosed extends Error {
  constructor() {
    super('LaggedRefitter is closed');
    this.name = 'RefitterClosed';
  }
}

export class LaggedRefitter {
  private readonly core: RefitCore;
  private readonly engine: Engine;
  private current: RefittableSurrogate;
  private running: { reason: string; result: Promise<SurrogateJSON> } | undefined;
  private busy = false;
  private closed = false;
  private readonly publishWhenDue: boolean;
  private failure: unknown;

  /** Takes ownership of `surrogate` (the first one in use). */
  constructor(surrogate: RefittableSurrogate, readonly buffer: ReplayBuffer, opts: LaggedRefitOptions = {}) {
    const o = resolveRefitOptions(opts);
    this.core = new RefitCore(o, surrogate, buffer, surrogate.toJSON().normalized);
    this.current = surrogate;
    this.publishWhenDue = opts.publishWhenDue ?? false;
    this.engine = opts.worker ? new WorkerEngine(opts.workerUrl ?? new URL('./refit-worker.js', import.meta.url), tf.getBackend()) : new MainEngine();
  }

  /** The surrogate in use: fitted on the pairs up to the segment before the last observed one. Owned by the refitter. */
  get surrogate(): RefittableSurrogate {
    return this.current;
  }

  /** Whether the surrogate in use is fitted (false until the first fit is published, unless it came fitted). */
  get fitted(): boolean {
    return this.core.fitted;
  }

  /** Refits published, drift alarms, pairs seen, the last post-refit held-out NMSE and the baseline. */
  get stats(): RefitCore['stats'] {
    return this.core.stats;
  }

  /**
   * Where refits run now: 'starting' (the worker is loading tfjs; refits run here meanwhile),
   * 'worker', or 'main' (asked for, or fallen back to: see {@link fallbackReason}).
   */
  get mode(): 'starting' | 'worker' | 'main' {
    return this.engine.mode;
  }

  /** Why refits run on this thread although a worker was asked for; undefined otherwise. */
  get fallbackReason(): string | undefined {
    return this.engine.fallbackReason;
  }

  /** Refits run in the worker and on this thread so far (a copy). */
  get ran(): { worker: number; main: number } {
    return { ...this.engine.ran };
  }

  /**
   * Publishes the running refit (waiting for it), then takes `seg` and starts the refit it calls
   * for. Rejects with a refit's error; one call at a time.
   */
  async observe(seg: ObservedSegment): Promise<SegmentReport> {
    this.enter();
    try {
      const later = this.publishWhenDue && this.core.fitted;
      if (!later) await this.publishRunning();
      this.live();
      const { trigger, ...report } = this.core.take(seg, this.current);
      if (trigger) {
        if (later) await this.publishRunning();
        this.start(trigger);
      }
      return report;
    } finally {
      this.busy = false;
    }
  }

  /** Waits for the running refit, if any, and publishes it (end of training: the surrogate fitted on every pair). */
  async settle(): Promise<void> {
    this.enter();
    try {
      await this.publishRunning();
    } finally {
      this.busy = false;
    }
  }

  /** Terminates the worker, stops a refit running here, disposes the surrogate in use; idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.running = undefined;
    try {
      await this.engine.close();
    } finally {
      this.current.dispose();
    }
  }

  private enter(): void {
    this.live();
    if (this.busy) throw new Error('LaggedRefitter: one observe or settle at a time');
    this.busy = true;
  }

  private live(): void {
    if (this.closed) throw new RefitterClosed();
    if (this.failure !== undefined) throw this.failure;
  }

  private async publishRunning(): Promise<void> {
    const run = this.running;
    if (!run) return;
    let json: SurrogateJSON;
    try {
      json = await run.result;
    } catch (e) {
      if (!this.closed) this.failure = e;
      throw e;
    }
    this.live();
    this.running = undefined;
    const next = surrogateFromJSON(json);
    this.current.dispose();
    this.current = next;
    this.core.finished(next, run.reason);
  }

  private start(reason: string): void {
    const job = this.core.job(reason);
    const result = this.engine.fit(this.current.toJSON(), job);
    result.catch(() => undefined);   // awaited by the next publish; never an unhandled rejection meanwhile
    this.running = { reason, result };
  }
}

/** Runs refits and answers with the fitted surrogate's JSON. */
interface Engine {
  readonly mode: 'starting' | 'worker' | 'main';
  readonly fallbackReason: string | undefined;
  /** Refits run in the worker and on this thread so far. */
  readonly ran: { worker: number; main: number };
  fit(start: SurrogateJSON, job: RefitJob): Promise<SurrogateJSON>;
  close(): Promise<void>;
}

/** Refits on this thread, in slices; no tensor is held between them. */
class MainEngine implements Engine {
  readonly mode = 'main';
  readonly fallbackReason = undefined;
  readonly ran = { worker: 0, main: 0 };
  private readonly cancel = new SliceCancel();
  private readonly running = new Set<Promise<unknown>>();

  fit(start: SurrogateJSON, job: RefitJob): Promise<SurrogateJSON> {
    if (this.cancel.cancelled) return Promise.reject(new RefitterClosed());
    this.ran.main++;
    const p = this.run(start, job);
    const settled = p.then(() => undefined, () => undefined);
    this.running.add(settled);
    void settled.then(() => this.running.delete(settled));
    return p;
  }

  /** Stops the refits at their next slice and resolves once they have released their tensors. */
  async close(): Promise<void> {
    this.cancel.cancel();
    await Promise.all(this.running);
  }

  private async run(start: SurrogateJSON, job: RefitJob): Promise<SurrogateJSON> {
    const fitted = await fitJSONInSlices(start, job.examples, job, this.cancel);
    if (!fitted) throw new RefitterClosed();
    return fitted;
  }
}

interface Posted {
  start: SurrogateJSON;
  job: RefitJob;
  resolve(j: SurrogateJSON): void;
  reject(e: unknown): void;
}

/**
 * Refits in a worker thread once it is up (until then, and from the first sign that it cannot do
 * them, on this thread: both give the same weights, so where a refit ran changes nothing).
 */
class WorkerEngine implements Engine {
  private worker: Worker | undefined;
  private ready = false;
  private failed: string | undefined;
  private readonly local = new MainEngine();
  private readonly posted = new Map<number, Posted>();
  private ids = 0;
  private closed = false;
  readonly ran = { worker: 0, main: 0 };

  constructor(url: URL, backend: string) {
    let w: Worker;
    try {
      w = new Worker(url, { workerData: { backend } });
    } catch (e) {
      this.fail(e);
      return;
    }
    this.worker = w;
    live.add(w);
    // Only an outstanding refit keeps the process alive (see post and receive).
    w.unref();
    w.on('message', (m: FromWorker) => this.receive(w, m));
    w.on('error', (e) => { if (this.worker === w) this.fail(e); });
    w.on('exit', (code) => {
      live.delete(w);
      if (this.worker === w) this.fail(new Error(`the refit worker exited with code ${code}`));
    });
  }

  get mode(): 'starting' | 'worker' | 'main' {
    return this.failed !== undefined ? 'main' : this.ready ? 'worker' : 'starting';
  }

  get fallbackReason(): string | undefined {
    return this.failed;
  }

  fit(start: SurrogateJSON, job: RefitJob): Promise<SurrogateJSON> {
    if (this.closed) return Promise.reject(new RefitterClosed());
    // The first fit is asked for while the worker may still be loading tfjs: this thread is idle then.
    if (!this.ready || !this.worker) return this.here(start, job);
    const w = this.worker, id = this.ids++;
    return new Promise((resolve, reject) => {
      this.posted.set(id, { start, job, resolve, reject });
      w.ref();
      // Cloned, not transferred: the job's sample stays here in case it has to be rerun here.
      const m: ToWorker = { type: 'fit', id, start, examples: job.examples, opts: { epochs: job.epochs, batchSize: job.batchSize, learningRate: job.learningRate, seed: job.seed } };
      w.postMessage(m);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = undefined;
    for (const p of this.posted.values()) p.reject(new RefitterClosed());
    this.posted.clear();
    await this.local.close();
    if (w) {
      await w.terminate();
      live.delete(w);
    }
  }

  private here(start: SurrogateJSON, job: RefitJob): Promise<SurrogateJSON> {
    this.ran.main++;
    return this.local.fit(start, job);
  }

  private receive(w: Worker, m: FromWorker): void {
    if (this.worker !== w) return;
    if (m.type === 'ready') {
      this.ready = true;
      return;
    }
    if (m.type === 'failed') return this.fail(new Error(m.message));
    const p = this.posted.get(m.id);
    if (!p) return;
    this.posted.delete(m.id);
    if (this.posted.size === 0) w.unref();
    this.ran.worker++;
    if (m.type === 'done') p.resolve('json' in m ? m.json : unpackWeights(p.start as NarxJSON, m.weights));
    else p.reject(Object.assign(new Error(m.message), { name: m.name }));
  }

  /** From now on refits run here; the ones the worker had not answered are rerun here, in order. */
  private fail(e: unknown): void {
    if (this.failed !== undefined || this.closed) return;
    this.failed = `the refit worker failed: ${(e as Error)?.message ?? String(e)}`;
    const w = this.worker;
    this.worker = undefined;
    if (w) void w.terminate().finally(() => live.delete(w));
    const pending = [...this.posted.values()];
    this.posted.clear();
    for (const p of pending) this.here(p.start, p.job).then(p.resolve, p.reject);
  }
}
