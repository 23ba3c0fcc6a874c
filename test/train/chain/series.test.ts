import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { openDevice } from '../../../src/device/index.js';
import { selectBackend } from '../../../src/core/backend.js';
import { Rng } from '../../../src/core/rng.js';
import { NarxSurrogate } from '../../../src/surrogate/narx.js';
import { TappedDense, tapFeatures } from '../../../src/train/input-layer.js';
import { train } from '../../../src/train/train.js';
import type { TrainOptions } from '../../../src/train/common.js';
import { seriesGradients, tapTensor, trainSeriesChain, type SeriesChainOptions } from '../../../src/train/chain/series.js';
import { loadSeriesChainModel, testSeriesChain } from '../../../src/train/chain/series-model.js';
import { type SeriesChainCheckpoint, parseSeriesChainCheckpoint } from '../../../src/train/chain/checkpoint.js';
import { resolve } from '../../../src/train/common.js';
import { DeviceClient } from '../../../src/device/client.js';
import { openSimLink } from '../../../src/sim/serve.js';

test.before(async () => {
  await selectBackend('wasm');
});

/** A small differentiable "device": a NARX MLP with a drive window and no response lags (a pure function of the drives). */
const narx = (ci: number, co: number, window: number, seed: number) => new NarxSurrogate({ inChannels: ci, outChannels: co, window, responseLags: 0, hidden: [8], seed });
const predict = (s: NarxSurrogate, a: Float32Array, ci: number): Float32Array => tf.tidy(() => s.predictSeq(tf.tensor2d(a, [a.length / ci, ci])).dataSync() as Float32Array);

test('tapTensor lays out taps as tapFeatures does', () => {
  const rng = new Rng(5);
  const r = Float32Array.from({ length: 7 * 3 }, () => rng.range(0, 1));
  const norm = { shift: [0.1, 0.5, 0.2], scale: [2, 0.5, 1] };
  const want = tapFeatures(r, 3, 4, norm, 0, 7);
  const got = tf.tidy(() => tapTensor(tf.tensor2d(r, [7, 3]), 4, norm).dataSync());
  assert.is(got.length, want.length);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-6, `element ${i}: ${got[i]} vs ${want[i]}`);
});

