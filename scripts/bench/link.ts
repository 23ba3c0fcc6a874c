/**
 * Link benchmark: the simulated device behind a real pty and serialport, against raw pty echo of
 * the same bytes measured in the same run (the machine is shared: read the ratios).
 *
 *   node dist/scripts/bench/link.js [--runs N (default 5)] [--secs S per measurement (default 0.4)]
 *                                   [--round-trips N (default 2000)] [--profile-secs S (default 0.3)]
 *
 * (a) Streaming throughput, pacing off, all credits in flight, batches of 16/64/256/1024 samples,
 *     profile 'analog' (1 -> 50 channels, u16; the cheapest model per sample, see sim.js). Rows:
 *       sim child       serveSim on createPty in a child process (own event loop), host
 *                       openSerial(pty.path) + DeviceClient here. The configuration the targets
 *                       are judged on.
 *       sim child triv  the same with a model of the same shape whose step costs ~nothing:
 *                       what the protocol + transport can do without model compute.
 *       sim in-proc pty serveSim on createPty in this process (one event loop for both sides).
 *       sim memory      openSimLink (no pty, no serialport): protocol + client + model only.
 *       raw echo        createPtyEcho + openSerial: a RESULT-sized buffer written and waited for,
 *                       as many in flight as the device's credits. Each echo unit moves R bytes
 *                       out and R back where the device moves P out and R back (P is ~2 % of R
 *                       for analog), so the echo never does less wire work than the device.
 *     Ratio = samples/s of the row / samples/s equivalent of raw echo (units/s x batch).
 *     CPU columns: CPU seconds per wall second of this process (host), the sim child and the
 *     socat helper(s), from process.cpuUsage and /proc; ELU = event-loop utilisation.
 * (b) Round trip of a 1-sample PROCESS, one at a time, vs echo of a 1-sample RESULT's bytes.
 * (c) In-process simulator (openSimLink + DeviceClient) per profile vs stepping its model directly.
 */
import { performance } from 'node:perf_hooks';
import { DeviceClient } from '../../src/device/index.js';
import { FLAG_RESPONSE, FrameEncoder, type Samples, createSamples } from '../../src/protocol/index.js';
import { type ProfileName, Rng, createModel, openSimLink, profiles, serveSim, wireFormatFor } from '../../src/sim/index.js';
import { type Link, createPty, createPtyEcho, openSerial } from '../../src/transport/index.js';
import { countingLink, fmt, machineLine, median, opt, percentile, socatPids, startSimChild, withCpu } from './harness.js';

const args = process.argv.slice(2);
const RUNS = opt(args, '--runs', 5);
const SECS = opt(args, '--secs', 0.4);
const ROUND_TRIPS = opt(args, '--round-trips', 2000);
const PROFILE_SECS = opt(args, '--profile-secs', 0.3);
const BATCHES = args.includes('--batches') ? args[args.indexOf('--batches') + 1].split(',').map(Number) : [16, 64, 256, 1024];
const VERBOSE = args.includes('--verbose');
const SEED = 20261201;
const DISTINCT = 8;
const PROFILE = 'analog';
const CONNECT = { processTimeoutMs: 30_000, timeoutMs: 5000 };

const tStart = performance.now();
const log = (s = '') => console.log(s);

// ---- drive data and frame sizes --------------------------------------------------------------

const rng = new Rng(SEED);
function driveBatches(n: number): Uint16Array[] {
  return Array.from({ length: DISTINCT }, () => Uint16Array.from({ length: n }, () => rng.nextU32() & 0xfff));
}

/** Encoded PROCESS and RESULT of a batch (RESULT with the analog model's real outputs). */
function frameSizes(drive: Uint16Array): { p: number; r: Uint8Array } {
  const enc = new FrameEncoder();
  const m = createModel(PROFILE, {}, SEED);
  const out = new Uint16Array(drive.length * m.outChannels);
  const y = new Float32Array(m.outChannels);
  for (let i = 0; i < drive.length; i++) {
    m.step(drive.subarray(i, i + 1), y);
    for (let k = 0; k < y.length; k++) out[i * m.outChannels + k] = Math.min(4095, Math.max(0, Math.round(y[k])));
  }
  const p = enc.encode({ seq: 1, flags: 0, message: { kind: 'process', batchId: 1, count: drive.length, channels: 1, format: 'u16', samples: drive } }).length;
  const r = enc.encode({
    seq: 1, flags: FLAG_RESPONSE,
    message: { kind: 'result', batchId: 1, epoch: 7, timestampUs: 123456, status: 0, count: drive.length, channels: m.outChannels, format: 'u16', samples: out },
  }).slice();
  return { p, r };
}

