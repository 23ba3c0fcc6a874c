/**
 * Memory over a long `pat` run (`node dist/scripts/bench/train-memory.js [--samples N] [--steps N]
 * [--every N] [--warmup N] [--backend auto|wasm|cpu]`): NARMA10 on the in-process analog
 * simulator, unpaced, pat defaults except the episode size: episodes of 50 washout + 4,950 steps
 * (5,000 device samples; trainSteps max(4,000, 2 x episode) = 10,000) so that >= 1,000,000 device samples (200 episodes) fit
 * in a couple of minutes here; the host's per-episode work (a refit of 2,048 examples x 4
 * epochs) does not grow with the episode, so default-size episodes (450 samples) would need 2,223
 * episodes and about 10x the time. The episode count is ceil(samples / 5,000).
 *
 * Prints tf.memory().numTensors, RSS, V8 heap used and external + array-buffer memory (the wasm
 * backend's heap is a WebAssembly.Memory) before train(), after `warmup` episodes and every
 * `every` episodes, then after train() returns. Checks:
 *   - numTensors flat: the same at every print from the warm-up on (pat awaits its refits before
 *     the step, so at onEpisode no refit holds tensors), and back to the start value after train();
 *   - RSS growth from the warm-up print to the last episode < 100 MB.
 */
import { cpus } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { openDevice } from '../../src/device/index.js';
import { selectBackend, type BackendChoice } from '../../src/core/backend.js';
import { train } from '../../src/train/train.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const SAMPLES = Number(opt('--samples', '1000000'));
const STEPS = Number(opt('--steps', '4950'));
const WASHOUT = 50;
const L = STEPS + WASHOUT;
const EPISODES = Math.ceil(SAMPLES / L);
const EVERY = Number(opt('--every', '20'));
const WARMUP = Number(opt('--warmup', '10'));
const MB = 1024 * 1024;

const backend = await selectBackend(opt('--backend', 'auto') as BackendChoice);
const gc = (globalThis as { gc?: () => void }).gc;

interface Snap { label: string; episode: number; samples: number; seconds: number; tensors: number; rss: number; heap: number; ext: number }
const snaps: Snap[] = [];
const t0 = performance.now();
const snap = (label: string, episode: number, samples: number) => {
  gc?.();
  const m = process.memoryUsage();
  const s: Snap = { label, episode, samples, seconds: (performance.now() - t0) / 1e3, tensors: tf.memory().numTensors, rss: m.rss / MB, heap: m.heapUsed / MB, ext: (m.external + m.arrayBuffers) / MB };
  snaps.push(s);
  console.log(`  ${s.label.padEnd(16)} ${String(s.episode).padStart(7)} ${s.samples.toLocaleString('en-US').padStart(10)} ${s.seconds.toFixed(1).padStart(7)} ${String(s.tensors).padStart(8)} ${s.rss.toFixed(1).padStart(8)} ${s.heap.toFixed(1).padStart(8)} ${s.ext.toFixed(1).padStart(9)}`);
};

console.log(`pat memory over ${EPISODES} episodes x ${L.toLocaleString('en-US')} samples (>= ${SAMPLES.toLocaleString('en-US')} training device samples), narma10, sim:analog unpaced, backend ${backend.detail}${gc ? ', gc() before each print' : ''}`);
console.log(`  ${'point'.padEnd(16)} ${'episode'.padStart(7)} ${'samples'.padStart(10)} ${'s'.padStart(7)} ${'tensors'.padStart(8)} ${'RSS MB'.padStart(8)} ${'heap MB'.padStart(8)} ${'ext+AB MB'.padStart(9)}`);
const device = await openDevice('sim:analog', { seed: 1 });
let result;
try {
  snap('start', 0, 0);
  result = await train({
    task: 'narma10', device, trainer: 'pat', seed: 1, episodes: EPISODES, steps: STEPS, washout: WASHOUT, trainSteps: Math.max(4000, 2 * L),
    onEpisode: (rec, e) => {
      const n = e + 1;
      if (n === WARMUP) snap('after warm-up', n, rec.deviceSamples);
      else if (n > WARMUP && (n % EVERY === 0 || n === EPISODES)) snap(n === EPISODES ? 'last episode' : 'episode', n, rec.deviceSamples);
    },
  });
} finally {
  await device.close();
}
snap('after train()', EPISODES, result.deviceSamples);

const start = snaps[0], warm = snaps.find((s) => s.label === 'after warm-up')!, last = snaps.find((s) => s.label === 'last episode')!, after = snaps.at(-1)!;
const during = snaps.filter((s) => s.episode >= WARMUP && s.label !== 'after train()');
const tMin = Math.min(...during.map((s) => s.tensors)), tMax = Math.max(...during.map((s) => s.tensors));
const flat = tMin === tMax && after.tensors === start.tensors;
const growth = last.rss - warm.rss;
const trainSeconds = last.seconds - start.seconds;
console.log(`\nrate: ${Math.round(last.samples / trainSeconds).toLocaleString('en-US')} device samples/s over the training episodes (${EPISODES} in ${trainSeconds.toFixed(1)} s, ${(trainSeconds / EPISODES * 1e3).toFixed(0)} ms/episode); test NMSE ${result.test.value.toFixed(3)}; ${result.deviceSamples.toLocaleString('en-US')} device samples in all`);
console.log(`numTensors flat: ${flat ? 'PASS' : 'FAIL'} (from warm-up on ${tMin}..${tMax}; start ${start.tensors}, after train() ${after.tensors})`);
console.log(`RSS growth warm-up -> last episode ${growth.toFixed(1)} MB < 100 MB: ${growth < 100 ? 'PASS' : 'FAIL'} (start -> last ${(last.rss - start.rss).toFixed(1)} MB; heap ${(last.heap - warm.heap).toFixed(1)} MB, external+AB ${(last.ext - warm.ext).toFixed(1)} MB after warm-up)`);
console.log(`${new Date().toISOString()}  ${cpus()[0]?.model ?? 'unknown cpu'} x${cpus().length}  node ${process.version}`);
