/**
 * CRC-32C (Castagnoli): reflected polynomial 0x82F63B78, init and final XOR 0xFFFFFFFF.
 * Check value: crc32c("123456789") === 0xE3069283. See firmware-protocol/SPEC.md 1.3 for why
 * this CRC and not IEEE CRC-32.
 *
 * Slicing-by-8: eight 256-entry tables let the loop consume 8 bytes per step, which is what
 * keeps frame decoding well above USB 2.0 rates in plain JavaScript.
 */
const TABLES = buildTables();

function buildTables(): Uint32Array {
  const t = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let k = 1; k < 8; k++) {
    for (let n = 0; n < 256; n++) {
      const prev = t[(k - 1) * 256 + n];
      t[k * 256 + n] = (prev >>> 8) ^ t[prev & 0xff];
    }
  }
  return t;
}

/**
 * CRC-32C of `data[start..end)`.
 * @example crc32c(new TextEncoder().encode('123456789')) // 0xe3069283
 */
export function crc32c(data: Uint8Array, start = 0, end = data.length): number {
  const t = TABLES;
  let c = 0xffffffff;
  let i = start;
  while (end - i >= 8) {
    const a = c ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24));
    c =
      t[1792 + (a & 0xff)] ^
      t[1536 + ((a >>> 8) & 0xff)] ^
      t[1280 + ((a >>> 16) & 0xff)] ^
      t[1024 + (a >>> 24)] ^
      t[768 + data[i + 4]] ^
      t[512 + data[i + 5]] ^
      t[256 + data[i + 6]] ^
      t[data[i + 7]];
    i += 8;
  }
  while (i < end) c = t[(c ^ data[i++]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
