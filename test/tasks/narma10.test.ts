import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { narma10, narma10Response } from '../../src/tasks/index.js';
import { Rng } from '../../src/core/rng.js';
import { same, throwsRangeNaming } from './helpers.js';

/** The recurrence in array form: y[t] = 0.3 y[t-1] + 0.05 y[t-1] sum_{i=0..9} y[t-1-i] + 1.5 u[t-9] u[t] + 0.1. */
function rhs(u: Float64Array, y: Float64Array, t: number): number {
  let sum = 0;
  for (let i = 0; i <= 9; i++) sum += y[t - 1 - i];
  return 0.3 * y[t - 1] + 0.05 * y[t - 1] * sum + 1.5 * u[t - 9] * u[t] + 0.1;
}

test('first values from zero initial conditions match a hand computation', () => {
  const u = Float64Array.from({ length: 12 }, (_, t) => 0.1 * (t % 5)); // 0 .1 .2 .3 .4 0 .1 .2 .3 .4 0 .1
  const { y, divergedAt } = narma10Response(u);
  assert.is(divergedAt, -1);
  assert.is(y[0], 0.1); // 0.3*0 + 0.05*0*0 + 1.5*u(-9)*u(0) + 0.1, u(-9) = 0
  assert.is(y[1], 0.3 * 0.1 + 0.05 * 0.1 * 0.1 + 0.1); // 0.1305
  const s2 = 0.1305 + 0.1;
  assert.is(y[2], 0.3 * 0.1305 + 0.05 * 0.1305 * s2 + 0.1);
  // t = 9: the first step where the input term is live, 1.5 * u[0] * u[9] = 1.5 * 0 * 0.4 = 0;
  // t = 10: 1.5 * u[1] * u[10] = 1.5 * 0.1 * 0 = 0; t = 11: 1.5 * u[2] * u[11] = 1.5 * 0.2 * 0.1 = 0.03
  const inputTerm = y[11] - (0.3 * y[10] + 0.05 * y[10] * y.slice(1, 11).reduce((a, b) => a + b, 0) + 0.1);
  assert.ok(Math.abs(inputTerm - 0.03) < 1e-12, `input term ${inputTerm}`);
});

test('the recurrence holds at every t >= 10 of generated data (after burn-in)', () => {
  const { u, y, redraws } = narma10(2000, {}, { seed: 1 });
  assert.is(u.length, 2000);
  assert.is(y.length, 2000);
  assert.is(redraws, 0);
  assert.ok(u.every((x) => x >= 0 && x < 0.5));
  for (let t = 10; t < y.length; t++) {
    const r = rhs(u, y, t);
    if (Math.abs(r - y[t]) > 1e-12 * Math.abs(r)) assert.unreachable(`t = ${t}: ${y[t]} vs ${r}`);
  }
  // burn-in: the window starts past the transient, not at the 0.1 of zero initial conditions
  assert.is.not(y[0], 0.1);
  const noBurn = narma10(50, { burnIn: 0 }, { seed: 1 });
  assert.is(noBurn.y[0], 0.1);
});

test('burn-in discards the first steps of the same draw', () => {
  const full = narma10(300, { burnIn: 0 }, { seed: 9 });
  const cut = narma10(100, { burnIn: 200 }, { seed: 9 });
  assert.ok(same(full.u.slice(200), cut.u));
  assert.ok(same(full.y.slice(200), cut.y));
});

test('same seed same data, different seed different data', () => {
  const a = narma10(500, {}, { seed: 42 });
  const b = narma10(500, {}, { seed: 42 });
  const c = narma10(500, {}, { seed: 43 });
  assert.ok(same(a.u, b.u) && same(a.y, b.y));
  assert.not.ok(same(a.u, c.u));
  assert.not.ok(same(a.y, c.y));
});

test('a diverging draw is replaced by a re-draw from a forked stream, or throws', () => {
  const params = { inputHigh: 0.55, maxRedraws: 10 };
  let seed = -1;
  for (let s = 0; s < 50 && seed < 0; s++) if (narma10(1000, params, { seed: s }).redraws > 0) seed = s;
  assert.ok(seed >= 0, 'no seed in 0..49 needed a re-draw');
  // the first draw really diverges
  const rng = new Rng(seed).fork('narma10');
  const u0 = Float64Array.from({ length: 1200 }, () => rng.range(0, 0.55));
  assert.ok(narma10Response(u0, 10).divergedAt >= 0);
  // the returned one is bounded and still satisfies the exact recurrence
  const { u, y } = narma10(1000, params, { seed });
  assert.ok(y.every((v) => Number.isFinite(v) && Math.abs(v) <= 10));
  for (let t = 10; t < y.length; t++) if (Math.abs(rhs(u, y, t) - y[t]) > 1e-12 * Math.abs(y[t])) assert.unreachable(`t = ${t}`);
  assert.throws(() => narma10(1000, { ...params, onDivergence: 'throw' }, { seed }), /diverged/);
  assert.throws(() => narma10(500, { inputHigh: 0.8, maxRedraws: 2 }, { seed: 0 }), /diverged on all 3 draws/);
});

test('narma10Response stops at the first step beyond the bound', () => {
  const u = new Float64Array(200).fill(1);
  const { y, divergedAt } = narma10Response(u, 10);
  assert.ok(divergedAt > 0);
  assert.ok(Math.abs(y[divergedAt]) > 10);
  assert.ok(Math.abs(y[divergedAt - 1]) <= 10);
});

test('invalid parameters throw RangeError naming the parameter', () => {
  const s = { seed: 1 };
  throwsRangeNaming(() => narma10(0, {}, s), 'n');
  throwsRangeNaming(() => narma10(2.5, {}, s), 'n');
  throwsRangeNaming(() => narma10(10, {}, { seed: -1 }), 'seed');
  throwsRangeNaming(() => narma10(10, { burnIn: -1 }, s), 'burnIn');
  throwsRangeNaming(() => narma10(10, { inputHigh: 0 }, s), 'inputHigh');
  throwsRangeNaming(() => narma10(10, { inputLow: NaN }, s), 'inputLow');
  throwsRangeNaming(() => narma10(10, { divergenceBound: 0 }, s), 'divergenceBound');
  throwsRangeNaming(() => narma10(10, { onDivergence: 'clip' as 'throw' }, s), 'onDivergence');
  throwsRangeNaming(() => narma10(10, { maxRedraws: 1.5 }, s), 'maxRedraws');
  throwsRangeNaming(() => narma10(10, { burnin: 5 } as object, s), 'burnin');
});

test.run();
