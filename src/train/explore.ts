/**
 * Exploration on the connected device before training: which surrogate design suits it, and how
 * much memory it has. Device queries only (no twin: a real board has none), inside a sample
 * budget that the trainer then counts against its own.
 *
 * 1. Memory probe (device-memory.ts): recall at delays 0..K, capacity, reach, suggested taps.
 * 2. Random drive segments, i.i.d. U[-1, 1] per channel (seeded); the first (1 - heldOut) of them
 *    fit every candidate design (designs.ts), the rest score its held-out NMSE.
 * 3. One gradient-fidelity reading (spot-check.ts) at a held-out segment with a random upstream
 *    gradient dy ~ N(0, 1): the device's directional derivatives are measured once and every
 *    design's VJP predicts them, so each design gets a slope, its SE and a cosine from the same
 *    device queries (a `state` design's VJP runs through the measured responses, as it trains).
 * 4. A design's score is  heldOutNmse + (1 - cosine):  how wrong the surrogate's forward map is,
 *    plus how wrong its gradient direction is, both 0 when perfect and about 1 when useless.
 * 5. The best score picks the design family (narx, state, memoryless, transmission); within it, the
 *    choice is the size with the fewest parameters whose score is within one standard error of
 *    the best, the one-standard-error rule of model selection: the cosine comes from a handful of
 *    directions, and sizes whose scores are closer than its noise are not told apart by it, while
 *    the bigger one certainly costs more in every refit and every step (on sim:fpga-large the
 *    416-unit NARX trained to the 64-unit one's NMSE in 5x the time). Families are not traded for
 *    size: a design with poor gradient agreement has a cosine so unstable across directions that
 *    its standard error covers almost anything (sim:analog-awg, seed 3: memoryless 0.93 ± 0.41
 *    against NARX 0.59). The standard error is a paired delete-one jackknife over the directions
 *    of the difference from the best design: both cosines use the same measured derivatives, so
 *    their shared noise cancels.
 *
 * ```ts
 * const ex = await exploreDevice(deviceMeasurer(device), { inChannels: ci, outChannels: co, seed, budget: 8000 });
 * samples += ex.samples;
 * const s = ex.choice.design;  // SurrogateDesign: window, responseLags, hidden, build(seed)
 * record.exploration = exploreRecord(ex);
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import { Rng, checkSeed } from '../core/rng.js';
import { type SurrogateDesign, surrogateDesigns } from '../surrogate/designs.js';
import { cutWindows, type Examples } from '../surrogate/windows.js';
import { type DeviceMemory, deviceMemory, suggestTaps } from './device-memory.js';
import { type Measured, type Measurer, gradientFidelity, predictAlong, slopeStats } from './spot-check.js';
import { cosineSimilarity } from './vjp-check.js';

/** Options of {@link exploreDevice}. */
export interface ExploreOptions {
  /** Drive channels of the device. */
  inChannels: number;
  /** Response channels of the device. */
  outChannels: number;
  /** Seed of drives, splits, directions and fits. */
  seed: number;
  /** Device samples for the whole exploration (memory probe and fidelity included). Defaults to 8000. */
  budget?: number;
  /** Steps per random segment. Defaults to 200. */
  segmentSteps?: number;
  /** Fraction of segments held out for scoring. Defaults to 0.25. */
  heldOut?: number;
  /** Directions of the fidelity reading. Defaults to 6. */
  directions?: number;
  /** Candidates. Defaults to surrogateDesigns(inChannels, outChannels). */
  designs?: SurrogateDesign[];
  /** History the task needs, for the taps suggestion. Defaults to 20 (the trainers' taps). */
  horizon?: number;
  /** Largest delay of the memory probe. Defaults to 20. */
  maxDelay?: number;
}

/** One design's scores. */
export interface DesignScore {
  design: SurrogateDesign;
  heldOutNmse: number;
  slope: number;
  slopeSe: number;
  cosine: number;
  /** heldOutNmse + (1 - cosine); lower is better. */
  score: number;
  /** Standard error of score - the best design's score (0 for the best itself). */
  scoreSe: number;
  /** The design's trainable parameters (SurrogateDesign.parameters). */
  parameters: number;
  fitMs: number;
}

