/**
 * Consistent Overhead Byte Stuffing (Cheshire & Baker 1999), exactly as in SPEC.md 1.2:
 * a 0xFF block carries no implied zero, and nothing is written after a 0xFF block that ends
 * the data. Encoded output never contains 0x00, so 0x00 can delimit frames.
 */

/** Worst-case encoded size of `n` bytes, without the delimiter. */
export function cobsMaxEncodedLength(n: number): number {
  return n + Math.floor(n / 254) + 1;
}

/**
 * Encodes `src[start..end)` into `dst` at `at`; returns the index after the last byte written.
 * `dst` must have room for `cobsMaxEncodedLength(end - start)` bytes.
 */
export function cobsEncodeInto(src: Uint8Array, start: number, end: number, dst: Uint8Array, at: number): number {
  let o = at;
  let i = start;
  for (;;) {
    // One run of non-zero bytes up to the next zero (or the end), written in blocks of <= 254.
    let z = src.indexOf(0, i);
    if (z < 0 || z > end) z = end;
    while (z - i >= 254) {
      dst[o] = 0xff;
      copyRun(src, i, i + 254, dst, o + 1);
      o += 255;
      i += 254;
      // A 0xFF block that ends the data is the last thing written (no empty final block).
      if (i === end) return o;
    }
    const n = z - i;
    dst[o] = n + 1;
    copyRun(src, i, z, dst, o + 1);
    o += n + 1;
    if (z === end) return o;
    i = z + 1;
  }
}

/** Copies src[from..to) to dst at `at`: short runs byte by byte, long ones with a native copy. */
function copyRun(src: Uint8Array, from: number, to: number, dst: Uint8Array, at: number): void {
  if (to - from > 32) dst.set(src.subarray(from, to), at);
  else for (let k = from; k < to; k++) dst[at++] = src[k];
}

/** Encodes `data` (without delimiter) into a new array. */
export function cobsEncode(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(cobsMaxEncodedLength(data.length));
  return out.slice(0, cobsEncodeInto(data, 0, data.length, out, 0));
}

/**
 * Decodes `src[start..end)` (no delimiter inside) into `dst` from index 0, writing at most
 * `limit` bytes. Returns the decoded length, -1 when a code byte points past the end (or is
 * zero), or -2 when the output would exceed `limit` (checked first, as SPEC.md section 2 orders).
 */
export function cobsDecodeInto(src: Uint8Array, start: number, end: number, dst: Uint8Array, limit: number): number {
  let i = start;
  let o = 0;
  while (i < end) {
    const code = src[i];
    if (code === 0) return -1;
    const blockEnd = i + code;
    // Oversize wins over a truncated block if the bytes that did arrive already overflow (SPEC 2).
    if (blockEnd > end) return o + (end - i - 1) > limit ? -2 : -1;
    const n = code - 1;
    if (o + n > limit) return -2;
    i++;
    if (n > 24) {
      dst.set(src.subarray(i, blockEnd), o);
      o += n;
      i = blockEnd;
    } else {
      while (i < blockEnd) dst[o++] = src[i++];
    }
    if (code !== 0xff && i < end) {
      if (o >= limit) return -2;
      dst[o++] = 0;
    }
  }
  return o;
}

/** Decodes a complete encoded block (no delimiter) into a new array; null when invalid. */
export function cobsDecode(data: Uint8Array): Uint8Array | null {
  const out = new Uint8Array(data.length);
  const n = cobsDecodeInto(data, 0, data.length, out, out.length);
  return n < 0 ? null : out.slice(0, n);
}
