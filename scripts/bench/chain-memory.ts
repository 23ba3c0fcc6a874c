/**
 * Memory over a long chain run with trainer pat (issue 12: "tensors flat and resident memory growth
 * < 100 MB over a 1,000,000-sample chain run"):
 *
 *   node --expose-gc dist/scripts/bench/chain-memory.js [--samples N] [--variant one|two] [--task synthetic|mnist]
 *        [--batch N] [--every N] [--warmup N] [--seed N] [--backend auto|wasm|cpu]
 *
 * Chains (sim:optical in process, unpaced: 64 SLM phases in, 128 camera pixels out; the device's
 * seed is the run's), every physical layer with its own pair buffer (8,192 pairs) and surrogate
 * ('auto': transmission on optical), pat defaults otherwise (4,000 exploration rows per layer,
 * a refit of 2 epochs on the layer's buffer every 50 steps):
 *   one: F → 64 tanh | physical sim:optical | readout softmax
 *   two: F → 64 tanh | physical sim:optical | 128 → 64 tanh | physical sim:optical | readout softmax
 * Data: synthetic-classes (16 features, 4 classes, 2,000 train / 1,000 test; seed = run's) or
 * MNIST (tasks/mnist.ts: 784 pixels, 10 classes, 8,000 train / 2,000 test).
 *
 * The run trains ceil((samples - exploration) / (batch x physical layers)) steps (epochs chosen
 * so, fractional), so that exploration + training measure >= `samples` device samples; batch 256
 * by default so that 1,000,000 samples take minutes on a shared 2-core machine (the per-step host
 * work and the refits do not grow with the batch as fast as the samples do).
 *
 * Prints tf.memory().numTensors, RSS, V8 heap used and external + array-buffer memory before
 * trainChain(), after `warmup` steps and every `every` steps (from onStep, after the step's
 * refit, which is synchronous), at the last step, after trainChain() returns and after the model
 * is disposed. Checks (exit code 1 if one fails):
 *   - numTensors flat: the same at every print from the warm-up to the last step, and back to the
 *     start value once the returned model is disposed;
 *   - RSS growth from the warm-up print to the last step < 100 MB.
 */
