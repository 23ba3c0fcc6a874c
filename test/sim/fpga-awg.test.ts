import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FpgaReservoir, createModel } from '../../src/sim/index.js';
import { drives, maxDiff, rangeErrorNaming, run, twinRelativeError } from './helpers.js';

/** Units whose output after one step from rest changes when only channel c is driven. */
function reached(m: FpgaReservoir, c: number): number[] {
  const zero = new Float32Array(m.inChannels);
  const one = new Float32Array(m.inChannels);
  one[c] = 32767;
  m.reset();
  const a = run(m, [zero]).outputs[0];
  m.reset();
  const b = run(m, [one]).outputs[0];
  return Array.from(a.keys()).filter((i) => a[i] !== b[i]);
}

test('fpga-awg: 50 inputs, 100 units; each channel reaches only its group of two units in one step', () => {
  const m = createModel('fpga-awg', {}, 4);
  assert.equal([m.inChannels, m.outChannels, m.options.inputWiring], [50, 100, 'grouped']);
  for (const c of [0, 17, 49]) {
    const units = reached(m, c);
    assert.ok(units.length >= 1 && units.every((i) => Math.floor(i / 2) === c), `channel ${c}: ${units.join(',')}`);
  }
  // a dense board reaches (almost) every unit from any one channel
  const dense = new FpgaReservoir({ inChannels: 50 }, 4);
  assert.ok(reached(dense, 17).length > 80);
});

test('fpga-awg: same W and per-unit input gains as fpga; dense wiring is unchanged by the option', () => {
  const awg = createModel('fpga-awg', {}, 9);
  const f = createModel('fpga', {}, 9);
  assert.is(awg.rawSpectralRadius, new FpgaReservoir({ inChannels: 50 }, 9).rawSpectralRadius);
  // the recurrent part is the same: with zero drive both boards run the same autonomous dynamics
  const zeroA = Array.from({ length: 30 }, () => new Float32Array(50));
  const zeroF = Array.from({ length: 30 }, () => new Float32Array(1));
  assert.ok(maxDiff(run(awg, zeroA).outputs, run(createModel('fpga-awg', {}, 9), zeroA).outputs) === 0);
  const yF = run(f, zeroF).outputs;
  assert.ok(maxDiff(run(new FpgaReservoir({ inChannels: 50, inputWiring: 'grouped' }, 9), zeroA).outputs, yF) === 0);
  // explicit 'dense' equals the default
  const ins = drives(f, 50, 3);
  assert.is(maxDiff(run(new FpgaReservoir({ inputWiring: 'dense' }, 9), ins).outputs, run(new FpgaReservoir({}, 9), ins).outputs), 0);
});

test('fpga-awg: twin matches the fixed-point board to within the table resolution', () => {
  const m = createModel('fpga-awg', {}, 2);
  const e = twinRelativeError(m, drives(m, 300, 5), 0);
  assert.ok(e < 0.05, `${e}`);
});

test('grouped wiring: bad values and more channels than units throw naming the option', () => {
  assert.throws(() => new FpgaReservoir({ inputWiring: 'star' as 'dense' }, 1), rangeErrorNaming('inputWiring'));
  assert.throws(() => new FpgaReservoir({ units: 10, inChannels: 11, inputWiring: 'grouped' }, 1), rangeErrorNaming('inChannels'));
});

test.run();