// ---- measurement primitives ------------------------------------------------------------------

/** Streams `batches` (cycled) for `secs` with every credit in flight; returns batches done and seconds. */
async function simStream(client: DeviceClient, batches: Samples[], secs: number): Promise<{ n: number; secs: number }> {
  let n = 0;
  let k = 0;
  const t0 = performance.now();
  const deadline = t0 + secs * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const r = await client.process(batches[k++ % batches.length]);
      if (r.input.length !== r.count * client.info.inChannels || r.output.length !== r.count * client.info.outChannels) throw new Error('bad result');
      n++;
    }
  };
  await Promise.all(Array.from({ length: client.info.credits }, worker));
  return { n, secs: (performance.now() - t0) / 1000 };
}

const echoState = { sent: 0, done: 0, received: 0 };

/** Writes `unit` and waits for its echo, `inflight` at a time, for `secs`; returns units done and seconds. */
function echoStream(link: Link, unit: Uint8Array, inflight: number, secs: number): Promise<{ n: number; secs: number }> {
  return new Promise((resolve, reject) => {
    const X = unit.length;
    const st = echoState;
    st.received = 0; st.sent = 0; st.done = 0;
    const t0 = performance.now();
    const deadline = t0 + secs * 1000;
    const send = () => { st.sent++; link.write(unit).catch(reject); };
    link.setHandlers({
      data: (c) => {
        st.received += c.length;
        while (st.received >= X) {
          st.received -= X;
          st.done++;
          if (performance.now() < deadline) send();
          else if (st.done === st.sent) resolve({ n: st.done, secs: (performance.now() - t0) / 1000 });
        }
      },
      close: (e) => reject(e ?? new Error('echo link closed')),
    });
    for (let i = 0; i < inflight; i++) send();
  });
}

/** Round-trip times in ms of `count` single requests made by `once`. */
async function roundTrips(once: () => Promise<unknown>, count: number): Promise<number[]> {
  const t: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    await once();
    t.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return t;
}

function echoOnce(link: Link, unit: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = 0;
    link.setHandlers({ data: (c) => { got += c.length; if (got >= unit.length) resolve(); }, close: (e) => reject(e ?? new Error('closed')) });
    link.write(unit).catch(reject);
  });
}

/** Bare model speed: samples/s of stepping `model` over `batches` for about `secs`. */
function bareRate(profile: ProfileName, batches: Samples[], secs: number, model = createModel(profile, {}, SEED)): number {
  const inCh = model.inChannels;
  const y = new Float32Array(model.outChannels);
  let n = 0;
  const t0 = performance.now();
  let dt = 0;
  for (let k = 0; dt < secs * 1000; k++) {
    const b = batches[k % batches.length];
    for (let v = 0; v < b.length / inCh; v++) model.step(b.subarray(v * inCh, (v + 1) * inCh), y);
    n += b.length / inCh;
    dt = performance.now() - t0;
  }
  return n / (dt / 1000);
}

/** Runs `fn`, failing loudly (state dump, exit 3) if it takes far longer than it should: a stall, not a slow run. */
async function watched<T>(what: string, limitS: number, fn: () => Promise<T>, dump: () => unknown = () => ({})): Promise<T> {
  if (VERBOSE) console.error(`[${((performance.now() - tStart) / 1000).toFixed(1)} s] ${what}`);
  const timer = setTimeout(() => {
    console.error(`STALL: ${what} did not finish within ${limitS} s; state: ${JSON.stringify(dump())}`);
    process.exit(3);
  }, limitS * 1000);
  try { return await fn(); } finally { clearTimeout(timer); }
}

// ---- setup -----------------------------------------------------------------------------------

