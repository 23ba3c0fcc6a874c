/**
 * Parameter checks shared by the task generators. Every failure is a RangeError whose message
 * starts with the parameter's name, so a CLI can pass it straight to the user.
 */

/** Checks that `value` is an integer in [min, max]; returns it. */
export function checkInt(value: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const upper = max === Number.MAX_SAFE_INTEGER ? '' : ` and <= ${max}`;
    const what = min === 1 && !upper ? 'a positive integer' : `an integer >= ${min}${upper}`;
    throw new RangeError(`${name} must be ${what}, got ${String(value)}`);
  }
  return value as number;
}

/** Bounds for {@link checkNumber}; a bound left out is not checked. */
export interface NumberBounds {
  /** value >= min. */
  min?: number;
  /** value > gt. */
  gt?: number;
  /** value <= max. */
  max?: number;
  /** Accept +Infinity (otherwise only finite numbers pass). Defaults to false. */
  allowInfinity?: boolean;
}

/** Checks that `value` is a finite number (or +Infinity when allowed) within `bounds`; returns it. */
export function checkNumber(value: number, name: string, bounds: NumberBounds = {}): number {
  const ok =
    typeof value === 'number' &&
    !Number.isNaN(value) &&
    (Number.isFinite(value) || (bounds.allowInfinity === true && value === Infinity)) &&
    (bounds.min === undefined || value >= bounds.min) &&
    (bounds.gt === undefined || value > bounds.gt) &&
    (bounds.max === undefined || value <= bounds.max);
  if (!ok) {
    const parts: string[] = [];
    if (bounds.min !== undefined) parts.push(`>= ${bounds.min}`);
    if (bounds.gt !== undefined) parts.push(`> ${bounds.gt}`);
    if (bounds.max !== undefined) parts.push(`<= ${bounds.max}`);
    const what = bounds.allowInfinity ? 'a number' : 'a finite number';
    throw new RangeError(`${name} must be ${what}${parts.length ? ' ' + parts.join(' and ') : ''}, got ${String(value)}`);
  }
  return value;
}

/** Checks that `params` has no keys outside `allowed` (catches typos such as `--snr` for `snrDb`). */
export function checkKeys(params: object, allowed: readonly string[], task: string): void {
  for (const key of Object.keys(params)) {
    if (!allowed.includes(key)) {
      throw new RangeError(`${key} is not a parameter of ${task} (expected one of: ${allowed.join(', ')})`);
    }
  }
}

/** Checks that two sequences have the same, non-zero length; returns it. */
export function checkSameLength(a: ArrayLike<number>, b: ArrayLike<number>, aName = 'pred', bName = 'target'): number {
  if (a.length !== b.length) {
    throw new RangeError(`${aName} and ${bName} must have the same length, got ${a.length} and ${b.length}`);
  }
  if (a.length === 0) throw new RangeError(`${bName} must not be empty`);
  return a.length;
}

/** `v` as exactly `n` finite numbers, or a RangeError naming `name`. */
export function checkFiniteVector(v: unknown, n: number, name: string): number[] {
  if (!Array.isArray(v) || v.length !== n) throw new RangeError(`${name} must hold ${n} numbers, got ${Array.isArray(v) ? v.length : typeof v}`);
  const bad = v.findIndex((x) => typeof x !== 'number' || !Number.isFinite(x));
  if (bad >= 0) throw new RangeError(`${name}[${bad}] must be a finite number, got ${JSON.stringify(v[bad])}`);
  return v as number[];
}
