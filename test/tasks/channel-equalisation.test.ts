import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { channelEqualisation, nearestSymbol, symbolErrorRate, variance } from '../../src/tasks/index.js';
import { close, same, throwsRangeNaming } from './helpers.js';

test('q and u follow the channel equations at every t (noiseless)', () => {
  const { u, q, target, symbols, symbolOffset } = channelEqualisation(200, { snrDb: Infinity }, { seed: 2 });
  const d = (t: number): number => symbols[t + symbolOffset];
  assert.is(symbolOffset, 7);
  assert.is(symbols.length, 7 + 200 + 2);
  assert.ok(symbols.every((s) => [-3, -1, 1, 3].includes(s)));
  for (const t of [0, 1, 2, 57, 199]) {
    const qt = 0.08 * d(t + 2) - 0.12 * d(t + 1) + d(t) + 0.18 * d(t - 1) - 0.1 * d(t - 2) + 0.091 * d(t - 3)
      - 0.05 * d(t - 4) + 0.04 * d(t - 5) + 0.03 * d(t - 6) + 0.01 * d(t - 7);
    close(q[t], qt, 1e-12, `q(${t})`);
    close(u[t], qt + 0.036 * qt ** 2 - 0.011 * qt ** 3, 1e-12, `u(${t})`);
    assert.is(target[t], d(t - 2));
  }
});

test('noise has the requested SNR and does not change the symbols', () => {
  const clean = channelEqualisation(20000, { snrDb: Infinity }, { seed: 5 });
  const noisy = channelEqualisation(20000, { snrDb: 12 }, { seed: 5 });
  assert.ok(same(clean.symbols, noisy.symbols));
  assert.ok(same(clean.q, noisy.q));
  const noise = noisy.u.map((v, t) => v - clean.u[t]);
  const signalPower = clean.u.reduce((a, v) => a + v * v, 0) / clean.u.length;
  const snr = 10 * Math.log10(signalPower / variance(noise));
  close(snr, 12, 0.1, 'empirical SNR (dB)');
});

test('delay moves the target: target[t] = d(t - delay)', () => {
  const a = channelEqualisation(100, { delay: 9 }, { seed: 3 });
  assert.is(a.symbolOffset, 9);
  for (let t = 0; t < 100; t++) assert.is(a.target[t], a.symbols[t - 9 + a.symbolOffset]);
});

test('same seed same data, different seed different data', () => {
  const a = channelEqualisation(300, {}, { seed: 1 });
  const b = channelEqualisation(300, {}, { seed: 1 });
  const c = channelEqualisation(300, {}, { seed: 2 });
  assert.ok(same(a.u, b.u) && same(a.target, b.target));
  assert.not.ok(same(a.u, c.u));
  assert.not.ok(same(a.target, c.target));
});

test('symbol error rate quantises to the nearest symbol', () => {
  assert.equal([-9, -2.1, -1.9, -0.2, 0.2, 1.9, 2.1, 9].map(nearestSymbol), [-3, -3, -1, -1, 1, 1, 3, 3]);
  assert.is(symbolErrorRate([2.9, -0.8, 0.3, -3.4], [3, -1, 1, -3]), 0);
  assert.is(symbolErrorRate([2.9, 0.8, 0.3, -1.4], [3, -1, 1, -3]), 0.5);
  throwsRangeNaming(() => symbolErrorRate([1], [1, 3]), 'pred');
  throwsRangeNaming(() => symbolErrorRate([1, 1], [1, 2]), 'target');
});

test('invalid parameters throw RangeError naming the parameter', () => {
  throwsRangeNaming(() => channelEqualisation(0, {}, { seed: 1 }), 'n');
  throwsRangeNaming(() => channelEqualisation(10, { snrDb: NaN }, { seed: 1 }), 'snrDb');
  throwsRangeNaming(() => channelEqualisation(10, { delay: -1 }, { seed: 1 }), 'delay');
  throwsRangeNaming(() => channelEqualisation(10, { snr: 20 } as object, { seed: 1 }), 'snr');
});

test.run();
