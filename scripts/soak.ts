/**
 * Fault soak of recorded training (`npm run soak -- [--samples N] [--seed S] [--bit-flip-rate P]
 * [--reset-after-batches N] [--unplugs N] [--db PATH] [--json PATH]`): pat trains on NARMA10
 * through the analog simulator served on a pty in a child process (its own core, as a board's
 * processor), with faults at a low rate: bit flips on every byte the board sends (default 1e-6
 * per bit), a reboot every N batches (default 500), and `--unplugs` unplug/replugs (default 2:
 * the board's pty disappears for 1.5 s and comes back on the same path), while the run is
 * recorded in SQLite. The host opens the board as a ReconnectingDevice. Defaults: 1,000,000
 * training samples (episodes of the default 450), seed 1, a temporary database.
 *
 * Reported at the end: samples sent, faults injected by kind (the board's counters) against
 * those detected (the host's counters), pairs recorded, pairs rejected and segments re-measured,
 * verifyRun of the recorded run, and the host's RSS every ~10 s with its growth after warm-up.
 * Pass: the host's decoder rejected exactly the damaged pieces the board put on the wire and
 * accepted exactly its intact frames, one BOOT (or epoch) break per reboot, one reconnect per
 * unplug, verify ok, RSS growth < 50 MB from the first point after 10 % of the samples to the
 * last point while training.
 *
 * The board side counts what a host must see by running a host-role decoder over the exact
 * bytes it writes; it powers up on a pty only when the host first writes to it (bytes written to
 * a pty nobody has open may or may not reach the next opener), and unplugs only while the link is
 * quiet (the host asks for it between segments), so both sides count the same bytes.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Device } from '../src/device/index.js';
import { openReconnectingDevice } from '../src/device/index.js';
import { type DecoderCounts, FrameDecoder } from '../src/protocol/index.js';
import { openRecordDb, verifyRun } from '../src/record/index.js';
import { withRecordedRun } from '../src/session/index.js';
import { type FaultCounts, type FaultOptions, createSim } from '../src/sim/index.js';
import type { Link, LinkHandlers } from '../src/transport/link.js';
import { type Pty, createPty } from '../src/transport/pty.js';

const MB = 1024 * 1024;
const HERE = fileURLToPath(import.meta.url);

// ---- the board (child process) ------------------------------------------------------------

interface WireCounts { framesWritten: number; decoder: DecoderCounts }
type ChildMsg =
  | { type: 'ready' }
  | { type: 'counts'; faults: FaultCounts; wire: WireCounts; batches: number; rss: number }
  | { type: 'unplugged' }
  | { type: 'closed' };

async function child(link: string, seed: number, faults: FaultOptions): Promise<void> {
  const { device } = createSim('analog', { seed, device: { faults } });
  const wire = { framesWritten: 0 };
  let decoder = new FrameDecoder({ role: 'host' });
  const past: Record<string, number> = {};
  const send = (m: ChildMsg) => process.send?.(m);
  let pty: Pty | null = null;

  const plug = async () => {
    pty = await createPty({ link });
    const inner = pty.link;
    let handlers: LinkHandlers | null = null;
    decoder = new FrameDecoder({ role: 'host', maxFrame: device.info.maxFrame });
    const tapped: Link = {
      name: inner.name,
      get isOpen() { return inner.isOpen; },
      write: (bytes) => {
        wire.framesWritten++;
        decoder.push(bytes, () => {});
        return inner.write(bytes);
      },
      setHandlers: (h) => { handlers = h; },
      close: () => inner.close(),
    };
    let powered = false;
    inner.setHandlers({
      data: (c) => {
        if (!powered) { powered = true; device.attach(tapped); }
        handlers?.data(c);
      },
      close: (e) => handlers?.close(e),
    });
  };
  const counts = (): ChildMsg => {
    const d: Record<string, number> = { ...past };
    for (const [k, n] of Object.entries(decoder.counts)) d[k] = (d[k] ?? 0) + n;
    return { type: 'counts', faults: { ...device.faults }, wire: { framesWritten: wire.framesWritten, decoder: d as DecoderCounts }, batches: device.batchesProcessed, rss: process.memoryUsage().rss };
  };
  const unplug = async () => {
    for (const [k, n] of Object.entries(decoder.counts)) past[k] = (past[k] ?? 0) + n;
    decoder = new FrameDecoder({ role: 'host', maxFrame: device.info.maxFrame });
    if (device.attached) await device.detach();
    await pty?.close();
    pty = null;
  };

  process.on('disconnect', () => { void unplug().then(() => process.exit(0)); });
  process.on('message', (m: { type: string; downMs?: number }) => {
    if (m.type === 'counts') send(counts());
    else if (m.type === 'unplug') {
      void (async () => {
        await unplug();
        send({ type: 'unplugged' });
        await new Promise((r) => setTimeout(r, m.downMs ?? 1500));
        await plug();
      })();
    } else if (m.type === 'close') {
      void unplug().then(() => { send(counts()); send({ type: 'closed' }); process.disconnect(); });
    }
  });
  await plug();
  send({ type: 'ready' });
}

// ---- the host -------------------------------------------------------------------------------

export interface SoakOptions {
  samples?: number;
  seed?: number;
  bitFlipRate?: number;
  resetAfterBatches?: number;
  unplugs?: number;
  db?: string;
  log?: (line: string) => void;
}

interface RssPoint { s: number; samples: number; rssMB: number; boardRssMB: number }

class Board {
  private waiters = new Map<string, ((m: ChildMsg) => void)[]>();
  constructor(readonly proc: ChildProcess) {
    proc.on('message', (m: ChildMsg) => {
      const w = this.waiters.get(m.type);
      const f = w?.shift();
      f?.(m);
    });
  }
  next<T extends ChildMsg['type']>(type: T): Promise<Extract<ChildMsg, { type: T }>> {
    return new Promise((r) => {
      const list = this.waiters.get(type) ?? [];
      list.push(r as (m: ChildMsg) => void);
      this.waiters.set(type, list);
    });
  }
  async ask<T extends ChildMsg['type']>(msg: object, reply: T): Promise<Extract<ChildMsg, { type: T }>> {
    const p = this.next(reply);
    this.proc.send(msg);
    return p;
  }
}

export async function soak(opts: SoakOptions = {}): Promise<Record<string, unknown>> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const samples = opts.samples ?? 1_000_000;
  const seed = opts.seed ?? 1;
  const faults: FaultOptions = { bitFlipRate: opts.bitFlipRate ?? 1e-6, resetAfterBatches: opts.resetAfterBatches ?? 500 };
  const unplugs = opts.unplugs ?? 2;
  const tmp = mkdtempSync(join(tmpdir(), 'rhil-soak-'));
  const link = join(tmp, 'board');
  const db = opts.db ?? join(tmp, 'soak.db');
  const { selectBackend } = await import('../src/core/backend.js');
  const { train } = await import('../src/train/train.js');
  const backend = await selectBackend('auto');

  const proc = fork(HERE, ['--child', link, String(seed), JSON.stringify(faults)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const board = new Board(proc);
  await board.next('ready');
  const t0 = performance.now();
  const rss: RssPoint[] = [];
  const after: RssPoint[] = [];
  let sent = 0, rejectedSamples = 0, segments = 0, remeasured = 0, failedSegment = false;
  // Unplugs at evenly spaced points of the run, between segments (see the module comment).
  const unplugAt = Array.from({ length: unplugs }, (_, i) => Math.round(((i + 1) * samples) / (unplugs + 1)));
  let unplugged = 0;

  // A lost RESULT costs one process timeout; the board answers 450 samples in a few ms.
  const dev = await openReconnectingDevice(`serial:${link}`, { timeoutMs: 500, processTimeoutMs: 250, reconnect: { attempts: 10, initialDelayMs: 200, maxDelayMs: 2000 } });
  const sampleRss = async (into = rss) => {
    const c = await board.ask({ type: 'counts' }, 'counts');
    const p = { s: (performance.now() - t0) / 1000, samples: sent, rssMB: process.memoryUsage().rss / MB, boardRssMB: c.rss / MB };
    into.push(p);
    log(`  ${p.s.toFixed(0).padStart(5)} s ${p.samples.toLocaleString('en-US').padStart(10)} samples  RSS ${p.rssMB.toFixed(1)} MB (board ${p.boardRssMB.toFixed(1)} MB)  ` +
      `reconnects ${dev.stats.reconnects}, breaks ${JSON.stringify(Object.fromEntries(Object.entries(dev.stats.faults).filter(([, n]) => n > 0)))}`);
  };
  const timer = setInterval(() => { void sampleRss(); }, 10_000);

  // What train() sees: the reconnecting device, with the samples counted and the unplugs timed.
  const counted: Device = {
    get info() { return dev.info; },
    get maxBatch() { return dev.maxBatch; },
    get rejects() { return dev.rejects; },
    events$: dev.events$,
    results$: dev.results$,
    async process(x) {
      const n = x.length / dev.info.inChannels;
      sent += n;
      try {
        return await dev.process(x);
      } catch (e) {
        rejectedSamples += n;
        failedSegment = true;
        throw e;
      }
    },
    async resetState() {
      segments++;
      if (failedSegment) remeasured++;
      failedSegment = false;
      if (unplugged < unplugAt.length && sent >= unplugAt[unplugged]) {
        unplugged++;
        // Quiet first: whatever the board sent last must be in before its pty goes.
        await new Promise((r) => setTimeout(r, 100));
        const before = dev.stats.faults.unplug;
        await board.ask({ type: 'unplug', downMs: 1500 }, 'unplugged');
        log(`  unplugged the board (${unplugged}/${unplugAt.length}) at ${sent.toLocaleString('en-US')} samples`);
        for (let i = 0; i < 200 && dev.stats.faults.unplug === before; i++) await new Promise((r) => setTimeout(r, 10));
      }
      return dev.resetState();
    },
    configure: (p) => dev.configure(p),
    getStatus: () => dev.getStatus(),
    ping: (d) => dev.ping(d),
    close: () => dev.close(),
  };

  const episodes = Math.ceil(samples / 450);
  log(`soak: pat on narma10, ${episodes} episodes (>= ${samples.toLocaleString('en-US')} training samples), sim:analog on a pty in a child process, ` +
    `faults ${JSON.stringify(faults)} and ${unplugs} unplug/replugs, recording to ${db}, backend ${backend.detail}`);
  let runId = 0;
  let deviceSamples = 0;
  let testNmse = NaN;
  try {
    await sampleRss();
    const result = await withRecordedRun({ db, kind: 'train', config: { soak: true, samples, faults, unplugs }, seed, backend: backend.name, device: dev }, async (ctx) => {
      runId = ctx.runId!;
      return train({ task: 'narma10', device: counted, trainer: 'pat', seed, episodes, maxRetries: 30, signal: ctx.signal });
    });
    deviceSamples = result.deviceSamples;
    testNmse = result.test.value;
    // After train() returns its tensors are gone: a point for the record, not for the growth.
    await sampleRss(after);
  } finally {
    clearInterval(timer);
    await dev.close();
  }
  const closed = board.next('closed');
  const end = await board.ask({ type: 'close' }, 'counts');
  await closed;

  const h = openRecordDb(db);
  let verify;
  try {
    verify = verifyRun(h, runId);
  } finally {
    h.close();
  }
  const host = dev.rejects;
  const hostRejected = Object.entries(host).reduce((s, [k, n]) => (k === 'frames' ? s : s + n), 0);
  const wireRejected = Object.entries(end.wire.decoder).reduce((s, [k, n]) => (k === 'frames' ? s : s + n), 0);
  const st = dev.stats;
  const warm = rss.find((p) => p.samples >= samples * 0.1) ?? rss[0];
  const last = rss[rss.length - 1];
  const growth = last.rssMB - warm.rssMB;
  const peak = Math.max(...rss.filter((p) => p.s >= warm.s).map((p) => p.rssMB));
  const checks = {
    bytes: hostRejected === wireRejected && host.frames === end.wire.decoder.frames,
    resets: st.faults.boot + st.faults.epoch >= end.faults.resets && st.faults.boot <= end.faults.resets,
    unplugs: st.faults.unplug === unplugs && st.reconnects === unplugs,
    verify: verify.ok,
    rss: growth < 50,
    samples: sent >= samples,
  };
  const report = {
    date: new Date().toISOString(), machine: `${cpus()[0]?.model ?? '?'} x${cpus().length}, node ${process.version}`,
    seconds: Math.round((performance.now() - t0) / 1000), episodes, samplesSent: sent, trainSamples: deviceSamples, testNmse,
    injected: { ...end.faults, unplugs }, boardBatches: end.batches,
    detected: {
      hostRejectedPieces: hostRejected, wireDamagedPieces: wireRejected, hostRejectsByReason: host, hostAcceptedFrames: host.frames,
      wireIntactFrames: end.wire.decoder.frames, framesWritten: end.wire.framesWritten, breaks: st.faults, reconnects: st.reconnects,
      failedReconnectAttempts: st.failedAttempts,
    },
    pairs: { recordedBatches: verify.batches, recordedSamples: verify.samples, segmentsRecorded: verify.segments, rejectedSamples, segments, remeasured },
    verify: { ok: verify.ok, problems: verify.problems.slice(0, 10), events: verify.events },
    rss: {
      points: rss, afterTrain: after[0], warmAtS: warm.s, growthMB: Number(growth.toFixed(1)), peakAfterWarmMB: Number(peak.toFixed(1)),
      startToEndMB: Number((last.rssMB - rss[0].rssMB).toFixed(1)),
    },
    checks, pass: Object.values(checks).every(Boolean),
  };
  log(`\nsamples sent ${sent.toLocaleString('en-US')} (${deviceSamples.toLocaleString('en-US')} counted by train), ${episodes} episodes, ${report.seconds} s, test NMSE ${testNmse.toFixed(3)}`);
  log(`injected: ${end.faults.bitFlips} bit flips in ${end.faults.corruptedFrames} frames, ${end.faults.resets} reboots, ${unplugs} unplugs`);
  log(`detected: ${hostRejected} rejected pieces (wire: ${wireRejected} damaged), ${host.frames} frames accepted (wire: ${end.wire.decoder.frames} intact); ` +
    `breaks ${JSON.stringify(st.faults)}; ${st.reconnects} reconnects (${st.failedAttempts} failed attempts)`);
  log(`pairs: ${verify.batches} batches / ${verify.samples.toLocaleString('en-US')} samples recorded in ${verify.segments} segments; ` +
    `${rejectedSamples.toLocaleString('en-US')} samples rejected; ${remeasured} of ${segments} segments re-measured`);
  log(`verify: ${verify.ok ? 'ok' : verify.problems.slice(0, 5).join('; ')}; events ${JSON.stringify(verify.events)}`);
  log(`RSS: ${rss[0].rssMB.toFixed(1)} MB at start, ${warm.rssMB.toFixed(1)} MB at ${warm.s.toFixed(0)} s (10 % of the run), ${last.rssMB.toFixed(1)} MB ` +
    `at the last point of training (${last.s.toFixed(0)} s): growth ${growth.toFixed(1)} MB (< 50 MB); peak after warm-up ${peak.toFixed(1)} MB; ` +
    `${after[0]?.rssMB.toFixed(1)} MB after train() returned`);
  log(`checks ${JSON.stringify(checks)}: ${report.pass ? 'PASS' : 'FAIL'}`);
  if (!opts.db) rmSync(tmp, { recursive: true, force: true });
  return report;
}

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const a = process.argv.slice(2);
  if (a[0] === '--child') {
    await child(a[1], Number(a[2]), JSON.parse(a[3]) as FaultOptions);
  } else {
    const num = (n: string) => { const v = arg(a, n); return v === undefined ? undefined : Number(v); };
    const report = await soak({
      samples: num('--samples'), seed: num('--seed'), bitFlipRate: num('--bit-flip-rate'), resetAfterBatches: num('--reset-after-batches'),
      unplugs: num('--unplugs'), db: arg(a, '--db'),
    });
    const json = arg(a, '--json');
    if (json) writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
    process.exitCode = report.pass ? 0 : 1;
  }
}