test('the two-layer series gradient is the chain rule through each layer VJP: equal to autodiff through differentiable twins and to finite differences', () => {
  const L = 14, washout = 3, steps = L - washout;
  const rng = new Rng(11);
  const u = Float64Array.from({ length: L }, () => rng.range(-1, 1));
  const first = new TappedDense({ inChannels: 1, taps: 4, units: 3, seed: 3, gain: 1.5 });
  const between = new TappedDense({ inChannels: 4, taps: 2, units: 2, seed: 4, gain: 1.5, norm: { shift: [0.1, -0.2, 0, 0.3], scale: [0.5, 1, 2, 0.7] } });
  const s1 = narx(3, 4, 3, 1), s2 = narx(2, 5, 2, 2);
  const x = tapFeatures(u, 1, 4, first.norm, 0, L);
  const W = Float32Array.from({ length: 5 }, () => rng.range(-1, 1)), b = Float32Array.of(0.1);
  const target = Float32Array.from({ length: steps }, () => rng.range(-1, 1));
  // The forward pass as the trainer measures it: layer by layer, host arrays in between.
  const forward = () => {
    const a1 = first.runFeatures(x), r1 = predict(s1, a1, 3);
    const a2 = between.runFeatures(tapFeatures(r1, 4, 2, between.norm, 0, L)), r2 = predict(s2, a2, 2);
    return { a1, r1, a2, r2 };
  };
  const lossOf = (r2: Float32Array): number => {
    let s = 0;
    for (let t = 0; t < steps; t++) {
      let y = b[0];
      for (let c = 0; c < 5; c++) y += r2[(washout + t) * 5 + c] * W[c];
      s += (y - target[t]) ** 2;
    }
    return s / steps;
  };
  const f = forward();
  const { loss, grads } = seriesGradients(first, [between], { x, sent: [f.a1, f.a2], measured: [f.r1, f.r2], target, W, b, washout }, [s1, s2]);
  assert.ok(grads, 'gradients with both VJPs');
  assert.ok(Math.abs(loss - lossOf(f.r2)) < 1e-5, `loss ${loss} vs ${lossOf(f.r2)}`);
  const vars = [...first.variables, ...between.variables];
  // Reference 1: autodiff of the whole composition through the twins' own forward functions.
  const ref = tf.variableGrads(() => tf.tidy(() => {
    const r1 = s1.predictSeq(first.apply(tf.tensor2d(x, [L, 4])));
    const r2 = s2.predictSeq(between.apply(tapTensor(r1, 2, between.norm)));
    const y = tf.add(tf.matMul(r2.slice([washout, 0], [steps, 5]), tf.tensor2d(W, [5, 1])), tf.tensor1d(b));
    return tf.mean(tf.squaredDifference(y, tf.tensor2d(target, [steps, 1]))) as tf.Scalar;
  }), vars);
  for (const v of vars) {
    const g = grads[v.name].dataSync(), h = ref.grads[v.name].dataSync();
    let num = 0, den = 0;
    for (let i = 0; i < g.length; i++) { num += (g[i] - h[i]) ** 2; den += h[i] ** 2; }
    assert.ok(den > 0, `${v.name}: a nonzero gradient (the first layer's comes through both physical layers)`);
    assert.ok(Math.sqrt(num / den) < 1e-4, `${v.name}: relative difference ${Math.sqrt(num / den)}`);
  }
  // Reference 2: central finite differences of the measured loss along a random direction of every weight.
  const dirs = vars.map((v) => Float32Array.from({ length: v.size }, () => rng.range(-1, 1)));
  let analytic = 0;
  vars.forEach((v, i) => { const g = grads[v.name].dataSync(); for (let j = 0; j < g.length; j++) analytic += g[j] * dirs[i][j]; });
  const base = vars.map((v) => Float32Array.from(v.dataSync()));
  const shifted = (eps: number): number => {
    vars.forEach((v, i) => tf.tidy(() => v.assign(tf.tensor(base[i].map((w, j) => w + eps * dirs[i][j]), v.shape))));
    const l = lossOf(forward().r2);
    vars.forEach((v, i) => tf.tidy(() => v.assign(tf.tensor(base[i], v.shape))));
    return l;
  };
  const eps = 1e-2;
  const fd = (shifted(eps) - shifted(-eps)) / (2 * eps);
  assert.ok(Math.abs(fd - analytic) < 2e-2 * Math.abs(analytic) + 1e-5, `directional derivative: finite differences ${fd}, chain ${analytic}`);
  tf.dispose([...Object.values(grads), ...Object.values(ref.grads), ref.value]);
  first.dispose(); between.dispose(); s1.dispose(); s2.dispose();
});

/** Small sizes for the trainer tests. */
const SMALL: Omit<TrainOptions, 'trainer' | 'onEpisode' | 'device' | 'onCheckpoint' | 'resume'> = {
  task: 'narma10', seed: 1, episodes: 4, learningRate: 0.05, steps: 150, washout: 30, taps: 10, trainSteps: 1200, fitSteps: 600, testSteps: 300,
  surrogate: { fitExamples: 256, hidden: [16], firstEpochs: 10 },
};

test('a one-layer series chain is pat without pipelining: the same losses, samples and test NMSE', async () => {
  const a = await openDevice('sim:analog-awg', { seed: 1 });
  const b = await openDevice('sim:analog-awg', { seed: 1 });
  try {
    const chain = await trainSeriesChain({ ...SMALL, devices: [a], pipeline: false });
    const pat = await train({ ...SMALL, trainer: 'pat', device: b, pipeline: false, fidelityEvery: 0 });
    assert.equal(chain.episodes.map((e) => e.loss), pat.episodes.map((e) => e.loss));
    assert.is(chain.deviceSamples, pat.deviceSamples);
    assert.is(chain.test.value, pat.test.value);
  } finally {
    await a.close();
    await b.close();
  }
});

