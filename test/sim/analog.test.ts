import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AnalogReservoir, STATUS_INPUT_CLIPPED, STATUS_OUTPUT_SATURATED } from '../../src/sim/index.js';
import { constant, drives, maxDiff, rangeErrorNaming, run, stats, twinRelativeError } from './helpers.js';

const quiet = { noiseSigma: 0, gainDriftPerHour: 0, offsetDriftPerHour: 0 };

test('defaults: 1 DAC channel in 0..4095, 50 nodes out in 0..4095, 10 us per sample', () => {
  const m = new AnalogReservoir({}, 1);
  assert.is(m.inChannels, 1);
  assert.is(m.outChannels, 50);
  assert.equal(m.inRange, [0, 4095]);
  assert.equal(m.outRange, [0, 4095]);
  assert.is(m.samplePeriodNs, 10000);
});

test('same seed same outputs (noise included), different seed different outputs', () => {
  const a = new AnalogReservoir({}, 5);
  const ins = drives(a, 100, 1);
  const x = run(a, ins).outputs;
  assert.is(maxDiff(x, run(new AnalogReservoir({}, 5), ins).outputs), 0);
  assert.ok(maxDiff(x, run(new AnalogReservoir({}, 6), ins).outputs) > 10);
});

test('outputs are integer ADC codes in 0..4095', () => {
  const m = new AnalogReservoir({}, 2);
  for (const y of run(m, drives(m, 200, 3)).outputs) for (const v of y) assert.ok(Number.isInteger(v) && v >= 0 && v <= 4095, `${v}`);
});

test('at rest (x = 0) the noise-free ADC reads mid-scale', () => {
  const m = new AnalogReservoir({ ...quiet, gamma: 0 }, 2);
  const y = run(m, [constant(m, 0)]).outputs[0];
  assert.ok(y.every((v) => v === 2048));
});

test('reset: noise-free model repeats a fresh model exactly; the noisy one differs by noise only', () => {
  const ins = drives(new AnalogReservoir({}, 1), 150, 4);
  const q = new AnalogReservoir(quiet, 9);
  const first = run(q, ins).outputs;
  q.reset();
  assert.is(maxDiff(first, run(q, ins).outputs), 0);

  const n = new AnalogReservoir({ noiseSigma: 2, gainDriftPerHour: 0, offsetDriftPerHour: 0 }, 9);
  const a = run(n, ins).outputs;
  n.reset();
  const b = run(n, ins).outputs;
  const d = maxDiff(a, b);
  assert.ok(d > 0 && d < 20, `noisy reset differs by ${d}`);
});

test('reset keeps the drift clock', () => {
  const m = new AnalogReservoir({}, 1);
  m.advanceTime(5e9);
  run(m, [constant(m, 0)]);
  m.reset();
  assert.is(m.deviceTimeNs, 5e9 + 10000);
});

test('fading memory: two histories converge under the same inputs (noise-free)', () => {
  const a = new AnalogReservoir(quiet, 3);
  const b = new AnalogReservoir(quiet, 3);
  run(a, drives(a, 100, 10));
  run(b, drives(b, 100, 11));
  const common = drives(a, 150, 12);
  const ya = run(a, common).outputs;
  const yb = run(b, common).outputs;
  assert.ok(maxDiff(ya.slice(0, 1), yb.slice(0, 1)) > 20, 'histories should start apart');
  assert.is(maxDiff(ya.slice(100), yb.slice(100)), 0);
});

test('noise: measured sd on a constant drive is within 20 % of noiseSigma', () => {
  for (const sigma of [1, 5]) {
    const m = new AnalogReservoir({ noiseSigma: sigma, gainDriftPerHour: 0, offsetDriftPerHour: 0 }, 4);
    const ys = run(m, Array.from({ length: 3000 }, () => constant(m, 3000))).outputs.slice(100);
    const sd = stats(ys.map((y) => y[7])).sd;
    assert.ok(Math.abs(sd - sigma) < 0.2 * sigma, `sigma ${sigma}: measured ${sd}`);
  }
});

test('drift: offset moves the mean by offsetDriftPerHour per simulated hour', () => {
  const m = new AnalogReservoir({ noiseSigma: 1, gainDriftPerHour: 0, offsetDriftPerHour: 10 }, 4);
  const c = Array.from({ length: 1000 }, () => constant(m, 1000));
  const mean = (): number => stats(run(m, c).outputs.slice(200).map((y) => y[3])).mean;
  const before = mean();
  m.advanceTime(3 * 3.6e12);
  const after = mean();
  assert.ok(Math.abs(after - before - 30) < 1, `shift ${after - before}`);
});

