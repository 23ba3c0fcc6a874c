/**
 * The one place a trainer gets its surrogate: the defaults (a NARX MLP over a 4-drive window and
 * one response lag, 64 hidden units) and the one refit scheduler (surrogate/lagged-refit.ts) with
 * its replay buffer, held-out tail and drift alarm, seeded by the same forks of the trainer's Rng
 * ('surrogate', 'replay', 'replay-sample') whichever trainer asks. pat steps with it; oracle
 * monitors its gradient fidelity along the oracle's trajectory.
 */
import type { NarxJSON } from '../surrogate/narx.js';
import { NarxSurrogate } from '../surrogate/narx.js';
import { LaggedRefitter } from '../surrogate/lagged-refit.js';
import { ReplayBuffer } from '../surrogate/replay.js';
import { warmup } from '../surrogate/windows.js';
import type { Resolved, SurrogateTrainOptions, TrainOptions } from './common.js';

export type ResolvedSurrogateOptions = Required<Omit<SurrogateTrainOptions, 'lag'>>;

/** The surrogate defaults over `s` (and over `base`, a trainer's own defaults). */
export function surrogateDefaults(s: SurrogateTrainOptions = {}, base: Partial<ResolvedSurrogateOptions> = {}): ResolvedSurrogateOptions {
  const d = { window: 4, responseLags: 1, hidden: [64], firstEpochs: 40, refitEpochs: 4, refitEvery: 1, fitExamples: 2048, learningRate: 3e-3, recent: 4096, reservoir: 4096, ...base };
  return {
    window: s.window ?? d.window, responseLags: s.responseLags ?? d.responseLags, hidden: s.hidden ?? d.hidden,
    firstEpochs: s.firstEpochs ?? d.firstEpochs, refitEpochs: s.refitEpochs ?? d.refitEpochs, refitEvery: s.refitEvery ?? d.refitEvery,
    fitExamples: s.fitExamples ?? d.fitExamples, learningRate: s.learningRate ?? d.learningRate, recent: s.recent ?? d.recent, reservoir: s.reservoir ?? d.reservoir,
  };
}

/**
 * A fresh (or resumed) surrogate behind the refit scheduler: refits after the first episode
 * (`firstEpochs`), then every `refitEvery` episodes' worth of buffered pairs and at once on a drift
 * alarm. `episodeLength` is the steps of one measured episode.
 */
export function surrogateRefitter(o: TrainOptions, r: Resolved, so: ResolvedSurrogateOptions, ci: number, co: number, episodeLength: number, resumed?: NarxJSON): LaggedRefitter {
  const surrogate = resumed ? NarxSurrogate.fromJSON(resumed) : new NarxSurrogate({
    inChannels: ci, outChannels: co, window: so.window, responseLags: so.responseLags, hidden: so.hidden, seed: r.rng.fork('surrogate').nextU32(),
  });
  const sh = surrogate.shape;
  if (sh.inChannels !== ci || sh.outChannels !== co || sh.window !== so.window || sh.responseLags !== so.responseLags) {
    surrogate.dispose();
    throw new RangeError(`resume: the checkpoint's surrogate (${sh.inChannels} in, ${sh.outChannels} out, window ${sh.window}, lags ${sh.responseLags}) does not fit this run (${ci}, ${co}, ${so.window}, ${so.responseLags})`);
  }
  const buffer = new ReplayBuffer({
    inChannels: ci, outChannels: co, window: so.window, responseLags: so.responseLags, recent: so.recent, reservoir: so.reservoir,
    seed: r.rng.fork('replay').nextU32(),
  });
  // Pairs an episode adds to the buffer: its steps less the held-out tail, less the window warm-up.
  const holdOut = o.refit?.holdOut ?? 0.1;
  const buffered = Math.max(1, episodeLength - Math.floor(episodeLength * holdOut) - warmup(buffer.shape));
  return new LaggedRefitter(surrogate, buffer, {
    ...o.refit, holdOut, every: so.refitEvery * buffered, firstEpochs: so.firstEpochs, epochs: so.refitEpochs,
    examples: so.fitExamples, learningRate: so.learningRate, seed: r.rng.fork('replay-sample').nextU32(), freeze: r.freezeSurrogate,
    worker: o.refitWorker ?? false,
  });
}
