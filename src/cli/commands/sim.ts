import { randomInt } from 'node:crypto';
import type { Argv } from 'yargs';
import { profiles } from '../../sim/profiles.js';
import { serveSimOnPty, serveSimOnTcp } from '../../sim/expose.js';
import { UsageError, intArg, numArg } from '../util.js';

export function simCommand(y: Argv): Argv {
  return y.command(
    'sim',
    'Serve a simulated reservoir speaking protocol v1 on a pseudo-terminal or a TCP port until stopped',
    (a) => a
      .option('profile', { type: 'string', default: 'analog', choices: Object.keys(profiles), describe: 'simulated reservoir' })
      .option('seed', { type: 'number', default: 1, describe: 'seed of the model, its noise and the faults' })
      .option('pty', { type: 'boolean', default: false, describe: 'serve on a new pseudo-terminal (prints its path; needs socat)' })
      .option('link', { type: 'string', describe: 'with --pty: also at this fixed path (a symbolic link), so a restarted simulator is found where it was' })
      .option('listen', { type: 'string', describe: 'serve on HOST:PORT over TCP' })
      .option('credits', { type: 'number', describe: 'PROCESS frames the device accepts in flight (default 4)' })
      .option('paced', { type: 'boolean', default: false, describe: 'answer no faster than the real sample rate' })
      .option('baud', { type: 'number', describe: 'emulate a UART of this baud rate on outgoing bytes' })
      .option('bit-flip-rate', { type: 'number', describe: 'fault: probability per outgoing bit of a flip' })
      .option('drop-byte-rate', { type: 'number', describe: 'fault: probability per outgoing byte of being lost' })
      .option('delay-ms', { type: 'number', describe: 'fault: extra delay of every reply' })
      .option('jitter-ms', { type: 'number', describe: 'fault: random extra delay up to this, per reply' })
      .option('reset-after-batches', { type: 'number', describe: 'fault: reboot (BOOT, new epoch) every N batches' })
      .option('disconnect-after-batches', { type: 'number', describe: 'fault: drop the connection every N batches' })
      .option('hang-after-batches', { type: 'number', describe: 'fault: stop answering after N batches' })
      .check((args) => {
        if (args.pty === (args.listen !== undefined)) throw new UsageError('give exactly one of --pty or --listen HOST:PORT');
        if (args.link !== undefined && !args.pty) throw new UsageError('--link needs --pty');
        return true;
      })
      .example('$0 sim --profile optical --pty', 'then: rhil info --device /dev/pts/N')
      .example('$0 sim --pty --link /tmp/rhil-board', 'then: rhil info --device serial:/tmp/rhil-board (the same path after a restart)')
      .example('$0 sim --listen 127.0.0.1:7000 --bit-flip-rate 1e-5', 'then: rhil info --device tcp://127.0.0.1:7000'),
    async (args) => {
      const faults = Object.fromEntries(Object.entries({
        bitFlipRate: numArg('bit-flip-rate', args['bit-flip-rate'], 0, 1),
        dropByteRate: numArg('drop-byte-rate', args['drop-byte-rate'], 0, 1),
        delayMs: numArg('delay-ms', args['delay-ms'], 0, 60000),
        jitterMs: numArg('jitter-ms', args['jitter-ms'], 0, 60000),
        resetAfterBatches: intArg('reset-after-batches', args['reset-after-batches'], 1, 2 ** 31),
        disconnectAfterBatches: intArg('disconnect-after-batches', args['disconnect-after-batches'], 1, 2 ** 31),
        hangAfterBatches: intArg('hang-after-batches', args['hang-after-batches'], 1, 2 ** 31),
      }).filter(([, v]) => v !== undefined));
      const opts = {
        seed: intArg('seed', args.seed, 0, 0xffffffff),
        device: {
          // A restarted simulator must not boot into epochs it reported before (SPEC.md section 6),
          // or a host could not tell a replugged board's segments from the old ones by epoch.
          epochSeed: randomInt(0, 2 ** 32),
          ...(args.credits !== undefined ? { credits: intArg('credits', args.credits, 1, 255) } : {}),
          pacing: { samplePeriod: args.paced, ...(args.baud !== undefined ? { baudRate: intArg('baud', args.baud, 300, 100_000_000) } : {}) },
          faults,
        },
      };
      let sim;
      if (args.pty) {
        try {
          sim = await serveSimOnPty(args.profile, { ...opts, ...(args.link !== undefined ? { link: args.link } : {}) });
        } catch (e) {
          if (e instanceof RangeError && e.message.startsWith('pty link path')) throw new UsageError(`--link: ${e.message}`);
          throw e;
        }
      } else {
        const m = /^(.+):(\d+)$/.exec(args.listen!);
        if (!m) throw new UsageError(`--listen must be HOST:PORT, got ${args.listen}`);
        sim = await serveSimOnTcp(m[1].replace(/^\[(.*)\]$/, '$1'), intArg('listen port', Number(m[2]), 0, 65535)!, args.profile, opts);
      }
      // First line on stdout is the address alone, so scripts can read it.
      console.log(args.pty ? `PTY ${sim.address}` : `TCP ${sim.address}`);
      process.stderr.write(`serving sim:${args.profile} (seed ${opts.seed}) on ${sim.address}; Ctrl-C to stop\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await sim.close();
      process.stderr.write(`stopped; device served ${sim.device.batchesProcessed} batches\n`);
    },
  );
}