const newSocat = (() => { const seen = new Set(socatPids(process.pid)); return () => { const now = socatPids(process.pid).filter((p) => !seen.has(p)); now.forEach((p) => seen.add(p)); return now; }; })();
const simChild = await startSimChild(PROFILE, SEED, 'real');
const trivChild = await startSimChild(PROFILE, SEED, 'trivial');
const echo = await createPtyEcho();
const echoSocat = newSocat();
const inPty = await createPty();
const inPtySocat = newSocat();
serveSim(inPty.link, PROFILE, { seed: SEED, device: { pacing: { samplePeriod: false } } });
const mem = openSimLink(PROFILE, { seed: SEED });

const childLink = countingLink(await openSerial(simChild.path));
const trivLink = countingLink(await openSerial(trivChild.path));
const inPtyLink = countingLink(await openSerial(inPty.path));
const memLink = countingLink(mem.link);
const clients = {
  child: await DeviceClient.connect(childLink.link, CONNECT),
  triv: await DeviceClient.connect(trivLink.link, CONNECT),
  inPty: await DeviceClient.connect(inPtyLink.link, CONNECT),
  mem: await DeviceClient.connect(memLink.link, CONNECT),
};
const echoLink = await openSerial(echo.path);
/** Largest bytes outstanding for which the default socat echo is safe (well under the 64 KiB pipe). */
const credits = clients.child.info.credits;

interface Config { key: string; label: string; counts?: { out: number; in: number }; pids: Record<string, number[]>; child?: typeof simChild }
const CONFIGS: Config[] = [
  { key: 'child', label: 'sim child (pty)', counts: childLink.counts, pids: { host: [process.pid], sim: [simChild.pid], socat: socatPids(simChild.pid) }, child: simChild },
  { key: 'triv', label: 'sim child, trivial model', counts: trivLink.counts, pids: { host: [process.pid], sim: [trivChild.pid], socat: socatPids(trivChild.pid) }, child: trivChild },
  { key: 'inPty', label: 'sim in-process (pty)', counts: inPtyLink.counts, pids: { host: [process.pid], socat: inPtySocat } },
  { key: 'mem', label: 'sim in-process (memory)', counts: memLink.counts, pids: { host: [process.pid] } },
  { key: 'echo', label: 'raw echo (pty)', pids: { host: [process.pid], socat: echoSocat } },
];
const isEcho = (key: string) => key.startsWith('echo');

log(`link benchmark: profile '${PROFILE}' (1 -> 50 channels, u16 in and out), pacing off, ${credits} credits in flight; ` +
  `median of ${RUNS} runs of ${SECS} s per row (configurations interleaved); 1 MB = 1e6 B`);
log(`sim child = serveSim on createPty in a child process; host = openSerial(pty.path) + DeviceClient in this process`);

// ---- (a) streaming throughput ----------------------------------------------------------------

