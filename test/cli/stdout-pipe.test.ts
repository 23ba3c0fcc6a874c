/**
 * Commands that write to standard output keep writing when the reader is slow: a pipe that is
 * full must make the writer wait, not fail with EAGAIN at 64 KiB (the pipe's buffer size).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeCapture, encodeJsonLines } from '../../src/protocol/index.js';

const main = new URL('../../src/cli/main.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'rhil-pipe-'));
const pings = Array.from({ length: 5000 }, (_, i) =>
  JSON.stringify({ seq: i + 1, flags: 0, message: { kind: 'ping', data: '00112233' } })).join('\n') + '\n';
const capture = encodeJsonLines(pings);
writeFileSync(join(dir, 'cap.bin'), capture);
writeFileSync(join(dir, 'pings.jsonl'), pings);

/**
 * Runs `rhil args` into a real pipe whose reader starts reading only after the writer has filled
 * it, and returns what the reader got and the command's exit status and standard error.
 */
async function throughSlowReader(args: string[]): Promise<{ bytes: number; code: number; stderr: string }> {
  const cmd = `{ "${process.execPath}" "${main}" ${args.join(' ')} 2>"${dir}/err"; echo $? > "${dir}/rc"; } | { sleep 0.5; wc -c; }`;
  const { stdout } = await promisify(execFile)('sh', ['-c', cmd], { encoding: 'utf8' });
  return { bytes: Number(stdout.trim()), code: Number(readFileSync(join(dir, 'rc'), 'utf8')), stderr: readFileSync(join(dir, 'err'), 'utf8') };
}

test('decode writes all of a large decode through a slow pipe reader', async () => {
  const { lines } = decodeCapture(capture);
  const expected = Buffer.byteLength(lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  assert.ok(expected > 4 * 65536, 'the output must be several pipe buffers long to test anything');
  const r = await throughSlowReader(['decode', `"${dir}/cap.bin"`]);
  assert.is(r.code, 0, r.stderr);
  assert.not.match(r.stderr, /EAGAIN/);
  assert.is(r.bytes, expected);
});

test('encode --hex writes all of its output through a slow pipe reader', async () => {
  const r = await throughSlowReader(['encode', '--hex', `"${dir}/pings.jsonl"`]);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.bytes, capture.length * 2 + 1);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
