import { existsSync } from 'node:fs';
import type { Argv } from 'yargs';
import { openRecordDb } from '../../record/index.js';
import { writeReport } from '../../report/index.js';
import { runIdArg } from '../run-id.js';
import { UsageError, defaultDbPath } from '../util.js';

export function reportCommand(y: Argv): Argv {
  return y.command(
    'report <run>',
    'Write a self-contained HTML report of a recorded run: status, device, config, training curves, test metrics, calibration, signals, events',
    (a) => a
      .positional('run', { type: 'string', describe: 'run id (see rhil runs list), or last', demandOption: true })
      .option('db', { type: 'string', describe: 'run database; default $RHIL_DB, else rhil.db' })
      .option('out', { type: 'string', describe: 'HTML file to write; default rhil-run-<id>.html' })
      .example('$0 report 12', 'write rhil-run-12.html from rhil.db')
      .example('$0 report last', 'the newest run')
      .example('$0 report 3 --db bench.db --out /tmp/run3.html', ''),
    (args) => {
      const path = args.db ?? defaultDbPath();
      // Read-only: a report must not migrate a database or change the status of someone's run.
      if (!existsSync(path)) throw new UsageError(`--db: ${path} does not exist`);
      let db;
      try {
        db = openRecordDb(path, { readonly: true });
      } catch (e) {
        throw new UsageError(`--db: cannot open ${path}: ${(e as Error).message}`);
      }
      try {
        const id = runIdArg(db, path, args.run);
        const out = args.out ?? `rhil-run-${id}.html`;
        let written;
        try {
          written = writeReport(db, id, out);
        } catch (e) {
          if (e instanceof RangeError && /^no run /.test(e.message)) throw new UsageError(e.message);
          throw e;
        }
        console.log(`wrote ${out} (${written.bytes.toLocaleString('en-US')} bytes, ${written.charts} charts)`);
      } finally {
        db.close();
      }
    },
  );
}
