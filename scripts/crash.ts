/**
 * Crash safety of a recorded training run: `node dist/scripts/crash.js [--kills N] [--seed S]
 * [--min-delay-ms MS] [--max-delay-ms MS] [--episodes N] [--db PATH]` (`npm run crash`).
 *
 * Starts `rhil train --db DB --episodes 1000` (pat on the in-process analog simulator), waits
 * until it says it is recording, SIGKILLs it at a moment drawn from the seeded generator (uniform
 * in [min, max] ms after that), and opens the database as the next user would. After every kill:
 * openRecordDb succeeds (and marks the run 'interrupted', its writer being gone), SQLite's
 * integrity check says ok, every batch reads back, the run is 'interrupted', and verifyRun finds
 * no problem. All runs share one database, so each kill also lands on a file that earlier kills
 * left behind; at the end every run in it is verified again. Exit status 0 when all of it holds.
 * Defaults: 20 kills, seed 1, 300..8000 ms (spanning pat's first episodes, its first surrogate
 * fit and later episodes), a fresh database in a temporary directory (removed unless --db names one).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { getRun, openRecordDb, readBatches, verifyRun } from '../src/record/index.js';
import { Rng } from '../src/core/rng.js';

export interface CrashOptions {
  /** Kills. Defaults to 20. */
  kills?: number;
  /** Seed of the kill moments. Defaults to 1. */
  seed?: number;
  /** Kill moments are uniform in [minDelayMs, maxDelayMs] after the run starts recording. Defaults to 300 and 8000. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Episodes asked of each training run (it must not finish before its kill). Defaults to 1000. */
  episodes?: number;
  /** The run database. Defaults to a new one in a temporary directory, removed afterwards. */
  db?: string;
  /** Progress lines. Defaults to none. */
  log?: (line: string) => void;
}

export interface KillRecord {
  runId: number;
  /** Delay from "recording" to SIGKILL, in ms. */
  delayMs: number;
  batches: number;
  samples: number;
  status: string;
  integrity: string;
  verifyOk: boolean;
  problems: string[];
}

