#!/usr/bin/env node
/**
 * rhil command line. Only parses arguments and does I/O; the work is in library functions so
 * every command can be tested without a terminal. Exit codes: 0 ok, 1 failure, 2 usage error.
 */
import { readFileSync, writeSync } from 'node:fs';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { MAX_FRAME, decodeCapture, encodeJsonLines } from '../protocol/index.js';
import { fromHex, toHex } from '../protocol/json.js';

class UsageError extends Error {}

function readInput(path: string): Buffer {
  try {
    return readFileSync(path === '-' ? 0 : path);
  } catch (e) {
    throw new UsageError(`cannot read ${path === '-' ? 'standard input' : path}: ${(e as Error).message}`);
  }
}

function writeAll(fd: number, data: string | Uint8Array): void {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  for (let off = 0; off < buf.length;) off += writeSync(fd, buf, off, buf.length - off);
}

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const cli = yargs(argv)
    .scriptName('rhil')
    .usage('$0 <command> [options]\n\nreservoir-hil: train digital layers around a physical reservoir, device in the loop.')
    .command(
      'decode [file]',
      'Decode a byte capture of protocol v1 traffic into JSON lines (frames and rejections)',
      (y) => y
        .positional('file', { type: 'string', default: '-', describe: 'capture file, or - for standard input' })
        .option('hex', { type: 'boolean', default: false, describe: 'input is hex text (whitespace ignored) rather than raw bytes' })
        .option('max-frame', { type: 'number', default: MAX_FRAME, describe: 'largest unstuffed frame to accept (12..65547)' })
        .example('$0 decode capture.bin', 'print every frame of a serial capture')
        .example('$0 encode hello.jsonl | $0 decode', 'round-trip hand-written frames'),
      (args) => {
        const raw = readInput(args.file);
        let bytes: Uint8Array;
        try {
          bytes = args.hex ? fromHex(raw.toString('utf8').replace(/\s+/g, '')) : raw;
        } catch (e) {
          throw new UsageError(`--hex input: ${(e as Error).message}`);
        }
        if (!Number.isInteger(args['max-frame']) || args['max-frame'] < 12 || args['max-frame'] > MAX_FRAME) {
          throw new UsageError(`--max-frame must be an integer in 12..${MAX_FRAME}, got ${args['max-frame']}`);
        }
        const { lines, counts } = decodeCapture(bytes, args['max-frame']);
        writeAll(1, lines.map((l) => JSON.stringify(l)).join('\n') + (lines.length ? '\n' : ''));
        const rejected = Object.entries(counts).filter(([k, v]) => k !== 'frames' && v > 0);
        process.stderr.write(`${counts.frames} frames decoded, ${rejected.reduce((s, [, v]) => s + v, 0)} rejected` +
          (rejected.length ? ` (${rejected.map(([k, v]) => `${k}: ${v}`).join(', ')})` : '') + '\n');
      },
    )
    .command(
      'encode [file]',
      'Encode JSON lines ({"seq","flags","message"} per line, as in the test vectors) into wire bytes',
      (y) => y
        .positional('file', { type: 'string', default: '-', describe: 'JSON lines file, or - for standard input' })
        .option('hex', { type: 'boolean', default: false, describe: 'write hex text instead of raw bytes' })
        .example(`echo '{"seq":1,"flags":0,"message":{"kind":"hello","minVersion":1,"maxVersion":1}}' | $0 encode > /dev/ttyACM0`, 'send a HELLO by hand'),
      (args) => {
        let bytes: Uint8Array;
        try {
          bytes = encodeJsonLines(readInput(args.file).toString('utf8'));
        } catch (e) {
          if (e instanceof UsageError) throw e;
          throw new UsageError(`${args.file === '-' ? 'standard input' : args.file}: ${(e as Error).message}`);
        }
        writeAll(1, args.hex ? toHex(bytes) + '\n' : bytes);
      },
    )
    .demandCommand(1, 'name a command; see rhil --help')
    .strict()
    .help()
    .version()
    .fail((msg, err) => {
      throw err ?? new UsageError(msg);
    });
  try {
    await cli.parseAsync();
  } catch (e) {
    process.stderr.write(`rhil: ${(e as Error).message}\n`);
    exitCode = e instanceof UsageError || !(e instanceof Error) ? 2 : 1;
  }
  return exitCode;
}

main(hideBin(process.argv)).then((code) => { process.exitCode = code; });
