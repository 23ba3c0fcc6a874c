/**
 * The one feature layout shared by the surrogate and the replay buffer.
 *
 * An example for time t of one contiguous segment is
 * - a drive window `d(t), d(t-1), …, d(t-W+1)` (W rows of `inChannels`, newest first),
 * - a response history `y(t-1), …, y(t-R)` (R rows of `outChannels`, newest first; empty if R = 0),
 * - the target `y(t)` (`outChannels`).
 *
 * All three are stored row-major in flat Float32Arrays, one row per example.
 *
 * ```ts
 * const shape = { inChannels: 1, outChannels: 2, window: 3, responseLags: 1 };
 * const ex = cutWindows(shape, drives, responses); // drives [T*1], responses [T*2]
 * ex.count === T - 2;                              // the first max(W-1, R) steps have no full window
 * ```
 */
import { checkInt } from '../core/validate.js';

/** How many drive lags and response lags an example carries. */
export interface WindowShape {
  /** Drive channels per time step. */
  readonly inChannels: number;
  /** Response channels per time step. */
  readonly outChannels: number;
  /** W ≥ 1: drives d(t-W+1..t) are inputs of the prediction of y(t). */
  readonly window: number;
  /** R ≥ 0: measured responses y(t-R..t-1) are inputs too (NARX); 0 for a pure drive window. */
  readonly responseLags: number;
}

/** A batch of examples in the layout above. */
export interface Examples {
  readonly count: number;
  /** [count, window * inChannels], lag 0 first. */
  readonly drives: Float32Array;
  /** [count, responseLags * outChannels], lag 1 first; length 0 when responseLags = 0. */
  readonly history: Float32Array;
  /** [count, outChannels]. */
  readonly targets: Float32Array;
}

const MAX_DIM = 1 << 20;

/** Validates a window shape and returns a plain copy; throws RangeError naming the bad field. */
export function checkWindowShape(s: WindowShape): WindowShape {
  return {
    inChannels: checkInt(s.inChannels, 'inChannels', 1, MAX_DIM),
    outChannels: checkInt(s.outChannels, 'outChannels', 1, MAX_DIM),
    window: checkInt(s.window, 'window', 1, MAX_DIM),
    responseLags: checkInt(s.responseLags, 'responseLags', 0, MAX_DIM),
  };
}

/** Steps at the start of a segment that have no complete window: max(W - 1, R). */
export function warmup(s: WindowShape): number {
  return Math.max(s.window - 1, s.responseLags);
}

/** Row lengths of the three parts of an example. */
export function rowLengths(s: WindowShape): { drives: number; history: number; targets: number } {
  return { drives: s.window * s.inChannels, history: s.responseLags * s.outChannels, targets: s.outChannels };
}

/**
 * Checks that flat `drives` [T*inChannels] and `responses` [T*outChannels] describe the same T steps
 * and returns T.
 */
export function segmentLength(s: WindowShape, drives: ArrayLike<number>, responses: ArrayLike<number>): number {
  if (drives.length % s.inChannels !== 0) throw new RangeError(`drives length ${drives.length} is not a multiple of inChannels ${s.inChannels}`);
  const t = drives.length / s.inChannels;
  if (responses.length !== t * s.outChannels) {
    throw new RangeError(`responses length ${responses.length} does not match ${t} steps of ${s.outChannels} channels`);
  }
  return t;
}

/**
 * Writes the example for step `t` of a segment into `drv`, `hist`, `tgt` at row `row`.
 * The caller guarantees t ≥ max(W-1, R) within the segment.
 */
export function writeExample(
  s: WindowShape, drives: ArrayLike<number>, responses: ArrayLike<number>, t: number,
  drv: Float32Array, hist: Float32Array, tgt: Float32Array, row: number,
): void {
  const { inChannels: ci, outChannels: co, window: w, responseLags: r } = s;
  let o = row * w * ci;
  for (let k = 0; k < w; k++) for (let c = 0; c < ci; c++) drv[o++] = drives[(t - k) * ci + c];
  o = row * r * co;
  for (let j = 1; j <= r; j++) for (let c = 0; c < co; c++) hist[o++] = responses[(t - j) * co + c];
  o = row * co;
  for (let c = 0; c < co; c++) tgt[o++] = responses[t * co + c];
}

/**
 * Cuts every complete example out of one contiguous segment (never past its ends).
 * @param drives flat [T * inChannels], row-major
 * @param responses flat [T * outChannels], the device's response to exactly these drives
 */
export function cutWindows(shape: WindowShape, drives: ArrayLike<number>, responses: ArrayLike<number>): Examples {
  const s = checkWindowShape(shape);
  const t = segmentLength(s, drives, responses);
  const first = warmup(s);
  const count = Math.max(0, t - first);
  const len = rowLengths(s);
  const ex = {
    count,
    drives: new Float32Array(count * len.drives),
    history: new Float32Array(count * len.history),
    targets: new Float32Array(count * len.targets),
  };
  for (let i = 0; i < count; i++) writeExample(s, drives, responses, first + i, ex.drives, ex.history, ex.targets, i);
  return ex;
}
