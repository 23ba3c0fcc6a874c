/**
 * Arrays in the run database: little-endian float32 blobs with a separate shape, whatever the
 * host's byte order. u16 and i16 device samples convert to float32 exactly; float64 host data is
 * rounded to float32.
 *
 * ```ts
 * const blob = encodeF32LE(new Uint16Array([1, 2, 3, 4]));
 * decodeF32LE(blob, [2, 2]); // Float32Array [1, 2, 3, 4]
 * ```
 */

export type ArrayFormat = 'u16' | 'i16' | 'f32' | 'f64';
export type RecordableArray = Uint16Array | Int16Array | Float32Array | Float64Array;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Most dimensions a recorded shape may have. */
export const MAX_DIMS = 8;

/** The format of a recordable typed array, or null for anything else. */
export function arrayFormat(a: unknown): ArrayFormat | null {
  if (a instanceof Uint16Array) return 'u16';
  if (a instanceof Int16Array) return 'i16';
  if (a instanceof Float32Array) return 'f32';
  if (a instanceof Float64Array) return 'f64';
  return null;
}

/** Elements of an array of `shape`; throws (naming `what`) unless shape is a list of 0..MAX_DIMS non-negative integers. */
export function shapeSize(shape: unknown, what: string): number {
  if (!Array.isArray(shape) || shape.length > MAX_DIMS) throw new TypeError(`${what}: shape must be an array of at most ${MAX_DIMS} dimensions`);
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new TypeError(`${what}: shape dimensions must be non-negative integers, got ${JSON.stringify(shape)}`);
    n *= d;
  }
  if (!Number.isSafeInteger(n)) throw new RangeError(`${what}: shape ${JSON.stringify(shape)} is too large`);
  return n;
}

/** A new buffer holding `a` as little-endian float32 (never shares memory with `a`). */
export function encodeF32LE(a: RecordableArray): Buffer {
  if (LITTLE_ENDIAN) {
    if (a instanceof Float32Array) return Buffer.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    const f = Float32Array.from(a);
    return Buffer.from(f.buffer, f.byteOffset, f.byteLength);
  }
  const out = Buffer.allocUnsafe(a.length * 4);
  for (let i = 0; i < a.length; i++) out.writeFloatLE(a[i], i * 4);
  return out;
}

/** Decodes a little-endian float32 blob of `shape`; throws unless its length matches the shape exactly. */
export function decodeF32LE(blob: Uint8Array, shape: readonly number[], what = 'blob'): Float32Array {
  const n = shapeSize(shape, what);
  if (blob.byteLength !== n * 4) {
    throw new RangeError(`${what}: ${blob.byteLength} bytes do not hold float32 shape ${JSON.stringify(shape)} (${n * 4} bytes)`);
  }
  const out = new Float32Array(n);
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(blob);
  } else {
    const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
  }
  return out;
}
