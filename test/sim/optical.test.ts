import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OpticalReservoir, STATUS_INPUT_CLIPPED, STATUS_OUTPUT_SATURATED } from '../../src/sim/index.js';
import { constant, drives, maxDiff, rangeErrorNaming, run, stats, twinRelativeError } from './helpers.js';

const quiet = { shotNoise: 0, readNoiseSigma: 0 };

test('defaults: 64 SLM pixels (0..255) -> 128 camera pixels (0..255) at 1000 frames/s', () => {
  const m = new OpticalReservoir({}, 1);
  assert.is(m.inChannels, 64);
  assert.is(m.outChannels, 128);
  assert.equal(m.inRange, [0, 255]);
  assert.equal(m.outRange, [0, 255]);
  assert.is(m.samplePeriodNs, 1e6);
  assert.is(new OpticalReservoir({ frameRateHz: 250 }, 1).samplePeriodNs, 4e6);
});

test('same seed same frames, different seed different frames', () => {
  const a = new OpticalReservoir({ feedback: 0.3 }, 5);
  const ins = drives(a, 40, 1);
  const x = run(a, ins).outputs;
  assert.is(maxDiff(x, run(new OpticalReservoir({ feedback: 0.3 }, 5), ins).outputs), 0);
  assert.ok(maxDiff(x, run(new OpticalReservoir({ feedback: 0.3 }, 6), ins).outputs) > 10);
});

test('frames are non-negative integer counts within 8, 10 and 12 bits', () => {
  for (const bits of [8, 10, 12]) {
    const m = new OpticalReservoir({ cameraBits: bits, readNoiseSigma: 3, feedback: 0.2 }, 2);
    assert.equal(m.outRange, [0, 2 ** bits - 1]);
    let levels = new Set<number>();
    for (const y of run(m, drives(m, 50, 3)).outputs) {
      for (const v of y) {
        assert.ok(Number.isInteger(v) && v >= 0 && v <= 2 ** bits - 1, `${bits} bits: ${v}`);
        levels.add(v);
      }
    }
    assert.ok(levels.size > 20, `only ${levels.size} levels at ${bits} bits`);
    levels = new Set();
  }
});

test('mean intensity is about exposure * full scale (speckle statistics)', () => {
  const m = new OpticalReservoir({ ...quiet, cameraBits: 12, outChannels: 512 }, 3);
  const all = run(m, drives(m, 20, 4)).outputs.flatMap((y) => Array.from(y));
  const { mean } = stats(all);
  assert.ok(Math.abs(mean / (0.1 * 4095) - 1) < 0.15, `mean ${mean}`);
});

test('reset: noise-free model repeats a fresh model exactly (feedback on); noisy differs by noise only', () => {
  const ins = drives(new OpticalReservoir({}, 1), 30, 4);
  const q = new OpticalReservoir({ ...quiet, feedback: 0.3 }, 9);
  const first = run(q, ins).outputs;
  q.reset();
  assert.is(maxDiff(first, run(q, ins).outputs), 0);
  const n = new OpticalReservoir({}, 9);
  const a = run(n, ins).outputs;
  n.reset();
  const d = maxDiff(a, run(n, ins).outputs);
  assert.ok(d > 0 && d < 25, `noisy reset differs by ${d}`);
});

test('no feedback: memoryless; with feedback: two histories converge (noise-free)', () => {
  const m0 = new OpticalReservoir(quiet, 3);
  const u = drives(m0, 3, 7);
  run(m0, drives(m0, 10, 8));
  const y0 = run(m0, u).outputs;
  assert.is(maxDiff(y0, run(new OpticalReservoir(quiet, 3), u).outputs), 0);

  const o = { ...quiet, feedback: 0.3, cameraBits: 10 };
  const a = new OpticalReservoir(o, 3);
  const b = new OpticalReservoir(o, 3);
  run(a, drives(a, 20, 10));
  run(b, drives(b, 20, 11));
  const common = drives(a, 60, 12);
  const ya = run(a, common).outputs;
  const yb = run(b, common).outputs;
  assert.ok(maxDiff(ya.slice(0, 1), yb.slice(0, 1)) > 5, 'feedback should carry the history');
  assert.is(maxDiff(ya.slice(40), yb.slice(40)), 0);
});

test('read noise: measured sd on a constant drive within 20 % of readNoiseSigma', () => {
  const m = new OpticalReservoir({ shotNoise: 0, readNoiseSigma: 3, cameraBits: 12 }, 4);
  const ys = run(m, Array.from({ length: 2000 }, () => constant(m, 100))).outputs;
  const sds = Array.from({ length: 16 }, (_, i) => stats(ys.map((y) => y[i])).sd);
  const sd = stats(sds).mean;
  assert.ok(Math.abs(sd - 3) < 0.6, `measured ${sd}`);
});

test('shot noise: variance / mean signal within 20 % of shotNoise', () => {
  const m = new OpticalReservoir({ shotNoise: 2, readNoiseSigma: 0, cameraBits: 12 }, 4);
  const ys = run(m, Array.from({ length: 2000 }, () => constant(m, 100))).outputs;
  const ratios: number[] = [];
  for (let i = 0; i < m.outChannels; i++) {
    const s = stats(ys.map((y) => y[i]));
    if (s.mean > 200 && s.mean < 3000) ratios.push((s.sd * s.sd) / s.mean);
  }
  assert.ok(ratios.length > 10, `${ratios.length} usable pixels`);
  const r = stats(ratios).mean;
  assert.ok(Math.abs(r - 2) < 0.4, `variance / mean ${r}`);
});

test('status bits: clipped SLM drive sets bit 1, a pixel over full scale sets bit 2', () => {
  const m = new OpticalReservoir(quiet, 1);
  const out = new Float32Array(128);
  assert.is(m.step(constant(m, 200), out) & STATUS_INPUT_CLIPPED, 0);
  assert.is(m.step(constant(m, 256), out) & STATUS_INPUT_CLIPPED, STATUS_INPUT_CLIPPED);
  assert.is(m.step(constant(m, -3), out) & STATUS_INPUT_CLIPPED, STATUS_INPUT_CLIPPED);
  const hot = new OpticalReservoir({ ...quiet, exposure: 2 }, 1);
  const s = hot.step(constant(hot, 10), out);
  assert.is(s & STATUS_OUTPUT_SATURATED, STATUS_OUTPUT_SATURATED);
  assert.ok(out.some((v) => v === 255));
});

test('invalid options throw RangeError naming the option', () => {
  const bad: [string, object][] = [
    ['inChannels', { inChannels: 0 }], ['cameraBits', { cameraBits: 17 }], ['slmBits', { slmBits: 0 }],
    ['feedback', { feedback: 1 }], ['feedback', { feedback: -0.1 }], ['exposure', { exposure: 0 }],
    ['shotNoise', { shotNoise: -1 }], ['readNoiseSigma', { readNoiseSigma: Infinity }], ['frameRateHz', { frameRateHz: 0 }],
    ['gain', { gain: 2 }],
  ];
  for (const [name, o] of bad) assert.throws(() => new OpticalReservoir(o, 1), rangeErrorNaming(name), name);
});

test('twin: noise-free 16-bit model with feedback tracks the float twin (relative error < 1e-3)', () => {
  const m = new OpticalReservoir({ ...quiet, feedback: 0.3, slmBits: 16, cameraBits: 16 }, 8);
  const e = twinRelativeError(m, drives(m, 100, 6), 0);
  assert.ok(e < 1e-3, `relative error ${e}`);
});

test.run();
