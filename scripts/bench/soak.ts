/**
 * Soak: streams many samples through the pty-served simulator with DeviceClient + measureSegment
 * and checks that memory stays flat and that nothing (handle, timer, child, listener) is left
 * behind after close. Exits 1 on FAIL.
 *
 *   node dist/scripts/bench/soak.js [--samples N (default 1,000,000)] [--batch N (default 256)]
 *                                   [--profile NAME (default analog)] [--inproc]
 *
 * By default the simulator (serveSim on createPty) runs in a child process
 * (scripts/bench/sim-child.js), as a board would be another machine: this process then holds
 * only what a host program holds (serial port, client, pipeline), so its memory and handles are
 * the host's alone; the child reports its own memory, and must exit by itself once its pty is
 * closed (otherwise it leaked a handle or timer). --inproc serves the simulator in this process
 * instead, so one process's figures cover both sides.
 *
 * The samples go out as one continued segment, 16 batches per measureSegment call, as `rhil run`
 * streams a long input, so memory reflects steady state, not a queue of every input.
 * Call with `node --expose-gc` to collect garbage before each memory reading (fewer false alarms).
 */
import { performance } from 'node:perf_hooks';
import { DeviceClient, measureSegment } from '../../src/device/index.js';
import { type Samples, createSamples } from '../../src/protocol/index.js';
import { Rng, createModel, serveSim, wireFormatFor } from '../../src/sim/index.js';
import { type Link, createPty, openSerial } from '../../src/transport/index.js';
import { type SimChild, fmt, machineLine, startSimChild } from './harness.js';

const args = process.argv.slice(2);
const strOpt = (name: string, dflt: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const SAMPLES = Number(strOpt('--samples', '1000000').replace(/[_,]/g, ''));
const BATCH = Number(strOpt('--batch', '256'));
const PROFILE = strOpt('--profile', 'analog');
const INPROC = args.includes('--inproc');
const SEED = 20261202;
const RSS_LIMIT_MB = 50;
if (!(Number.isInteger(SAMPLES) && SAMPLES > 0)) throw new RangeError(`--samples needs a positive integer, got ${strOpt('--samples', '')}`);
if (!(Number.isInteger(BATCH) && BATCH > 0)) throw new RangeError(`--batch needs a positive integer, got ${strOpt('--batch', '')}`);

const gc = (globalThis as { gc?: () => void }).gc;
const MB = (b: number) => (b / 1e6).toFixed(1);
function mem() {
  gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
}
/** Active resources as a multiset. */
function resources(): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) m.set(r, (m.get(r) ?? 0) + 1);
  return m;
}
const show = (m: Map<string, number>) => [...m].map(([k, n]) => `${k} x${n}`).join(', ') || 'none';
/** What `after` holds beyond `before`. */
function extra(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, n] of after) if (n > (before.get(k) ?? 0)) out.set(k, n - (before.get(k) ?? 0));
  return out;
}

interface Emitterish { listenerCount(event: string): number }
/** Listener counts on the serial port behind a StreamLink, and on the binding's poller (runtime internals: best effort). */
function listeners(link: Link): Record<string, number> | null {
  const port = (link as unknown as { writable?: Emitterish & { port?: { poller?: Emitterish } } }).writable;
  if (!port || typeof port.listenerCount !== 'function') return null;
  const out: Record<string, number> = {};
  for (const e of ['data', 'end', 'close', 'error', 'drain']) out[`port.${e}`] = port.listenerCount(e);
  const poller = port.port?.poller;
  if (poller) for (const e of ['readable', 'writable', 'disconnect']) out[`poller.${e}`] = poller.listenerCount(e);
  return out;
}

const t0 = performance.now();
console.log(`soak: ${fmt(SAMPLES)} samples of '${PROFILE}' in batches of ${BATCH} through measureSegment (one continued segment), simulator ${INPROC ? 'in this process' : 'in a child process'} on a socat pty, host openSerial + DeviceClient; gc ${gc ? 'exposed (collected before each reading)' : 'not exposed'}`);
// Baseline after the first write: process.stdout is created lazily (a PipeWrap when piped).
void process.stderr;
const resBefore = resources();
const m0 = mem();