test('a one-layer pipelined series chain is pipelined pat: the same losses, samples per episode and test NMSE; it differs from the sequential chain after the first episode; no tensors left', async () => {
  const open = () => openDevice('sim:analog-awg', { seed: 1 });
  const [a, b, c] = [await open(), await open(), await open()];
  try {
    const opts = { ...SMALL, episodes: 6 };
    const before = tf.memory().numTensors;
    const chain = await trainSeriesChain({ ...opts, devices: [a] });
    assert.is(tf.memory().numTensors, before, 'no tensors left by a pipelined run');
    const pat = await train({ ...opts, trainer: 'pat', device: b, fidelityEvery: 0 });
    assert.equal(chain.episodes.map((e) => e.loss), pat.episodes.map((e) => e.loss));
    assert.equal(chain.episodes.map((e) => e.deviceSamples), pat.episodes.map((e) => e.deviceSamples));
    assert.equal(chain.episodes.map((e) => e.readoutNmse), pat.episodes.map((e) => e.readoutNmse));
    assert.is(chain.deviceSamples, pat.deviceSamples);
    assert.is(chain.test.value, pat.test.value);
    // What makes it pipelined: episode 1 is measured before step 0, so it differs from the sequential run's from there on.
    const serial = await trainSeriesChain({ ...opts, devices: [c], pipeline: false });
    assert.is(chain.episodes[0].loss, serial.episodes[0].loss);
    assert.ok(chain.episodes.slice(1).every((e, i) => e.loss !== serial.episodes[i + 1].loss), `losses ${chain.episodes.map((e) => e.loss).join(', ')} / ${serial.episodes.map((e) => e.loss).join(', ')}`);
  } finally {
    await a.close();
    await b.close();
    await c.close();
  }
});

test('a two-layer series chain trains, sequential or pipelined: the loss on a fixed window falls, samples are counted per layer, tensors stay flat; pipelined differs after episode 0', async () => {
  const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / a.length;
  // A fresh device each run: the same noise stream, so the runs compare episode by episode.
  const run = async (pipeline: boolean) => {
    const dev = await openDevice('sim:analog-awg', { seed: 2 });
    try {
      const counts: number[] = [];
      // trainSteps = washout + steps: every episode is the same window, so its losses compare.
      const res = await trainSeriesChain({
        ...SMALL, seed: 2, devices: [dev, dev], episodes: 12, steps: 600, trainSteps: 630, fitSteps: 400, testSteps: 300, pipeline,
        onEpisode: () => counts.push(tf.memory().numTensors),
      });
      assert.is(res.episodes.length, 12);
      assert.is(res.deviceSamples, 12 * 2 * 630 + 2 * (2 * 30 + 400 + 300));
      assert.ok(counts.at(-1)! <= counts[2] + 2, `tensors ${counts.join(', ')}`);
      return { res, losses: res.episodes.map((e) => e.loss) };
    } finally {
      await dev.close();
    }
  };
  {
    const seq = await run(false);
    console.log(`    two layers: losses ${seq.losses.map((l) => l.toFixed(4)).join(' ')}; test NMSE ${seq.res.test.value.toFixed(3)}; surrogate held-out ${seq.res.surrogateHeldOutNmse?.map((v) => v?.toFixed(3)).join(' / ')}`);
    // Adam's first steps move every weight by about the learning rate, which raises the loss for an
    // episode or two (measured, seed 2: 0.0022, 0.0039, 0.0037, then down to 0.0022 by episode
    // 12): the mean of the last three against the first three (0.68 measured).
    assert.ok(mean(seq.losses.slice(-3)) < 0.8 * mean(seq.losses.slice(0, 3)), `losses ${seq.losses.join(', ')}`);
    assert.ok(seq.losses.slice(1).every((l, i) => i < 2 || l <= seq.losses[i]), `the loss falls every episode after the third: ${seq.losses.join(', ')}`);
    const pipe = await run(true);
    console.log(`    pipelined: losses ${pipe.losses.map((l) => l.toFixed(4)).join(' ')}; test NMSE ${pipe.res.test.value.toFixed(3)}`);
    // Episode 0 is measured before any step either way; episode 1 is measured with the initial weights when pipelined.
    assert.is(pipe.losses[0], seq.losses[0]);
    assert.ok(pipe.losses[1] !== seq.losses[1]);
    // One step stale, the early rise lasts two episodes longer (measured: 0.0038 and 0.0039 at
    // episodes 3 and 5, then down to 0.0022-0.0023): the last three against episodes 3-5 (0.65 measured).
    assert.ok(mean(pipe.losses.slice(-3)) < 0.8 * mean(pipe.losses.slice(2, 5)), `losses ${pipe.losses.join(', ')}`);
  }
});

