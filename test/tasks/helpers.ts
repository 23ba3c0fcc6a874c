import * as assert from 'uvu/assert';

/** Asserts that `fn` throws a RangeError whose message starts with (names) `param`. */
export function throwsRangeNaming(fn: () => unknown, param: string): void {
  assert.throws(fn, (e: unknown) => e instanceof RangeError && (e as Error).message.startsWith(param), `expected RangeError naming ${param}`);
}

/** Asserts |a - b| <= tol, with a message. */
export function close(a: number, b: number, tol: number, what = ''): void {
  assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b} (tol ${tol})`);
}

/** Arrays equal element by element (Float64Array compared as plain arrays). */
export const same = (a: Float64Array, b: Float64Array): boolean => a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