/** What {@link exploreDevice} returns. */
export interface Exploration {
  /** The design trained with: the cheapest within one standard error of `best`. */
  choice: DesignScore;
  /** The lowest score. */
  best: DesignScore;
  scores: DesignScore[];
  memory: DeviceMemory;
  suggestedTaps: number;
  /** Step and noise of the fidelity reading. */
  fidelity: { h: number; noise: number; directions: number };
  /** Device samples spent in total (what the budget counts). */
  samples: number;
  /** State breaks recovered from. */
  breaks: number;
  /** The random segments as measured (drives as sent), for the run record. */
  segments: { drives: Float32Array; responses: Float32Array }[];
}

/** Device samples of an exploration with `segments` random segments (memory probe and fidelity reading included). */
export function exploreCost(outChannels: number, segmentSteps = 200, directions = 6, segments = 4): number {
  return Math.max(1000, 5 * (outChannels + 1)) + (2 * directions + 1) * segmentSteps + segments * segmentSteps;
}

/** The serialisable summary of an exploration (no tensors, no closures). */
export function exploreRecord(e: Exploration): Record<string, unknown> {
  const row = (s: DesignScore) => ({
    design: s.design.name, window: s.design.window, responseLags: s.design.responseLags, hidden: s.design.hidden,
    heldOutNmse: s.heldOutNmse, slope: s.slope, slopeSe: s.slopeSe, cosine: s.cosine, score: s.score, scoreSe: s.scoreSe, parameters: s.parameters,
  });
  return {
    choice: row(e.choice), best: e.best.design === e.choice.design ? undefined : row(e.best), rule: 'the best score\'s family, its size with the fewest parameters within one standard error of the best score', scores: e.scores.map(row), memory: { recall: e.memory.recall, capacity: e.memory.capacity, reach: e.memory.reach },
    suggestedTaps: e.suggestedTaps, fidelity: e.fidelity, samples: e.samples,
  };
}

/**
 * Standard error of cos(m, pb) - cos(m, pa), delete-one jackknife over the directions (paired: the
 * same m in both). NaN cosines (a zero vector) count as 0, as the score counts them.
 */
export function cosineDifferenceSe(m: readonly number[], pa: readonly number[], pb: readonly number[]): number {
  const K = m.length;
  if (K < 3) return Infinity; // two directions leave one out: no spread to speak of
  const cos = (x: number[], y: number[]): number => { const c = cosineSimilarity(x, y); return Number.isFinite(c) ? c : 0; };
  const loo: number[] = [];
  for (let k = 0; k < K; k++) {
    const keep = (v: readonly number[]) => v.filter((_, i) => i !== k);
    loo.push(cos(keep(m), keep(pb)) - cos(keep(m), keep(pa)));
  }
  const mean = loo.reduce((a, x) => a + x, 0) / K;
  return Math.sqrt(((K - 1) / K) * loo.reduce((a, x) => a + (x - mean) ** 2, 0));
}

/**
 * The one-standard-error choice of step 5: among the designs of the best one's family whose score
 * exceeds the best by at most the standard error of that difference, the one with the fewest
 * parameters (then the lower score). `predicted` holds each design's predictions along the
 * reading's directions.
 */
export function chooseDesign(scores: readonly Omit<DesignScore, 'scoreSe'>[], measured: readonly number[], predicted: readonly number[][]): { choice: DesignScore; best: DesignScore; scores: DesignScore[] } {
  const b = scores.reduce((best, s, i) => (s.score < scores[best].score ? i : best), 0);
  const full = scores.map((s, i): DesignScore => ({ ...s, scoreSe: i === b ? 0 : cosineDifferenceSe(measured, predicted[i], predicted[b]) }));
  const eligible = full.filter((s, i) => i === b || (s.design.name === full[b].design.name && s.score - full[b].score <= s.scoreSe));
  const choice = eligible.reduce((c, s) => (s.parameters < c.parameters || (s.parameters === c.parameters && s.score < c.score) ? s : c));
  return { choice, best: full[b], scores: full };
}

function concat(list: Examples[]): Examples {
  const cat = (k: 'drives' | 'history' | 'targets'): Float32Array => {
    const out = new Float32Array(list.reduce((n, e) => n + e[k].length, 0));
    let o = 0;
    for (const e of list) { out.set(e[k], o); o += e[k].length; }
    return out;
  };
  return { count: list.reduce((n, e) => n + e.count, 0), drives: cat('drives'), history: cat('history'), targets: cat('targets') };
}

