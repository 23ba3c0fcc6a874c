import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { openDevice } from '../../src/device/index.js';
import { createModel } from '../../src/sim/profiles.js';
import { Rng } from '../../src/core/rng.js';
import type { DeviceSurrogate, NarxJSON } from '../../src/surrogate/narx.js';
import { physicalLayer } from '../../src/surrogate/physical-layer.js';
import { selectBackend } from '../../src/core/backend.js';
import { type TrainOptions, type TrainResult, resolve, targetRows } from '../../src/train/common.js';
import { readoutUpstream, surrogateVjp, vjpFidelity } from '../../src/train/fidelity.js';
import { RidgeReadout, TappedDense, inputNorm, measure } from '../../src/train/hybrid.js';
import type { OracleEpisodeRecord } from '../../src/train/oracle.js';
import { train, type AnyTrainOptions } from '../../src/train/train.js';
import { TwinGradient } from '../../src/train/twin-grad.js';
import { finiteDifferenceVjp } from '../../src/train/vjp-check.js';

test.before(async () => {
  await selectBackend('wasm');
});

const TINY: Omit<TrainOptions, 'trainer' | 'seed'> = {
  task: 'narma10', episodes: 4, learningRate: 0.05, steps: 100, washout: 30, trainSteps: 600, fitSteps: 200, testSteps: 150,
  surrogate: { fitExamples: 256, hidden: [16], firstEpochs: 10 },
};

async function onDevice(profile: string, seed: number, opts: Omit<AnyTrainOptions, 'device'>): Promise<TrainResult> {
  const device = await openDevice(`sim:${profile}`, { seed });
  try {
    return await train({ ...opts, device });
  } finally {
    await device.close();
  }
}

test('with a perfect surrogate (the twin VJP) the physical layer gradient is the exact gradient of the twin loss (fpga)', () => {
  const model = createModel('fpga', {}, 4);
  const oracle = new TwinGradient({ model });
  const perfect: DeviceSurrogate = { vjpSeq: (d, dy) => oracle.vjpSeq(d, dy) };
  const rng = new Rng(2);
  const T = 40, washout = 10, co = oracle.outChannels, taps = 4;
  const u = Float64Array.from({ length: T }, () => rng.range(0, 0.5));
  const layer = new TappedDense({ inChannels: 1, taps, units: 1, seed: 3, gain: 1.5, norm: { shift: [0.25], scale: [0.15] } });
  const Wr = Float64Array.from({ length: co }, () => rng.normal() * 0.05), Y = Float64Array.from({ length: T - washout }, () => rng.uniform());
  const x = layer.features2d(u, 0, T);
  try {
    const a = layer.run(u, 0, T);
    const measured = tf.tensor2d(Float32Array.from(oracle.respond(a)), [T, co]);
    const W = tf.tensor2d(Float32Array.from(Wr), [co, 1]), target = tf.tensor2d(Float32Array.from(Y), [T - washout, 1]);
    const { grads } = tf.variableGrads(() => {
      const y = physicalLayer(perfect, measured)(layer.apply(x)).slice([washout, 0], [T - washout, co]);
      return tf.mean(tf.squaredDifference(tf.matMul(y, W), target)) as tf.Scalar;
    }, layer.variables);
    // Reference: the whole loss in float64 through the twin, differentiated by central differences in θ.
    const feats = x.dataSync(), w0 = Float64Array.from(layer.W.dataSync());
    const lossOf = (theta: Float64Array): number[] => {
      const d = Float64Array.from({ length: T }, (_, t) => { let z = theta[taps]; for (let k = 0; k < taps; k++) z += feats[t * taps + k] * theta[k]; return Math.tanh(z); });
      const r = oracle.respond(d);
      let l = 0;
      for (let t = washout; t < T; t++) { let p = 0; for (let c = 0; c < co; c++) p += r[t * co + c] * Wr[c]; l += (p - Y[t - washout]) ** 2; }
      return [l / (T - washout)];
    };
    const ref = finiteDifferenceVjp(lossOf, [...w0, 0], [1], 1e-5);
    const got = [...grads[layer.W.name].dataSync(), ...grads[layer.b.name].dataSync()];
    const scale = Math.max(...Array.from(ref, Math.abs));
    assert.ok(scale > 1e-4, `degenerate: ${scale}`);
    for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i] - ref[i]) <= 2e-3 * scale, `θ[${i}]: ${got[i]} vs ${ref[i]}`);
    tf.dispose([measured, W, target, ...Object.values(grads)]);
  } finally {
    x.dispose();
    layer.dispose();
  }
});

