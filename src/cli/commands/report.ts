import type { Argv } from 'yargs';
import { writeReport } from '../../report/index.js';
import { DB_OPTION, runIdArg, withRunsDb } from '../run-db.js';
import { defaultDbPath } from '../util.js';

export function reportCommand(y: Argv): Argv {
  return y.command(
    'report <run>',
    'Write a self-contained HTML report of a recorded run: status, device, config, training curves, test metrics, calibration, signals, events',
    (a) => a
      .positional('run', { type: 'string', describe: 'run id (see rhil runs list), or last', demandOption: true })
      .option('db', DB_OPTION)
      .option('out', { type: 'string', describe: 'HTML file to write; default rhil-run-<id>.html' })
      .example('$0 report 12', 'write rhil-run-12.html from rhil.db')
      .example('$0 report last', 'the newest run')
      .example('$0 report 3 --db bench.db --out /tmp/run3.html', ''),
    (args) => {
      const path = args.db ?? defaultDbPath();
      // Read-only: a report must not migrate a database or change the status of someone's run.
      withRunsDb(path, (db) => {
        const id = runIdArg(db, path, args.run);
        const out = args.out ?? `rhil-run-${id}.html`;
        const written = writeReport(db, id, out);
        console.log(`wrote ${out} (${written.bytes.toLocaleString('en-US')} bytes, ${written.charts} charts)`);
      });
    },
  );
}
