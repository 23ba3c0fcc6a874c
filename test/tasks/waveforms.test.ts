import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { waveforms, waveSample, accuracy, SINE, SQUARE } from '../../src/tasks/index.js';
import { same, throwsRangeNaming } from './helpers.js';

test('one period of each wave, sampled by hand', () => {
  const s = Math.SQRT1_2;
  const sine = Array.from({ length: 8 }, (_, j) => waveSample(SINE, j, 8));
  const expected = [0, s, 1, s, 0, -s, -1, -s];
  sine.forEach((v, j) => assert.ok(Math.abs(v - expected[j]) < 1e-15, `sine ${j}: ${v}`));
  assert.equal(Array.from({ length: 8 }, (_, j) => waveSample(SQUARE, j, 8)), [1, 1, 1, 1, -1, -1, -1, -1]);
});

test('every segment is one wave and its label says which', () => {
  const period = 8;
  const cycles = 2;
  const n = 16 * 20 + 5; // a cut last segment
  const { u, label } = waveforms(n, { period, cycles }, { seed: 11 });
  assert.is(u.length, n);
  const kinds = new Set<number>();
  for (let start = 0; start < n; start += period * cycles) {
    const kind = label[start];
    kinds.add(kind);
    for (let j = 0; j < period * cycles && start + j < n; j++) {
      assert.is(label[start + j], kind);
      assert.is(u[start + j], waveSample(kind as 0 | 1, j, period));
    }
  }
  assert.equal([...kinds].sort(), [0, 1]);
});

test('same seed same data, different seed different labels', () => {
  const a = waveforms(400, {}, { seed: 1 });
  const b = waveforms(400, {}, { seed: 1 });
  const c = waveforms(400, {}, { seed: 2 });
  assert.ok(same(a.u, b.u) && same(a.label, b.label));
  assert.not.ok(same(a.label, c.label));
});

test('accuracy thresholds at 0.5 and counts matches', () => {
  const label = [0, 0, 1, 1];
  assert.is(accuracy([0.1, 0.49, 0.5, 2], label), 1);
  assert.is(accuracy([0.6, 0.4, 0.4, 0.9], label), 0.5);
  assert.is(accuracy([1, 1, 0, 0], label), 0);
  assert.is(accuracy([0.2, 0.2, 0.2, 0.2], label, 0.1), 0.5);
  throwsRangeNaming(() => accuracy([0, 1], label), 'pred');
  throwsRangeNaming(() => accuracy([0, 1], [0, 2]), 'label');
});

test('invalid parameters throw RangeError naming the parameter', () => {
  throwsRangeNaming(() => waveforms(0, {}, { seed: 1 }), 'n');
  throwsRangeNaming(() => waveforms(10, { period: 1 }, { seed: 1 }), 'period');
  throwsRangeNaming(() => waveforms(10, { cycles: 0 }, { seed: 1 }), 'cycles');
  throwsRangeNaming(() => waveforms(10, { length: 4 } as object, { seed: 1 }), 'length');
});

test.run();
