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
import { simCommand } from './commands/sim.js';
import { trainCommand } from './commands/train.js';
import { UsageError } from './util.js';

export async function main(argv: string[]): Promise<number> {
  let cli = yargs(argv)
    .scriptName('rhil')
    .usage('$0 <command> [options]\n\nreservoir-hil: train digital layers around a physical reservoir, device in the loop.');
  for (const add of [trainCommand, calibrateCommand, infoCommand, devicesCommand, simCommand, decodeCommand, encodeCommand]) cli = add(cli);
  cli = cli
    .demandCommand(1, 'name a command; see rhil --help')
    .strict()
    .help()
    .version()
    .fail((msg, err) => {
      throw err ?? new UsageError(msg);
    });
  try {
    await cli.parseAsync();
    return 0;
  } catch (e) {
    process.stderr.write(`rhil: ${(e as Error).message}\n`);
    return e instanceof UsageError || !(e instanceof Error) ? 2 : 1;
  }
}

main(hideBin(process.argv)).then((code) => { process.exitCode = code; });
