/**
 * Device utilisation during `pat` training (`node dist/scripts/bench/utilisation.js [--episodes N]
 * [--steps N] [--backend auto|wasm|cpu] [--seeds 1,2] [--rate samples/s] [--refit-every N]
 * [--variants 'on/off/...'] [--board inproc|child|tcp]`): the in-process analog (or, with --board
 * child, the same board in its own process on a pty; with --board tcp, in its own process behind a
 * local TCP port, as a fast board behind an Ethernet bridge)
 * simulator paced like a real board at 2,000 samples/s by default (50 virtual nodes x
 * nodeSeparationNs 10,000 ns = samplePeriodNs 500,000; pacing.samplePeriod true: each RESULT is
 * held until count x 0.5 ms of wall time has passed since its batch started), NARMA10, pat
 * defaults (30 episodes of 50 washout + 400 steps = 450 device samples, 225 ms of device time
 * each), pipeline on and off.
 *
 * Two figures per run:
 * - host: TrainResult.deviceUtilisation (time a measurement was outstanding / wall time of the
 *   training episodes, measured in pat around device calls);
 * - sim: the simulator's own busy time. Each PROCESS the SimDevice handles is recorded (a wrapper
 *   on its instance's process method) and its paced window rebuilt with the simulator's rule
 *   (start = max(arrival, previous end), end = start + count x period); busy time is the union of
 *   those windows clipped to [first training batch, end of the last training episode] (from
 *   onEpisode), divided by that wall time. "steady" is the same from the end of episode 1 (after
 *   the first surrogate fit, 40 epochs) to the end of the last, which is what a long run tends to.
 * The final readout fit and test segments (after training) are not counted in either.
 * The device's idle time per episode (sim side) is printed too, and the idle gap between episodes
 * split into result delivery (simulator's batch end -> the host's process() promise resolves), host
 * work before the next episode's resetState call, and reset round trip + send (-> the simulator's next
 * batch start), from wrappers on the client's resetState and process (means from episode 2; a
 * result that arrives while the host is still busy counts as delivery). Two diagnostic rows
 * (pipeline on): refitWorker true (the refits in a worker thread instead of in slices on the
 * training thread) and freezeSurrogate (no refit after the first fit: the host's work without
 * refits). "worker" says whether a refit worker was alive at the last episode.
 */
import { cpus } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { DeviceClient } from '../../src/device/client.js';
import { openSimLink } from '../../src/sim/serve.js';
import { type Link, openLink, openSerial } from '../../src/transport/index.js';
import { type SimChild, startSimChild } from './harness.js';
import { selectBackend, type BackendChoice } from '../../src/core/backend.js';
import { liveRefitWorkers } from '../../src/surrogate/lagged-refit.js';
import type { TrainOptions } from '../../src/train/common.js';
import { train } from '../../src/train/train.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const EPISODES = Number(opt('--episodes', '30'));
const STEPS = Number(opt('--steps', '400'));
const WASHOUT = 50;
const SEEDS = opt('--seeds', '1').split(',').map(Number);
const PERIOD_NS = Math.round(1e9 / Number(opt('--rate', '2000')));
const NODES = 50;
// --board child|tcp: the simulated board in its own process (as a real board is), on a pty or a TCP port, not in this thread.
const BOARD = opt('--board', 'inproc');
if (!['inproc', 'child', 'tcp'].includes(BOARD)) throw new Error(`--board must be inproc, child or tcp, got '${BOARD}'`);
const CHILD = BOARD !== 'inproc';

const backend = await selectBackend(opt('--backend', 'auto') as BackendChoice);

interface Batch { start: number; end: number; count: number }
/** Union length of [start, end) windows (sorted, non-overlapping by construction) clipped to [a, b]. */
function busyIn(batches: Batch[], a: number, b: number): number {
  let s = 0;
  for (const w of batches) s += Math.max(0, Math.min(w.end, b) - Math.max(w.start, a));
  return s;
}

