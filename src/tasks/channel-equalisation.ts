/**
 * Nonlinear channel equalisation (Mathews & Lee 1994, "Adaptive algorithms for bilinear
 * filtering", Proc. SPIE 2296; used for reservoirs by Jaeger & Haas 2004, Science 304, 78-80).
 * I.i.d. symbols d(t) uniform on {-3, -1, 1, 3} pass a linear channel with intersymbol
 * interference
 *
 *   q(t) = 0.08 d(t+2) - 0.12 d(t+1) + d(t) + 0.18 d(t-1) - 0.1 d(t-2) + 0.091 d(t-3)
 *          - 0.05 d(t-4) + 0.04 d(t-5) + 0.03 d(t-6) + 0.01 d(t-7),
 *
 * then a memoryless nonlinearity plus white Gaussian noise,
 *
 *   u(t) = q(t) + 0.036 q(t)^2 - 0.011 q(t)^3 + nu(t).
 *
 * The noise variance is P / 10^(snrDb / 10), P the mean square of the noiseless
 * q + 0.036 q^2 - 0.011 q^3 over the generated window; `snrDb: Infinity` gives no noise.
 *
 * Alignment: `u[t] = u(t)`, `target[t] = d(t - delay)` with delay 2 by default (Jaeger & Haas):
 * the equaliser sees u up to t and outputs the symbol sent `delay` steps earlier. Symbols before
 * t = 0 and after t = n-1 that the channel needs are real draws (no zero padding):
 * `symbols[t + symbolOffset] = d(t)` for t = -symbolOffset .. n+1.
 *
 * ```ts
 * const { u, target } = channelEqualisation(10000, { snrDb: 24 }, { seed: 4 });
 * symbolErrorRate(readout, target);
 * ```
 */
import { Rng, checkSeed } from '../core/rng.js';
import { checkSameLength, checkInt, checkKeys, checkNumber } from '../core/validate.js';

/** The symbol alphabet. */
export const SYMBOLS: readonly number[] = Object.freeze([-3, -1, 1, 3]);

/** Channel taps: `CHANNEL_TAPS[j + 2]` multiplies d(t - j), j = -2 .. 7. */
export const CHANNEL_TAPS: readonly number[] = Object.freeze([0.08, -0.12, 1, 0.18, -0.1, 0.091, -0.05, 0.04, 0.03, 0.01]);

/** Channel-equalisation options. */
export interface ChannelEqualisationParams {
  /** Signal-to-noise ratio in dB; Infinity for a noiseless channel. Defaults to 32. */
  snrDb?: number;
  /** The target is d(t - delay). Defaults to 2. */
  delay?: number;
}

/** The defaults applied to every field of {@link ChannelEqualisationParams}. */
export const channelEqualisationDefaults: Readonly<Required<ChannelEqualisationParams>> = Object.freeze({ snrDb: 32, delay: 2 });

/** Channel output, target symbols and the internals that produced them. */
export interface ChannelEqualisationData {
  /** Received signal u(t). */
  u: Float64Array;
  /** d(t - delay). */
  target: Float64Array;
  /** Linear channel output q(t), before the nonlinearity and noise. */
  q: Float64Array;
  /** All symbols drawn: `symbols[t + symbolOffset] = d(t)`. */
  symbols: Float64Array;
  symbolOffset: number;
}

/** The memoryless channel nonlinearity q + 0.036 q^2 - 0.011 q^3. */
export function channelNonlinearity(q: number): number {
  return q + 0.036 * q * q - 0.011 * q * q * q;
}

/**
 * n steps of the channel (see the module comment). Deterministic in `seed`: symbols come from
 * `Rng(seed).fork('symbols')`, noise from `fork('noise')`, so changing snrDb keeps the symbols.
 */
export function channelEqualisation(n: number, params: ChannelEqualisationParams = {}, { seed }: { seed: number }): ChannelEqualisationData {
  checkInt(n, 'n', 1);
  checkSeed(seed);
  checkKeys(params, Object.keys(channelEqualisationDefaults), 'channel-eq');
  const snrDb = checkNumber(params.snrDb ?? channelEqualisationDefaults.snrDb, 'snrDb', { allowInfinity: true });
  const delay = checkInt(params.delay ?? channelEqualisationDefaults.delay, 'delay', 0);
  const root = new Rng(seed);
  const symRng = root.fork('symbols');
  const offset = Math.max(7, delay);
  const symbols = new Float64Array(offset + n + 2);
  for (let i = 0; i < symbols.length; i++) symbols[i] = SYMBOLS[symRng.int(4)];

  const q = new Float64Array(n);
  const clean = new Float64Array(n);
  const target = new Float64Array(n);
  let power = 0;
  for (let t = 0; t < n; t++) {
    let s = 0;
    for (let j = -2; j <= 7; j++) s += CHANNEL_TAPS[j + 2] * symbols[t - j + offset];
    q[t] = s;
    clean[t] = channelNonlinearity(s);
    power += clean[t] * clean[t];
    target[t] = symbols[t - delay + offset];
  }
  power /= n;
  const u = clean;
  if (snrDb !== Infinity) {
    const sd = Math.sqrt(power / 10 ** (snrDb / 10));
    const noise = root.fork('noise');
    for (let t = 0; t < n; t++) u[t] += sd * noise.normal();
  }
  return { u, target, q, symbols, symbolOffset: offset };
}

/** The symbol of {-3, -1, 1, 3} nearest to x (a tie at 0 or +-2 goes to the larger symbol). */
export function nearestSymbol(x: number): number {
  const s = 2 * Math.round((x - 1) / 2) + 1;
  return s < -3 ? -3 : s > 3 ? 3 : s;
}

/**
 * Symbol error rate: the fraction of t where nearestSymbol(pred[t]) differs from target[t].
 * RangeError on a length mismatch or a target that is not a symbol.
 */
export function symbolErrorRate(pred: ArrayLike<number>, target: ArrayLike<number>): number {
  const n = checkSameLength(pred, target);
  let errors = 0;
  for (let t = 0; t < n; t++) {
    if (!SYMBOLS.includes(target[t])) throw new RangeError(`target must hold symbols of {-3, -1, 1, 3}, got ${target[t]} at ${t}`);
    if (nearestSymbol(pred[t]) !== target[t]) errors++;
  }
  return errors / n;
}