import { cpus, loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { openDevice } from '../../src/device/index.js';
import { selectBackend, type BackendChoice } from '../../src/core/backend.js';
import type { ClassSet } from '../../src/tasks/classes.js';
import { loadMnist } from '../../src/tasks/mnist.js';
import { syntheticClasses } from '../../src/tasks/synthetic-classes.js';
import { trainChain, type ChainTrainResult } from '../../src/train/chain/train.js';
import type { ModelSpec } from '../../src/train/chain/spec-types.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => { const i = args.indexOf(name); return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : dflt; };
const SAMPLES = Number(opt('--samples', '1000000'));
const VARIANT = opt('--variant', 'one');
const TASK = opt('--task', 'synthetic');
const BATCH = Number(opt('--batch', '256'));
const EVERY = Number(opt('--every', '250'));
const WARMUP = Number(opt('--warmup', '200'));
const SEED = Number(opt('--seed', '1'));
const EXPLORE = 4000;
const MB = 1024 * 1024;

const DEVICE = 'sim:optical';
const SPECS: Record<string, ModelSpec> = {
  one: { name: 'chain-memory-1', task: TASK, layers: [
    { kind: 'digital', units: 64, activation: 'tanh' },
    { kind: 'physical', device: DEVICE, surrogate: 'auto' },
    { kind: 'readout', type: 'softmax' },
  ] },
  two: { name: 'chain-memory-2', task: TASK, layers: [
    { kind: 'digital', units: 64, activation: 'tanh' },
    { kind: 'physical', device: DEVICE, surrogate: 'auto' },
    { kind: 'digital', units: 64, activation: 'tanh' },
    { kind: 'physical', device: DEVICE, surrogate: 'auto' },
    { kind: 'readout', type: 'softmax' },
  ] },
};
const spec = SPECS[VARIANT];
if (!spec) throw new RangeError(`--variant: unknown variant '${VARIANT}' (one, two)`);
const data: ClassSet = TASK === 'mnist' ? loadMnist({ seed: SEED })
  : TASK === 'synthetic' ? syntheticClasses({ seed: SEED })
  : (() => { throw new RangeError(`--task: unknown task '${TASK}' (synthetic, mnist)`); })();
const PHYS = spec.layers.filter((l) => l.kind === 'physical').length;
const STEPS = Math.max(1, Math.ceil((SAMPLES - EXPLORE * PHYS) / (BATCH * PHYS)));
// trainChain plans floor(epochs * n / batch) steps; the half example keeps the float product above STEPS
const EPOCHS = (STEPS * BATCH + 0.5) / data.train.count;

const backend = await selectBackend(opt('--backend', 'auto') as BackendChoice);
const gc = (globalThis as { gc?: () => void }).gc;

interface Snap { label: string; step: number; samples: number; seconds: number; tensors: number; rss: number; heap: number; ext: number }
const snaps: Snap[] = [];
const t0 = performance.now();
const snap = (label: string, step: number, samples: number) => {
  gc?.();
  const m = process.memoryUsage();
  const s: Snap = { label, step, samples, seconds: (performance.now() - t0) / 1e3, tensors: tf.memory().numTensors, rss: m.rss / MB, heap: m.heapUsed / MB, ext: (m.external + m.arrayBuffers) / MB };
  snaps.push(s);
  console.log(`  ${s.label.padEnd(16)} ${String(s.step).padStart(6)} ${s.samples.toLocaleString('en-US').padStart(10)} ${s.seconds.toFixed(1).padStart(7)} ${String(s.tensors).padStart(8)} ${s.rss.toFixed(1).padStart(8)} ${s.heap.toFixed(1).padStart(8)} ${s.ext.toFixed(1).padStart(9)}`);
};

console.log(`pat chain memory: variant ${VARIANT} (${PHYS} physical layer${PHYS > 1 ? 's' : ''} on ${DEVICE} in process, unpaced), ${TASK} (${data.features} features, ${data.classes} classes, ${data.train.count} train / ${data.test.count} test), `
  + `${STEPS.toLocaleString('en-US')} steps x batch ${BATCH} (epochs ${EPOCHS.toFixed(2)}) + ${EXPLORE} exploration rows per layer >= ${SAMPLES.toLocaleString('en-US')} training device samples, `
  + `backend ${backend.detail}${gc ? ', gc() before each print' : ''}; load average ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
console.log(`  ${'point'.padEnd(16)} ${'step'.padStart(6)} ${'samples'.padStart(10)} ${'s'.padStart(7)} ${'tensors'.padStart(8)} ${'RSS MB'.padStart(8)} ${'heap MB'.padStart(8)} ${'ext+AB MB'.padStart(9)}`);
const device = await openDevice(DEVICE, { seed: SEED });
let result: ChainTrainResult;
try {
  snap('start', 0, 0);
  result = await trainChain({
    trainer: 'pat', spec, data, devices: { [DEVICE]: device }, seed: SEED, epochs: EPOCHS, batchSize: BATCH, exploreRows: EXPLORE,
    onStep: ({ step, steps, samples }) => {
      const n = step + 1;
      if (n === WARMUP) snap('after warm-up', n, samples);
      else if (n > WARMUP && (n % EVERY === 0 || n === steps)) snap(n === steps ? 'last step' : 'step', n, samples);
    },
  });
} finally {
  await device.close();
}
snap('after train', result.steps, result.deviceSamples);
result.model.dispose();
snap('model disposed', result.steps, result.deviceSamples);

const start = snaps[0], warm = snaps.find((s) => s.label === 'after warm-up'), last = snaps.find((s) => s.label === 'last step');
if (!warm || !last) throw new RangeError(`the run took ${result.steps} steps: --warmup ${WARMUP} must be below that`);
const disposed = snaps.at(-1)!;
const during = snaps.filter((s) => s.step >= WARMUP && (s.label === 'after warm-up' || s.label === 'step' || s.label === 'last step'));
const tMin = Math.min(...during.map((s) => s.tensors)), tMax = Math.max(...during.map((s) => s.tensors));
const flat = tMin === tMax && disposed.tensors === start.tensors;
const growth = last.rss - warm.rss;
const trainSeconds = last.seconds - start.seconds;
console.log(`\nrate: ${Math.round(last.samples / trainSeconds).toLocaleString('en-US')} device samples/s over exploration and training (${result.steps} steps in ${trainSeconds.toFixed(1)} s, ${(trainSeconds / result.steps * 1e3).toFixed(0)} ms/step); `
  + `test accuracy ${(100 * result.test.accuracy).toFixed(1)} %, CE ${result.test.crossEntropy.toFixed(3)}; surrogates ${result.surrogates.map((s) => `${s.design} (held-out NMSE ${s.heldOutNmse.toFixed(3)})`).join(', ')}; `
  + `${result.deviceSamples.toLocaleString('en-US')} device samples in all (explore ${result.samples.explore.toLocaleString('en-US')}, train ${result.samples.train.toLocaleString('en-US')}, evaluate ${result.samples.evaluate.toLocaleString('en-US')})`);
console.log(`numTensors flat: ${flat ? 'PASS' : 'FAIL'} (from warm-up to last step ${tMin}..${tMax}; start ${start.tensors}, after train ${snaps.at(-2)!.tensors}, model disposed ${disposed.tensors})`);
console.log(`RSS growth warm-up -> last step ${growth.toFixed(1)} MB < 100 MB: ${growth < 100 ? 'PASS' : 'FAIL'} (start -> last ${(last.rss - start.rss).toFixed(1)} MB; heap ${(last.heap - warm.heap).toFixed(1)} MB, external+AB ${(last.ext - warm.ext).toFixed(1)} MB after warm-up)`);
console.log(`${new Date().toISOString()}  ${cpus()[0]?.model ?? 'unknown cpu'} x${cpus().length}  node ${process.version}  load average ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
if (!flat || growth >= 100) process.exitCode = 1;