test('a budget counts every layer: a two-layer chain gets the episodes its samples allow, a budget too small is a RangeError', async () => {
  const dev = await openDevice('sim:analog-awg', { seed: 3 });
  try {
    // One layer at this budget: 8 episodes of 180 and the final fit and test (2 x 30 + 600 + 300).
    const budget = 8 * 180 + 960;
    const res = await trainSeriesChain({ ...SMALL, seed: 3, devices: [dev, dev], episodes: 100, budget });
    // Two layers: an episode costs 360 and the final fit and test 1,920, so one episode.
    assert.is(res.episodes.length, 1);
    assert.is(res.deviceSamples, 360 + 1920);
    const err = await trainSeriesChain({ ...SMALL, seed: 3, devices: [dev, dev], budget: 700 }).then(() => undefined, (e: unknown) => e);
    assert.instance(err, RangeError);
    assert.match((err as Error).message, /leaves -?\d+ steps for the final readout fit/);
  } finally {
    await dev.close();
  }
});

test('pipelined, the budget counts the episode measured ahead: it never launches one it cannot pay for with the final fit and test', async () => {
  for (const [budget, want] of [[3 * 360 + 1920, 3], [3 * 360 + 1920 - 1, 2]]) {
    const dev = await openDevice('sim:analog-awg', { seed: 3 });
    let resets = 0;
    // Every segment starts from a reset: counts what was measured, learned or not.
    const counting = new Proxy(dev, {
      get(target, k) {
        if (k === 'resetState') return () => { resets++; return target.resetState(); };
        const v = Reflect.get(target, k, target) as unknown;
        return typeof v === 'function' ? (v as (...x: unknown[]) => unknown).bind(target) : v;
      },
    });
    try {
      const res = await trainSeriesChain({ ...SMALL, seed: 3, devices: [counting, counting], episodes: 100, budget });
      assert.is(res.episodes.length, want);
      assert.is(res.deviceSamples, want * 360 + 1920);
      assert.is(resets, 2 * want + 2 * 2, 'two segments an episode, two for the final fit and test, none more');
    } finally {
      await dev.close();
    }
  }
});

test('pipelined device utilisation is higher than sequential on a paced device (two layers, 200 ms segments); no tensors left', async () => {
  // analog-awg paced at 50 nodes x 16 µs = 0.8 ms a step: a segment of 30 + 220 steps takes 200 ms of wall time.
  const run = async (pipeline: boolean) => {
    const { link } = openSimLink('analog-awg', { seed: 7, overrides: { nodeSeparationNs: 16000 }, device: { pacing: { samplePeriod: true } } });
    const dev = await DeviceClient.connect(link);
    try {
      return await trainSeriesChain({ ...SMALL, seed: 7, devices: [dev, dev], episodes: 5, steps: 220, fitSteps: 300, testSteps: 200, pipeline });
    } finally {
      await dev.close();
    }
  };
  const before = tf.memory().numTensors;
  const pipe = await run(true);
  const serial = await run(false);
  assert.is(tf.memory().numTensors, before);
  console.log(`    device utilisation: pipelined ${pipe.deviceUtilisation!.toFixed(2)} (${pipe.elapsedMs.toFixed(0)} ms), sequential ${serial.deviceUtilisation!.toFixed(2)} (${serial.elapsedMs.toFixed(0)} ms)`);
  assert.ok(pipe.deviceUtilisation! <= 1 && serial.deviceUtilisation! > 0);
  assert.ok(pipe.deviceUtilisation! > serial.deviceUtilisation!, `pipelined ${pipe.deviceUtilisation}, sequential ${serial.deviceUtilisation}`);
});