/** The exploration described in the module comment. */
export async function exploreDevice(measureSeg: Measurer, o: ExploreOptions): Promise<Exploration> {
  const ci = o.inChannels, co = o.outChannels, seed = checkSeed(o.seed);
  const budget = o.budget ?? 8000, L = o.segmentSteps ?? 200, K = o.directions ?? 6, heldOut = o.heldOut ?? 0.25;
  const designs = o.designs ?? surrogateDesigns(ci, co);
  if (designs.length === 0) throw new RangeError('no surrogate designs to explore');
  if (!(heldOut > 0 && heldOut < 1)) throw new RangeError(`heldOut must be in (0, 1), got ${String(heldOut)}`);
  const memSteps = Math.max(1000, 5 * (co + 1));
  const fidelityCost = (2 * K + 1) * L; // the baseline is a held-out segment already measured
  const fitSegments = Math.floor((budget - memSteps - fidelityCost) / L);
  if (fitSegments < 4) throw new RangeError(`budget ${budget} is too small: the memory probe (${memSteps}), the fidelity reading (${fidelityCost}) and 4 segments of ${L} need ${exploreCost(co, L, K, 4)}`);
  const rng = new Rng(seed);
  let samples = 0, breaks = 0;
  const counted: Measurer = async (d) => {
    const m: Measured = await measureSeg(d);
    samples += m.samples;
    breaks += m.breaks;
    return m;
  };

  const memory = await deviceMemory(counted, { inChannels: ci, outChannels: co, seed: rng.fork('memory').int(2 ** 32), steps: memSteps, maxDelay: o.maxDelay });

  const driveRng = rng.fork('drives');
  const segments: { drives: Float32Array; responses: Float32Array }[] = [];
  for (let s = 0; s < fitSegments; s++) {
    const m = await counted(Float32Array.from({ length: L * ci }, () => driveRng.range(-1, 1)));
    segments.push({ drives: m.drives, responses: m.responses });
  }
  const nHeld = Math.max(1, Math.round(fitSegments * heldOut));
  const fitSet = segments.slice(0, fitSegments - nHeld), heldSet = segments.slice(fitSegments - nHeld);

  const probe = heldSet[0];
  const dyRng = rng.fork('dy');
  const dy = Float32Array.from({ length: L * co }, () => dyRng.normal());
  const built = designs.map((design, i) => {
    const t0 = Date.now();
    const s = design.build(rng.fork(`init-${i}`).int(2 ** 32));
    s.fit(concat(fitSet.map((g) => cutWindows(s.shape, g.drives, g.responses))), { ...design.fit, seed: i + 1 });
    const heldOutNmse = s.evaluate(concat(heldSet.map((g) => cutWindows(s.shape, g.drives, g.responses))));
    const g = tf.tidy(() => s.vjpSeq(tf.tensor2d(probe.drives, [L, ci]), tf.tensor2d(dy, [L, co]), { ...design.vjp, measured: tf.tensor2d(probe.responses, [L, co]) }).dataSync() as Float32Array);
    s.dispose();
    return { design, heldOutNmse, g, fitMs: Date.now() - t0 };
  });
  // h is sized from the median gradient norm of the candidates: no design's scale is favoured.
  const norm = (g: Float32Array): number => Math.sqrt(g.reduce((a, v) => a + v * v, 0));
  const ref = [...built].sort((a, b) => norm(a.g) - norm(b.g))[Math.floor(built.length / 2)].g;
  const f = await gradientFidelity(counted, probe.drives, dy, ref, rng.fork('directions'), { directions: K, baseline: probe.responses });
  const predicted = built.map((b) => predictAlong(f, b.g));
  const raw = built.map((b, i) => {
    const st = slopeStats(f.measured, predicted[i]);
    const cosine = Number.isFinite(st.cosine) ? st.cosine : 0;
    const nmse = Number.isFinite(b.heldOutNmse) ? b.heldOutNmse : Infinity;
    return {
      design: b.design, heldOutNmse: b.heldOutNmse, slope: st.slope, slopeSe: st.slopeSe, cosine: st.cosine, score: nmse + (1 - cosine),
      parameters: b.design.parameters, fitMs: b.fitMs,
    };
  });
  const { choice, best, scores } = chooseDesign(raw, f.measured, predicted);
  return {
    choice, best, scores, memory, suggestedTaps: suggestTaps(memory.reach, o.horizon ?? 20),
    fidelity: { h: f.h, noise: f.noise, directions: K }, samples, breaks, segments,
  };
}