export interface CrashReport {
  ok: boolean;
  kills: KillRecord[];
  /** Every run of the database verified again at the end. */
  finalRuns: number;
  finalProblems: string[];
  seconds: number;
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

/** Starts a recording training run and resolves with its run id once it says it is recording. */
function startTraining(db: string, episodes: number, out: string, seed: number): Promise<{ runId: number; kill(): Promise<void>; output(): string }> {
  const child = spawn(process.execPath, [CLI, 'train', '--db', db, '--episodes', String(episodes), '--seed', String(seed), '--out', out],
    { cwd: dirname(out), stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return new Promise((resolvePromise, reject) => {
    const onData = (d: Buffer) => {
      text += d.toString('utf8');
      const m = /recording run (\d+)/.exec(text);
      if (!m) return;
      child.stdout!.off('data', onData);
      child.stderr!.off('data', onData);
      // Keep draining so the child never blocks on a full pipe before it is killed.
      child.stdout!.resume();
      child.stderr!.resume();
      resolvePromise({
        runId: Number(m[1]),
        output: () => text,
        kill: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          await exited;
        },
      });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, sig) => reject(new Error(`rhil train exited (${sig ?? `code ${code}`}) before recording:\n${text.slice(-2000)}`)));
  });
}

export async function runCrashes(opts: CrashOptions = {}): Promise<CrashReport> {
  const kills = opts.kills ?? 20;
  const minDelay = opts.minDelayMs ?? 300;
  const maxDelay = opts.maxDelayMs ?? 8000;
  const episodes = opts.episodes ?? 1000;
  const log = opts.log ?? (() => {});
  if (!Number.isInteger(kills) || kills < 1) throw new RangeError(`kills must be an integer >= 1, got ${kills}`);
  if (!(minDelay >= 0 && maxDelay >= minDelay)) throw new RangeError(`need 0 <= min delay <= max delay, got ${minDelay}, ${maxDelay}`);
  const rng = new Rng(opts.seed ?? 1);
  const tmp = mkdtempSync(join(tmpdir(), 'rhil-crash-'));
  const db = opts.db ?? join(tmp, 'runs.db');
  const t0 = performance.now();
  const records: KillRecord[] = [];
  try {
    for (let k = 0; k < kills; k++) {
      const run = await startTraining(db, episodes, join(tmp, 'model.json'), k + 1);
      const delayMs = Math.round(minDelay + rng.uniform() * (maxDelay - minDelay));
      await new Promise((r) => setTimeout(r, delayMs));
      await run.kill();
      const rec: KillRecord = { runId: run.runId, delayMs, batches: 0, samples: 0, status: '?', integrity: '?', verifyOk: false, problems: [] };
      try {
        const h = openRecordDb(db);
        try {
          rec.integrity = String(h.pragma('integrity_check', { simple: true }));
          rec.status = getRun(h, run.runId)?.status ?? 'missing';
          for (const b of readBatches(h, run.runId)) { rec.batches++; rec.samples += b.count; }
          const v = verifyRun(h, run.runId);
          rec.verifyOk = v.ok && v.batches === rec.batches;
          rec.problems = v.problems;
        } finally {
          h.close();
        }
      } catch (e) {
        rec.problems.push(`opening or reading the database failed: ${(e as Error).message}`);
      }
      records.push(rec);
      const good = rec.verifyOk && rec.status === 'interrupted' && rec.integrity === 'ok';
      log(`kill ${k + 1}/${kills}: run ${rec.runId} after ${delayMs} ms, ${rec.batches} batches (${rec.samples} samples) recorded; status ${rec.status}, integrity ${rec.integrity}, verify ${rec.verifyOk ? 'ok' : rec.problems.slice(0, 3).join('; ')}${good ? '' : '  <-- FAIL'}`);
    }
    const finalProblems: string[] = [];
    const h = openRecordDb(db);
    let finalRuns = 0;
    try {
      for (const { id } of h.prepare('SELECT id FROM runs ORDER BY id').all() as { id: number }[]) {
        finalRuns++;
        const v = verifyRun(h, id);
        finalProblems.push(...v.problems.map((p) => `run ${id}: ${p}`));
      }
    } finally {
      h.close();
    }
    const ok = finalProblems.length === 0 && records.every((r) => r.verifyOk && r.status === 'interrupted' && r.integrity === 'ok');
    return { ok, kills: records, finalRuns, finalProblems, seconds: (performance.now() - t0) / 1000 };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) throw new RangeError(`${name} needs a value`);
  return v;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const a = process.argv.slice(2);
  const num = (name: string) => { const v = arg(a, name); return v === undefined ? undefined : Number(v); };
  const report = await runCrashes({
    kills: num('--kills'), seed: num('--seed'), minDelayMs: num('--min-delay-ms'), maxDelayMs: num('--max-delay-ms'),
    episodes: num('--episodes'), db: arg(a, '--db'), log: (l) => console.log(l),
  });
  const batches = report.kills.map((k) => k.batches);
  console.log(`\n${report.kills.length} SIGKILLs of a recording rhil train in ${report.seconds.toFixed(0)} s: ` +
    `${report.kills.filter((k) => k.status === 'interrupted').length} runs marked interrupted, ` +
    `${report.kills.filter((k) => k.integrity === 'ok').length} integrity checks ok, ${report.kills.filter((k) => k.verifyOk).length} verified; ` +
    `batches recorded per run ${Math.min(...batches)}..${Math.max(...batches)}; all ${report.finalRuns} runs verified again at the end: ` +
    `${report.finalProblems.length === 0 ? 'ok' : report.finalProblems.slice(0, 5).join('; ')}`);
  console.log(report.ok ? 'PASS' : 'FAIL');
  process.exitCode = report.ok ? 0 : 1;
}
