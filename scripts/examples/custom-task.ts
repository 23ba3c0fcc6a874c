/**
 * A task of your own on any device, from the library's building blocks: delayed XOR of random
 * bits, y(t) = u(t-1) XOR u(t-2), which needs both memory and a nonlinearity.
 *
 *     node dist/scripts/examples/custom-task.js [DEVICE] [--full]      (DEVICE default sim:fpga)
 *
 * The input layer sees only the current bit (taps: 1), so memory and nonlinearity must come from
 * the reservoir; the ridge readout is fitted on the device's responses (a random, untrained
 * input layer: the `classic` recipe). On sim:fpga the test NMSE is about 0.08 (accuracy near 1). Next to it, the same readout fitted on the last three bits
 * directly, with no device: a linear map cannot compute XOR, so that baseline stays near chance.
 *
 * Then a second task of your own through train(): `{ name, generate(n, { seed }) }` returning
 * TaskData, taken by every trainer like a registered task. Recall of the bit 25 steps back lies
 * beyond the input layer's 20 tapped delays, so the memory must come from the device: pat (5
 * episodes) against the digital layers alone. (Delayed XOR is not used there: from its centred,
 * zero-bias start the trained input layer drives the fpga's odd tanh symmetrically and stays at
 * NMSE 1, as does `classic` with train()'s centred input; the random layer above sees raw 0/1 bits.)
 */
import { openDevice } from '../../src/device/index.js';
import { Rng } from '../../src/sim/index.js';
import { type TaskData, nmse } from '../../src/tasks/index.js';
import { type CustomTask, RidgeReadout, TappedDense, measure, selectBackend, tapFeatures, train as trainOn } from '../../src/train/index.js';

/** `n` random bits u (seeded) and the delayed XOR target, 0 for the first two steps. */
function delayedXor(n: number, seed: number): { inputs: Float64Array; targets: Float64Array } {
  const rng = new Rng(seed).fork('delayed-xor');
  const inputs = Float64Array.from({ length: n }, () => rng.int(2));
  const targets = Float64Array.from({ length: n }, (_, t) => (t >= 2 ? inputs[t - 1] !== inputs[t - 2] ? 1 : 0 : 0));
  return { inputs, targets };
}

/** Recall: y(t) = u(t - 25) of random bits, in the shape train() takes. */
const recall: CustomTask = {
  name: 'recall-25',
  generate(n: number, { seed }: { seed: number }): TaskData {
    const rng = new Rng(seed).fork('recall');
    const inputs = Float64Array.from({ length: n }, () => rng.int(2));
    const targets = Float64Array.from({ length: n }, (_, t) => (t >= 25 ? inputs[t - 25] : 0));
    return { task: 'recall-25', steps: n, inChannels: 1, inputs, outChannels: 1, targets, washout: 50, metric: 'nmse', higherIsBetter: false, score: nmse };
  },
};

const accuracy = (pred: ArrayLike<number>, target: ArrayLike<number>): number => {
  let ok = 0;
  for (let i = 0; i < pred.length; i++) if ((pred[i] > 0.5 ? 1 : 0) === target[i]) ok++;
  return ok / pred.length;
};

const spec = process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 'sim:fpga';
const full = process.argv.includes('--full');
const washout = 50;
const trainSteps = full ? 20000 : 3000, testSteps = full ? 5000 : 1000;
const train = delayedXor(washout + trainSteps, 1);
const test = delayedXor(washout + testSteps, 2);

await selectBackend('auto');
const device = await openDevice(spec, { seed: 1 });
try {
  const { inChannels, outChannels } = device.info;
  // Bits go in as 0 and 1, not centred: a drive symmetric about mid-range into a reservoir with
  // an odd nonlinearity (tanh) has no even-order terms, and XOR is one (in ±1 terms, u1·u2).
  const layer = new TappedDense({ inChannels: 1, taps: 1, units: inChannels, seed: 4, gain: 3, norm: { shift: [0], scale: [1] } });
  // measure() resets the device, so each sequence starts from rest and its first `washout` steps are dropped.
  const respond = async (u: Float64Array) => (await measure(device, layer.run(u, 0, u.length))).responses.subarray(washout * outChannels);
  const readout = new RidgeReadout(outChannels, 1);
  readout.fitSplit({ X: await respond(train.inputs), Y: train.targets.subarray(washout) });
  const pred = readout.predict(await respond(test.inputs));
  const target = test.targets.subarray(washout);
  layer.dispose();

  const taps = 3;
  const linear = new RidgeReadout(taps, 1);
  const bits = (u: Float64Array) => tapFeatures(u, 1, taps, { shift: [0], scale: [1] }, washout, u.length - washout);
  linear.fitSplit({ X: bits(train.inputs), Y: train.targets.subarray(washout) });
  const base = linear.predict(bits(test.inputs));

  console.log(`device ${spec}: ${device.info.vendor} ${device.info.model}, ${inChannels} in, ${outChannels} out`);
  console.log(`delayed XOR, ${trainSteps} training and ${testSteps} test steps`);
  console.log(`test nmse ${nmse(pred, target).toFixed(4)}, accuracy ${accuracy(pred, target).toFixed(3)} (reservoir + ridge readout)`);
  console.log(`baseline nmse ${nmse(base, target).toFixed(4)} (ridge on the last ${taps} bits, no device: a linear map cannot compute XOR)`);

  const episodes = full ? 100 : 5;
  const pat = await trainOn({ task: recall, trainer: 'pat', device, seed: 1, episodes, fidelityEvery: 0 });
  const digital = await trainOn({ task: recall, trainer: 'digital', seed: 1, episodes });
  console.log('recall of the bit 25 steps back, through train():');
  console.log(`pat test nmse ${pat.test.value.toFixed(4)} (${episodes} episodes, ${pat.deviceSamples} device samples)`);
  console.log(`digital test nmse ${digital.test.value.toFixed(4)} (the digital layers alone: 20 taps cannot reach 25 steps back)`);
} finally {
  await device.close();
}
