#!/usr/bin/env node
/**
 * rhil command line. Commands only parse arguments and call library functions, so each can be
 * tested against a simulator. Exit codes: 0 ok, 1 failure, 2 usage error.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { calibrateCommand } from './commands/calibrate.js';
import { decodeCommand, encodeCommand } from './commands/codec.js';
import { devicesCommand, infoCommand } from './commands/device.js';
import { reportCommand } from './commands/report.js';
import { recordCommands } from './commands/runs.js';
import { runCommand } from './commands/run.js';
import { benchCommand } from './commands/bench.js';
import { simCommand } from './commands/sim.js';
import { sweepCommand } from './commands/sweep.js';
import { trainCommand } from './commands/train.js';
import { watchCommand } from './commands/watch.js';
import { configSupport } from './config.js';
import { UsageError } from './util.js';
import { requireValues } from './values.js';

export async function main(argv: string[]): Promise<number> {
  let cli = yargs(argv)
    .scriptName('rhil')
    .usage('$0 <command> [options]\n\nreservoir-hil: train digital layers around a physical reservoir, device in the loop.');
  const commands = [trainCommand, calibrateCommand, infoCommand, devicesCommand, simCommand, decodeCommand, encodeCommand, reportCommand, recordCommands, runCommand, benchCommand, watchCommand, sweepCommand];
  for (const add of commands) cli = add(cli);
  const config = configSupport(commands, argv);
  cli = cli
    .option('config', { type: 'string', global: true, describe: 'JSON or YAML file of option values: shared keys (device, db, seed, backend) and a section per command; flags override it' })
    .middleware(config.middleware, true)
    .middleware(requireValues(argv), true)
    .demandCommand(1, 'name a command; see rhil --help')
    .strict()
    .help()
    .version()
    .fail((msg, err) => {
      throw err ?? new UsageError(msg);
    });
  // A promise a library left unawaited (a batch in flight when the run stopped) must not end the
  // command with a stack trace: the command's own error says what failed.
  const stray = new Map<Promise<unknown>, unknown>();
  process.on('unhandledRejection', (e, p) => { stray.set(p, e); });
  process.on('rejectionHandled', (p) => { stray.delete(p); });
  try {
    await cli.parseAsync();
    const [e] = stray.values();
    if (stray.size === 0) return 0;
    process.stderr.write(`rhil: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  } catch (e) {
    process.stderr.write(`rhil: ${config.explain((e as Error).message)}\n`);
    // An interrupted run asks for its own status (130), as a shell reports a Ctrl-C.
    const code = (e as { exitCode?: unknown }).exitCode;
    if (typeof code === 'number') return code;
    return e instanceof UsageError || !(e instanceof Error) ? 2 : 1;
  }
}

process.on('uncaughtException', (e) => {
  process.stderr.write(`rhil: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
main(hideBin(process.argv)).then((code) => { process.exitCode = code; });
