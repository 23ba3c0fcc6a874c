/**
 * Device utilisation of chain training (issue 12), sequential vs pipelined in one run
 * (src/train/chain/train.ts `pipeline`):
 *
 *   node dist/scripts/bench/chain-utilisation.js [--task synthetic|mnist] [--variants one,two] [--trainers pat,oracle,classic]
 *        [--rates 1000,10000] [--seeds 1] [--epochs 1] [--batch 64] [--train 2000] [--test 1000] [--explore 1000] [--refit-every 50] [--board tcp|inproc]
 *        [--series-ns 200,4000] [--series-episodes 20]
 *
 * The device is sim:optical (64 SLM phases in, 128 camera pixels out) paced like the camera
 * (pacing.samplePeriod: each RESULT is held until count / frameRateHz of wall time has passed
 * since its batch started), at its own 1000 frames/s and at the faster rates --rates names
 * (frameRateHz override). With --board tcp (the default) the board runs in its own process behind
 * a local TCP port (harness.ts startSimChild), as a real board has its own clock and core; with
 * --board inproc it shares this thread, so it cannot take a batch, nor release a paced RESULT,
 * while the host computes a step, and pipelining has little to overlap (a diagnostic). The
 * oracle's twin is a local model built from the same profile, seed and overrides. Chains: one = 64 tanh | sim:optical | softmax; two = 64 tanh | sim:optical |
 * 64 tanh | sim:optical | softmax; the task synthetic-classes (16 features, 4 classes, seeded) or
 * MNIST (784 pixels, 10 classes, tasks/mnist.ts).
 *
 * Two utilisation figures per run, over the training steps only (exploration, the first surrogate
 * fit and the test evaluation excluded):
 * - host: ChainTrainResult.deviceUtilisation, the union of the intervals during which a training
 *   measurement was outstanding (train.ts, as pat.ts measures it) over the wall time from the first
 *   training pass to the last step's end;
 * - sim: the simulator's own paced windows of the training batches (each PROCESS recorded with
 *   start = max(arrival, previous end), end = start + count x period, the simulator's rule), their
 *   union clipped to [first training batch, last step's end], over that wall time.
 * - steady: the sim figure over the steps after step 0 (kernel warm-up, and the one pass that is
 *   never pipelined) that do not end in one of pat's refits (every --refit-every steps, seconds of
 *   host work that one batch measured ahead cannot hide): what the pipeline does between refits.
 * Then per (chain, trainer, rate) the ratios pipelined / sequential of sim utilisation and of
 * training wall time, and both test accuracies (the device is seeded and optical has no drift,
 * so each row is reproducible; pipelined steps are one step stale, hence a different trajectory).
 *
 * Variant series2 (issue 12's time-series chain, src/train/chain/series.ts `pipeline`): NARMA10 on
 * taps 20 | sim:analog-awg | taps 1 | sim:analog-awg | ridge under pat, both layers on one
 * analog-awg board paced at 50 virtual nodes x --series-ns ns a step (200, the profile's own, is
 * 10 µs a step; 4000 is 0.2 ms), --series-episodes episodes of the CLI's default 50 + 400 steps.
 * The same figures per episode: sim utilisation over the training episodes (from the first
 * segment's start to the last episode's end; the final fit and test after it excluded), host
 * utilisation (SeriesChainResult.deviceUtilisation), ms per episode, their ratios pipelined /
 * sequential, and both test NMSEs (analog-awg has read noise and, paced, drift that runs on
 * idle wall time, so these rows are not reproducible to the digit).
 */
import { cpus } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { DeviceClient } from '../../src/device/client.js';
import { createSim, openSimLink } from '../../src/sim/serve.js';
import { openLink } from '../../src/transport/index.js';
import { startSimChild } from './harness.js';
import { selectBackend } from '../../src/core/backend.js';
import type { ClassSet } from '../../src/tasks/classes.js';
import { loadMnist } from '../../src/tasks/mnist.js';
import { syntheticClasses } from '../../src/tasks/synthetic-classes.js';
import { trainChain, type ChainTrainerName } from '../../src/train/chain/train.js';
import type { ModelSpec } from '../../src/train/chain/spec-types.js';
import { trainSeriesChain } from '../../src/train/chain/series.js';