interface Variant { name: string; pipeline: boolean; extra: Pick<TrainOptions, 'freezeSurrogate' | 'refitWorker' | 'surrogate'> }
const REFIT_EVERY = Number(opt('--refit-every', '3'));
const ALL_VARIANTS: Variant[] = [
  { name: 'on', pipeline: true, extra: {} },
  // For a fast board: the refit schedule counted in device samples (every REFIT_EVERY episodes' worth of pairs).
  { name: `on, refit every ${REFIT_EVERY}`, pipeline: true, extra: { surrogate: { refitEvery: REFIT_EVERY } } },
  { name: 'on, surrogate lag 1', pipeline: true, extra: { surrogate: { lag: 1 } } },
  // For a fast board: one refit stale, so a refit runs in slices across the episodes until the next refit point.
  { name: `on, lag 1, refit every ${REFIT_EVERY}`, pipeline: true, extra: { surrogate: { lag: 1, refitEvery: REFIT_EVERY } } },
  // The same with the refits in a worker thread (a host with a core to spare: the board's own process uses little).
  { name: `on, lag 1, refit every ${REFIT_EVERY}, worker`, pipeline: true, extra: { surrogate: { lag: 1, refitEvery: REFIT_EVERY }, refitWorker: true } },
  { name: 'off', pipeline: false, extra: {} },
  // Diagnostics (not the target's configuration): the refits in a worker thread, and none after the first fit.
  { name: 'on, refit worker', pipeline: true, extra: { refitWorker: true } },
  { name: 'on, frozen surrogate', pipeline: true, extra: { freezeSurrogate: true } },
];
// --variants 'on/off/...': a subset by exact name, '/' between names (default: all).
const picked = opt('--variants', '').split('/').filter(Boolean);
const VARIANTS = picked.length ? ALL_VARIANTS.filter((v) => picked.includes(v.name)) : ALL_VARIANTS;
if (VARIANTS.length === 0) throw new Error(`--variants names none of: ${ALL_VARIANTS.map((v) => v.name).join(' / ')}`);

interface Out { worker: boolean; gap: { delivery: number; host: number; reset: number; idle: number }; seed: number; variant: string; pipeline: boolean; host: number; sim: number; steady: number; wall: number; perEpisodeHost: number; samples: number; nmse: number }
const out: Out[] = [];

