import type Database from 'better-sqlite3';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import {
  RUN_KINDS, RUN_STATUSES, SCHEMA_VERSION, type RunDetail, type RunKind, type RunStatus, type RunSummary, getRun, lastMetrics, listRuns,
  openRecordDb, readArtifact, runSamples, salvageRuns, schemaVersion, verifyRun,
} from '../../record/index.js';
import type { SurrogateChoiceRecord } from '../../train/common.js';
import { surrogateShape } from '../../train/surrogate-setup.js';
import { DB_OPTION, runIdArg, withRunsDb } from '../run-db.js';
import { UsageError, defaultDbPath, intArg } from '../util.js';
import { exportCommand } from './export.js';
import { compareRuns, flatten, jsonNumber } from '../../report/comparison-data.js';

/** `rhil runs ...` and `rhil export`: one entry for src/cli/main.ts's command list. */
export function recordCommands(y: Argv): Argv {
  return exportCommand(runsCommand(y));
}

function withDb<T>(path: string | undefined, fn: (db: Database.Database, path: string) => T): T {
  const p = path ?? defaultDbPath();
  return withRunsDb(p, (db) => fn(db, p));
}

function runsCommand(y: Argv): Argv {
  return y.command(
    'runs',
    'List, show, compare and verify the runs recorded in a run database',
    // --db here too, so a config file's shared `db` reaches the subcommands (it is keyed by `runs`).
    (a) => a
      .option('db', DB_OPTION)
      .command(
        'list',
        'List runs, newest first',
        (b) => b
          .option('db', DB_OPTION)
          .option('kind', { type: 'string', choices: RUN_KINDS, describe: 'only runs of this kind' })
          .option('status', { type: 'string', choices: RUN_STATUSES, describe: 'only runs with this status' })
          .option('limit', { type: 'number', default: 50, describe: 'at most this many runs' })
          .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
          .example('$0 runs list --kind train --status completed', ''),
        (args) => withDb(args.db, (db, path) => {
          const limit = intArg('limit', args.limit, 1, 1_000_000)!;
          const runs = listRuns(db, { kind: args.kind as RunKind | undefined, status: args.status as RunStatus | undefined, limit });
          if (args.json) return void console.log(JSON.stringify(runs, null, 2));
          if (runs.length === 0) return void console.log(`no runs in ${path}${args.kind || args.status ? ' match' : ''}`);
          console.log(table([
            ['id', 'kind', 'status', 'started', 'duration', 'batches', 'seed', 'backend'],
            ...runs.map((r) => [String(r.id), r.kind, r.status, when(r.startedMs), duration(r), r.batches < 0 ? '? (unreadable)' : String(r.batches), r.seed === null ? '-' : String(r.seed), r.backend ?? '-']),
          ]));
        }),
      )
      .command(
        'show <run>',
        'Show one run: config, device, calibration, metrics with their last values, artifacts, events',
        (b) => b
          .positional('run', { type: 'string', describe: 'run id, or last', demandOption: true })
          .option('db', DB_OPTION)
          .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
          .example('$0 runs show 12', '')
          .example('$0 runs show last --json', ''),
        (args) => withDb(args.db, (db, path) => {
          const id = runIdArg(db, path, args.run);
          const run = getRun(db, id)!;
          const last = new Map(lastMetrics(db, id).map((m) => [m.name, m]));
          let samples = -1;
          try { samples = runSamples(db, id); } catch (e) { if (!String((e as { code?: unknown }).code).startsWith('SQLITE_CORRUPT')) throw e; }
          // A train run with --surrogate auto or memoryless stores what it trained with (issue 11).
          const surrogateChoice = readArtifact(db, id, 'surrogate_choice')?.json as SurrogateChoiceRecord | undefined;
          if (args.json) {
            return void console.log(JSON.stringify({
              ...run, samples, metrics: run.metrics.map((m) => ({ ...m, lastValue: jsonNumber(last.get(m.name)?.value) })),
              ...(surrogateChoice ? { surrogateChoice } : {}),
            }, null, 2));
          }
          console.log(showRun(run, samples, last, surrogateChoice));
        }),
      )
      .command(
        'compare <runs..>',
        'Compare runs side by side: kind, status, seed, backend, device, the config keys that differ, the last value of every metric',
        (b) => b
          .positional('runs', { type: 'string', array: true, describe: 'two or more run ids (or last)', demandOption: true })
          .option('db', DB_OPTION)
          .option('json', { type: 'boolean', default: false, describe: 'print JSON (the same as --format json)' })
          .option('format', { type: 'string', choices: ['table', 'json', 'csv'], describe: 'table (default), json, or csv (one row per field, setting and metric; one column per run)' })
          .option('out', { type: 'string', describe: 'write to this file instead of standard output' })
          .example('$0 runs compare 12 13 14', '')
          .example('$0 runs compare 12 13 14 --format csv --out compare.csv', 'for a spreadsheet'),
        (args) => withDb(args.db, (db, path) => {
          const given = (args.runs as unknown[]) ?? [];
          if (given.length < 2) throw new UsageError(`runs compare needs two or more runs, got ${given.length}`);
          const c = compareRuns(db, given.map((v) => runIdArg(db, path, String(v))));
          const format = args.format ?? (args.json ? 'json' : 'table');
          if (args.json && format !== 'json') throw new UsageError(`--json and --format ${format} disagree; give one`);
          const emit = (text: string) => {
            if (args.out === undefined) return void process.stdout.write(text);
            try {
              writeFileSync(args.out, text);
            } catch (e) {
              throw new UsageError(`--out: cannot write ${args.out}: ${(e as Error).message}`);
            }
            console.log(`wrote ${args.out} (${c.runs.length} runs, ${format})`);
          };
          if (format === 'json') return emit(`${JSON.stringify(c, null, 2)}\n`);
          const rows: string[][] = [['run', ...c.runs.map(String)]];
          for (const [k, vs] of Object.entries(c.fields)) rows.push([k, ...vs.map(cell)]);
          for (const [k, vs] of Object.entries(c.config)) rows.push([`config.${k}`, ...vs.map(cell)]);
          if (format === 'csv') {
            // Full precision in CSV (a spreadsheet rounds for itself); the table rounds for the eye.
            for (const [k, vs] of Object.entries(c.metrics)) rows.push([k, ...vs.map((v) => (v === null ? '' : String(v)))]);
            return emit(rows.map((r) => r.map(csvCell).join(',')).join('\n') + '\n');
          }
          for (const [k, vs] of Object.entries(c.metrics)) rows.push([k, ...vs.map((v) => (v === null ? '-' : typeof v === 'number' ? short(v) : v))]);
          emit(`${table(rows)}\n${Object.keys(c.config).length === 0 ? '(configs are identical)\n' : ''}`);
        }),
      )
      .command(
        'verify <run>',
        'Prove every recorded (drive, response) pair sound: no hidden gaps, checksums, shapes, continuity of batch ids, time and epochs, status; the run\'s artifacts; SQLite\'s quick_check of the file; exit 1 when not',
        (b) => b
          .positional('run', { type: 'string', describe: 'run id, or last', demandOption: true })
          .option('db', DB_OPTION)
          .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
          .example('$0 runs verify 12', ''),
        (args) => withDb(args.db, (db, path) => {
          const id = runIdArg(db, path, args.run);
          const v = verifyRun(db, id);
          if (args.json) {
            console.log(JSON.stringify(v, null, 2));
          } else {
            const events = Object.entries(v.events).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
            const db = v.integrity === 'ok' ? 'database ok' : v.integrity === 'skipped' ? 'database not checked' : 'database DAMAGED';
            console.log(`run ${id}: ${v.ok ? 'ok' : 'NOT ok'}: ${v.batches} batches${v.sampled ? ` (${v.sampled} recorded)` : ''}, ${v.samples} samples, `
              + `${v.segments} segment${v.segments === 1 ? '' : 's'}; events ${events}; ${v.artifacts} artifact${v.artifacts === 1 ? '' : 's'}; ${db}`);
            for (const p of v.problems) console.log(`  ${p}`);
            if (v.omitted > 0) console.log(`  ... and ${v.omitted} more`);
          }
          const n = v.problems.length + v.omitted;
          if (!v.ok) throw new Error(`run ${id} failed verification: ${n} problem${n === 1 ? '' : 's'}${args.json ? '' : ' (listed above)'}`);
        }),
      )
      .command(
        'salvage <from> <to>',
        'Copy every readable run of a damaged run database into a new file (same run ids; what could not be read is named, and verify shows it as gaps)',
        (b) => b
          .positional('from', { type: 'string', describe: 'the damaged run database (opened read-only)', demandOption: true })
          .positional('to', { type: 'string', describe: 'the new run database to write (must not exist)', demandOption: true })
          .example('$0 runs salvage rhil.db rescued.db', ''),
        (args) => {
          const from = String(args.from), to = String(args.to);
          if (existsSync(to)) throw new UsageError(`${to} exists; salvage writes a new file and never replaces one`);
          if (!existsSync(from)) throw new UsageError(`no run database at ${from}`);
          let r;
          try {
            r = salvageRuns(from, to);
          } catch (e) {
            throw new Error(`cannot salvage ${from}: ${(e as Error).message}`);
          }
          const whole = r.runs.filter((x) => x.copied && x.lost.length === 0).length;
          for (const x of r.runs) {
            if (!x.copied) console.log(`run ${x.id}: unreadable, not copied`);
            else if (x.lost.length > 0) console.log(`run ${x.id}: ${x.batches} batches copied; lost ${x.lost.length}: ${x.lost.slice(0, 5).join(', ')}${x.lost.length > 5 ? ', ...' : ''}`);
          }
          console.log(`salvaged ${r.runs.filter((x) => x.copied).length} of ${r.runs.length} runs into ${to} (${whole} whole), ${r.calibrations} calibrations`
            + `${r.lostCalibrations.length ? ` (${r.lostCalibrations.length} unreadable)` : ''}; rhil runs verify RUN --db ${to} checks each`);
        },
      )
      .demandCommand(1, 'name a runs command: list, show, compare, verify or salvage')
      .example('$0 runs list', 'the newest 50 runs in rhil.db')
      .example('$0 runs verify last', 'check the newest run'),
    () => undefined,
  );
}

