import type { Argv } from 'yargs';
import { MAX_FRAME, decodeCapture, encodeJsonLines } from '../../protocol/index.js';
import { fromHex, toHex } from '../../protocol/json.js';
import { UsageError, intArg, readInput, writeAll } from '../util.js';

export function decodeCommand(y: Argv): Argv {
  return y.command(
    'decode [file]',
    'Decode a byte capture of protocol v1 traffic into JSON lines (frames and rejections)',
    (a) => a
      .positional('file', { type: 'string', default: '-', describe: 'capture file, or - for standard input' })
      .option('hex', { type: 'boolean', default: false, describe: 'input is hex text (whitespace ignored) rather than raw bytes' })
      .option('max-frame', { type: 'number', default: MAX_FRAME, describe: 'largest unstuffed frame to accept (12..65547)' })
      .example('$0 decode capture.bin', 'print every frame of a serial capture')
      .example('$0 encode hello.jsonl | $0 decode', 'round-trip hand-written frames'),
    async (args) => {
      const raw = readInput(args.file);
      let bytes: Uint8Array;
      try {
        bytes = args.hex ? fromHex(raw.toString('utf8').replace(/\s+/g, '')) : raw;
      } catch (e) {
        throw new UsageError(`--hex input: ${(e as Error).message}`);
      }
      const { lines, counts } = decodeCapture(bytes, intArg('max-frame', args['max-frame'], 12, MAX_FRAME));
      await writeAll(lines.map((l) => JSON.stringify(l)).join('\n') + (lines.length ? '\n' : ''));
      const rejected = Object.entries(counts).filter(([k, v]) => k !== 'frames' && v > 0);
      process.stderr.write(`${counts.frames} frames decoded, ${rejected.reduce((s, [, v]) => s + v, 0)} rejected` +
        (rejected.length ? ` (${rejected.map(([k, v]) => `${k}: ${v}`).join(', ')})` : '') + '\n');
    },
  );
}

export function encodeCommand(y: Argv): Argv {
  return y.command(
    'encode [file]',
    'Encode JSON lines ({"seq","flags","message"} per line, as in the test vectors) into wire bytes',
    (a) => a
      .positional('file', { type: 'string', default: '-', describe: 'JSON lines file, or - for standard input' })
      .option('hex', { type: 'boolean', default: false, describe: 'write hex text instead of raw bytes' })
      .example(`echo '{"seq":1,"flags":0,"message":{"kind":"hello","minVersion":1,"maxVersion":1}}' | $0 encode > /dev/ttyACM0`, 'send a HELLO by hand'),
    async (args) => {
      let bytes: Uint8Array;
      try {
        bytes = encodeJsonLines(readInput(args.file).toString('utf8'));
      } catch (e) {
        if (e instanceof UsageError) throw e;
        throw new UsageError(`${args.file === '-' ? 'standard input' : args.file}: ${(e as Error).message}`);
      }
      await writeAll(args.hex ? toHex(bytes) + '\n' : bytes);
    },
  );
}