const args = process.argv.slice(2);
const flag = (name: string, d: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : d;
};
const task = flag('task', 'synthetic');
if (task !== 'synthetic' && task !== 'mnist') throw new RangeError(`--task must be synthetic or mnist, got '${task}'`);
const variants = flag('variants', 'one,two,series2').split(',');
const trainers = flag('trainers', 'pat').split(',') as ChainTrainerName[];
const rates = flag('rates', '1000,10000').split(',').map(Number);
const seeds = flag('seeds', '1').split(',').map(Number);
const epochs = Number(flag('epochs', '1'));
const batchSize = Number(flag('batch', '64'));
const nTrain = Number(flag('train', '2000'));
const nTest = Number(flag('test', '1000'));
const exploreRows = Number(flag('explore', '1000'));
const refitEvery = Number(flag('refit-every', '50'));
const board = flag('board', 'tcp');
const seriesNs = flag('series-ns', '200,4000').split(',').map(Number);
const seriesEpisodes = Number(flag('series-episodes', '20'));
if (board !== 'tcp' && board !== 'inproc') throw new RangeError(`--board must be tcp or inproc, got '${board}'`);

const DEVICE = 'sim:optical';
const SPECS: Record<string, ModelSpec> = {
  one: { layers: [
    { kind: 'digital', units: 64, activation: 'tanh' },
    { kind: 'physical', device: DEVICE, surrogate: 'auto' },
    { kind: 'readout', type: 'softmax' },
  ] },
  two: { layers: [
    { kind: 'digital', units: 64, activation: 'tanh' },
    { kind: 'physical', device: DEVICE, surrogate: 'auto' },
    { kind: 'digital', units: 64, activation: 'tanh' },
    { kind: 'physical', device: DEVICE, surrogate: 'auto' },
    { kind: 'readout', type: 'softmax' },
  ] },
};
for (const v of variants) if (!SPECS[v] && v !== 'series2') throw new RangeError(`--variants: unknown variant '${v}' (one, two, series2)`);

const backend = await selectBackend('wasm');

interface Window { start: number; end: number; count: number }
/** Union length of windows (sorted and disjoint by the simulator's rule) clipped to [a, b]. */
function busyIn(ws: Window[], a: number, b: number): number {
  let s = 0;
  for (const w of ws) s += Math.max(0, Math.min(w.end, b) - Math.max(w.start, a));
  return s;
}

/** A paced board, its client and its paced windows on this process's performance.now() scale. */
interface PacedBoard { client: DeviceClient; windows: () => Promise<Window[]>; close: () => Promise<void> }

/**
 * `profile` paced at `periodMs` a step: in its own process behind TCP (--board tcp), or in this
 * process with every PROCESS recorded with its paced window (the same rule as SimDevice.process,
 * and sim-child.ts's). `withTwin`: the client carries a model built from the same profile, seed
 * and overrides (the oracle's twin).
 */
async function pacedBoard(profile: string, seed: number, overrides: Record<string, unknown>, periodMs: number, withTwin: boolean): Promise<PacedBoard> {
  if (board === 'tcp') {
    const child = await startSimChild(profile, seed, 'paced', overrides, 'tcp');
    const client = await DeviceClient.connect(await openLink(child.path), withTwin ? { twin: createSim(profile, { seed, overrides }).model } : {});
    return {
      client,
      // The child's windows are in absolute ms: onto this process's performance.now() scale.
      windows: async () => (await child.windows()).map(([start, end, count]) => ({ start: start - performance.timeOrigin, end: end - performance.timeOrigin, count })),
      close: async () => { await client.close(); await child.close(); },
    };
  }
  const { link, device: sim } = openSimLink(profile, { seed, overrides, device: { pacing: { samplePeriod: true } } });
  const windows: Window[] = [];
  let lastEnd = 0;
  const dev = sim as unknown as { process: (seq: number, p: { count: number }) => void };
  const orig = dev.process.bind(sim);
  dev.process = (seq, p) => {
    const start = Math.max(performance.now(), lastEnd);
    lastEnd = start + p.count * periodMs;
    windows.push({ start, end: lastEnd, count: p.count });
    orig(seq, p);
  };
  const client = await DeviceClient.connect(link, withTwin ? { twin: sim.model } : {});
  return { client, windows: async () => windows, close: () => client.close() };
}