export { type Comparison, compareRuns } from '../../report/comparison-data.js';

function showRun(run: RunDetail, samples: number, last: Map<string, { step: number; value: number }>, surrogate?: SurrogateChoiceRecord): string {
  const lines: [string, string][] = [
    ['run', `${run.id} ${run.kind} ${run.status}`],
    ['started', `${when(run.startedMs)}${run.endedMs === null ? ', still running' : `, ended ${when(run.endedMs)} (${duration(run)})`}`],
    ['seed', run.seed === null ? '-' : String(run.seed)],
    ['backend', run.backend ?? '-'],
    ['host', `${run.host}, pid ${run.pid}`],
    ['commit', run.gitCommit ?? '-'],
    ['device', run.device ? `${run.device.vendor} ${run.device.model}, serial ${run.device.serial}, firmware ${run.device.firmware}` : 'none'],
    ['calibration', run.calibrationId === null ? 'none' : String(run.calibrationId)],
    ['batches', run.batches < 0 || samples < 0 ? 'unreadable (the file is damaged; rhil runs verify shows what)' : `${run.batches} (${samples} samples)`],
  ];
  const cfg = [...flatten(run.config)];
  if (cfg.length === 0) lines.push(['config', '{}']);
  for (const [i, [k, v]] of cfg.entries()) lines.push([i === 0 ? 'config' : '', `${k} = ${v}`]);
  if (run.metrics.length === 0) lines.push(['metrics', 'none']);
  for (const [i, m] of run.metrics.entries()) {
    const l = last.get(m.name);
    lines.push([i === 0 ? 'metrics' : '', `${m.name}: ${m.count} point${m.count === 1 ? '' : 's'}, last ${l ? short(l.value) : '-'} at step ${m.lastStep}`]);
  }
  if (surrogate) lines.push(['surrogate', surrogateLine(surrogate)]);
  if (run.artifacts.length === 0) lines.push(['artifacts', 'none']);
  for (const [i, a] of run.artifacts.entries()) lines.push([i === 0 ? 'artifacts' : '', `${a.name} (${a.kind}, ${a.isBlob ? 'blob' : 'json'}, ${bytes(a.bytes)})`]);
  const ev = Object.entries(run.events);
  lines.push(['events', ev.length ? ev.map(([k, n]) => `${k} ${n}`).join(', ') : 'none']);
  if (run.error) lines.push(['error', run.error]);
  return lines.map(([k, v]) => `${k.padEnd(12)}${v}`).join('\n');
}