test('oracle trainer: its first Adam step follows the exact twin gradient at the measured episode (fpga), same sample accounting as pat', async () => {
  const opts = { ...TINY, trainer: 'oracle' as const, seed: 5, episodes: 1, fidelity: false as const };
  const res = await onDevice('fpga', 5, opts);
  assert.is(res.deviceSamples, 130 + 2 * 30 + 200 + 150);
  // Replay episode 0 by hand.
  const r = resolve({ ...opts });
  const L = r.washout + r.steps;
  const layer = new TappedDense({ inChannels: 1, taps: r.taps, units: 1, seed: r.rng.fork('input-layer').nextU32(), gain: r.gain, norm: inputNorm(r.train.inputs, 1) });
  const start = r.rng.fork('episodes').int(r.trainSteps - L + 1);
  const dev = await openDevice('sim:fpga', { seed: 5 });
  try {
    const a = layer.run(r.train.inputs, start, L);
    const m = await measure(dev, a);
    const co = dev.info.outChannels;
    const oracle = new TwinGradient({ model: createModel('fpga', {}, 5), scaling: dev.info });
    const Y = targetRows(r.train, start + r.washout, r.steps);
    const readout = new RidgeReadout(co, 1);
    readout.fitSplit({ X: m.responses.subarray(r.washout * co), Y });
    const dy = readoutUpstream(readout.current, m.responses, r.washout, Y, co, 1);
    const gd = oracle.vjp(a, dy);
    const feats = layer.features2d(r.train.inputs, start, L);
    const f = feats.dataSync();
    feats.dispose();
    const gW = new Float64Array(r.taps);
    for (let t = 0; t < L; t++) for (let k = 0; k < r.taps; k++) gW[k] += f[t * r.taps + k] * gd[t] * (1 - a[t] * a[t]);
    const w0 = layer.W.dataSync(), w1 = res.model.inputLayer.W;
    let agree = 0, n = 0;
    for (let k = 0; k < r.taps; k++) {
      if (Math.abs(gW[k]) < 1e-2 * Math.max(...Array.from(gW, Math.abs))) continue; // float32 vs float64 may flip a tiny component
      n++;
      // Adam's first step is -lr · g / (|g| + ε) ≈ -lr · sign(g).
      if (Math.abs(w1[k] - (w0[k] - r.learningRate * Math.sign(gW[k]))) < 1e-4) agree++;
    }
    assert.ok(n >= r.taps / 2 && agree === n, `agree ${agree}/${n}`);
  } finally {
    layer.dispose();
    await dev.close();
  }
});