interface Sample { rate: number; mbs: number; cpu: Record<string, number>; hostElu: number; simElu?: number; bytesPerBatch?: number }
const summary: { batch: number; ratio: number; trivRatio: number; inPtyRatio: number }[] = [];
for (const asked of BATCHES) {
  // A RESULT of more than maxBatch vectors does not fit the 65,547-byte max frame (analog: 655 x 50 u16).
  const n = Math.min(asked, clients.child.maxBatch);
  if (n !== asked) log(`\nbatch ${asked} samples does not fit one frame (RESULT ${fmt(asked * 100 + 35)} B > max frame 65,547 B): using maxBatch = ${n}`);
  const drive = driveBatches(n);
  const { p, r } = frameSizes(drive[0]);
  const configs = CONFIGS;
  const results: Record<string, Sample[]> = Object.fromEntries(configs.map((c) => [c.key, []]));
  const measure = (c: Config, secs: number) => (isEcho(c.key)
    ? echoStream(echoLink, r, credits, secs)
    : simStream(clients[c.key as keyof typeof clients], drive, secs));
  const dump = (c: Config) => () => ({ counts: c.counts, echo: echoState, inFlight: isEcho(c.key) ? undefined : clients[c.key as keyof typeof clients].inFlightCount });
  const bare: number[] = [];
  // Warm-up: one short pass of each.
  for (const c of configs) await watched(`batch ${n} warm-up ${c.label}`, 15, () => measure(c, 0.1), dump(c));
  for (let run = 0; run < RUNS; run++) {
    for (const c of configs) {
      await c.child?.stats(); // resets the child's ELU/CPU window
      const before = c.counts ? { ...c.counts } : undefined;
      const elu0 = performance.eventLoopUtilization();
      const m = await watched(`batch ${n} run ${run} ${c.label}`, SECS * 20 + 10,
        () => withCpu(c.pids, () => measure(c, SECS)), dump(c));
      const hostElu = performance.eventLoopUtilization(elu0).utilization;
      const simElu = c.child ? (await c.child.stats()).elu : undefined;
      const { n: units, secs } = m.value;
      const bytes = c.counts && before ? c.counts.out - before.out + c.counts.in - before.in : 2 * r.length * units;
      results[c.key].push({ rate: (units * n) / secs, mbs: bytes / secs / 1e6, cpu: m.share, hostElu, simElu, bytesPerBatch: bytes / units });
    }
    bare.push(bareRate(PROFILE, drive, 0.1));
  }
  const med = (key: string, f: (s: Sample) => number) => median(results[key].map(f));
  const echoRate = med('echo', (s) => s.rate);
  log(`\nbatch ${n} samples: PROCESS ${fmt(p)} B, RESULT ${fmt(r.length)} B on the wire; echo unit ${fmt(r.length)} B out + back; bare model ${fmt(median(bare))} samples/s`);
  log(`  ${'configuration'.padEnd(26)}${'samples/s'.padStart(11)}${'best'.padStart(11)}${'wire MB/s'.padStart(10)}${'x echo'.padStart(8)}${'B/batch'.padStart(9)}` +
    `${'cpu host'.padStart(9)}${'sim'.padStart(6)}${'socat'.padStart(7)}${'ELU host'.padStart(9)}${'sim'.padStart(6)}`);
  for (const c of configs) {
    const rs = results[c.key];
    const rate = med(c.key, (s) => s.rate);
    const best = Math.max(...rs.map((s) => s.rate));
    const cpu = (k: string) => (c.pids[k] ? med(c.key, (s) => s.cpu[k]).toFixed(2) : '-');
    log(`  ${c.label.padEnd(26)}${fmt(rate).padStart(11)}${fmt(best).padStart(11)}${fmt(med(c.key, (s) => s.mbs), 1).padStart(10)}` +
      `${(rate / echoRate).toFixed(2).padStart(8)}${fmt(med(c.key, (s) => s.bytesPerBatch ?? 0)).padStart(9)}` +
      `${cpu('host').padStart(9)}${cpu('sim').padStart(6)}${cpu('socat').padStart(7)}` +
      `${med(c.key, (s) => s.hostElu).toFixed(2).padStart(9)}${(c.child ? med(c.key, (s) => s.simElu ?? 0).toFixed(2) : '-').padStart(6)}`);
  }
  const simRate = med('child', (s) => s.rate);
  log(`  model compute alone would take ${((simRate / median(bare)) * 100).toFixed(0)}% of the sim child's wall time at its measured rate`);
  summary.push({ batch: n, ratio: simRate / echoRate, trivRatio: med('triv', (s) => s.rate) / echoRate, inPtyRatio: med('inPty', (s) => s.rate) / echoRate });
}
const big = summary.filter((s) => s.batch >= 64);
log(`\n(a) target sim/raw-echo >= 0.9 at batches >= 64 (sim child): ${big.every((s) => s.ratio >= 0.9) ? 'met' : 'NOT met'} ` +
  `(${summary.map((s) => `${s.batch}: ${s.ratio.toFixed(2)}`).join(', ')}; trivial model ${summary.map((s) => s.trivRatio.toFixed(2)).join(', ')}; ` +
  `in-process pty ${summary.map((s) => s.inPtyRatio.toFixed(2)).join(', ')})`);

// ---- (b) round-trip latency ------------------------------------------------------------------

