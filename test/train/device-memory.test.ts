import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { deviceMemory } from '../../src/train/device-memory.js';
import type { Measurer } from '../../src/train/spot-check.js';

/** A shift register: 2 drive channels, 3 responses = channel 0's drive now, one and two steps ago. */
const shift: Measurer = async (d) => {
  const T = d.length / 2;
  const r = new Float32Array(T * 3);
  for (let t = 0; t < T; t++) for (let k = 0; k < 3; k++) r[t * 3 + k] = t - k >= 0 ? 0.5 + 0.5 * d[(t - k) * 2] : 0.5;
  return { drives: Float32Array.from(d), responses: r, samples: T, breaks: 0 };
};

test('a two-step shift register: recall 1 up to delay 2 and 0 beyond, capacity 2, reach 2', async () => {
  const m = await deviceMemory(shift, { inChannels: 2, outChannels: 3, seed: 4, maxDelay: 6 });
  assert.is(m.recall.length, 7);
  for (let k = 0; k <= 2; k++) assert.ok(m.recall[k] > 0.999, `recall[${k}] ${m.recall[k]}`);
  for (let k = 3; k <= 6; k++) assert.ok(m.recall[k] < 0.02, `recall[${k}] ${m.recall[k]}`);
  assert.ok(Math.abs(m.capacity - 2) < 0.1, `${m.capacity}`);
  assert.is(m.reach, 2);
  assert.is(m.samples, 1000);
});

test.run();
