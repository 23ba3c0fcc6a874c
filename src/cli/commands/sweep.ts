import type { Argv } from 'yargs';
import { ExitError, INTERRUPT_EXIT_CODE } from '../../session/index.js';
import { SweepError, runSweep } from '../../sweep/index.js';
import { commandTable } from '../config.js';
import { readSweepFile } from '../sweep-file.js';
import { UsageError, defaultDbPath } from '../util.js';
import { trainCommand } from './train.js';

export function sweepCommand(y: Argv): Argv {
  return y.command(
    'sweep <file>',
    'Run a grid or list of train settings from a sweep file, each point a recorded run tagged with the sweep; rerun to resume; ends with a comparison report',
    (a) => a
      .positional('file', { type: 'string', describe: 'sweep file (YAML, or JSON for .json): name, base, grid or points, parallel', demandOption: true })
      .option('db', { type: 'string', defaultDescription: '$RHIL_DB or rhil.db', describe: 'run database every point records into (and where a rerun looks for finished points)' })
      .option('out', { type: 'string', describe: 'comparison report to write (HTML); default rhil-sweep-<name>.html' })
      .option('dir', { type: 'string', describe: 'directory for the points\' trained models (<point key>.json); default rhil-sweep-<name>' })
      .example('$0 sweep lr-scan.yaml', 'run every point of lr-scan.yaml, then write rhil-sweep-lr-scan.html')
      .example('$0 sweep lr-scan.yaml', 'the same again after a Ctrl-C: points already completed are skipped')
      .epilogue('Sweep file: name: NAME; base: {train options}; grid: {train option: [values...]} (every combination) or points: [{train options}, ...]; parallel: N (more than 1 only when every point\'s device is sim:<profile>). Keys are rhil train\'s options. Ctrl-C interrupts the running points (their runs are marked interrupted); a second Ctrl-C exits at once. Exit codes: 0 every point completed, 1 a point failed, 2 usage error, 130 interrupted.'),
    async (args) => {
      const db = args.db ?? defaultDbPath();
      const plan = readSweepFile(args.file, commandTable([trainCommand]));
      const abort = new AbortController();
      const stop = () => {
        if (abort.signal.aborted) process.exit(INTERRUPT_EXIT_CODE);
        process.stderr.write('interrupting the running points (Ctrl-C again to exit at once)\n');
        abort.abort();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      let result;
      try {
        result = await runSweep({
          name: plan.name, points: plan.points, parallel: plan.parallel, db, dir: args.dir ?? `rhil-sweep-${plan.name}`,
          report: args.out ?? `rhil-sweep-${plan.name}.html`, signal: abort.signal, log: (line) => console.log(line),
        });
      } catch (e) {
        throw e instanceof SweepError ? new UsageError(`${args.file}: ${e.message}`) : e;
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
      if (result.interrupted) throw new ExitError(`sweep ${plan.name} interrupted; rerun rhil sweep ${args.file} to run the remaining points`, INTERRUPT_EXIT_CODE);
      if (result.report) console.log(`wrote ${result.report.path} (${result.report.runs === 1 ? 'the report of the one completed run' : `${result.report.runs} runs compared`})`);
      const failed = result.points.filter((p) => p.status === 'failed');
      if (failed.length) throw new ExitError(`${failed.length} of ${result.points.length} points failed (point ${failed.map((p) => p.index + 1).join(', ')}); rerun the sweep to retry them`, 1);
    },
  );
}
