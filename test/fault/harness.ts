/**
 * What the fault tests share: a simulator served on a pty or TCP with a tap on the bytes it
 * writes, a simulator in a child process on a fixed pty path (to kill and restart), a clean
 * simulator of the same seed to check measurements against, and a recorded run of segments.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import {
  type ConnectOptions, type Device, DeviceClient, ReconnectingDevice, type ReconnectOptions, StateBreakError,
} from '../../src/device/index.js';
import { FrameDecoder } from '../../src/protocol/index.js';
import { openRecordDb, readBatches, verifyRun, type VerifyResult } from '../../src/record/index.js';
import { withRecordedRun } from '../../src/session/index.js';
import { type SimDeviceOptions, type SimLinkOptions, createSim, openSimLink } from '../../src/sim/index.js';
import { measure } from '../../src/train/hybrid.js';
import type { Link, LinkHandlers } from '../../src/transport/link.js';
import { createPty } from '../../src/transport/pty.js';
import { openSerial } from '../../src/transport/serial.js';
import { listenTcp, openTcp } from '../../src/transport/tcp.js';

/** A small deterministic board: fpga has no noise, so a clean twin of the same seed gives identical outputs. */
export const PROFILE = 'fpga';

/** Short INFO strings keep the INFO frame small, so a handshake gets through heavy bit flipping. */
export const SHORT_IDENTITY: SimDeviceOptions = { vendor: 'rh', model: 'f', serial: 's1', firmware: 'v1' };

/** Timeouts short enough that a test meets many faults in a few seconds. */
export const FAST: ConnectOptions = { timeoutMs: 150, processTimeoutMs: 150, helloAttempts: 20 };

export function tempDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'rhil-fault-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- the wire as the device wrote it --------------------------------------------------------

/** True when `bytes` is exactly one frame that decodes on its own. */
function intactFrame(bytes: Uint8Array): boolean {
  if (bytes.indexOf(0) !== bytes.length - 1) return false;
  const ev = new FrameDecoder({ role: 'host' }).decode(bytes);
  return ev.length === 1 && ev[0].ok;
}

/**
 * A device's end of a link that keeps every byte the device writes (the SimDevice writes one
 * frame per call, faults applied), so a test can count what the host should have seen.
 */
export class WireTap implements Link {
  /** Frames written, and how many of them were damaged. */
  frames = 0;
  corrupted = 0;
  /** Called once, before the first bytes from the host are handed on. */
  onFirstData: (() => void) | null = null;
  private readonly chunks: Uint8Array[] = [];
  private handlers: LinkHandlers | null = null;

  constructor(private readonly inner: Link) {
    inner.setHandlers({
      data: (c) => {
        const first = this.onFirstData;
        this.onFirstData = null;
        first?.();
        this.handlers?.data(c);
      },
      close: (e) => this.handlers?.close(e),
    });
  }

  get name(): string { return this.inner.name; }
  get isOpen(): boolean { return this.inner.isOpen; }

  write(bytes: Uint8Array): Promise<void> {
    this.frames++;
    if (!intactFrame(bytes)) this.corrupted++;
    this.chunks.push(Uint8Array.from(bytes));
    return this.inner.write(bytes);
  }

  setHandlers(h: LinkHandlers): void {
    this.handlers = h;
  }

  close(): Promise<void> { return this.inner.close(); }

  /**
   * What a host reading the whole stream must see: the stream cut at every 0x00, each piece
   * judged on its own. `good` pieces are intact frames, `bad` ones (a damaged frame, frames merged
   * by a lost delimiter, the halves of a frame split by a new 0x00, an empty piece) are rejections.
   */
  pieces(maxFrame: number): { good: number; bad: number } {
    let good = 0, bad = 0;
    let cur: number[] = [];
    for (const c of this.chunks) {
      for (const b of c) {
        if (b !== 0) { cur.push(b); continue; }
        const ev = new FrameDecoder({ role: 'host', maxFrame }).decode(Uint8Array.from([...cur, 0]));
        if (ev.length === 1 && ev[0].ok) good++; else bad++;
        cur = [];
      }
    }
    return { good, bad };
  }
}

