import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BatchLike } from '../../src/record/index.js';

/** A fresh temporary directory and a function that removes it. */
export function tempDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'rhil-record-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Batch k of a deterministic stream: `count` vectors of `inCh` u16 drive values and `outCh` float32
 * responses whose values encode (k, index), so a reader can check every value, not only shapes.
 */
export function makeBatch(k: number, count = 16, inCh = 1, outCh = 3): BatchLike {
  const input = new Uint16Array(count * inCh);
  for (let i = 0; i < input.length; i++) input[i] = (k * 7 + i) % 4096;
  const output = new Float32Array(count * outCh);
  for (let i = 0; i < output.length; i++) output[i] = expectedOutput(k, i);
  return { batchId: k + 1, epoch: 3, timestampUs: 1000 * k, status: 0, count, input, output };
}

export function expectedOutput(k: number, i: number): number {
  return Math.fround(k + i / 1024 - 0.5);
}
