/**
 * Sweeps: many `rhil train` runs over a grid or list of settings, each a recorded run tagged with
 * the sweep, resumable, ending in one comparison report.
 *
 * ```ts
 * const r = await runSweep({ name: 'lr-scan', db: 'rhil.db', dir: 'rhil-sweep-lr-scan', parallel: 2,
 *   points: [{ params: { seed: 1, trainer: 'pat' }, varying: ['seed'], device: 'sim:analog-awg' }, ...] });
 * ```
 *
 * Each point runs as a child process (`rhil train ... --json`): parallel points share nothing, and
 * a point that crashes takes only its own run with it. The child records as any train run does;
 * the sweep then stores a `sweep` artifact on the run (`{ sweep, key, index, params }`), so
 * `SELECT run_id FROM artifacts WHERE name = 'sweep' AND json_extract(json, '$.sweep') = 'lr-scan'`
 * finds a sweep's runs. A point is identified by `key`, a hash of its settings: rerunning the
 * sweep skips every point with a completed run of that key and reruns the others (interrupted,
 * failed or never started) as new runs.
 */
import type Database from 'better-sqlite3';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { markInterruptedRuns, openRecordDb, pidAlive } from '../record/index.js';
import { renderComparison, writeReport } from '../report/index.js';

/** A train option's value, as the command line takes it. */
export type SweepValue = string | number | boolean;

export interface SweepPoint {
  /** `rhil train` options of the point (the sweep's base with the point's own values), by flag name. */
  params: Record<string, SweepValue>;
  /** The option names that vary between points, for the point's label. */
  varying: readonly string[];
  /** The device the point opens, or null when it opens none (the digital trainer). */
  device: string | null;
}

export interface SweepOptions {
  /** The sweep's name, stored in each run's tag: letters, digits, `.`, `_`, `-` (1..64). */
  name: string;
  points: readonly SweepPoint[];
  /** Run database every point records into. */
  db: string;
  /** Directory for the points' saved models (`<key>.json`); created if missing. */
  dir: string;
  /** Points run at once; more than 1 only when every point's device is a simulator. Defaults to 1. */
  parallel?: number;
  /** Comparison report of the sweep's runs (HTML); null writes none. Defaults to `rhil-sweep-<name>.html`. */
  report?: string | null;
  /** Aborting stops starting points and interrupts the running ones (each marks its run interrupted). */
  signal?: AbortSignal;
  /** Progress lines. Defaults to standard error. */
  log?: (line: string) => void;
  /** Called as each point ends (tests use it to interrupt a sweep at a known point). */
  onPointEnd?: (r: PointResult) => void;
  /** The command that starts rhil. Defaults to this Node running this package's `rhil` (dist/src/cli/main.js). */
  rhil?: readonly string[];
}

export type PointStatus = 'completed' | 'interrupted' | 'failed' | 'skipped';

export interface PointResult {
  index: number;
  key: string;
  label: string;
  /** 'skipped': a completed run of this point was already recorded. */
  status: PointStatus;
  /** The point's run, or null when the child stopped before recording one (a usage error). */
  runId: number | null;
  /** The child's last line on standard error when it did not complete. */
  error?: string;
  /** The final test metric (`test_<metric>`) of a completed run. */
  test?: { name: string; value: number };
}

export interface SweepResult {
  points: PointResult[];
  /** True when the sweep was aborted before every point ran. */
  interrupted: boolean;
  /** The report written, with how many runs it compares; null when none was. */
  report: { path: string; runs: number } | null;
}

/** A sweep that cannot run as given (a usage error for a command line). */
export class SweepError extends Error {
  override name = 'SweepError';
}

/** Longest accepted `parallel`: more children than this would only thrash the machine. */
export const MAX_PARALLEL = 64;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Flags the sweep sets on every child itself. */
export const SWEEP_SET_OPTIONS: readonly string[] = Object.freeze(['out', 'db', 'record', 'resume', 'json', 'live', 'verbose']);

const DEFAULT_RHIL = [process.execPath, fileURLToPath(new URL('../cli/main.js', import.meta.url))];

/** A point's identity: a hash of its settings, independent of key order and of the sweep file's layout. */
export function pointKey(params: Record<string, SweepValue>): string {
  const sorted = Object.keys(params).sort().map((k) => [k, params[k]]);
  return createHash('sha256').update(JSON.stringify(sorted)).digest('hex').slice(0, 12);
}

/** The point's varying settings as `name=value ...` (all its settings when nothing varies). */
export function pointLabel(p: SweepPoint): string {
  const names = p.varying.length ? p.varying : Object.keys(p.params);
  return names.filter((k) => k in p.params).map((k) => `${k}=${String(p.params[k])}`).join(' ') || '(defaults)';
}