test('fidelity: VJP cosine logged per episode; the device reading agrees with the twin (fpga); finite differences on the twin', async () => {
  const res = await onDevice('fpga', 6, { ...TINY, trainer: 'oracle', seed: 6, episodes: 3, fidelity: { reading: { directions: 4 } } });
  const recs = res.episodes as OracleEpisodeRecord[];
  assert.is(recs.length, 3);
  assert.ok(recs[0].twinNmse! < 1e-3, `twin nmse ${recs[0].twinNmse}`);
  for (const e of recs) {
    assert.ok(e.fidelity?.vjpCosine !== undefined && e.fidelity.vjpCosine >= -1 && e.fidelity.vjpCosine <= 1);
    const rd = e.fidelity!.reading!;
    // 2 x 4 directions and one repeat of the episode's segment.
    assert.is(rd.samples, 9 * 130);
    assert.is(rd.twin!.length, 4);
    assert.ok(Math.abs(rd.slope - rd.twinSlope!) <= 3 * rd.slopeSe, `slope ${rd.slope} ± ${rd.slopeSe}, twin ${rd.twinSlope}`);
  }
  assert.is(res.deviceSamples, 3 * 130 * 10 + 2 * 30 + 200 + 150);

  // Twin only: the directional derivative by finite differences equals g·v.
  const oracle = new TwinGradient({ model: createModel('analog', {}, 3) });
  const rng = new Rng(4), T = 80, co = oracle.outChannels;
  const d = Float64Array.from({ length: T }, () => rng.range(-0.8, 0.8));
  const dy = Float64Array.from({ length: T * co }, () => rng.normal());
  const g = oracle.vjp(d, dy);
  const v = Float64Array.from({ length: T }, () => (rng.uniform() < 0.5 ? -1 : 1)), h = 1e-4;
  const rp = oracle.respond(d.map((x, i) => x + h * v[i])), rm = oracle.respond(d.map((x, i) => x - h * v[i]));
  let fd = 0, pred = 0;
  for (let i = 0; i < dy.length; i++) fd += (dy[i] * (rp[i] - rm[i])) / (2 * h);
  for (let i = 0; i < T; i++) pred += g[i] * v[i];
  assert.ok(Math.abs(fd - pred) <= 1e-5 * Math.abs(pred), `fd ${fd} vs ${pred}`);

  // (a) with the oracle against itself is exact; a NARX surrogate can be compared the same way.
  assert.equal(vjpFidelity(g, g).vjpCosine, 1);
  assert.ok(surrogateVjp({ vjpSeq: (dd, yy) => oracle.vjpSeq(dd, yy) }, Float32Array.from(d), dy, new Float32Array(T * co), 1, co).length === T);
});

test('spsa lowers its loss on a short run and counts two episodes per iteration', async () => {
  const res = await onDevice('analog', 2, { ...TINY, trainer: 'spsa', seed: 2, episodes: 16 });
  const losses = res.episodes.map((e) => e.loss);
  const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
  assert.ok(mean(losses.slice(-4)) < mean(losses.slice(0, 4)), `losses ${losses.join(', ')}`);
  assert.is(res.deviceSamples, 16 * 2 * 130 + 2 * 30 + 200 + 150);
  assert.ok(Number.isFinite(res.test.value));
});

test('insilico explores with pat\'s training samples, trains on the surrogate, deploys and reports', async () => {
  const res = await onDevice('analog', 3, { ...TINY, trainer: 'insilico', seed: 3, episodes: 6, insilico: { fitEpochs: 20 } });
  assert.is(res.deviceSamples, 6 * 130 + 2 * 30 + 200 + 150);
  assert.is(res.episodes.length, 6);
  const last = res.episodes.at(-1) as { deployNmse?: number; exploreSamples?: number; surrogateNmse?: number };
  assert.is(last.exploreSamples, 6 * 130);
  assert.ok(Number.isFinite(last.deployNmse!) && Number.isFinite(last.surrogateNmse!));
  assert.ok(res.episodes.every((e) => e.deviceSamples === 6 * 130));
  assert.ok(Number.isFinite(res.test.value));
  assert.is((res.model.surrogate as NarxJSON | undefined)?.responseLags, 0);
});

test('same seed, same run for oracle, spsa and insilico (fpga)', async () => {
  const strip = (r: TrainResult) => ({ ...r, elapsedMs: 0 });
  for (const trainer of ['oracle', 'spsa', 'insilico'] as const) {
    const opts = { ...TINY, trainer, seed: 7, episodes: 3, insilico: { fitEpochs: 5 } };
    const a = await onDevice('fpga', 7, opts), b = await onDevice('fpga', 7, opts);
    assert.equal(strip(a), strip(b), trainer);
  }
});

test.run();