const one = driveBatches(1);
const { p: p1, r: r1 } = frameSizes(one[0]);
const rtConfigs: { label: string; once: () => Promise<unknown> }[] = [
  { label: 'sim child (pty)', once: () => clients.child.process(one[0]) },
  { label: 'sim in-process (pty)', once: () => clients.inPty.process(one[0]) },
  { label: 'sim in-process (memory)', once: () => clients.mem.process(one[0]) },
  { label: 'raw echo (pty)', once: () => echoOnce(echoLink, r1) },
];
const rt: number[][] = rtConfigs.map(() => []);
for (const c of rtConfigs) await roundTrips(c.once, 200); // warm-up
const BLOCK = 250;
for (let done = 0; done < ROUND_TRIPS; done += BLOCK) {
  for (let i = 0; i < rtConfigs.length; i++) rt[i].push(...await roundTrips(rtConfigs[i].once, Math.min(BLOCK, ROUND_TRIPS - done)));
}
log(`\nround trip of a 1-sample PROCESS (${p1} B out, ${r1.length} B back), one at a time, ${fmt(ROUND_TRIPS)} each, interleaved in blocks of ${BLOCK}; echo: ${r1.length} B out and back`);
log(`  ${'configuration'.padEnd(26)}${'p50 ms'.padStart(9)}${'p90 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'max ms'.padStart(9)}`);
rtConfigs.forEach((c, i) => log(`  ${c.label.padEnd(26)}${percentile(rt[i], 50).toFixed(3).padStart(9)}${percentile(rt[i], 90).toFixed(3).padStart(9)}` +
  `${percentile(rt[i], 99).toFixed(3).padStart(9)}${Math.max(...rt[i]).toFixed(3).padStart(9)}`));
const added = percentile(rt[0], 50) - percentile(rt[3], 50);
log(`(b) added latency, sim child p50 - echo p50: ${added.toFixed(3)} ms (target <= 0.3 ms: ${added <= 0.3 ? 'met' : 'NOT met'}); ` +
  `p99 - p99: ${(percentile(rt[0], 99) - percentile(rt[3], 99)).toFixed(3)} ms`);

// ---- close the pty configurations (before (c), so idle children do not share the cores) ----

for (const c of Object.values(clients)) await c.close();
await echoLink.close();
await echo.close();
await inPty.close();
const closes = await Promise.all([simChild.close(), trivChild.close()]);
if (closes.some((c) => !c.exited)) log(`warning: a sim child did not exit after close: ${JSON.stringify(closes)}`);

// ---- (c) in-process simulator per profile ----------------------------------------------------

log(`\nin-process simulator (openSimLink + DeviceClient, all credits in flight) vs stepping the model directly; ` +
  `batch = min(256, maxBatch); median of ${Math.max(3, Math.round(RUNS / 2))} runs of ${PROFILE_SECS} s`);
log(`  ${'profile'.padEnd(18)}${'channels'.padStart(9)}${'batch'.padStart(7)}${'full stack/s'.padStart(14)}${'bare model/s'.padStart(14)}${'ratio'.padStart(7)}`);
for (const name of Object.keys(profiles) as ProfileName[]) {
  const { link } = openSimLink(name, { seed: SEED });
  const client = await DeviceClient.connect(link, CONNECT);
  const model = createModel(name, {}, SEED);
  const n = Math.min(256, client.maxBatch);
  const inCh = client.info.inChannels;
  const [lo, hi] = model.inRange;
  const batches = Array.from({ length: DISTINCT }, () => {
    const s = createSamples(wireFormatFor(model.inRange), n * inCh);
    for (let i = 0; i < s.length; i++) s[i] = Math.round(lo + rng.uniform() * (hi - lo));
    return s;
  });
  await simStream(client, batches, 0.05);
  bareRate(name, batches, 0.05, model);
  const full: number[] = [];
  const bareR: number[] = [];
  for (let run = 0; run < Math.max(3, Math.round(RUNS / 2)); run++) {
    const m = await simStream(client, batches, PROFILE_SECS);
    full.push((m.n * n) / m.secs);
    bareR.push(bareRate(name, batches, PROFILE_SECS, model));
  }
  const f = median(full);
  const b = median(bareR);
  log(`  ${name.padEnd(18)}${`${model.inChannels}->${model.outChannels}`.padStart(9)}${String(n).padStart(7)}${fmt(f).padStart(14)}${fmt(b).padStart(14)}${(f / b).toFixed(2).padStart(7)}`);
  await client.close();
}

log(`\n${machineLine(`(${((performance.now() - tStart) / 1000).toFixed(0)} s)`)}`);
