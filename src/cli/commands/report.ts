import { writeFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { renderComparison, writeReport } from '../../report/index.js';
import { DB_OPTION, runIdArg, withRunsDb } from '../run-db.js';
import { defaultDbPath } from '../util.js';

export function reportCommand(y: Argv): Argv {
  return y.command(
    'report <runs..>',
    'Write a self-contained HTML report of a recorded run (status, device, config, training curves, test metrics, calibration, signals, events), or of several runs side by side',
    (a) => a
      .positional('runs', { type: 'string', array: true, describe: 'run id (see rhil runs list), or last; two or more: a comparison', demandOption: true })
      .option('db', DB_OPTION)
      .option('out', { type: 'string', describe: 'HTML file to write; default rhil-run-<id>.html, or rhil-compare-<id>-<id>....html for several runs' })
      .example('$0 report 12', 'write rhil-run-12.html from rhil.db')
      .example('$0 report last', 'the newest run')
      .example('$0 report 12 13 14', 'three runs side by side: curves overlaid, the settings that differ, final metrics with the spread over seeds')
      .example('$0 report 3 --db bench.db --out /tmp/run3.html', ''),
    (args) => {
      const path = args.db ?? defaultDbPath();
      // Read-only: a report must not migrate a database or change the status of someone's run.
      withRunsDb(path, (db) => {
        const ids = [...new Set((args.runs as unknown[]).map((v) => runIdArg(db, path, String(v))))];
        if (ids.length === 1) {
          const out = args.out ?? `rhil-run-${ids[0]}.html`;
          const written = writeReport(db, ids[0], out);
          console.log(`wrote ${out} (${written.bytes.toLocaleString('en-US')} bytes, ${written.charts} charts)`);
          return;
        }
        const out = args.out ?? `rhil-compare-${ids.length > 6 ? `${ids.slice(0, 6).join('-')}-and-${ids.length - 6}-more` : ids.join('-')}.html`;
        const html = renderComparison(db, ids);
        writeFileSync(out, html);
        console.log(`wrote ${out} (${Buffer.byteLength(html).toLocaleString('en-US')} bytes, ${ids.length} runs compared, ${(html.match(/<figure class="chart"/g) ?? []).length} charts)`);
      });
    },
  );
}
