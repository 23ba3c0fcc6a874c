import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { openDevice } from '../../src/device/index.js';
import { selectBackend } from '../../src/core/backend.js';
import type { TrainOptions, TrainResult } from '../../src/train/common.js';
import { train } from '../../src/train/train.js';

test.before(async () => {
  await selectBackend('wasm');
});

/** Small sizes where pat beats classic robustly (measured seeds 1-5: pat 0.20-0.25, classic 0.86-1.03, digital 0.16-0.19). */
const SMALL: Omit<TrainOptions, 'trainer' | 'seed'> = {
  task: 'narma10', episodes: 15, learningRate: 0.05, steps: 200, washout: 50, trainSteps: 2000, fitSteps: 1000, testSteps: 500,
  surrogate: { fitExamples: 512, hidden: [32] },
};

async function onDevice(profile: string, seed: number, opts: Omit<TrainOptions, 'device'>): Promise<TrainResult> {
  const device = await openDevice(`sim:${profile}`, { seed });
  try {
    return await train({ ...opts, device });
  } finally {
    await device.close();
  }
}

const mean = (a: number[]): number => a.reduce((s, x) => s + x, 0) / a.length;

test('pat on NARMA10 beats the classic random input layer at the same device-sample budget; its loss decreases; tensors stay flat', async () => {
  const counts: number[] = [];
  const pat = await onDevice('analog', 1, { ...SMALL, trainer: 'pat', seed: 1, fidelityEvery: 10, onEpisode: () => counts.push(tf.memory().numTensors) });
  const classic = await onDevice('analog', 1, { ...SMALL, trainer: 'classic', seed: 1, budget: pat.deviceSamples });
  const digital = await train({ ...SMALL, trainer: 'digital', seed: 1 });
  console.log(`    utilisation ${pat.deviceUtilisation?.toFixed(2)} refits ${pat.episodes.at(-1)?.refits} drift ${pat.episodes.at(-1)?.driftAlarms}; NMSE pat ${pat.test.value.toFixed(3)} classic ${classic.test.value.toFixed(3)} digital ${digital.test.value.toFixed(3)}; device samples ${pat.deviceSamples} / ${classic.deviceSamples}`);
  assert.is(pat.episodes.length, 15);
  assert.is(classic.deviceSamples, pat.deviceSamples);
  // 15 episodes, the fidelity check after episode 10 (3 directions: 6 segments and a repeat), final fit and test.
  assert.is(pat.deviceSamples, 15 * 250 + 7 * 250 + 2 * 50 + 1000 + 500);
  const checked = pat.episodes.filter((e) => e.fidelitySamples !== undefined || e.fidelityCosine !== undefined);
  assert.equal(checked, [pat.episodes[9]], 'one fidelity check, after episode 10');
  assert.ok(Math.abs(pat.episodes[9].fidelityCosine!) <= 1, 'twin cosine present on a simulator');
  assert.ok(Number.isFinite(pat.episodes[9].fidelitySlope) && pat.episodes[9].fidelitySlopeSe! > 0, 'slope and its standard error present');
  assert.is(pat.episodes[9].fidelitySamples, 7 * 250);
  assert.ok(pat.test.value < 0.4, `pat NMSE ${pat.test.value}`);
  assert.ok(pat.test.value < 0.6 * classic.test.value, `pat ${pat.test.value} vs classic ${classic.test.value}`);
  const losses = pat.episodes.map((e) => e.loss);
  assert.ok(mean(losses.slice(-3)) < 0.6 * mean(losses.slice(0, 3)), `losses ${losses.join(', ')}`);
  assert.ok(pat.episodes.slice(1).every((e) => e.surrogateNmse !== undefined && e.surrogateNmse < 0.1));
  assert.is(pat.episodes[0].surrogateNmse, undefined);
  // Tensor count flat from the second episode on (the first allocates Adam's slots).
  assert.ok(counts.slice(1).every((c) => c === counts[1]), `numTensors ${counts.join(', ')}`);
  // Serialisable model.
  const json = JSON.parse(JSON.stringify(pat.model));
  assert.is(json.inputLayer.W.length, 20);
  assert.is(json.readout.W.length, 50);
  assert.is(json.surrogate.format, 'narx-surrogate/1');
});

test('same seed, same run: identical TrainResult numbers (fpga profile, no noise, and analog with its seed)', async () => {
  const opts = { ...SMALL, episodes: 4, trainer: 'pat' as const, seed: 3, fitSteps: 300, testSteps: 200, trainSteps: 1000 };
  const strip = (r: TrainResult) => ({ ...r, elapsedMs: 0, deviceUtilisation: 0 });
  for (const profile of ['fpga', 'analog']) {
    const a = await onDevice(profile, 3, opts), b = await onDevice(profile, 3, opts);
    assert.equal(strip(a), strip(b));
    assert.ok(Number.isFinite(a.test.value));
  }
  const c = await onDevice('fpga', 3, { ...opts, seed: 4 });
  assert.ok(c.test.value !== (await onDevice('fpga', 3, opts)).test.value);
});

test('pat records the saturated share of its drives; drivePenalty lowers it; a bad drivePenalty is a RangeError', async () => {
  const opts = { ...SMALL, episodes: 8, trainer: 'pat' as const, seed: 2, fitSteps: 300, testSteps: 200, trainSteps: 1000 };
  const plain = await onDevice('analog', 2, opts);
  const damped = await onDevice('analog', 2, { ...opts, drivePenalty: 1 });
  const sat = (res: TrainResult): number[] => res.episodes.map((e) => e.saturation ?? NaN);
  assert.ok(sat(plain).every((x) => x >= 0 && x <= 1), `saturation ${sat(plain).join(', ')}`);
  assert.is(sat(plain)[0], sat(damped)[0]);   // same init, same first drives
  assert.ok(mean(sat(damped).slice(-3)) < mean(sat(plain).slice(-3)), `plain ${sat(plain).join(', ')} damped ${sat(damped).join(', ')}`);
  const device = await openDevice('sim:analog', { seed: 2 });
  try {
    for (const bad of [-1, NaN, Infinity]) {
      await train({ ...opts, device, drivePenalty: bad }).then(() => assert.unreachable(), (e: unknown) => assert.instance(e, RangeError));
    }
  } finally {
    await device.close();
  }
});

test('digital uses no device samples and its loss decreases', async () => {
  const d = await train({ ...SMALL, trainer: 'digital', seed: 2, episodes: 20 });
  assert.is(d.deviceSamples, 0);
  assert.is(d.device, null);
  const losses = d.episodes.map((e) => e.loss);
  assert.ok(mean(losses.slice(-3)) < mean(losses.slice(0, 3)), `losses ${losses.join(', ')}`);
});

test.run();