let child: SimChild | null = null;
let inPty: Awaited<ReturnType<typeof createPty>> | null = null;
let path: string;
if (INPROC) {
  inPty = await createPty();
  serveSim(inPty.link, PROFILE, { seed: SEED, device: { pacing: { samplePeriod: false } } });
  path = inPty.path;
} else {
  child = await startSimChild(PROFILE, SEED);
  path = child.path;
}
const link = await openSerial(path);
const client = await DeviceClient.connect(link, { processTimeoutMs: 30_000, timeoutMs: 5000 });
const inCh = client.info.inChannels;
const batch = Math.min(BATCH, client.maxBatch);
if (batch !== BATCH) console.log(`batch ${BATCH} exceeds the device's usable maximum: using ${batch}`);

// Drive: 16 distinct batches, cycled (a new typed array per batch would only measure the allocator).
const model = createModel(PROFILE as 'analog', {}, SEED);
const rng = new Rng(SEED);
const drives: Samples[] = Array.from({ length: 16 }, () => {
  const s = createSamples(wireFormatFor(model.inRange), batch * inCh);
  for (let i = 0; i < s.length; i++) s[i] = Math.round(model.inRange[0] + rng.uniform() * (model.inRange[1] - model.inRange[0]));
  return s;
});
const totalBatches = Math.ceil(SAMPLES / batch);
const warmAt = Math.max(1, Math.ceil(totalBatches / 10));

// One continued segment, measured a chunk of 16 batches at a time (the client keeps within credits).
const CHUNK = 16;
let doneBatches = 0;
let doneSamples = 0;
let checksum = 0;
let epoch: number | undefined;

let mWarm = m0;
let childWarm: number | undefined;
let lWarm: Record<string, number> | null = null;
let lastPrint = performance.now();
let lastSamples = 0;
const streamStart = performance.now();
const failures: string[] = [];
const chunk = new Float64Array(CHUNK * batch * inCh);

try {
  while (doneSamples < SAMPLES) {
    const rows = Math.min(CHUNK * batch, SAMPLES - doneSamples);
    for (let k = 0; k * batch < rows; k++) chunk.set(drives[(doneBatches + k) % 16].subarray(0, Math.min(batch, rows - k * batch) * inCh), k * batch * inCh);
    const seg = await measureSegment(client, chunk.subarray(0, rows * inCh), { epoch, maxRetries: 0 });
    epoch = seg.epoch;
    if (seg.raw.length !== rows * client.info.outChannels) failures.push(`chunk at ${doneSamples} has ${seg.raw.length} outputs`);
    checksum = (checksum + seg.raw[seg.raw.length - 1]) % 1e9;
    const before = doneBatches;
    doneBatches += Math.ceil(rows / batch);
    doneSamples += rows;
    if (before < warmAt && doneBatches >= warmAt) {
      mWarm = mem();
      lWarm = listeners(link);
      void child?.stats().then((st) => { childWarm = st.rss; });
    }
    const now = performance.now();
    if (now - lastPrint >= 1000) {
      const rate = (doneSamples - lastSamples) / ((now - lastPrint) / 1000);
      console.log(`  ${fmt(doneSamples).padStart(11)} samples  ${((doneSamples / SAMPLES) * 100).toFixed(0).padStart(3)}%  ${fmt(rate).padStart(9)} samples/s  rss ${MB(process.memoryUsage().rss)} MB, heap ${MB(process.memoryUsage().heapUsed)} MB, array buffers ${MB(process.memoryUsage().arrayBuffers)} MB`);
      lastPrint = now;
      lastSamples = doneSamples;
    }
  }
} catch (e) {
  failures.push(`stream failed: ${(e as Error).message}`);
}
const streamSecs = (performance.now() - streamStart) / 1000;
const mEnd = mem();
const lEnd = listeners(link);
const childEnd = child ? (await child.stats()).rss : undefined;