/** The surrogate a run trained with and, when it explored, every design's score and the device's memory. */
function surrogateLine(c: SurrogateChoiceRecord): string {
  const s = `${c.design} (${surrogateShape(c)}; asked: ${c.requested})`;
  type Row = { design: string; hidden?: number[]; score: number; scoreSe?: number; parameters?: number; heldOutNmse: number; cosine: number };
  const ex = c.exploration as { scores?: Row[]; memory?: { capacity: number; reach: number } } | undefined;
  if (!ex?.scores) return s;
  const scores = ex.scores.map((d) => `${d.design}${d.hidden?.length ? ` ${d.hidden.join('x')}` : ''} ${d.score.toFixed(3)}${d.scoreSe ? ` ± ${d.scoreSe.toFixed(3)}` : ''} (held-out nmse ${d.heldOutNmse.toFixed(3)}, cosine ${d.cosine.toFixed(2)}${d.parameters ? `, ${d.parameters} parameters` : ''})`).join(', ');
  return `${s}; explored with ${c.samples} samples: score ${scores}` +
    (ex.memory ? `; device memory capacity ${short(ex.memory.capacity)}, reach ${ex.memory.reach}` : '');
}

/** A CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. */
const csvCell = (v: string): string => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((x, c) => (c === r.length - 1 ? x : x.padEnd(widths[c]))).join('  ')).join('\n');
}

const pad = (n: number): string => String(n).padStart(2, '0');
function when(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function duration(r: RunSummary): string {
  if (r.endedMs === null) return 'running';
  const s = (r.endedMs - r.startedMs) / 1000;
  return s < 60 ? `${s.toFixed(1)} s` : s < 3600 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(1)} h`;
}

const bytes = (n: number): string => (n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 2 ** 20).toFixed(1)} MiB`);
const short = (v: number): string => (Number.isInteger(v) ? String(v) : Number.isFinite(v) ? v.toPrecision(6).replace(/\.?0+(e|$)/, '$1') : String(v));
const cell = (v: string | number | null): string => (v === null ? '-' : String(v));
/** JSON has no NaN or Infinity: say them as strings rather than let them become null (which reads as 'absent'). */
