import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mackeyGlass, oneStepDataset, multiStepDataset } from '../../src/tasks/index.js';
import { close, same, throwsRangeNaming } from './helpers.js';

test('while t <= tau the delayed term is the constant history, so x follows the closed form', () => {
  // dx/dt = c - gamma x with c = beta x0 / (1 + x0^10): x(t) = c/gamma + (x0 - c/gamma) e^(-gamma t)
  const x0 = 1.2;
  const c = (0.2 * x0) / (1 + x0 ** 10);
  const x = mackeyGlass(17, { burnIn: 0, perturbation: 0 }, { seed: 0 });
  for (let j = 0; j < 17; j++) {
    const t = j + 1; // sample j is x((j + 1) * sampleStep)
    close(x[j], c / 0.1 + (x0 - c / 0.1) * Math.exp(-0.1 * t), 1e-10, `x(${t})`);
  }
});

test('the chaotic tau = 17 series stays in about [0.2, 1.4] and is not periodic-flat', () => {
  const x = mackeyGlass(3000, {}, { seed: 1 });
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of x) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  assert.ok(lo > 0.2 && hi < 1.4, `range [${lo}, ${hi}]`);
  assert.ok(hi - lo > 0.7, `range [${lo}, ${hi}] too narrow for the chaotic regime`);
});

test('RK4 with h = 0.1 stays close to h = 0.01 over 300 time units', () => {
  const p = { burnIn: 0, perturbation: 0 };
  const a = mackeyGlass(300, p, { seed: 0 });
  const b = mackeyGlass(300, { ...p, h: 0.01 }, { seed: 0 });
  let maxDiff = 0;
  for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
  assert.ok(maxDiff < 1e-3, `max |x_0.1 - x_0.01| = ${maxDiff}`);
  assert.ok(maxDiff > 0, 'different steps should not give identical series');
});

test('sampleStep and burn-in index the same trajectory', () => {
  const p = { perturbation: 0.2 };
  const fine = mackeyGlass(100, { ...p, burnIn: 0, sampleStep: 0.5 }, { seed: 4 });
  const coarse = mackeyGlass(50, { ...p, burnIn: 0 }, { seed: 4 });
  for (let j = 0; j < 50; j++) assert.is(fine[2 * j + 1], coarse[j]);
  const cut = mackeyGlass(20, { ...p, burnIn: 30 }, { seed: 4 });
  assert.ok(same(coarse.slice(30), cut));
});

test('same seed same series, different seed different series; perturbation 0 ignores the seed', () => {
  assert.ok(same(mackeyGlass(200, {}, { seed: 5 }), mackeyGlass(200, {}, { seed: 5 })));
  assert.not.ok(same(mackeyGlass(200, {}, { seed: 5 }), mackeyGlass(200, {}, { seed: 6 })));
  assert.ok(same(mackeyGlass(50, { perturbation: 0 }, { seed: 5 }), mackeyGlass(50, { perturbation: 0 }, { seed: 6 })));
});

test('one-step and multi-step datasets pair x(t) with x(t+1) .. x(t+k)', () => {
  const x = Float64Array.from([10, 11, 12, 13, 14]);
  const one = oneStepDataset(x);
  assert.equal(Array.from(one.input), [10, 11, 12, 13]);
  assert.equal(Array.from(one.target), [11, 12, 13, 14]);
  const multi = multiStepDataset(x, 2);
  assert.equal(Array.from(multi.input), [10, 11, 12]);
  assert.equal(Array.from(multi.targets), [11, 12, 12, 13, 13, 14]);
  throwsRangeNaming(() => multiStepDataset(x, 0), 'horizon');
  throwsRangeNaming(() => multiStepDataset(x, 5), 'series');
  throwsRangeNaming(() => oneStepDataset(x.slice(0, 1)), 'series');
});

test('invalid parameters throw RangeError naming the parameter', () => {
  const s = { seed: 0 };
  throwsRangeNaming(() => mackeyGlass(0, {}, s), 'n');
  throwsRangeNaming(() => mackeyGlass(10, { h: 0 }, s), 'h');
  throwsRangeNaming(() => mackeyGlass(10, { h: 0.3 }, s), 'h'); // 1 / 0.3 is not whole
  throwsRangeNaming(() => mackeyGlass(10, { tau: 0.01 }, s), 'tau');
  throwsRangeNaming(() => mackeyGlass(10, { beta: -1 }, s), 'beta');
  throwsRangeNaming(() => mackeyGlass(10, { gamma: Infinity }, s), 'gamma');
  throwsRangeNaming(() => mackeyGlass(10, { exponent: 0 }, s), 'exponent');
  throwsRangeNaming(() => mackeyGlass(10, { sampleStep: -1 }, s), 'sampleStep');
  throwsRangeNaming(() => mackeyGlass(10, { x0: 0 }, s), 'x0');
  throwsRangeNaming(() => mackeyGlass(10, { perturbation: 5 }, s), 'perturbation');
  throwsRangeNaming(() => mackeyGlass(10, { burnIn: 0.5 }, s), 'burnIn');
  throwsRangeNaming(() => mackeyGlass(10, { a: 0.2 } as object, s), 'a');
});

test.run();