await client.close();
let childExit: { resources: string[]; exited: boolean; code: number | null } | null = null;
if (child) childExit = await child.close();
if (inPty) await inPty.close();
// Handles close on later turns; give them up to a second (a leak stays, a late close goes).
const closedAt = performance.now();
let resAfter = resources();
let leaked = extra(resBefore, resAfter);
while (leaked.size > 0 && performance.now() - closedAt < 1000) {
  await new Promise((r) => setTimeout(r, 20));
  resAfter = resources();
  leaked = extra(resBefore, resAfter);
}
const settleMs = performance.now() - closedAt;

const growth = mEnd.rss - mWarm.rss;
const listenerDiff = lWarm && lEnd ? Object.keys(lEnd).filter((k) => lEnd[k] !== lWarm![k]) : [];
if (doneSamples !== SAMPLES) failures.push(`streamed ${doneSamples} samples, expected ${SAMPLES}`);
if (growth >= RSS_LIMIT_MB * 1e6) failures.push(`RSS grew ${MB(growth)} MB after warm-up (limit ${RSS_LIMIT_MB} MB)`);
if (leaked.size > 0) failures.push(`resources left after close: ${show(leaked)}`);
if (childExit && !childExit.exited) failures.push(`sim child did not exit after its pty was closed (still active there: ${childExit.resources.join(', ')})`);
if (childExit && childExit.exited && childExit.code !== 0) failures.push(`sim child exited with code ${childExit.code}`);
if (listenerDiff.length) failures.push(`listener counts changed between warm-up and end: ${listenerDiff.map((k) => `${k} ${lWarm![k]} -> ${lEnd![k]}`).join(', ')}`);

console.log(`samples             ${fmt(doneSamples)} in ${fmt(doneBatches)} batches of ${batch} (${fmt(SAMPLES / streamSecs)} samples/s, checksum ${checksum})`);
console.log(`seconds             ${streamSecs.toFixed(2)} streaming, ${((performance.now() - t0) / 1000).toFixed(2)} in all`);
console.log(`rss (host)          start ${MB(m0.rss)} MB, after warm-up (${fmt(warmAt)} batches) ${MB(mWarm.rss)} MB, end ${MB(mEnd.rss)} MB; growth after warm-up ${MB(growth)} MB (limit ${RSS_LIMIT_MB} MB), since start ${MB(mEnd.rss - m0.rss)} MB`);
console.log(`heap used (host)    start ${MB(m0.heapUsed)} MB, after warm-up ${MB(mWarm.heapUsed)} MB, end ${MB(mEnd.heapUsed)} MB; ` +
  `external (array buffers) start ${MB(m0.external)} (${MB(m0.arrayBuffers)}), warm-up ${MB(mWarm.external)} (${MB(mWarm.arrayBuffers)}), end ${MB(mEnd.external)} (${MB(mEnd.arrayBuffers)}) MB`);
if (child) console.log(`rss (sim child)     after warm-up ${childWarm !== undefined ? MB(childWarm) : '?'} MB, end ${childEnd !== undefined ? MB(childEnd) : '?'} MB; exited by itself after close: ${childExit?.exited ? `yes (code ${childExit.code})` : 'NO'}; active there just before exit (IPC channel included): ${childExit?.resources.join(', ') || 'none'}`);
console.log(`resources before    ${show(resBefore)}`);
console.log(`resources after     ${show(resAfter)}${leaked.size ? `  (extra after 1 s: ${show(leaked)})` : `  (nothing extra; settled ${settleMs.toFixed(0)} ms after close)`}`);
console.log(`listeners (port)    after warm-up ${lWarm ? JSON.stringify(lWarm) : 'not reachable'}; end ${lEnd ? JSON.stringify(lEnd) : 'not reachable'}`);
console.log(failures.length ? `FAIL: ${failures.join('; ')}` : `PASS: RSS growth ${MB(growth)} MB < ${RSS_LIMIT_MB} MB, no handles or timers left after close, listener counts steady`);
console.log(machineLine());
process.exitCode = failures.length ? 1 : 0;