/** `rhil train` flags for `params`: `--name=value` (a value starting with '-' stays a value), booleans as `--name`/`--no-name`. */
export function trainFlags(params: Record<string, SweepValue>): string[] {
  return Object.entries(params).map(([k, v]) => (typeof v === 'boolean' ? (v ? `--${k}` : `--no-${k}`) : `--${k}=${String(v)}`));
}

interface TaggedRun { id: number; status: string; pid: number; host: string }

/** Runs tagged as `key` of sweep `name`, oldest first. */
export function sweepRunsOf(db: Database.Database, name: string, key?: string): (TaggedRun & { key: string; index: number })[] {
  return db.prepare(`SELECT r.id, r.status, r.pid, r.host, json_extract(a.json, '$.key') AS key, json_extract(a.json, '$.index') AS "index"
    FROM artifacts a JOIN runs r ON r.id = a.run_id
    WHERE a.name = 'sweep' AND json_extract(a.json, '$.sweep') = ? AND (? IS NULL OR json_extract(a.json, '$.key') = ?) ORDER BY r.id`)
    .all(name, key ?? null, key ?? null) as (TaggedRun & { key: string; index: number })[];
}

/**
 * Tags run `runId` as point `index` of sweep `name`. Written as an artifact row by SQL because the
 * run's own recorder belongs to the child that made it, which has exited by now.
 */
function tag(db: Database.Database, runId: number, name: string, key: string, index: number, params: Record<string, SweepValue>): void {
  db.prepare(`INSERT INTO artifacts (run_id, name, kind, created_ms, json) VALUES (?, 'sweep', 'sweep', ?, ?) ON CONFLICT (run_id, name) DO NOTHING`)
    .run(runId, Date.now(), JSON.stringify({ sweep: name, key, index, params }));
}

/** Train runs whose model went to `out` (the point's own path), optionally those of one process. */
function runsWithOut(db: Database.Database, out: string, pid?: number): TaggedRun[] {
  return db.prepare(`SELECT id, status, pid, host FROM runs WHERE kind = 'train' AND json_extract(config, '$.out') = ? AND (? IS NULL OR pid = ?) ORDER BY id`)
    .all(out, pid ?? null, pid ?? null) as TaggedRun[];
}

function testMetric(db: Database.Database, runId: number): { name: string; value: number } | undefined {
  const row = db.prepare(`SELECT name, value FROM metrics WHERE run_id = ? AND name LIKE 'test\\_%' ESCAPE '\\' ORDER BY step DESC, id DESC LIMIT 1`)
    .get(runId) as { name: string; value: number | null } | undefined;
  return row && row.value !== null ? { name: row.name, value: row.value } : undefined;
}

/** Checks what needs no database: the name, `parallel`, distinct points, and simulators only when parallel. */
export function checkSweep(opts: Pick<SweepOptions, 'name' | 'points' | 'parallel'>): void {
  if (!NAME.test(opts.name)) throw new SweepError(`name must be 1..64 letters, digits, '.', '_' or '-' (it names files), got ${JSON.stringify(opts.name)}`);
  const parallel = opts.parallel ?? 1;
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > MAX_PARALLEL) throw new SweepError(`parallel must be an integer in 1..${MAX_PARALLEL}, got ${parallel}`);
  if (opts.points.length === 0) throw new SweepError('the sweep has no points');
  const seen = new Map<string, number>();
  opts.points.forEach((p, i) => {
    for (const k of SWEEP_SET_OPTIONS) if (k in p.params) throw new SweepError(`point ${i + 1} sets ${k}, which the sweep sets itself`);
    const key = pointKey(p.params);
    const j = seen.get(key);
    if (j !== undefined) throw new SweepError(`point ${i + 1} (${pointLabel(p)}) repeats point ${j + 1}`);
    seen.set(key, i);
  });
  if (parallel > 1) {
    const real = opts.points.findIndex((p) => p.device !== null && !p.device.startsWith('sim:'));
    if (real >= 0) {
      throw new SweepError(`parallel ${parallel} needs every point on a simulator (sim:...), but point ${real + 1} uses device ${opts.points[real].device}; a real board serves one run at a time, so set parallel: 1`);
    }
  }
}

