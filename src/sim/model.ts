/**
 * The one interface every simulated reservoir implements, its float twin, and the small helpers the
 * models share (option validation, status bits, the output latency line).
 */

/** Status bit: at least one input was outside `inRange` (or not finite) and was clipped. */
export const STATUS_INPUT_CLIPPED = 1;
/** Status bit: at least one output hit a rail of `outRange` (or the fpga tanh table's end). */
export const STATUS_OUTPUT_SATURATED = 2;

export type { ReservoirModel, ReservoirTwin, TwinStep, TwinStepVjp } from '../core/reservoir.js';

/**
 * The slope of clip(v, lo, hi) as the twins' stepVjp use it: 1 inside, 0 outside, 1/2 exactly at
 * lo or hi (the mean of the one-sided slopes, what a central difference across the edge gives; see
 * ReservoirTwin.stepVjp). NaN gives 0.
 */
export function clipSlope(v: number, lo: number, hi: number): number {
  if (v > lo && v < hi) return 1;
  return v === lo || v === hi ? 0.5 : 0;
}

// ---- option validation ----------------------------------------------------------------------

/** Rejects keys of `given` that are not in `known`, so a misspelt override cannot pass silently. */
export function rejectUnknown(model: string, given: object, known: readonly string[]): void {
  for (const k of Object.keys(given)) {
    if (!known.includes(k)) throw new RangeError(`${model}: unknown option '${k}'`);
  }
}

/** An integer option in [lo, hi]; RangeError naming the option otherwise. */
export function intOption(model: string, name: string, v: number, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    throw new RangeError(`${model}: option '${name}' must be an integer in [${lo}, ${hi}], got ${String(v)}`);
  }
  return v;
}

/**
 * A finite number option between lo and hi; `open` makes the low ('lo'), high ('hi') or both ends
 * exclusive. RangeError naming the option otherwise.
 */
export function numOption(model: string, name: string, v: number, lo: number, hi: number, open: 'lo' | 'hi' | 'both' | 'none' = 'none'): number {
  const loOk = open === 'lo' || open === 'both' ? v > lo : v >= lo;
  const hiOk = open === 'hi' || open === 'both' ? v < hi : v <= hi;
  if (typeof v !== 'number' || !Number.isFinite(v) || !loOk || !hiOk) {
    const l = open === 'lo' || open === 'both' ? '(' : '[';
    const r = open === 'hi' || open === 'both' ? ')' : ']';
    throw new RangeError(`${model}: option '${name}' must be a number in ${l}${lo}, ${hi}${r}, got ${String(v)}`);
  }
  return v;
}

/** Throws RangeError unless the step buffers have the model's channel counts. */
export function checkBuffers(model: string, input: ArrayLike<number>, output: Float32Array, inCh: number, outCh: number): void {
  if (input.length !== inCh) throw new RangeError(`${model}: input has length ${input.length}, expected ${inCh}`);
  if (output.length !== outCh) throw new RangeError(`${model}: output has length ${output.length}, expected ${outCh}`);
}

/**
 * A fixed delay of `latency` steps on vectors of `width` values: `push(v)` stores v and returns the
 * vector pushed `latency` calls earlier (rest values before that). latency 0 returns v itself.
 */
export class DelayLine {
  private readonly slots: Float64Array[];
  private pos = 0;

  constructor(readonly latency: number, width: number) {
    this.slots = Array.from({ length: latency + 1 }, () => new Float64Array(width));
  }

  /** Fills every slot with `rest`. */
  fill(rest: Float64Array): void {
    for (const s of this.slots) s.set(rest);
    this.pos = 0;
  }

  push(v: Float64Array): Float64Array {
    if (this.latency === 0) return v;
    this.slots[this.pos].set(v);
    this.pos = (this.pos + 1) % this.slots.length;
    return this.slots[this.pos];
  }
}
