/**
 * Each physical layer's own surrogate: its (drive, response) pairs, the design chosen for it, and
 * its refits. A chain example is one device time step, so a pair is one row; the designs offered
 * are the memoryless ones (window 1, no lags), the only ones a row-per-example chain can feed.
 *
 * Choice ('auto'): every candidate ('memoryless' MLP, 'transmission') is fitted on the first 80 %
 * of the layer's exploration pairs and scored by held-out NMSE on the last 20 %; the lowest wins
 * and keeps its fit. On sim:optical transmission wins by far (about 0.07 against 0.65 for the
 * MLP on 4000 pairs of 64 → 128 channels), which is why it is the one worth its fit time.
 *
 * ```ts
 * const pairs = new PairBuffer(64, 128, 8192);
 * pairs.add(drives, responses);
 * const { surrogate, design, heldOutNmse } = chooseSurrogate('auto', pairs, { seed: 1 });
 * ```
 */
import { surrogateDesigns, type DesignName, type FittableSurrogate, type SurrogateDesign } from '../../surrogate/designs.js';
import type { Examples } from '../../surrogate/windows.js';
import type { PhysicalLayerSpec } from './spec-types.js';

/** The newest `capacity` (drive, response) rows of one physical layer, oldest overwritten first. */
export class PairBuffer {
  readonly drives: Float32Array;
  readonly responses: Float32Array;
  private next = 0;
  private filled = 0;
  /** Rows ever added. */
  total = 0;

  constructor(readonly inChannels: number, readonly outChannels: number, readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 2) throw new RangeError(`replay capacity must be an integer >= 2, got ${String(capacity)}`);
    this.drives = new Float32Array(capacity * inChannels);
    this.responses = new Float32Array(capacity * outChannels);
  }

  get count(): number {
    return this.filled;
  }

  add(drives: Float32Array, responses: Float32Array): void {
    const ci = this.inChannels, co = this.outChannels, rows = drives.length / ci;
    if (!Number.isInteger(rows) || responses.length !== rows * co) throw new RangeError(`pairs must be rows of ${ci} drives and ${co} responses`);
    for (let i = 0; i < rows; i++) {
      this.drives.set(drives.subarray(i * ci, (i + 1) * ci), this.next * ci);
      this.responses.set(responses.subarray(i * co, (i + 1) * co), this.next * co);
      this.next = (this.next + 1) % this.capacity;
      this.filled = Math.min(this.capacity, this.filled + 1);
    }
    this.total += rows;
  }

  /** Rows [from, to) of the buffer in storage order, as window-1 examples. */
  examples(from = 0, to = this.filled): Examples {
    const ci = this.inChannels, co = this.outChannels;
    return { count: to - from, drives: this.drives.slice(from * ci, to * ci), history: new Float32Array(0), targets: this.responses.slice(from * co, to * co) };
  }
}

/** A fitted surrogate of one layer and how it was chosen. */
export interface ChosenSurrogate {
  surrogate: FittableSurrogate;
  design: DesignName;
  /** Held-out NMSE of every candidate fitted (the chosen one's is the lowest). */
  scores: { design: DesignName; heldOutNmse: number }[];
  heldOutNmse: number;
}

/** Options of {@link chooseSurrogate}. */
export interface ChooseOptions {
  /** Seed of each candidate's initialisation and shuffling. */
  seed: number;
  /** Epochs of each candidate's first fit. Defaults to each design's own. */
  epochs?: number;
}

const MEMORYLESS: readonly DesignName[] = ['memoryless', 'transmission'];

/** The designs a layer's `surrogate` field offers (RangeError for one a static chain cannot use). */
export function candidateDesigns(choice: PhysicalLayerSpec['surrogate']): readonly DesignName[] {
  const want = choice ?? 'auto';
  if (want === 'narx' || want === 'state') throw new RangeError(`surrogate: '${want}' needs a time axis; a static chain's examples are single steps (use memoryless, transmission or auto)`);
  const names = want === 'auto' ? MEMORYLESS : [want];
  if (!names.every((n) => MEMORYLESS.includes(n))) throw new RangeError(`surrogate: unknown design '${String(want)}'`);
  return names;
}

/** Fits the layer's design, or every memoryless design for 'auto', and keeps the best by held-out NMSE. */
export function chooseSurrogate(choice: PhysicalLayerSpec['surrogate'], pairs: PairBuffer, opts: ChooseOptions): ChosenSurrogate {
  const names = candidateDesigns(choice);
  const n = pairs.count, cut = Math.floor(0.8 * n);
  if (cut < 1 || n - cut < 1) throw new RangeError(`surrogate choice needs at least 5 exploration pairs, got ${n}`);
  const train = pairs.examples(0, cut), held = pairs.examples(cut, n);
  const fitted: { d: SurrogateDesign; s: FittableSurrogate; nmse: number }[] = [];
  for (const d of surrogateDesigns(pairs.inChannels, pairs.outChannels, { names })) {
    const s = d.build(opts.seed);
    s.fit(train, { ...d.fit, epochs: opts.epochs ?? d.fit.epochs, seed: opts.seed });
    fitted.push({ d, s, nmse: s.evaluate(held) });
  }
  fitted.sort((a, b) => (a.nmse < b.nmse || Number.isNaN(b.nmse) ? -1 : 1));
  for (const f of fitted.slice(1)) f.s.dispose();
  const best = fitted[0];
  return { surrogate: best.s, design: best.d.name, heldOutNmse: best.nmse, scores: fitted.map((f) => ({ design: f.d.name, heldOutNmse: f.nmse })) };
}

/** Fit options of a refit of `design` on the replay buffer: a few warm-started epochs at a gentler rate. */
export function refitOptions(design: DesignName, epochs: number, seed: number): { epochs: number; learningRate: number; seed: number } {
  return { epochs, learningRate: design === 'transmission' ? 5e-3 : 1e-3, seed };
}