/** Runs the sweep's points not yet completed, then writes the comparison report of all its completed points. */
export async function runSweep(opts: SweepOptions): Promise<SweepResult> {
  checkSweep(opts);
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const parallel = opts.parallel ?? 1;
  const dir = resolvePath(opts.dir);
  mkdirSync(dir, { recursive: true });
  const rhil = opts.rhil ?? DEFAULT_RHIL;
  const points = opts.points.map((p, index) => {
    const key = pointKey(p.params);
    return { ...p, index, key, label: pointLabel(p), out: join(dir, `${key}.json`) };
  });
  const total = points.length;
  // Opening for writing marks the runs of processes that died (a crashed sweep's children) interrupted.
  const db = openRecordDb(opts.db);
  try {
    const results: PointResult[] = new Array(total);
    const todo: typeof points = [];
    for (const p of points) {
      // A point whose child completed after its sweep died is found by its model path, and tagged now.
      for (const r of runsWithOut(db, p.out)) tag(db, r.id, opts.name, p.key, p.index, p.params);
      const runs = sweepRunsOf(db, opts.name, p.key);
      const running = runs.find((r) => r.status === 'running');
      if (running) {
        throw new SweepError(`point ${p.index + 1} (${p.label}) has run ${running.id} still running (pid ${running.pid} on ${running.host}); let it end or stop it, then rerun the sweep`);
      }
      const done = runs.filter((r) => r.status === 'completed').at(-1);
      if (done) results[p.index] = { index: p.index, key: p.key, label: p.label, status: 'skipped', runId: done.id, test: testMetric(db, done.id) };
      else todo.push(p);
    }
    log(`sweep ${opts.name}: ${total} points, ${total - todo.length} already completed, ${todo.length} to run${parallel > 1 && todo.length > 1 ? `, ${Math.min(parallel, todo.length)} at a time` : ''}; runs in ${opts.db}`);

    const children = new Set<ChildProcess>();
    const onAbort = () => { for (const c of children) c.kill('SIGINT'); };
    opts.signal?.addEventListener('abort', onAbort);
    let finished = total - todo.length;
    const runPoint = async (p: (typeof points)[number]): Promise<PointResult> => {
      const started = Date.now();
      // Its own process group: a Ctrl-C on the terminal reaches the sweep alone, which passes on
      // exactly one SIGINT (a second one makes rhil train exit at once, skipping its clean stop).
      const child = spawn(rhil[0], [...rhil.slice(1), 'train', ...trainFlags(p.params), `--db=${opts.db}`, `--out=${p.out}`, '--json'],
        { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
      children.add(child);
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (s: string) => { stderr = (stderr + s).slice(-8192); });
      const [code, sig] = await new Promise<[number | null, NodeJS.Signals | null]>((res) => {
        child.on('error', (e) => { stderr += `\n${e.message}`; res([null, null]); });
        child.on('close', (c, s) => res([c, s]));
      });
      children.delete(child);
      // A child killed before it could mark its run leaves it 'running' with a dead pid.
      markInterruptedRuns(db);
      const run = child.pid === undefined ? undefined : runsWithOut(db, p.out, child.pid).at(-1);
      if (run) tag(db, run.id, opts.name, p.key, p.index, p.params);
      const status: PointStatus = run?.status === 'completed' && code === 0 ? 'completed' : code === 130 || sig === 'SIGINT' || run?.status === 'interrupted' ? 'interrupted' : 'failed';
      const error = status === 'completed' ? undefined
        : stderr.trim().split('\n').filter((l) => l.trim()).at(-1)?.replace(/^rhil: /, '') ?? (sig ? `killed by ${sig}` : `exit code ${code}`);
      const r: PointResult = { index: p.index, key: p.key, label: p.label, status, runId: run?.id ?? null, ...(error ? { error } : {}), ...(status === 'completed' ? { test: testMetric(db, run!.id) } : {}) };
      finished += 1;
      const what = status === 'completed' ? `run ${r.runId} completed${r.test ? `, ${r.test.name} ${r.test.value.toPrecision(4)}` : ''}`
        : `${r.runId !== null ? `run ${r.runId} ` : 'no run, '}${status}: ${error}`;
      log(`[${finished}/${total}] ${p.label}: ${what} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      opts.onPointEnd?.(r);
      return r;
    };

    const queue = [...todo];
    const worker = async (): Promise<void> => {
      for (let p = queue.shift(); p && !opts.signal?.aborted; p = queue.shift()) results[p.index] = await runPoint(p);
    };
    try {
      await Promise.all(Array.from({ length: Math.min(parallel, todo.length) }, worker));
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
    const ran = results.filter((r) => r !== undefined);
    const interrupted = ran.length < total || ran.some((r) => r.status === 'interrupted');
    if (interrupted) {
      log(`sweep ${opts.name} interrupted: ${ran.filter((r) => r.status === 'completed' || r.status === 'skipped').length} of ${total} points completed; run the same sweep again to run the rest`);
      return { points: ran, interrupted, report: null };
    }
    const ids = results.filter((r) => r.runId !== null && (r.status === 'completed' || r.status === 'skipped')).map((r) => r.runId!);
    const reportPath = opts.report === undefined ? `rhil-sweep-${opts.name}.html` : opts.report;
    let report: SweepResult['report'] = null;
    if (reportPath !== null && ids.length > 0) {
      // One run is no comparison: it gets the single-run report.
      if (ids.length === 1) writeReport(db, ids[0], reportPath);
      else writeFileSync(reportPath, renderComparison(db, ids));
      report = { path: reportPath, runs: ids.length };
    }
    return { points: results, interrupted, report };
  } finally {
    db.close();
  }
}