for (const seed of SEEDS) {
  for (const { name: variant, pipeline, extra } of VARIANTS) {
    const overrides = { nodeSeparationNs: PERIOD_NS / NODES };
    let batches: Batch[] = [];
    let client: DeviceClient, board: SimChild | undefined, serial: Link | undefined;
    if (CHILD) {
      // The board in its own process, on a pty, as a real board is: host work cannot stall it.
      board = await startSimChild('analog', seed, 'paced', overrides, BOARD === 'tcp' ? 'tcp' : 'pty');
      serial = BOARD === 'tcp' ? await openLink(board.path) : await openSerial(board.path, { baudRate: 3_000_000 });
      client = await DeviceClient.connect(serial);
    } else {
      const { link, device: sim } = openSimLink('analog', { seed, overrides, device: { pacing: { samplePeriod: true } } });
      if (sim.model.samplePeriodNs !== PERIOD_NS) throw new Error(`samplePeriodNs is ${sim.model.samplePeriodNs}, expected ${PERIOD_NS}`);
      let lastEnd = 0;
      // Record every PROCESS the simulator handles, with its paced window (same rule as SimDevice.process).
      const dev = sim as unknown as { process: (seq: number, p: { count: number }) => void };
      const orig = dev.process.bind(sim);
      dev.process = (seq, p) => {
        const start = Math.max(performance.now(), lastEnd);
        lastEnd = start + (p.count * PERIOD_NS) / 1e6;
        batches.push({ start, end: lastEnd, count: p.count });
        orig(seq, p);
      };
      client = await DeviceClient.connect(link);
    }
    if (client.info.samplePeriodNs !== PERIOD_NS) throw new Error(`samplePeriodNs is ${client.info.samplePeriodNs}, expected ${PERIOD_NS}`);
    // The child's windows are in absolute ms: onto this process's performance.now() scale.
    const fetchWindows = async () => {
      if (board) batches = (await board.windows()).map(([start, end, count]) => ({ start: start - performance.timeOrigin, end: end - performance.timeOrigin, count }));
    };
    // Host-side timestamps of every resetState and process call and of their resolution (instance wrappers).
    const groups: { call: number; done: number }[] = [];
    const procs: { group: number; call: number; done: number }[] = [];
    const origReset = client.resetState.bind(client), origProcess = client.process.bind(client);
    client.resetState = async () => {
      const g = { call: performance.now(), done: NaN };
      groups.push(g);
      const epoch = await origReset();
      g.done = performance.now();
      return epoch;
    };
    client.process = (input) => {
      const rec = { group: groups.length - 1, call: performance.now(), done: NaN };
      procs.push(rec);
      const p = origProcess(input);
      p.then(() => { rec.done = performance.now(); }, () => undefined);
      return p;
    };
    const marks: { t: number; batches: number; groups: number }[] = [];
    const trainStartBatch = batches.length;
    try {
      let worker = false;
      const opts: TrainOptions = {
        task: 'narma10', device: client, trainer: 'pat', seed, episodes: EPISODES, steps: STEPS, washout: WASHOUT, pipeline, ...extra,
        onEpisode: () => { marks.push({ t: performance.now(), batches: batches.length, groups: groups.length }); worker = liveRefitWorkers() > 0; },
      };
      const res = await train(opts);
      await fetchWindows();
      const first = batches[trainStartBatch].start, end = marks.at(-1)!.t;
      // The child's windows arrive after the run: there, training's batches are those that started before its end.
      const trainBatches = batches.slice(trainStartBatch, CHILD ? batches.filter((b) => b.start < end).length : marks.at(-1)!.batches);
      const busy = busyIn(trainBatches, first, end);
      const steadyFrom = marks[1]?.t ?? first;
      const steady = busyIn(trainBatches, steadyFrom, end) / (end - steadyFrom);
      const samples = trainBatches.reduce((s, b) => s + b.count, 0);
      const n = marks.length;
      // Device idle gap between consecutive training episodes g -> g+1 (from g = 2: after the first fit), split into
      // delivery (sim's batch end -> host's process() resolves), host (-> next resetState call), reset+send (-> sim's next batch start).
      const nGroups = marks.at(-1)!.groups;
      const gap = { delivery: [] as number[], host: [] as number[], reset: [] as number[], idle: [] as number[] };
      for (let g = 2; g + 1 < nGroups; g++) {
        let last = -1;
        for (let i = 0; i < procs.length; i++) if (procs[i].group === g) last = i;
        const next = procs.findIndex((q) => q.group === g + 1);
        if (last < trainStartBatch || next < 0) continue;
        gap.delivery.push(procs[last].done - batches[last].end);
        gap.host.push(groups[g + 1].call - procs[last].done);
        gap.reset.push(batches[next].start - groups[g + 1].call);
        gap.idle.push(batches[next].start - batches[last].end);
      }
      const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
      out.push({
        worker,
        gap: { delivery: mean(gap.delivery), host: mean(gap.host), reset: mean(gap.reset), idle: mean(gap.idle) },
        seed, variant, pipeline, host: res.deviceUtilisation ?? NaN, sim: busy / (end - first), steady, wall: (end - first) / 1e3,
        perEpisodeHost: ((end - first) - busy) / n, samples, nmse: res.test.value,
      });
    } finally {
      await client.close();
      await board?.close();
    }
  }
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
console.log(`pat device utilisation, sim:analog ${BOARD === 'tcp' ? 'in its own process on a local TCP port' : CHILD ? 'in its own process on a pty' : 'in this process'}, paced at ${1e9 / PERIOD_NS} samples/s (samplePeriodNs ${PERIOD_NS.toLocaleString('en-US')}), narma10, ${EPISODES} episodes x (${WASHOUT} + ${STEPS}) samples = ${((STEPS + WASHOUT) * PERIOD_NS / 1e6).toFixed(0)} ms device time each, backend ${backend.detail}`);
console.log(`  ${'seed'.padStart(4)} ${'pipeline'.padEnd(22)} ${'host util'.padStart(9)} ${'sim util'.padStart(9)} ${'steady'.padStart(7)} ${'wall s'.padStart(7)} ${'idle ms/ep'.padStart(10)} ${'samples'.padStart(8)} ${'test NMSE'.padStart(9)} ${'worker'.padStart(6)}`);
for (const r of out) {
  console.log(`  ${String(r.seed).padStart(4)} ${r.variant.padEnd(22)} ${pct(r.host).padStart(9)} ${pct(r.sim).padStart(9)} ${pct(r.steady).padStart(7)} ${r.wall.toFixed(2).padStart(7)} ${r.perEpisodeHost.toFixed(1).padStart(10)} ${String(r.samples).padStart(8)} ${r.nmse.toFixed(3).padStart(9)} ${(r.worker ? 'yes' : 'no').padStart(6)}`);
}
console.log(`\ndevice idle gap between episodes (mean over episodes 2.., ms): result delivery to pat + host work before the next reset + reset round trip and send = idle`);
console.log(`  ${'seed'.padStart(4)} ${'pipeline'.padEnd(22)} ${'delivery'.padStart(8)} ${'host'.padStart(7)} ${'reset+send'.padStart(10)} ${'idle'.padStart(7)}`);
for (const r of out) {
  console.log(`  ${String(r.seed).padStart(4)} ${r.variant.padEnd(22)} ${r.gap.delivery.toFixed(1).padStart(8)} ${r.gap.host.toFixed(1).padStart(7)} ${r.gap.reset.toFixed(1).padStart(10)} ${r.gap.idle.toFixed(1).padStart(7)}`);
}
const on = out.filter((r) => r.variant === 'on');
const worst = Math.min(...on.map((r) => r.sim));
console.log(`  (the last two rows are diagnostics, pipeline on with the refits in a worker thread, and with none after the first fit; idle ms/ep: device idle time per episode, from the simulator's side; steady: from the end of episode 1, after the first 40-epoch surrogate fit)`);
console.log(`target >= 90% utilisation with the pipeline on: ${worst >= 0.9 ? 'met' : 'NOT met'} (lowest sim-side ${pct(worst)}, steady ${pct(Math.min(...on.map((r) => r.steady)))})`);
console.log(`${new Date().toISOString()}  ${cpus()[0]?.model ?? 'unknown cpu'} x${cpus().length}  node ${process.version}  tensors left ${tf.memory().numTensors}`);
