import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openDevice } from '../../src/device/index.js';
import { Rng } from '../../src/core/rng.js';
import { selectBackend } from '../../src/core/backend.js';
import { type Measurer, deviceMeasurer, gradientFidelity, predictAlong, repeatNoise, slopeStats, stepFromNoise } from '../../src/train/spot-check.js';
import { TwinGradient, twinModelFor } from '../../src/train/twin-grad.js';

test.before(async () => {
  await selectBackend('wasm');
});

const smooth = (rng: Rng, T: number, ci: number): Float32Array => {
  const a = new Float32Array(T * ci);
  let x = 0;
  for (let i = 0; i < a.length; i++) { x = 0.7 * x + 0.4 * rng.normal(); a[i] = Math.tanh(x); }
  return a;
};

for (const profile of ['analog-awg', 'fpga']) {
  test(`${profile}: the reading of the twin's own gradient is 1 within its stated uncertainty; a wrong one is flagged`, async () => {
    const dev = await openDevice(`sim:${profile}`, { seed: 3 });
    try {
      const twin = new TwinGradient({ model: twinModelFor(dev, {}), scaling: dev.info });
      const ci = dev.info.inChannels, co = dev.info.outChannels, T = 120;
      const rng = new Rng(11);
      const d = smooth(rng, T, ci);
      const dy = Float64Array.from({ length: T * co }, () => rng.normal());
      const g = twin.vjp(d, dy);
      const f = await gradientFidelity(deviceMeasurer(dev), d, dy, g, rng.fork('dirs'), { directions: 12 });
      assert.ok(Math.abs(f.slope - 1) <= 3 * f.slopeSe, `slope ${f.slope} ± ${f.slopeSe}`);
      assert.ok(f.slopeSe < 0.15, `uninformative: SE ${f.slopeSe}`);
      assert.ok(f.cosine > 0.9, `cosine ${f.cosine}`);
      assert.is(f.samples, (2 * 12 + 2) * T);
      // a gradient for another loss (another dy, half of it the right one): the reading rejects it
      const dy2 = Float64Array.from(dy, (v) => 0.5 * v + rng.normal());
      const wrong = twin.vjp(d, dy2);
      const w = slopeStats(f.measured, predictAlong(f, wrong));
      assert.ok(w.cosine < f.cosine - 0.1 && w.slopeSe > 3 * f.slopeSe, `half-wrong gradient: cosine ${w.cosine}, SE ${w.slopeSe}`);
      // a gradient pointing the wrong way is rejected outright
      const flipped = slopeStats(f.measured, predictAlong(f, g.map((v) => -v)));
      assert.ok(Math.abs(flipped.slope - 1) > 10 * flipped.slopeSe, `${flipped.slope} ± ${flipped.slopeSe}`);
    } finally {
      await dev.close();
    }
  });
}

test('linear device with known noise: slope 1 within 3 SE, measured noise near the true one, every segment counted', async () => {
  const T = 50, rng = new Rng(4);
  const a = Float64Array.from({ length: T }, () => rng.normal());
  const noiseRng = new Rng(5);
  // r_t = 0.5 + 0.1 sum_j a_j d_{t-j} + N(0, 0.01²): one input, one output, memory of T steps
  const measurer: Measurer = async (d) => {
    const r = new Float32Array(T);
    for (let t = 0; t < T; t++) {
      let s = 0.5;
      for (let j = 0; j <= t; j++) s += 0.1 * a[j] * d[t - j];
      r[t] = s + 0.01 * noiseRng.normal();
    }
    return { drives: Float32Array.from(d), responses: r, samples: T, breaks: 0 };
  };
  const d = Float32Array.from({ length: T }, () => rng.range(-0.5, 0.5));
  const dy = Float64Array.from({ length: T }, () => rng.normal());
  const g = Float64Array.from({ length: T }, (_, i) => { let s = 0; for (let t = i; t < T; t++) s += dy[t] * 0.1 * a[t - i]; return s; });
  const f = await gradientFidelity(measurer, d, dy, g, new Rng(6), { directions: 16 });
  assert.ok(Math.abs(f.slope - 1) <= 3 * f.slopeSe && f.slopeSe < 0.2, `${f.slope} ± ${f.slopeSe}`);
  assert.ok(Math.abs(f.noise / 0.01 - 1) < 0.3, `noise ${f.noise}`);
  assert.is(f.samples, (2 * 16 + 2) * T);
  const known = await gradientFidelity(measurer, d, dy, g, new Rng(6), { directions: 4, noise: 0.01 });
  assert.is(known.samples, 8 * T);
  const withBase = await gradientFidelity(measurer, d, dy, g, new Rng(6), { directions: 4, baseline: (await measurer(d)).responses });
  assert.is(withBase.samples, 9 * T);
});

test('noise from repeats and the step rule', () => {
  assert.ok(Math.abs(repeatNoise([0, 0, 0, 0], [1, -1, 1, -1]) - Math.SQRT1_2) < 1e-12);
  assert.is(stepFromNoise(0, 10, 1, 10, 0.02, 0.25), 0.02);
  assert.is(stepFromNoise(1, 10, 1, 10, 0.02, 0.25), 0.25);
  assert.ok(Math.abs(stepFromNoise(0.001, 10, 1, 10, 0.02, 0.25) - 0.1 / Math.SQRT2) < 1e-12);
  assert.is(stepFromNoise(0.001, 10, 0, 10, 0.02, 0.25), 0.25);
});

test.run();
