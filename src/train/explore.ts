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
 *    device queries.
 * 4. The choice minimises  heldOutNmse + (1 - cosine):  how wrong the surrogate's forward map is,
 *    plus how wrong its gradient direction is, both 0 when perfect and about 1 when useless.
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
  fitMs: number;
}

/** What {@link exploreDevice} returns. */
export interface Exploration {
  choice: DesignScore;
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
    heldOutNmse: s.heldOutNmse, slope: s.slope, slopeSe: s.slopeSe, cosine: s.cosine, score: s.score,
  });
  return {
    choice: row(e.choice), scores: e.scores.map(row), memory: { recall: e.memory.recall, capacity: e.memory.capacity, reach: e.memory.reach },
    suggestedTaps: e.suggestedTaps, fidelity: e.fidelity, samples: e.samples,
  };
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
    const g = tf.tidy(() => s.vjpSeq(tf.tensor2d(probe.drives, [L, ci]), tf.tensor2d(dy, [L, co]), { measured: tf.tensor2d(probe.responses, [L, co]) }).dataSync() as Float32Array);
    s.dispose();
    return { design, heldOutNmse, g, fitMs: Date.now() - t0 };
  });
  // h is sized from the median gradient norm of the candidates: no design's scale is favoured.
  const norm = (g: Float32Array): number => Math.sqrt(g.reduce((a, v) => a + v * v, 0));
  const ref = [...built].sort((a, b) => norm(a.g) - norm(b.g))[Math.floor(built.length / 2)].g;
  const f = await gradientFidelity(counted, probe.drives, dy, ref, rng.fork('directions'), { directions: K, baseline: probe.responses });
  const scores: DesignScore[] = built.map((b) => {
    const st = slopeStats(f.measured, predictAlong(f, b.g));
    const cosine = Number.isFinite(st.cosine) ? st.cosine : 0;
    const nmse = Number.isFinite(b.heldOutNmse) ? b.heldOutNmse : Infinity;
    return { design: b.design, heldOutNmse: b.heldOutNmse, slope: st.slope, slopeSe: st.slopeSe, cosine: st.cosine, score: nmse + (1 - cosine), fitMs: b.fitMs };
  });
  const choice = scores.reduce((best, s) => (s.score < best.score ? s : best));
  return {
    choice, scores, memory, suggestedTaps: suggestTaps(memory.reach, o.horizon ?? 20),
    fidelity: { h: f.h, noise: f.noise, directions: K }, samples, breaks, segments,
  };
}