test('drift: gain scales the deviation from mid-scale by gainDriftPerHour per hour', () => {
  const m = new AnalogReservoir({ noiseSigma: 1, gainDriftPerHour: 0.02, offsetDriftPerHour: 0 }, 4);
  const c = Array.from({ length: 1000 }, () => constant(m, 4095));
  const dev = (): number[] => {
    const ys = run(m, c).outputs.slice(200);
    return Array.from({ length: m.outChannels }, (_, i) => stats(ys.map((y) => y[i])).mean - 2047.5);
  };
  const before = dev();
  const i = before.reduce((best, v, k) => (Math.abs(v) > Math.abs(before[best]) ? k : best), 0);
  assert.ok(Math.abs(before[i]) > 200, `deviation ${before[i]}`);
  m.advanceTime(5 * 3.6e12);
  const ratio = dev()[i] / before[i];
  assert.ok(Math.abs(ratio - 1.1) < 0.01, `gain ratio ${ratio}`);
});

test('status bits: clipped inputs set bit 1, ADC rails set bit 2', () => {
  const m = new AnalogReservoir(quiet, 1);
  const out = new Float32Array(50);
  assert.is(m.step(Float32Array.of(2000.4), out) & STATUS_INPUT_CLIPPED, 0);
  assert.is(m.step(Float32Array.of(5000), out) & STATUS_INPUT_CLIPPED, STATUS_INPUT_CLIPPED);
  assert.is(m.step(Float32Array.of(-1), out) & STATUS_INPUT_CLIPPED, STATUS_INPUT_CLIPPED);
  assert.is(m.step(Float32Array.of(NaN), out) & STATUS_INPUT_CLIPPED, STATUS_INPUT_CLIPPED);
  assert.is(m.step(Float32Array.of(2048), out) & STATUS_OUTPUT_SATURATED, 0);

  const hot = new AnalogReservoir({ ...quiet, fullScale: 0.02 }, 1);
  const r = run(hot, Array.from({ length: 20 }, () => constant(hot, 4095)));
  assert.is(r.status & STATUS_OUTPUT_SATURATED, STATUS_OUTPUT_SATURATED);
  assert.ok(r.outputs[19].some((v) => v === 0 || v === 4095));
});

test('latency: outputs are the fresh model outputs delayed by latencySamples', () => {
  const ins = drives(new AnalogReservoir({}, 1), 30, 5);
  const y0 = run(new AnalogReservoir(quiet, 2), ins).outputs;
  const y3 = run(new AnalogReservoir({ ...quiet, latencySamples: 3 }, 2), ins).outputs;
  assert.ok(y3.slice(0, 3).every((y) => y.every((v) => v === 2048)));
  assert.is(maxDiff(y3.slice(3), y0.slice(0, 27)), 0);
});

test('invalid options and buffers throw RangeError naming the option', () => {
  const bad: [string, object][] = [
    ['nodes', { nodes: 0 }], ['nodes', { nodes: 2.5 }], ['dacBits', { dacBits: 17 }], ['adcBits', { adcBits: 0 }],
    ['noiseSigma', { noiseSigma: -1 }], ['eta', { eta: 0 }], ['theta', { theta: NaN }], ['fullScale', { fullScale: 0 }],
    ['latencySamples', { latencySamples: -1 }], ['noise', { noise: 1 }],
  ];
  for (const [name, o] of bad) assert.throws(() => new AnalogReservoir(o, 1), rangeErrorNaming(name), name);
  const m = new AnalogReservoir({}, 1);
  assert.throws(() => m.step(new Float32Array(2), new Float32Array(50)), RangeError);
  assert.throws(() => m.step(new Float32Array(1), new Float32Array(49)), RangeError);
  assert.throws(() => m.advanceTime(-1), RangeError);
});

test('twin: noise-free 16-bit model tracks the float twin (relative error < 1e-3)', () => {
  const m = new AnalogReservoir({ ...quiet, dacBits: 16, adcBits: 16 }, 8);
  const e = twinRelativeError(m, drives(m, 300, 6), 65535 / 2);
  assert.ok(e < 1e-3, `relative error ${e}`);
  const d = new AnalogReservoir({}, 8);
  assert.ok(twinRelativeError(d, drives(d, 300, 6), 4095 / 2) < 0.05, 'default model should still be close');
});

test('twin.step is pure and starts from the rest state', () => {
  const t = new AnalogReservoir({}, 1).twin();
  const s = t.init();
  assert.equal(Array.from(s), new Array(50).fill(0));
  const r1 = t.step(s, [4000]);
  const r2 = t.step(s, [4000]);
  assert.equal(Array.from(s), new Array(50).fill(0));
  assert.equal(r1, r2);
});

test.run();
