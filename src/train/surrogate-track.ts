/**
 * The surrogate bookkeeping of `pat` as a reusable piece (pat's defaults, same seeds forks):
 * a NarxSurrogate plus its ReplayBuffer, fed one measured segment per episode, with pat's
 * refit schedule (`firstEpochs` after the first segment, then `refitEpochs` every `refitEvery`).
 * Used by `oracle` (to monitor the surrogate's gradient fidelity along the oracle's trajectory)
 * and `insilico` (to fit the surrogate on exploration data).
 */
import { NarxSurrogate } from '../surrogate/narx.js';
import { ReplayBuffer } from '../surrogate/replay.js';
import type { Rng } from '../core/rng.js';
import type { SurrogateTrainOptions } from './common.js';

export type ResolvedSurrogateOptions = Required<Omit<SurrogateTrainOptions, 'lag'>>;

/** pat's surrogate defaults over `s`. */
export function surrogateDefaults(s: SurrogateTrainOptions = {}, base: Partial<ResolvedSurrogateOptions> = {}): ResolvedSurrogateOptions {
  const d = { window: 4, responseLags: 1, hidden: [64], firstEpochs: 40, refitEpochs: 4, refitEvery: 1, fitExamples: 2048, learningRate: 3e-3, recent: 4096, reservoir: 4096, ...base };
  return {
    window: s.window ?? d.window, responseLags: s.responseLags ?? d.responseLags, hidden: s.hidden ?? d.hidden,
    firstEpochs: s.firstEpochs ?? d.firstEpochs, refitEpochs: s.refitEpochs ?? d.refitEpochs, refitEvery: s.refitEvery ?? d.refitEvery,
    fitExamples: s.fitExamples ?? d.fitExamples, learningRate: s.learningRate ?? d.learningRate, recent: s.recent ?? d.recent, reservoir: s.reservoir ?? d.reservoir,
  };
}

export class SurrogateTrack {
  readonly surrogate: NarxSurrogate;
  readonly buffer: ReplayBuffer;
  private fitted = false;
  private episode = 0;

  /** @param rng the trainer's root Rng: forks 'surrogate', 'replay' and 'replay-sample' as pat does */
  constructor(readonly opts: ResolvedSurrogateOptions, ci: number, co: number, rng: Rng) {
    this.surrogate = new NarxSurrogate({
      inChannels: ci, outChannels: co, window: opts.window, responseLags: opts.responseLags, hidden: opts.hidden, seed: rng.fork('surrogate').nextU32(),
    });
    this.buffer = new ReplayBuffer({
      inChannels: ci, outChannels: co, window: opts.window, responseLags: opts.responseLags, recent: opts.recent, reservoir: opts.reservoir,
      seed: rng.fork('replay').nextU32(),
    });
    this.sampling = rng.fork('replay-sample');
  }

  private readonly sampling: Rng;

  get isFitted(): boolean {
    return this.fitted;
  }

  /**
   * Adds one measured segment; returns the surrogate NMSE on its examples before the refit
   * (undefined before the first fit); refits when the schedule says so (or `force`).
   */
  observe(drives: ArrayLike<number>, responses: ArrayLike<number>, epoch: number, refit = true): number | undefined {
    const added = this.buffer.add(drives, responses, epoch);
    const nmse = this.fitted && added > 0 ? this.surrogate.evaluate(this.buffer.newest(added)) : undefined;
    const e = this.episode++;
    if (refit && (!this.fitted || e % this.opts.refitEvery === 0)) this.refit(this.fitted ? this.opts.refitEpochs : this.opts.firstEpochs, e);
    return nmse;
  }

  /** One fit of `epochs` on `fitExamples` replay samples. */
  refit(epochs: number, seed: number): number {
    const loss = this.surrogate.fit(this.buffer.sample(this.opts.fitExamples, this.sampling), { epochs, learningRate: this.opts.learningRate, seed });
    this.fitted = true;
    return loss;
  }

  dispose(): void {
    this.surrogate.dispose();
  }
}