test('oracle: each layer steps with its simulator twin, checked against the device on the first episode', async () => {
  const dev = await openDevice('sim:analog-awg', { seed: 4 });
  try {
    const res = await trainSeriesChain({ ...SMALL, seed: 4, devices: [dev, dev], gradient: 'oracle', episodes: 2 });
    assert.is(res.episodes.length, 2);
    const tw = res.episodes[0].twinNmse!;
    assert.is(tw.length, 2);
    assert.ok(tw.every((v) => v < 0.01), `twin NMSE ${tw.join(', ')}`);
    assert.ok(Number.isFinite(res.test.value));
    assert.is(res.surrogateHeldOutNmse, undefined);
  } finally {
    await dev.close();
  }
});

/**
 * analog-awg without read noise or drift, so a fresh session answers the same drives the same way
 * (sim:fpga-awg is too, but its twin's VJP takes 5 s an episode), used as two layers under oracle:
 * deterministic end to end.
 */
const QUIET = { noiseSigma: 0, gainDriftPerHour: 0, offsetDriftPerHour: 0 };
/**
 * A generous reply timeout: this simulator shares the test's thread, and a pipelined episode's
 * batches are out while the host takes its step. A step that held the thread past the 1 s default
 * (the full suite on a loaded 2-core machine) timed a batch out, a state break re-measured the
 * segment, and the run counted 180 samples more than its resumed twin (same losses).
 */
const openQuiet = async () => {
  const sim = openSimLink('analog-awg', { seed: 5, overrides: QUIET });
  return DeviceClient.connect(sim.link, { twin: sim.model, processTimeoutMs: 60_000 });
};
async function quietRun(o: Partial<SeriesChainOptions>) {
  const dev = await openQuiet();
  const checkpoints: SeriesChainCheckpoint[] = [];
  try {
    const res = await trainSeriesChain({
      ...SMALL, seed: 5, devices: [dev, dev], gradient: 'oracle', episodes: 6, checkpointEvery: 2,
      onCheckpoint: (c) => { checkpoints.push(JSON.parse(JSON.stringify(c)) as SeriesChainCheckpoint); }, ...o,
    });
    return { res, checkpoints };
  } finally {
    await dev.close();
  }
}

test('oracle on a deterministic device: resumed from a checkpoint (through JSON) it ends exactly where the uninterrupted run ends, pipelined or not', async () => {
  const whole = await quietRun({});
  assert.equal(whole.checkpoints.map((c) => c.episode), [2, 4, 6]);
  assert.ok(whole.checkpoints[0].ring.length > 0 && whole.checkpoints[0].surrogates.every((x) => x === null));
  const ckpt = parseSeriesChainCheckpoint(whole.checkpoints[0], { gradient: 'oracle', task: 'narma10', seed: 5, layers: 2 });
  const before = tf.memory().numTensors;
  const rest = await quietRun({ resume: ckpt });
  assert.is(tf.memory().numTensors, before, 'no tensors left behind by a resume');
  assert.equal(rest.res.episodes.map((e) => e.loss), whole.res.episodes.map((e) => e.loss));
  assert.is(rest.res.deviceSamples, whole.res.deviceSamples);
  assert.is(rest.res.test.value, whole.res.test.value);
  assert.equal(rest.res.model, whole.res.model);
  // What the test checks is the state: without Adam's moments, or without the readout's ring, the run ends elsewhere.
  const noAdam = await quietRun({ resume: { ...ckpt, optimizer: [] } });
  assert.not.equal(noAdam.res.model.first.W, whole.res.model.first.W);
  const noRing = await quietRun({ resume: { ...ckpt, ring: [] } });
  assert.not.equal(noRing.res.episodes[2].loss, whole.res.episodes[2].loss);
  // Pipelined (the default), episode 2 was measured before step 1: the checkpoint holds the
  // weights it was measured with, and without them the resumed run measures it with later ones.
  assert.ok(ckpt.ahead && whole.checkpoints.at(-1)!.ahead === undefined, 'ahead weights while an episode is measured ahead, none after the last');
  const noAhead = await quietRun({ resume: { ...ckpt, ahead: undefined } });
  assert.not.equal(noAhead.res.episodes[2].loss, whole.res.episodes[2].loss);
  // Sequential runs resume exactly too, from checkpoints with nothing measured ahead.
  const seq = await quietRun({ pipeline: false });
  assert.ok(seq.checkpoints.every((c) => c.ahead === undefined));
  assert.not.equal(seq.res.episodes[1].loss, whole.res.episodes[1].loss);
  const seqRest = await quietRun({ pipeline: false, resume: seq.checkpoints[0] });
  assert.equal(seqRest.res.episodes.map((e) => e.loss), seq.res.episodes.map((e) => e.loss));
  assert.is(seqRest.res.test.value, seq.res.test.value);
});

