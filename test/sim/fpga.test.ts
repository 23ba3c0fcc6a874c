import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FpgaReservoir, Rng, STATUS_INPUT_CLIPPED, STATUS_OUTPUT_SATURATED, estimateSpectralRadius } from '../../src/sim/index.js';
import { constant, drives, maxDiff, rangeErrorNaming, run, twinRelativeError } from './helpers.js';

test('defaults: 1 input, 100 units, Q1.15 in and out, 1 us per sample', () => {
  const m = new FpgaReservoir({}, 1);
  assert.is(m.inChannels, 1);
  assert.is(m.outChannels, 100);
  assert.equal(m.inRange, [-32768, 32767]);
  assert.equal(m.outRange, [-32767, 32767]);
  assert.is(m.samplePeriodNs, 1000);
});

test('spectral radius estimate: diagonal, rotation (complex pair) and a scaled random W', () => {
  const diag = [0.3, -0.8, 0.5];
  const rd = estimateSpectralRadius(3, (v, o) => { for (let i = 0; i < 3; i++) o[i] = diag[i] * v[i]; }, new Rng(1));
  assert.ok(Math.abs(rd - 0.8) < 1e-3, `diag ${rd}`);
  const c = 0.7 * Math.cos(1);
  const s = 0.7 * Math.sin(1);
  const rr = estimateSpectralRadius(2, (v, o) => { o[0] = c * v[0] - s * v[1]; o[1] = s * v[0] + c * v[1]; }, new Rng(1));
  assert.ok(Math.abs(rr - 0.7) < 1e-3, `rotation ${rr}`);
  const m = new FpgaReservoir({ units: 60, density: 0.2 }, 3);
  assert.ok(m.rawSpectralRadius > 1 && m.rawSpectralRadius < 3, `${m.rawSpectralRadius}`);
});

test('same seed same outputs, different seed different outputs', () => {
  const a = new FpgaReservoir({}, 5);
  const ins = drives(a, 100, 1);
  const x = run(a, ins).outputs;
  assert.is(maxDiff(x, run(new FpgaReservoir({}, 5), ins).outputs), 0);
  assert.ok(maxDiff(x, run(new FpgaReservoir({}, 6), ins).outputs) > 1000);
});

test('outputs are int16 Q1.15 values; reset repeats a fresh model exactly', () => {
  const m = new FpgaReservoir({}, 2);
  const ins = drives(m, 200, 3);
  const a = run(m, ins).outputs;
  for (const y of a) for (const v of y) assert.ok(Number.isInteger(v) && v >= -32767 && v <= 32767, `${v}`);
  m.reset();
  assert.is(maxDiff(a, run(m, ins).outputs), 0);
  const rest = new FpgaReservoir({}, 2);
  const y = run(rest, [constant(rest, 0)]).outputs[0];
  const lutHalfBin = Math.round(32768 * Math.tanh(4 / 1024));
  assert.ok(y.every((v) => v === lutHalfBin), 'zero state and zero input give LUT entry tanh(+half bin)');
});

test('fading memory: the float twin converges; the fixed-point model to within LUT resolution', () => {
  const m = new FpgaReservoir({}, 3);
  const t = m.twin();
  let sa = t.init();
  let sb = t.init();
  for (const u of drives(m, 50, 10)) sa = t.step(sa, u).state;
  for (const u of drives(m, 50, 11)) sb = t.step(sb, u).state;
  for (const u of drives(m, 200, 12)) { sa = t.step(sa, u).state; sb = t.step(sb, u).state; }
  assert.ok(maxDiff([sa], [sb]) < 1e-6, `twin ${maxDiff([sa], [sb])}`);

  const bin = (2 * 4 * 32768) / 1024; // one LUT step in output counts at slope 1
  const a = new FpgaReservoir({}, 3);
  const b = new FpgaReservoir({}, 3);
  run(a, drives(a, 50, 10));
  run(b, drives(b, 50, 11));
  const common = drives(a, 300, 12);
  const ya = run(a, common).outputs;
  const yb = run(b, common).outputs;
  assert.ok(maxDiff(ya.slice(0, 1), yb.slice(0, 1)) > 20 * bin);
  assert.ok(maxDiff(ya.slice(100), yb.slice(100)) <= 4 * bin, `${maxDiff(ya.slice(100), yb.slice(100))}`);

  const c = new FpgaReservoir({ spectralRadius: 0.5 }, 3);
  const d = new FpgaReservoir({ spectralRadius: 0.5 }, 3);
  run(c, drives(c, 50, 10));
  run(d, drives(d, 50, 11));
  const dc = maxDiff(run(c, common).outputs.slice(100), run(d, common).outputs.slice(100));
  assert.ok(dc <= bin, `strong contraction: at most one LUT step apart, got ${dc}`);
});

test('status bits: out-of-range input sets bit 1; pre-activation past the LUT sets bit 2', () => {
  const m = new FpgaReservoir({}, 1);
  const out = new Float32Array(100);
  assert.is(m.step(Float32Array.of(32767), out) & STATUS_INPUT_CLIPPED, 0);
  assert.is(m.step(Float32Array.of(40000), out) & STATUS_INPUT_CLIPPED, STATUS_INPUT_CLIPPED);
  assert.is(m.step(Float32Array.of(-32769), out) & STATUS_INPUT_CLIPPED, STATUS_INPUT_CLIPPED);
  m.reset();
  assert.is(m.step(Float32Array.of(1000), out) & STATUS_OUTPUT_SATURATED, 0);
  const s = new FpgaReservoir({ lutRange: 1, inputScaling: 0.99, spectralRadius: 1.5 }, 1);
  const r = run(s, Array.from({ length: 20 }, () => constant(s, 32767)));
  assert.is(r.status & STATUS_OUTPUT_SATURATED, STATUS_OUTPUT_SATURATED);
});

test('latency delays the outputs by latencySamples', () => {
  const ins = drives(new FpgaReservoir({}, 1), 20, 5);
  const y0 = run(new FpgaReservoir({}, 2), ins).outputs;
  const y2 = run(new FpgaReservoir({ latencySamples: 2 }, 2), ins).outputs;
  assert.ok(y2.slice(0, 2).every((y) => y.every((v) => v === 0)));
  assert.is(maxDiff(y2.slice(2), y0.slice(0, 18)), 0);
});

test('invalid options throw RangeError naming the option', () => {
  const bad: [string, object][] = [
    ['units', { units: 0 }], ['density', { density: 0 }], ['density', { density: 1.5 }], ['spectralRadius', { spectralRadius: -1 }],
    ['inputScaling', { inputScaling: 1 }], ['lutSize', { lutSize: 1000 }], ['lutSize', { lutSize: 128 }], ['lutRange', { lutRange: 3 }],
    ['sampleRateHz', { sampleRateHz: 0 }], ['leak', { leak: 0.5 }],
  ];
  for (const [name, o] of bad) assert.throws(() => new FpgaReservoir(o, 1), rangeErrorNaming(name), name);
  assert.throws(() => new FpgaReservoir({ units: 2, density: 1e-9 }, 1), rangeErrorNaming('density'));
});

test('twin: with a 65536-entry LUT the model tracks the float twin (relative error < 2e-3)', () => {
  const m = new FpgaReservoir({ lutSize: 65536 }, 8);
  const e = twinRelativeError(m, drives(m, 300, 6), 0);
  assert.ok(e < 2e-3, `relative error ${e}`);
  const d = new FpgaReservoir({}, 8);
  assert.ok(twinRelativeError(d, drives(d, 300, 6), 0) < 0.03, 'default 1024-entry LUT still close');
});

test.run();
