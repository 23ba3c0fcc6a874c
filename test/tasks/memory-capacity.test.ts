import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { memoryTask, memoryCapacity } from '../../src/tasks/index.js';
import { close, same, throwsRangeNaming } from './helpers.js';

test('targets are the input delayed by k = 1..K, with real pre-window draws', () => {
  const { u, targets } = memoryTask(300, { maxDelay: 5 }, { seed: 3 });
  assert.is(u.length, 300);
  assert.is(targets.length, 5);
  assert.ok(u.every((x) => x >= -1 && x < 1));
  for (let k = 1; k <= 5; k++) {
    for (let t = k; t < 300; t++) if (targets[k - 1][t] !== u[t - k]) assert.unreachable(`k = ${k}, t = ${t}`);
    for (let t = 0; t < k; t++) assert.ok(targets[k - 1][t] >= -1 && targets[k - 1][t] < 1 && targets[k - 1][t] !== 0);
  }
  // the pre-window values line up across delays: u(-1) is targets[0][0] and targets[1][1]
  assert.is(targets[0][0], targets[1][1]);
});

test('a perfect delay line has MC = K; a memoryless predictor has MC about 0', () => {
  const K = 8;
  const { u, targets } = memoryTask(2000, { maxDelay: K }, { seed: 7 });
  close(memoryCapacity(targets, targets), K, 1e-9, 'MC of a perfect delay line');
  const scaled = targets.map((y) => y.map((v) => 3 * v - 1)); // r^2 ignores gain and offset
  close(memoryCapacity(scaled, targets), K, 1e-9, 'MC of an affine delay line');
  const noMemory = targets.map(() => u); // u(t) is independent of u(t - k)
  assert.ok(memoryCapacity(noMemory, targets) < 0.05);
  const constant = targets.map(() => new Float64Array(2000).fill(0.5));
  assert.is(memoryCapacity(constant, targets), 0);
});

test('same seed same data, different seed different data', () => {
  const a = memoryTask(100, {}, { seed: 1 });
  const b = memoryTask(100, {}, { seed: 1 });
  const c = memoryTask(100, {}, { seed: 2 });
  assert.is(a.targets.length, 20);
  assert.ok(same(a.u, b.u) && a.targets.every((t, k) => same(t, b.targets[k])));
  assert.not.ok(same(a.u, c.u));
});

test('invalid parameters and mismatched predictions throw RangeError', () => {
  throwsRangeNaming(() => memoryTask(0, {}, { seed: 1 }), 'n');
  throwsRangeNaming(() => memoryTask(10, { maxDelay: 0 }, { seed: 1 }), 'maxDelay');
  throwsRangeNaming(() => memoryTask(10, { K: 3 } as object, { seed: 1 }), 'K');
  throwsRangeNaming(() => memoryTask(10, {}, { seed: 0.5 }), 'seed');
  const { targets } = memoryTask(50, { maxDelay: 3 }, { seed: 1 });
  throwsRangeNaming(() => memoryCapacity(targets.slice(1), targets), 'predictions');
  throwsRangeNaming(() => memoryCapacity([], []), 'predictions');
  throwsRangeNaming(() => memoryCapacity(targets.map((t) => t.slice(1)), targets), 'pred');
});

test.run();
