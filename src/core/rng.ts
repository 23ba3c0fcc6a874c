/**
 * Seeded pseudo-random numbers for the simulators: xoshiro128** (Blackman & Vigna) seeded through
 * a splitmix32-style mixer. The seed is always an argument; nothing here reads a global or
 * `Math.random`.
 *
 * ```ts
 * const rng = new Rng(42);
 * const mask = rng.fork('mask');   // independent stream, depends only on (42, 'mask')
 * const noise = rng.fork('noise');
 * noise.normal();                  // N(0, 1)
 * ```
 */

/** Finalises a 32-bit value into a well-mixed 32-bit value (murmur3-like avalanche). */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x21f0aaad);
  h ^= h >>> 15;
  h = Math.imul(h, 0x735a2d97);
  h ^= h >>> 15;
  return h >>> 0;
}

/** FNV-1a over the UTF-16 code units of `s`, starting from `basis`. */
function hashLabel(s: string, basis: number): number {
  let h = (basis ^ 0x811c9dc5) >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return mix32(h);
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Checks that `seed` is a uint32 and returns it; throws RangeError naming `name` otherwise. */
export function checkSeed(seed: number, name = 'seed'): number {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(`${name} must be an integer in [0, 2^32 - 1], got ${String(seed)}`);
  }
  return seed >>> 0;
}

/** A seeded xoshiro128** generator with uniform and normal draws and labelled forks. */
export class Rng {
  /** The uint32 seed this stream was created from; `fork` derives child seeds from it. */
  readonly seed: number;
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare = 0;
  private hasSpare = false;

  /** @param seed an integer in [0, 2^32 - 1]; RangeError otherwise. */
  constructor(seed: number) {
    this.seed = checkSeed(seed);
    let z = this.seed;
    const next = (): number => {
      z = (z + 0x9e3779b9) >>> 0;
      return mix32(z);
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // the all-zero state is a fixed point
  }

  /** Next uint32. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1), 32 bits of resolution. */
  uniform(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /**
   * Standard normal N(0, 1) by Box-Muller: with u1 in (0, 1] and u2 in [0, 1),
   * z0 = sqrt(-2 ln u1) cos(2 pi u2), z1 = sqrt(-2 ln u1) sin(2 pi u2); z1 is kept for the next call.
   */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    const u1 = 1 - this.uniform();
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    const a = 2 * Math.PI * u2;
    this.spare = r * Math.sin(a);
    this.hasSpare = true;
    return r * Math.cos(a);
  }

  /**
   * An independent stream derived from this stream's seed and `label` only (not from how many
   * numbers have been drawn), so adding a draw in one stream never shifts another.
   */
  fork(label: string): Rng {
    return new Rng(hashLabel(label, this.seed));
  }
}
