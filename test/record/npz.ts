/**
 * A reader of stored-entry zip files (plain and ZIP64) holding .npy v1.0 arrays, written from the
 * zip and NumPy format specifications rather than from the exporter, so the tests check the
 * exporter against the formats and not against itself.
 */
import { crc32 } from 'node:zlib';

export interface NpyArray { descr: string; shape: number[]; values: number[] }

export interface Npz { names: string[]; zip64: boolean; entries: Map<string, NpyArray> }

export function readNpz(file: Buffer): Npz {
  let eocd = -1;
  for (let i = file.length - 22; i >= Math.max(0, file.length - 22 - 0xffff); i--) {
    if (file.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  }
  if (eocd < 0) throw new Error('no end of central directory record');
  let entries = file.readUInt16LE(eocd + 10);
  let cdSize = file.readUInt32LE(eocd + 12);
  let cdOffset = file.readUInt32LE(eocd + 16);
  const zip64 = cdOffset === 0xffffffff || cdSize === 0xffffffff;
  if (zip64) {
    const loc = eocd - 20;
    if (file.readUInt32LE(loc) !== 0x07064b50) throw new Error('ZIP64 end locator missing');
    const rec = Number(file.readBigUInt64LE(loc + 8));
    if (file.readUInt32LE(rec) !== 0x06064b50) throw new Error('ZIP64 end record missing');
    entries = Number(file.readBigUInt64LE(rec + 32));
    cdSize = Number(file.readBigUInt64LE(rec + 40));
    cdOffset = Number(file.readBigUInt64LE(rec + 48));
  }
  const out: Npz = { names: [], zip64, entries: new Map() };
  let p = cdOffset;
  for (let k = 0; k < entries; k++) {
    if (file.readUInt32LE(p) !== 0x02014b50) throw new Error(`central directory entry ${k} has a bad signature`);
    if (file.readUInt16LE(p + 10) !== 0) throw new Error('entry is compressed');
    const crc = file.readUInt32LE(p + 16);
    let comp = file.readUInt32LE(p + 20);
    let size = file.readUInt32LE(p + 24);
    const nameLen = file.readUInt16LE(p + 28);
    const extraLen = file.readUInt16LE(p + 30);
    const commentLen = file.readUInt16LE(p + 32);
    let offset = file.readUInt32LE(p + 42);
    const name = file.toString('latin1', p + 46, p + 46 + nameLen);
    // ZIP64 extended information: only the fields whose 32-bit value is 0xffffffff, in this order.
    for (let x = p + 46 + nameLen; x < p + 46 + nameLen + extraLen;) {
      const id = file.readUInt16LE(x);
      const len = file.readUInt16LE(x + 2);
      if (id === 1) {
        let q = x + 4;
        if (size === 0xffffffff) { size = Number(file.readBigUInt64LE(q)); q += 8; }
        if (comp === 0xffffffff) { comp = Number(file.readBigUInt64LE(q)); q += 8; }
        if (offset === 0xffffffff) { offset = Number(file.readBigUInt64LE(q)); q += 8; }
      }
      x += 4 + len;
    }
    if (comp !== size) throw new Error(`${name}: stored sizes differ`);
    if (file.readUInt32LE(offset) !== 0x04034b50) throw new Error(`${name}: bad local header signature`);
    const local = offset + 30 + file.readUInt16LE(offset + 26) + file.readUInt16LE(offset + 28);
    const data = file.subarray(local, local + size);
    if (crc32(data) !== crc) throw new Error(`${name}: CRC-32 mismatch`);
    out.names.push(name);
    out.entries.set(name.replace(/\.npy$/, ''), readNpy(data));
    p += 46 + nameLen + extraLen + commentLen;
  }
  if (p !== cdOffset + cdSize) throw new Error('central directory size does not match its entries');
  return out;
}

export function readNpy(data: Buffer): NpyArray {
  if (data.toString('latin1', 0, 6) !== '\x93NUMPY' || data[6] !== 1 || data[7] !== 0) throw new Error('not an .npy v1.0 file');
  const hlen = data.readUInt16LE(8);
  const header = data.toString('latin1', 10, 10 + hlen);
  const m = /^\{'descr': '(<f4|<f8|<i8)', 'fortran_order': False, 'shape': \(([\d, ]*)\), \} *\n$/.exec(header);
  if (!m) throw new Error(`unexpected .npy header ${JSON.stringify(header)}`);
  const shape = m[2].split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  const n = shape.reduce((a, d) => a * d, 1);
  const body = data.subarray(10 + hlen);
  const width = m[1] === '<f4' ? 4 : 8;
  if (body.length !== n * width) throw new Error(`.npy body is ${body.length} bytes, shape needs ${n * width}`);
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    values.push(m[1] === '<f4' ? body.readFloatLE(i * 4) : m[1] === '<f8' ? body.readDoubleLE(i * 8) : Number(body.readBigInt64LE(i * 8)));
  }
  return { descr: m[1], shape, values };
}
