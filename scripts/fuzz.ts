/**
 * Long fuzz of both protocol codecs (`npm run fuzz -- --cases N --seed S`).
 *
 *   1. builds the C fuzzer (`make -C firmware-protocol/c build/fuzz`) first, so a missing or
 *      broken C fuzzer fails before an hour of TypeScript fuzzing, not after;
 *   2. runs the TypeScript engine (test/protocol/fuzz-engine.ts) in slices over worker threads,
 *      printing progress; every case has its own seed, so the result does not depend on --jobs
 *      or --slice and a reported case replays alone with replayCase(seed, case);
 *   3. runs `firmware-protocol/c/build/fuzz --cases N --seed S`;
 *   4. prints one summary line per codec and exits non-zero on any violation or failure.
 *
 * Options: --cases N (default 10,000,000; accepts 1e6, 10_000_000, 10M), --seed S (default: a
 * fresh one, printed), --jobs J (default: available cores), --slice N (cases per progress step,
 * default 100,000), --c-cases N (default: --cases), --skip-c / --skip-ts (explicit opt-outs,
 * reported as skipped).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { type FuzzReport, mergeReports, runFuzz } from '../test/protocol/fuzz-engine.js';

interface SliceJob { firstCase: number; cases: number }
interface WorkerInit { seed: number }

const C_DIR = fileURLToPath(new URL('../../firmware-protocol/c/', import.meta.url));
const C_TARGET = 'build/fuzz';

function parseCount(s: string | undefined, flag: string): number {
  const m = /^(\d+(?:\.\d+)?(?:e\d+)?)([kKmM]?)$/.exec((s ?? '').replace(/[_,]/g, ''));
  const v = m ? Number(m[1]) * (m[2] === '' ? 1 : /k/i.test(m[2]) ? 1e3 : 1e6) : NaN;
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${flag} needs a non-negative integer, got ${JSON.stringify(s)}`);
  return v;
}

function parseArgs(argv: string[]) {
  const o = {
    cases: 10_000_000, seed: (Date.now() ^ (process.pid << 16)) >>> 0, seedGiven: false, jobs: Math.max(1, availableParallelism()),
    slice: 100_000, cCases: -1, skipC: false, skipTs: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const val = () => inline ?? argv[++i];
    switch (flag) {
      case '--cases': o.cases = parseCount(val(), flag); break;
      case '--seed': o.seed = parseCount(val(), flag) >>> 0; o.seedGiven = true; break;
      case '--jobs': o.jobs = Math.max(1, parseCount(val(), flag)); break;
      case '--slice': o.slice = Math.max(1, parseCount(val(), flag)); break;
      case '--c-cases': o.cCases = parseCount(val(), flag); break;
      case '--skip-c': o.skipC = true; break;
      case '--skip-ts': o.skipTs = true; break;
      case '-h': case '--help':
        console.log('usage: npm run fuzz -- [--cases N] [--seed S] [--jobs J] [--slice N] [--c-cases N] [--skip-c] [--skip-ts]');
        process.exit(0);
        break;
      default: throw new Error(`unknown option ${a} (try --help)`);
    }
  }
  if (o.cCases < 0) o.cCases = o.cases;
  return o;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const dur = (s: number) => (s < 120 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`);

interface Summary { codec: string; cases: number; violations: number | null; seconds: number; note: string; failed: boolean }

function summaryLine(s: Summary): string {
  const rate = s.seconds > 0 && s.cases > 0 ? `${fmt(s.cases / s.seconds)} cases/s` : '-';
  const v = s.violations === null ? '?' : fmt(s.violations);
  return `summary ${s.codec.padEnd(3)} cases ${fmt(s.cases)}  violations ${v}  rate ${rate}  elapsed ${dur(s.seconds)}${s.note ? `  (${s.note})` : ''}`;
}

/** Builds the C fuzzer; returns its path or a reason it is missing/broken. */
function buildC(): { bin: string } | { error: string } {
  if (!existsSync(`${C_DIR}Makefile`)) return { error: `C fuzzer missing: ${C_DIR}Makefile does not exist` };
  const r = spawnSync('make', ['-C', C_DIR, C_TARGET], { encoding: 'utf8' });
  if (r.error) return { error: `cannot run make: ${r.error.message}` };
  if (r.status !== 0) {
    const out = `${r.stdout}${r.stderr}`.trim();
    const missing = /No rule to make target/.test(out);
    return { error: `${missing ? 'C fuzzer missing' : 'C fuzzer failed to build'}: make -C firmware-protocol/c ${C_TARGET} exited ${r.status}\n${out}` };
  }
  const bin = `${C_DIR}${C_TARGET}`;
  return existsSync(bin) ? { bin } : { error: `C fuzzer missing: make succeeded but ${bin} does not exist` };
}