interface Row { variant: string; trainer: string; rate: number; seed: number; pipeline: boolean; host: number; sim: number; steady: number; wall: number; steps: number; msPerStep: number; accuracy: number; samples: number }
const rows: Row[] = [];

async function one(data: ClassSet, variant: string, trainer: ChainTrainerName, rate: number, seed: number, pipeline: boolean): Promise<Row> {
  const paced = await pacedBoard('optical', seed, { frameRateHz: rate }, 1e3 / rate, true);
  const client = paced.client;
  try {
    let end = NaN;
    const stepEnds: number[] = [];
    const r = await trainChain({
      trainer, spec: SPECS[variant], data, devices: { [DEVICE]: client }, seed, epochs, batchSize, learningRate: 2e-3, exploreRows, refitEvery, oracle: 'rows', pipeline,
      onStep: () => { end = performance.now(); stepEnds.push(end); },
    });
    const windows = await paced.windows();
    // Training's windows follow exploration's, which hold exactly its samples (a state break re-measuring part of it would shift this; a local board has none).
    let skip = r.samples.explore, i = 0;
    while (skip > 0) skip -= windows[i++].count;
    const first = windows[i].start;
    const train = windows.slice(i);
    let sBusy = 0, sWall = 0;
    for (let k = 1; k < stepEnds.length; k++) {
      if (trainer === 'pat' && (k + 1) % refitEvery === 0) continue;
      sBusy += busyIn(train, stepEnds[k - 1], stepEnds[k]);
      sWall += stepEnds[k] - stepEnds[k - 1];
    }
    const row: Row = {
      variant, trainer, rate, seed, pipeline, host: r.deviceUtilisation ?? NaN, sim: busyIn(train, first, end) / (end - first), steady: sBusy / sWall,
      wall: (end - first) / 1e3, steps: r.steps, msPerStep: (end - first) / r.steps, accuracy: r.test.accuracy, samples: r.deviceSamples,
    };
    r.model.dispose();
    return row;
  } finally {
    await paced.close();
  }
}

interface SeriesRow { ns: number; seed: number; pipeline: boolean; host: number; sim: number; wall: number; episodes: number; msPerEpisode: number; nmse: number; samples: number }
const seriesRows: SeriesRow[] = [];

/** series2: NARMA10 on a two-layer series chain (train/chain/series.ts, pat), both layers on one paced sim:analog-awg board. */
async function series(ns: number, seed: number, pipeline: boolean): Promise<SeriesRow> {
  // ms a step: 50 virtual nodes.
  const paced = await pacedBoard('analog-awg', seed, { nodeSeparationNs: ns }, (50 * ns) / 1e6, false);
  const client = paced.client;
  try {
    let end = NaN;
    const r = await trainSeriesChain({
      task: 'narma10', seed, episodes: seriesEpisodes, devices: [client, client], pipeline, onEpisode: () => { end = performance.now(); },
    });
    const windows = await paced.windows();
    // No exploration: training's windows are the first ones; the final fit and test come after `end`.
    const first = windows[0].start;
    return {
      ns, seed, pipeline, host: r.deviceUtilisation ?? NaN, sim: busyIn(windows, first, end) / (end - first), wall: (end - first) / 1e3,
      episodes: r.episodes.length, msPerEpisode: (end - first) / r.episodes.length, nmse: r.test.value, samples: r.deviceSamples,
    };
  } finally {
    await paced.close();
  }
}

for (const seed of seeds) {
  if (!variants.includes('series2')) break;
  for (const ns of seriesNs) {
    for (const pipeline of [false, true]) {
      const row = await series(ns, seed, pipeline);
      seriesRows.push(row);
      console.log(JSON.stringify({ variant: 'series2', ...row, host: +row.host.toFixed(4), sim: +row.sim.toFixed(4), wall: +row.wall.toFixed(2), msPerEpisode: +row.msPerEpisode.toFixed(1) }));
    }
  }
}