export interface ServedSim {
  address: string;
  /** The device's own fault counters. */
  sim: ReturnType<typeof createSim>;
  /** Taps, one per host connection. */
  taps: WireTap[];
  close(): Promise<void>;
}

/**
 * Serves a simulator on a new pty through a WireTap. The board powers up when the host first
 * writes: what a pty carries before its other end is opened may or may not reach the host, and
 * the tap's count must be exactly what the host was sent.
 */
export async function servePty(opts: SimLinkOptions): Promise<ServedSim> {
  const sim = createSim(PROFILE, opts);
  const pty = await createPty();
  const tap = new WireTap(pty.link);
  tap.onFirstData = () => sim.device.attach(tap);
  return { address: pty.path, sim, taps: [tap], close: async () => { await sim.device.detach(); await pty.close(); } };
}

/** Serves a simulator over TCP; a new connection takes over (the board reboots for it), as serveSimOnTcp does. */
export async function serveTcp(opts: SimLinkOptions): Promise<ServedSim> {
  const sim = createSim(PROFILE, opts);
  const taps: WireTap[] = [];
  let takeover = Promise.resolve();
  const server = await listenTcp('127.0.0.1', 0, (link) => {
    takeover = takeover.then(async () => {
      if (sim.device.attached) await sim.device.detach();
      if (!link.isOpen) return;
      // The host's socket is open before the BOOT is written, so it sees every byte.
      const tap = new WireTap(link);
      taps.push(tap);
      sim.device.attach(tap);
    });
  });
  return {
    address: `tcp://127.0.0.1:${server.port}`, sim, taps,
    close: async () => { await takeover; if (sim.device.attached) await sim.device.detach(); await server.close(); },
  };
}

/** Connects a DeviceClient to a pty path or tcp:// address. */
export async function connectTo(address: string, opts: ConnectOptions = FAST): Promise<DeviceClient> {
  const m = /^tcp:\/\/([^:]+):(\d+)$/.exec(address);
  const link = m ? await openTcp(m[1], Number(m[2])) : await openSerial(address);
  return DeviceClient.connect(link, opts);
}

// ---- a simulator in its own process -------------------------------------------------------

export interface ChildSim {
  child: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
  stderr(): string;
}

