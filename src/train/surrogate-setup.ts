/**
 * The one place a trainer gets its surrogate: the defaults (a NARX MLP over a 4-drive window and
 * one response lag, 64 hidden units) and the one refit scheduler (surrogate/lagged-refit.ts) with
 * its replay buffer, held-out tail and drift alarm, seeded by the same forks of the trainer's Rng
 * ('surrogate', 'replay', 'replay-sample') whichever trainer asks. pat steps with it; oracle
 * monitors its gradient fidelity along the oracle's trajectory. With `surrogate.design`
 * (chooseSurrogate) the shape comes from a design of surrogate/designs.ts, forced or chosen by
 * exploring the device; only NARX-family designs, as the scheduler fits nothing else.
 */
import type { Device } from '../device/client.js';
import { NarxSurrogate } from '../surrogate/narx.js';
import { type DesignName, NARX_BASE_WIDTH, STATE_VJP, memorylessWidth, stateWidth, surrogateDesigns } from '../surrogate/designs.js';
import type { VjpPath } from '../surrogate/narx.js';
import { type RefittableSurrogate, type SurrogateJSON, isTransmissionJSON, surrogateFromJSON } from '../surrogate/saved.js';
import { TRANSMISSION_LEARNING_RATE, TransmissionSurrogate } from '../surrogate/transmission.js';
import { LaggedRefitter } from '../surrogate/lagged-refit.js';
import { ReplayBuffer } from '../surrogate/replay.js';
import { warmup } from '../surrogate/windows.js';
import {
  type Resolved, type SurrogateChoiceRecord, type SurrogateDesignOption, type SurrogateTrainOptions, type TrainOptions, finalCost,
} from './common.js';
import { exploreCost, exploreDevice, exploreRecord } from './explore.js';
import { deviceMeasurer } from './spot-check.js';

/** The surrogate options with every default filled in, and the design they build (never 'auto': that is resolved by exploring). */
export type ResolvedSurrogateOptions = Required<Omit<SurrogateTrainOptions, 'lag' | 'design' | 'explore'>> & { design: DesignName };

/** The values of SurrogateTrainOptions.design. */
export const SURROGATE_DESIGNS: readonly SurrogateDesignOption[] = ['auto', 'narx', 'state', 'memoryless', 'transmission'];

/** Share of the run's planned device samples that design 'auto' explores with (ExploreSettings.budget). */
export const EXPLORE_SHARE = 0.15;
/** Random segments design 'auto' explores with at least (a short run's share would give fewer). */
export const EXPLORE_MIN_SEGMENTS = 8;

/** The design asked for, checked; 'narx' when none. */
export function surrogateDesign(o: TrainOptions): SurrogateDesignOption {
  const d = o.surrogate?.design ?? 'narx';
  if (!SURROGATE_DESIGNS.includes(d)) throw new RangeError(`surrogate.design must be ${SURROGATE_DESIGNS.join(', ')}, got ${String(d)}`);
  return d;
}

/** What {@link chooseSurrogate} returns: the resolved options, what to record, what the exploration spent. */
export interface SurrogateChoice {
  so: ResolvedSurrogateOptions;
  /** Absent for the default design 'narx'. */
  record?: SurrogateChoiceRecord;
  /** Device samples spent choosing (the exploration's; 0 otherwise). */
  samples: number;
}

/**
 * The surrogate options of a run with SurrogateTrainOptions.design: 'narx' is
 * {@link surrogateDefaults} untouched; 'state' sets window 1, one lag, stateWidth units and the
 * gradient through the responses; 'memoryless' sets window 1, no lags, memorylessWidth units;
 * 'auto' explores the device (its samples returned, to be counted) and takes the chosen design's
 * window, lags and width. Options given explicitly win over the design's. A resumed run takes the
 * design its checkpoint recorded and does not explore again.
 */
export async function chooseSurrogate(o: TrainOptions, r: Resolved, device: Device, ci: number, co: number, episodeLength: number): Promise<SurrogateChoice> {
  const requested = surrogateDesign(o);
  if (requested === 'narx') return { so: surrogateDefaults(o.surrogate), samples: 0 };
  const shaped = (design: SurrogateChoiceRecord['design'], window: number, responseLags: number, hidden: readonly number[], samples: number, exploration?: Record<string, unknown>): SurrogateChoice => {
    const so = surrogateDefaults(o.surrogate, { design, window, responseLags, hidden: [...hidden], ...(design === 'transmission' ? { learningRate: TRANSMISSION_LEARNING_RATE } : {}) });
    if (design === 'transmission' && (so.window !== 1 || so.responseLags !== 0)) {
      throw new RangeError(`surrogate design transmission is memoryless: window must be 1 and responseLags 0, got ${so.window} and ${so.responseLags}`);
    }
    const record: SurrogateChoiceRecord = { requested, design, window: so.window, responseLags: so.responseLags, hidden: [...so.hidden], samples };
    if (exploration) record.exploration = exploration;
    return { so, record, samples };
  };
  const before = o.resume?.surrogateChoice;
  if (before) return { ...shaped(before.design, before.window, before.responseLags, before.hidden, before.samples, before.exploration), samples: 0 };
  if (requested === 'state') return shaped('state', 1, 1, [stateWidth(co)], 0);
  if (requested === 'memoryless') return shaped('memoryless', 1, 0, [memorylessWidth(ci, co)], 0);
  if (requested === 'transmission') return shaped('transmission', 1, 0, [], 0);
  const x = o.surrogate?.explore ?? {};
  const planned = Math.min(r.budget, r.episodes * episodeLength + finalCost(r));
  const budget = x.budget ?? Math.max(Math.floor(EXPLORE_SHARE * planned), exploreCost(co, x.segmentSteps, x.directions, EXPLORE_MIN_SEGMENTS));
  // The final fit needs at least 10 steps (finalFitSteps): refuse before spending anything.
  if (budget + finalCost(r, 10) > r.budget) {
    throw new RangeError(`surrogate design auto: the exploration's ${budget} samples and the final fit and test leave nothing of budget ${r.budget}`);
  }
  const designs = surrogateDesigns(ci, co, { window: o.surrogate?.window, responseLags: o.surrogate?.responseLags })
    .map((d) => (x.epochs === undefined ? d : { ...d, fit: { ...d.fit, epochs: x.epochs } }));
  const ex = await exploreDevice(deviceMeasurer(device, r.measure), {
    inChannels: ci, outChannels: co, seed: r.rng.fork('explore').nextU32(), budget, segmentSteps: x.segmentSteps, directions: x.directions, designs, horizon: r.taps,
  }).catch((e: unknown) => {
    throw e instanceof RangeError ? new RangeError(`surrogate design auto: ${e.message}`) : e;
  });
  const d = ex.choice.design;
  return shaped(d.name as SurrogateChoiceRecord['design'], d.window, d.responseLags, d.hidden ?? [], ex.samples, exploreRecord(ex));
}