for (const seed of seeds) {
  const data = task === 'mnist' ? loadMnist({ trainCount: nTrain, testCount: nTest, seed }) : syntheticClasses({ seed, trainCount: nTrain, testCount: nTest });
  for (const variant of variants.filter((v) => v !== 'series2')) {
    for (const trainer of trainers) {
      for (const rate of rates) {
        for (const pipeline of [false, true]) {
          const row = await one(data, variant, trainer, rate, seed, pipeline);
          rows.push(row);
          console.log(JSON.stringify({ ...row, host: +row.host.toFixed(4), sim: +row.sim.toFixed(4), steady: +row.steady.toFixed(4), wall: +row.wall.toFixed(2), msPerStep: +row.msPerStep.toFixed(1) }));
        }
      }
    }
  }
}

const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;
if (rows.length) {
  console.log(`\nchain device utilisation, ${task === 'mnist' ? 'MNIST' : 'synthetic-classes'} (${nTrain} train / ${nTest} test), paced sim:optical ${board === 'tcp' ? 'in its own process behind a local TCP port' : 'in this process'}, ${epochs} epoch(s), batch ${batchSize} (${batchSize / 1} frames per layer per step), explore ${exploreRows}, backend ${backend.detail}\n`);
  console.log('| chain | trainer | frames/s | seed | sim util seq | sim util pipe | ratio | steady seq | steady pipe | host util seq | host util pipe | ms/step seq | ms/step pipe | wall ratio | acc seq | acc pipe |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const s of rows.filter((x) => !x.pipeline)) {
    const p = rows.find((x) => x.pipeline && x.variant === s.variant && x.trainer === s.trainer && x.rate === s.rate && x.seed === s.seed)!;
    console.log(`| ${s.variant} | ${s.trainer} | ${s.rate} | ${s.seed} | ${pct(s.sim)} | ${pct(p.sim)} | ${(p.sim / s.sim).toFixed(2)} | ${pct(s.steady)} | ${pct(p.steady)} | ${pct(s.host)} | ${pct(p.host)} | ${s.msPerStep.toFixed(1)} | ${p.msPerStep.toFixed(1)} | ${(p.wall / s.wall).toFixed(2)} | ${pct(s.accuracy)} | ${pct(p.accuracy)} |`);
  }
}
if (seriesRows.length) {
  console.log(`\nseries2: NARMA10, two-layer series chain (pat, ${seriesEpisodes} episodes of 50 + 400 steps a layer), both layers on one paced sim:analog-awg ${board === 'tcp' ? 'in its own process behind a local TCP port' : 'in this process'}\n`);
  console.log('| node ns | ms/step | seed | sim util seq | sim util pipe | ratio | host util seq | host util pipe | ms/episode seq | ms/episode pipe | wall ratio | NMSE seq | NMSE pipe |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const s of seriesRows.filter((x) => !x.pipeline)) {
    const p = seriesRows.find((x) => x.pipeline && x.ns === s.ns && x.seed === s.seed)!;
    console.log(`| ${s.ns} | ${((50 * s.ns) / 1e6).toFixed(2)} | ${s.seed} | ${pct(s.sim)} | ${pct(p.sim)} | ${(p.sim / s.sim).toFixed(2)} | ${pct(s.host)} | ${pct(p.host)} | ${s.msPerEpisode.toFixed(0)} | ${p.msPerEpisode.toFixed(0)} | ${(p.wall / s.wall).toFixed(2)} | ${s.nmse.toFixed(4)} | ${p.nmse.toFixed(4)} |`);
  }
}
console.log(`\n(ratio: pipelined / sequential sim-side utilisation; steady: sim-side, steps after the first that end in no refit; wall ratio: pipelined / sequential training wall time, same steps)`);
console.log(`${new Date().toISOString()}  ${cpus()[0]?.model ?? 'unknown cpu'} x${cpus().length}  node ${process.version}  tensors left ${tf.memory().numTensors}`);
