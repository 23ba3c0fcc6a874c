import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type ProfileName, createModel, profiles } from '../../src/sim/index.js';
import { drives, maxDiff, rangeErrorNaming, run } from './helpers.js';

const names = Object.keys(profiles) as ProfileName[];

test('profiles include analog, optical and fpga', () => {
  for (const n of ['analog', 'optical', 'fpga']) assert.ok(names.includes(n as ProfileName), n);
});

test('every profile: deterministic per seed, outputs integer and within outRange, samplePeriodNs > 0', () => {
  for (const name of names) {
    const m = createModel(name, {}, 21);
    assert.is(m.name, profiles[name].kind);
    assert.ok(m.samplePeriodNs > 0);
    const ins = drives(m, 20, 2);
    const y = run(m, ins).outputs;
    assert.is(maxDiff(y, run(createModel(name, {}, 21), ins).outputs), 0, name);
    assert.ok(maxDiff(y, run(createModel(name, {}, 22), ins).outputs) > 0, name);
    for (const v of y.flatMap((o) => Array.from(o))) {
      assert.ok(Number.isInteger(v) && v >= m.outRange[0] && v <= m.outRange[1], `${name}: ${v}`);
    }
  }
});

test('profile options apply and overrides win over them', () => {
  const f = createModel('optical-feedback', {}, 1);
  assert.is(f.options.feedback, 0.3);
  assert.equal(f.outRange, [0, 1023]);
  assert.is(createModel('optical-feedback', { cameraBits: 12 }, 1).outRange[1], 4095);
  assert.is(createModel('analog', { nodes: 20 }, 1).outChannels, 20);
  assert.is(createModel('fpga-large', {}, 1).outChannels, 400);
  const awg = createModel('analog-awg', {}, 1);
  assert.equal([awg.inChannels, awg.outChannels, awg.options.gamma, awg.options.theta], [50, 50, 0.05, 0.5]);
});

test('unknown profile, invalid override or seed throws RangeError', () => {
  assert.throws(() => createModel('laser' as ProfileName, {}, 1), (e: unknown) => e instanceof RangeError && /laser/.test((e as Error).message));
  assert.throws(() => createModel('analog', { nodes: -2 }, 1), rangeErrorNaming('nodes'));
  assert.throws(() => createModel('analog', {}, -1), RangeError);
});

test.run();