/** A design's shape in words, for logs and reports (a transmission matrix has no window or hidden layer). */
export function surrogateShape(c: Pick<SurrogateChoiceRecord, 'design' | 'window' | 'responseLags' | 'hidden'>): string {
  if (c.design === 'transmission') return 'complex transmission matrix, intensity readout, no memory';
  if (c.design === 'state') return `state-space: window ${c.window}, ${c.responseLags} response lag as the state, ${(c.hidden ?? []).join('x')} hidden units, gradient along the state`;
  return `window ${c.window}, ${c.responseLags} response lags, ${(c.hidden ?? []).join('x')} hidden units`;
}

/** The surrogate defaults over `s` (and over `base`, a trainer's own defaults). */
export function surrogateDefaults(s: SurrogateTrainOptions = {}, base: Partial<ResolvedSurrogateOptions> = {}): ResolvedSurrogateOptions {
  if (s.responseDecay !== undefined && !(s.responseDecay >= 0 && s.responseDecay <= 1)) {
    throw new RangeError(`surrogate.responseDecay must be in [0, 1], got ${String(s.responseDecay)}`);
  }
  const d = { design: 'narx' as DesignName, window: 4, responseLags: 1, hidden: [NARX_BASE_WIDTH], firstEpochs: 40, refitEpochs: 4, refitEvery: 1, fitExamples: 2048, learningRate: 3e-3, recent: 4096, reservoir: 4096, ...base };
  return {
    design: d.design, window: s.window ?? d.window, responseLags: s.responseLags ?? d.responseLags, hidden: s.hidden ?? d.hidden,
    firstEpochs: s.firstEpochs ?? d.firstEpochs, refitEpochs: s.refitEpochs ?? d.refitEpochs, refitEvery: s.refitEvery ?? d.refitEvery,
    fitExamples: s.fitExamples ?? d.fitExamples, learningRate: s.learningRate ?? d.learningRate, recent: s.recent ?? d.recent, reservoir: s.reservoir ?? d.reservoir,
    // The state design's memory is in its response lag, so its gradient must run along it.
    throughResponses: s.throughResponses ?? (d.design === 'state' ? STATE_VJP.throughResponses : false),
    responseDecay: s.responseDecay ?? (d.design === 'state' ? STATE_VJP.responseDecay : 1),
  };
}

/** What the step's surrogate VJP goes through, from resolved options. */
export function vjpPath(so: Pick<ResolvedSurrogateOptions, 'throughResponses' | 'responseDecay'>): VjpPath {
  return { throughResponses: so.throughResponses, responseDecay: so.responseDecay };
}

/**
 * A fresh (or resumed) surrogate behind the refit scheduler: refits after the first episode
 * (`firstEpochs`), then every `refitEvery` episodes' worth of buffered pairs and at once on a drift
 * alarm. `episodeLength` is the steps of one measured episode.
 */
export function surrogateRefitter(o: TrainOptions, r: Resolved, so: ResolvedSurrogateOptions, ci: number, co: number, episodeLength: number, resumed?: SurrogateJSON): LaggedRefitter {
  if (resumed && isTransmissionJSON(resumed) !== (so.design === 'transmission')) {
    throw new RangeError(`resume: the checkpoint's surrogate is a ${resumed.format}, this run's design is ${so.design}`);
  }
  const seed = r.rng.fork('surrogate').nextU32();
  const surrogate: RefittableSurrogate = resumed ? surrogateFromJSON(resumed) : so.design === 'transmission'
    ? new TransmissionSurrogate({ inChannels: ci, outChannels: co, seed })
    : new NarxSurrogate({ inChannels: ci, outChannels: co, window: so.window, responseLags: so.responseLags, hidden: so.hidden, seed });
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
    // Lag 1 is "one refit stale": a refit runs until the next refit point, never holding up a step.
    publishWhenDue: (o.surrogate?.lag ?? 0) === 1,
  });
}