async function runTs(o: ReturnType<typeof parseArgs>): Promise<FuzzReport> {
  const jobs: SliceJob[] = [];
  for (let first = 0; first < o.cases; first += o.slice) jobs.push({ firstCase: first, cases: Math.min(o.slice, o.cases - first) });
  const nWorkers = Math.min(o.jobs, Math.max(1, jobs.length));
  const reports: FuzzReport[] = [];
  const t0 = performance.now();
  let done = 0, violations = 0, next = 0;
  const workers: Worker[] = [];
  await new Promise<void>((resolve, reject) => {
    if (jobs.length === 0) { resolve(); return; }
    for (let w = 0; w < nWorkers; w++) {
      const worker = new Worker(new URL(import.meta.url), { workerData: { seed: o.seed } satisfies WorkerInit });
      workers.push(worker);
      worker.on('error', reject);
      worker.on('message', (r: FuzzReport) => {
        reports.push(r);
        done += r.cases;
        violations += r.violationCount;
        for (const v of r.violations) console.log(`  VIOLATION ${v}`);
        const s = (performance.now() - t0) / 1000;
        const rate = done / s;
        console.log(`[ts] ${fmt(done)} / ${fmt(o.cases)} cases  violations ${fmt(violations)}  ${fmt(rate)} cases/s  ` +
          `elapsed ${dur(s)}  eta ${dur((o.cases - done) / rate)}`);
        if (next < jobs.length) worker.postMessage(jobs[next++]);
        if (reports.length === jobs.length) resolve();
      });
      if (next < jobs.length) worker.postMessage(jobs[next++]);
    }
  }).finally(() => Promise.all(workers.map((w) => w.terminate())));
  reports.sort((a, b) => a.firstCase - b.firstCase);
  const merged = mergeReports(reports);
  merged.seconds = (performance.now() - t0) / 1000;
  return merged;
}

/** Runs the C fuzzer, streaming its output; its violation count is read from its output. */
function runC(bin: string, cases: number, seed: number): Promise<Summary> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(bin, ['--cases', String(cases), '--seed', String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const collect = (stream: NodeJS.WritableStream) => {
      let partial = '';
      return (b: Buffer | null) => {
        const text = partial + (b ? b.toString() : '');
        const lines = text.split('\n');
        partial = b ? lines.pop() ?? '' : '';
        for (const line of lines) if (line || b) stream.write(`[c] ${line}\n`);
        tail = (tail + lines.join('\n') + '\n').slice(-16384);
      };
    };
    const out = collect(process.stdout), err = collect(process.stderr);
    child.stdout.on('data', out);
    child.stderr.on('data', err);
    const finish = (code: number | null, why: string) => {
      const seconds = code === -1 ? 0 : (performance.now() - t0) / 1000; // -1: it never started
      // The C fuzzer prints "FAIL property P violated in N cases" per property and a final
      // "C fuzz: X passed, Y failed" (Y = properties); other formats: "violations: N", "N violations".
      out(null); err(null);
      const perProperty = [...tail.matchAll(/violated in (\d+) cases?/gi)];
      const named = [...tail.matchAll(/violations?\D{0,3}(\d+)|(\d+) violations?/gi)].pop();
      const failedLine = [...tail.matchAll(/(\d+) failed/gi)].pop();
      const violations = perProperty.length ? perProperty.reduce((sum, m) => sum + Number(m[1]), 0)
        : named ? Number(named[1] ?? named[2]) : failedLine ? Number(failedLine[1]) : null;
      const failed = code !== 0 || (violations ?? 0) > 0;
      const note = [`seed ${seed}`, code !== 0 ? `exit ${why}` : '', violations === null ? 'no violation count in its output' : ''].filter(Boolean).join(', ');
      resolve({ codec: 'c', cases, violations, seconds, note, failed });
    };
    child.on('error', (e) => finish(-1, e.message));
    child.on('close', (code, signal) => finish(code, signal ?? String(code)));
  });
}

async function main(): Promise<number> {
  let o: ReturnType<typeof parseArgs>;
  try { o = parseArgs(process.argv.slice(2)); } catch (e) { console.error(String((e as Error).message)); return 2; }
  console.log(`fuzz: seed ${o.seed}${o.seedGiven ? '' : ' (fresh; rerun with --seed ' + o.seed + ')'}, ` +
    `TS ${o.skipTs ? 'skipped' : `${fmt(o.cases)} cases on ${o.jobs} job(s)`}, C ${o.skipC ? 'skipped' : `${fmt(o.cCases)} cases`}`);
  let cBin = '';
  if (!o.skipC) {
    const b = buildC();
    if ('error' in b) {
      console.error(`error: ${b.error}\n(run with --skip-c to fuzz only the TypeScript codec)`);
      return 2;
    }
    cBin = b.bin;
  }
  const summaries: Summary[] = [];
  if (o.skipTs) {
    summaries.push({ codec: 'ts', cases: 0, violations: 0, seconds: 0, note: 'skipped by --skip-ts', failed: false });
  } else {
    const r = await runTs(o);
    summaries.push({
      codec: 'ts', cases: r.cases, violations: r.violationCount, seconds: r.seconds, failed: r.violationCount > 0,
      note: `seed ${o.seed}, ${o.jobs} job(s), ${fmt(r.events)} events, ${(r.bytes / 1e9).toFixed(2)} GB, rejects ${JSON.stringify(r.rejectsByReason)}`,
    });
    if (r.violations.length) console.log(`first violations (replay with replayCase(${o.seed}, case)):\n  ${r.violations.join('\n  ')}`);
  }
  if (o.skipC) summaries.push({ codec: 'c', cases: 0, violations: 0, seconds: 0, note: 'skipped by --skip-c', failed: false });
  else summaries.push(await runC(cBin, o.cCases, o.seed));
  for (const s of summaries) console.log(summaryLine(s));
  const failed = summaries.some((s) => s.failed);
  console.log(failed ? 'FUZZ FAILED' : 'fuzz passed');
  return failed ? 1 : 0;
}

// Entry point last: the helpers above are initialised before main() runs.
if (!isMainThread) {
  const { seed } = workerData as WorkerInit;
  parentPort!.on('message', (job: SliceJob) => {
    parentPort!.postMessage(runFuzz({ seed, cases: job.cases, firstCase: job.firstCase }));
  });
} else {
  process.exitCode = await main();
}