test('a saved series chain measured again on a fresh deterministic device scores the training\'s test NMSE exactly', async () => {
  const { res } = await quietRun({ episodes: 3 });
  const json = JSON.parse(JSON.stringify(res.model)) as unknown;
  const dev = await openQuiet();
  const widths = { inputs: 1, outputs: 1, devices: [dev.info, dev.info] };
  const model = loadSeriesChainModel(json, widths);
  try {
    const r = resolve({ ...SMALL, seed: 5, trainer: 'pat' });
    const again = await testSeriesChain(model, [dev, dev], r);
    assert.is(again.value, res.test.value);
    assert.is(again.samples, 2 * (SMALL.washout! + SMALL.testSteps!));
  } finally {
    model.dispose();
    await dev.close();
  }
  // A malformed model is refused by the field at fault.
  const m = res.model;
  const cases: [unknown, RegExp][] = [
    [{ ...m, format: 'x' }, /^model: not a series-chain\/1 object/],
    [{ ...m, between: [] }, /^model\.between must hold 1 layers for 2 physical layers/],
    [{ ...m, between: [{ ...m.between[0], W: m.between[0].W.slice(1) }] }, /^model\.between\[0\]: W must/],
    [{ ...m, first: { ...m.first, units: 7, W: m.first.W.slice(0, 7 * m.first.taps), b: m.first.b.slice(0, 7) } }, /^model\.first: takes 1 channels to 7 units; the chain needs 1 to 50/],
    [{ ...m, readout: { ...m.readout, lambda: -1 } }, /^model\.readout: lambda must be/],
    [{ ...m, surrogates: [null] }, /^model\.surrogates must hold 2 entries/],
  ];
  const before = tf.memory().numTensors;
  for (const [bad, re] of cases) {
    assert.throws(() => loadSeriesChainModel(bad, { inputs: 1, outputs: 1, devices: [{ inChannels: 50, outChannels: 50 }, { inChannels: 50, outChannels: 50 }] }), (e: Error) => e instanceof RangeError && re.test(e.message));
  }
  assert.is(tf.memory().numTensors, before, 'a refused model leaves no tensors');
});

test('a series checkpoint that does not fit the run is refused by name', async () => {
  const { checkpoints } = await quietRun({ episodes: 2 });
  const c = checkpoints[0];
  const refuse = async (o: Partial<SeriesChainOptions>, re: RegExp) => {
    const err = await quietRun(o).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof RangeError && re.test(err.message), String(err));
  };
  await refuse({ resume: { ...c, gradient: 'pat' } }, /saved by trainer 'pat', not 'oracle'/);
  await refuse({ resume: c, seed: 6 }, /of seed 5, not 6/);
  await refuse({ resume: { ...c, episodes: [] } }, /episodes must hold 2 records/);
  await refuse({ resume: c, betweenTaps: 2 }, /the checkpoint's between\[0\] layer \(1 taps x 50 channels -> 50\) does not fit this run \(2 x 50 -> 50\)/);
  await refuse({ resume: { ...c, ring: [{ ...c.ring[0], xty: [1] }] } }, /ring\[0\]: xty must hold/);
  await refuse({ resume: { ...c, optimizer: c.optimizer.slice(1) } }, /optimizer state holds/);
});

test.run();
