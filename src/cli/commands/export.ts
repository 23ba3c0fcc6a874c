import type { Argv } from 'yargs';
import { EXPORT_FORMATS, ExportError, type ExportFormat, exportRun } from '../../record/index.js';
import { UsageError, defaultDbPath } from '../util.js';
import { DB_OPTION, runIdArg, withRunsDb } from '../run-db.js';
import { Progress } from '../progress.js';

export function exportCommand(y: Argv): Argv {
  return y.command(
    'export <run>',
    'Export a recorded run for NumPy (npz), spreadsheets (csv) or line-by-line tools (jsonl), streaming',
    (a) => a
      .positional('run', { type: 'string', describe: 'run id, or last', demandOption: true })
      .option('format', { type: 'string', choices: EXPORT_FORMATS, demandOption: true, describe: 'npz (inputs, outputs, per-sample ids, metrics), csv (one row per sample) or jsonl (one line per batch, then per metric point)' })
      .option('out', { type: 'string', describe: 'file to write; default rhil-run-<id>.<format>; --out=- for standard output (csv, jsonl)' })
      .option('db', DB_OPTION)
      .option('json', { type: 'boolean', default: false, describe: 'print what was written as JSON' })
      .example('$0 export 12 --format npz', 'write rhil-run-12.npz; np.load it')
      .example('$0 export last --format csv --out=- | head', 'the newest run as CSV on standard output'),
    (args) => {
      const path = args.db ?? defaultDbPath();
      const format = args.format as ExportFormat;
      withRunsDb(path, (db) => {
        const id = runIdArg(db, path, args.run);
        const out = args.out ?? `rhil-run-${id}.${format}`;
        // yargs reads `--out -` as an empty --out and a stray '-': say how to spell it.
        if (out === '') throw new UsageError('--out needs a file name (write --out=- for standard output)');
        if (out === '-' && format === 'npz') throw new UsageError('--out=-: npz cannot go to standard output (a zip is written at positions); name a file');
        let r;
        // On standard error, so it never mixes into --out=- data: a bar on a terminal, a line now and then otherwise.
        const progress = args.json ? null : new Progress({ unit: 'batches', label: `exporting run ${id}`, plainTenths: false });
        try {
          r = exportRun(db, id, format, out === '-' ? 1 : out, { onProgress: (done, total) => progress?.update(done, undefined, total ? done / total : 1) });
          progress?.finish();
        } catch (e) {
          progress?.clear();
          if (e instanceof ExportError) throw new Error(e.message);
          // The reader of standard output stopped early (| head): what it wanted was written.
          if (out === '-' && (e as { code?: unknown }).code === 'EPIPE') return;
          const code = String((e as { code?: unknown }).code ?? '');
          if (/^(EACCES|EPERM|ENOENT|EISDIR|EROFS|ENOTDIR)$/.test(code)) throw new UsageError(`--out: cannot write ${out} (${code}); pass --out a path in a writable directory`);
          if (code === 'ENOSPC') throw new Error(`no space left writing ${out}; free some space or pass --out elsewhere`);
          throw e;
        }
        const line = `exported run ${id}: ${r.batches} batches, ${r.samples} samples, ${r.metricPoints} metric points -> ${out === '-' ? 'standard output' : out} (${r.bytes.toLocaleString('en-US')} bytes)`;
        if (args.json && out !== '-') console.log(JSON.stringify({ run: id, out, ...r }, null, 2));
        else if (out === '-') process.stderr.write(`${line}\n`);
        else console.log(line);
      });
    },
  );
}