/** Starts `rhil sim --pty --link <link>` and resolves once it serves. */
export function startChildSim(link: string, extra: string[] = []): Promise<ChildSim> {
  const child = spawn(process.execPath, ['dist/src/cli/main.js', 'sim', '--pty', '--link', link, '--profile', PROFILE, ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => { err += d; });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return new Promise((resolve, reject) => {
    child.stdout!.setEncoding('utf8');
    child.stdout!.once('data', (d: string) => {
      if (d.startsWith(`PTY ${link}`)) resolve({ child, exited, stderr: () => err });
      else reject(new Error(`rhil sim printed ${JSON.stringify(d)}`));
    });
    child.once('exit', (code, sig) => reject(new Error(`rhil sim exited (${sig ?? code}) before serving: ${err}`)));
  });
}

/** SIGKILLs the child (a yanked cable: no goodbye) and waits until it is gone. */
export async function killChild(c: ChildSim): Promise<void> {
  if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
  await c.exited;
}

// ---- measuring and checking ------------------------------------------------------------------

/** Segment `k` of a test: `steps` drives in [-0.6, 0.6] (no saturation, so status stays 0), washout included. */
export function segmentDrives(k: number, steps: number): Float32Array {
  return Float32Array.from({ length: steps }, (_, i) => 0.6 * Math.sin(0.37 * i + 1.3 * k) * Math.cos(0.11 * i * (k + 1)));
}

export interface SegmentsResult {
  runId: number;
  /** Responses of each segment as measure() returned them. */
  responses: Float32Array[];
  /** Re-measurements (state breaks recovered from) over all segments. */
  remeasured: number;
}

/**
 * Measures `n` segments on `dev` inside a recorded run (every accepted batch and event goes to
 * the database at `db`). `between` runs after each segment (a test injects a fault there).
 */
export async function measureRecorded(dev: Device, db: string, n: number, steps: number, between?: (k: number) => Promise<void>): Promise<SegmentsResult> {
  const responses: Float32Array[] = [];
  let remeasured = 0;
  const runId = await withRecordedRun({ db, kind: 'bench', config: { test: 'fault' }, device: dev, handleSignals: false }, async (ctx) => {
    for (let k = 0; k < n; k++) {
      const m = await measure(dev, segmentDrives(k, steps), { maxRetries: 60 });
      responses.push(m.responses);
      remeasured += m.breaks;
      await between?.(k);
    }
    return ctx.runId!;
  });
  return { runId, responses, remeasured };
}

/** A clean in-process simulator of the same seed, model and batch size, to hold results against. */
export async function cleanTwin(opts: SimLinkOptions): Promise<DeviceClient> {
  const { device: d = {}, ...rest } = opts;
  const clean: SimDeviceOptions = { ...d, faults: {} };
  return DeviceClient.connect(openSimLink(PROFILE, { ...rest, device: clean }).link);
}

export interface Checked {
  verify: VerifyResult;
  /** Batches recorded, and how many of them differ from what a clean device gives for the same drive from a reset. */
  recorded: number;
  wrongRecorded: number;
  /** Segments measure() returned that differ from the clean device's. */
  wrongSegments: number;
  /** Events recorded, by kind. */
  events: Record<string, number>;
}

/**
 * Checks a run: verifyRun, every measured segment against a clean twin, and every recorded
 * stretch of one epoch (each starts at a reset) batch by batch against the twin run from a reset.
 */
export async function checkRun(dbPath: string, r: SegmentsResult, steps: number, twinOpts: SimLinkOptions): Promise<Checked> {
  const twin = await cleanTwin(twinOpts);
  let wrongSegments = 0;
  for (let k = 0; k < r.responses.length; k++) {
    const m = await measure(twin, segmentDrives(k, steps));
    if (!sameArray(m.responses, r.responses[k])) wrongSegments++;
  }
  const db: Database.Database = openRecordDb(dbPath);
  try {
    const verify = verifyRun(db, r.runId);
    let recorded = 0, wrongRecorded = 0;
    let epoch: number | undefined;
    for (const b of readBatches(db, r.runId)) {
      recorded++;
      if (b.epoch !== epoch) {
        await twin.resetState();
        epoch = b.epoch;
      }
      const t = await twin.process(Array.from(b.input));
      if (!sameArray(Float32Array.from(t.output), b.output)) wrongRecorded++;
    }
    return { verify, recorded, wrongRecorded, wrongSegments, events: verify.events };
  } finally {
    db.close();
    await twin.close();
  }
}

function sameArray(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Sum of the decoder's rejections (every reason but accepted frames). */
export function rejections(rejects: Readonly<Record<string, number>>): number {
  return Object.entries(rejects).reduce((s, [k, n]) => (k === 'frames' ? s : s + n), 0);
}

/** Opens a ReconnectingDevice on `address` with the fast timeouts. */
export function openReconnecting(address: string, reconnect: ReconnectOptions, connect: ConnectOptions = FAST): Promise<ReconnectingDevice> {
  return ReconnectingDevice.open(() => connectTo(address, connect), { name: address, initialDelayMs: 50, ...reconnect });
}

/** One line of the fault table the tests print (and the report quotes). */
export function row(cells: Record<string, unknown>): void {
  console.log(`  fault-table ${JSON.stringify(cells)}`);
}

export { StateBreakError };
