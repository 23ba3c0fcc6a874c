/**
 * Shared helpers of the link and soak benchmarks: a simulator in a child process on a pty,
 * a byte-counting Link wrapper, CPU time of processes from /proc, and small statistics.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { cpus } from 'node:os';
import type { Link } from '../../src/transport/index.js';

export interface ChildStats { rss: number; heapUsed: number; elu: number; cpu: number; batches: number }

export interface SimChild {
  readonly path: string;
  readonly pid: number;
  readonly child: ChildProcess;
  stats(): Promise<ChildStats>;
  /** Every PROCESS the board handled so far: [start, end, count], its paced window in absolute ms. */
  windows(): Promise<[number, number, number][]>;
  /** Closes the pty and waits for the process to exit; `exited` is false if it had to be killed after `graceMs`. */
  close(graceMs?: number): Promise<{ resources: string[]; exited: boolean; code: number | null }>;
}

/** Forks scripts/bench/sim-child.js serving `profile` on a new pty (or a local TCP port); resolves once the device is ready. */
export function startSimChild(profile: string, seed: number, model: 'real' | 'trivial' | 'paced' = 'real', overrides: Record<string, unknown> = {}, link: 'pty' | 'tcp' = 'pty'): Promise<SimChild> {
  const child = fork(new URL('./sim-child.js', import.meta.url), [profile, String(seed), model, JSON.stringify(overrides), link], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  // 'close', not 'exit': the process has exited and its IPC and stdio pipes are closed too.
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  const waitFor = <T>(type: string) => new Promise<T>((resolve, reject) => {
    const onMsg = (m: { type: string }) => { if (m.type === type) { child.off('message', onMsg); child.off('exit', onExit); resolve(m as T); } };
    const onExit = (code: number | null) => { child.off('message', onMsg); reject(new Error(`sim child exited (code ${code}) before '${type}'`)); };
    child.on('message', onMsg);
    child.once('exit', onExit);
  });
  return waitFor<{ path: string }>('ready').then(({ path }) => ({
    path,
    pid: child.pid!,
    child,
    stats() {
      const p = waitFor<ChildStats>('stats');
      child.send({ type: 'stats' });
      return p;
    },
    windows() {
      const p = waitFor<{ windows: [number, number, number][] }>('windows').then((m) => m.windows);
      child.send({ type: 'windows' });
      return p;
    },
    async close(graceMs = 3000) {
      const closed = waitFor<{ resources: string[] }>('closed');
      child.send({ type: 'close' });
      const { resources } = await closed;
      let timer: NodeJS.Timeout | undefined;
      const r = await Promise.race([exited.then((code) => ({ exited: true, code })), new Promise<{ exited: boolean; code: number | null }>((res) => { timer = setTimeout(() => res({ exited: false, code: null }), graceMs); })]);
      clearTimeout(timer);
      if (!r.exited) { child.kill('SIGKILL'); await exited; }
      return { resources, ...r };
    },
  }));
}

/** A Link that counts the bytes written to and received from `link`. */
export function countingLink(link: Link): { link: Link; counts: { out: number; in: number } } {
  const counts = { out: 0, in: 0 };
  return {
    counts,
    link: {
      name: link.name,
      get isOpen() { return link.isOpen; },
      write(bytes) { counts.out += bytes.length; return link.write(bytes); },
      setHandlers(h) { link.setHandlers({ data: (c) => { counts.in += c.length; h.data(c); }, close: h.close }); },
      close: () => link.close(),
    },
  };
}

const CLK_TCK = 100; // Linux USER_HZ

/** utime + stime of a process in seconds (0 if it is gone). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** Pids whose parent is `pid` (scans /proc). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(d));
    } catch { /* gone */ }
  }
  return out;
}

/** Socat children of `pid` (the pty helpers). */
export function socatPids(pid: number): number[] {
  return childPids(pid).filter((p) => {
    try { return readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'socat'; } catch { return false; }
  });
}

/** CPU seconds used by a set of processes while `fn` runs, per process, as a share of wall time. */
export async function withCpu<T>(pids: Record<string, number[]>, fn: () => Promise<T>): Promise<{ value: T; wall: number; share: Record<string, number> }> {
  const before = Object.fromEntries(Object.entries(pids).map(([k, ps]) => [k, ps.reduce((s, p) => s + (p === process.pid ? selfCpu() : cpuSeconds(p)), 0)]));
  const t0 = performance.now();
  const value = await fn();
  const wall = (performance.now() - t0) / 1000;
  const share = Object.fromEntries(Object.entries(pids).map(([k, ps]) => [k, (ps.reduce((s, p) => s + (p === process.pid ? selfCpu() : cpuSeconds(p)), 0) - before[k]) / wall]));
  return { value, wall, share };
}

function selfCpu(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1e6;
}

export { median } from '../../src/core/metrics.js';

/** Nearest-rank percentile (p in 0..100). */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export const fmt = (x: number, digits = 0) => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export function machineLine(extra = ''): string {
  return `${new Date().toISOString()}  ${cpus()[0]?.model ?? 'unknown cpu'} x${cpus().length}  node ${process.version}${extra ? `  ${extra}` : ''}`;
}

export function opt(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(args[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`${name} needs a positive number, got ${args[i + 1]}`);
  return v;
}

/** Seconds per call of `fn`: `warmup` unmeasured calls, then `runs` measured ones; returns [median, best]. */
export function timeCalls(fn: () => void, runs: number, warmup: number): [number, number] {
  for (let i = 0; i < warmup; i++) fn();
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    t.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  t.sort((a, b) => a - b);
  return [t[Math.floor(t.length / 2)], t[0]];
}
