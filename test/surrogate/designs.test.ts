import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NARX_BASE_WIDTH, STATE_VJP, memorylessWidth, narxWidth, stateWidth, surrogateDesigns } from '../../src/surrogate/designs.js';
import { NarxSurrogate } from '../../src/surrogate/narx.js';
import { TransmissionSurrogate } from '../../src/surrogate/transmission.js';
import { suggestTaps } from '../../src/train/device-memory.js';

test('width rules grow with the channel counts and keep the trainers\' 64 on sim:analog', () => {
  assert.is(narxWidth(1, 50, 4, 1), 64);
  assert.is(narxWidth(50, 50, 4, 1), 112);
  assert.is(narxWidth(1, 400, 4, 1), 416);
  assert.ok(narxWidth(1, 100, 4, 1) < narxWidth(1, 200, 4, 1));
  assert.is(narxWidth(1, 5000, 4, 1), 1024);
  assert.is(memorylessWidth(64, 128), 256);
  assert.is(memorylessWidth(1, 4), 64);
  assert.equal([stateWidth(4), stateWidth(50), stateWidth(200), stateWidth(5000)], [32, 64, 208, 1024]);
});

test('designs: shapes and models per name; NARX at the trainers\' width and at the scaled one when they differ', () => {
  const ds = surrogateDesigns(8, 16);
  assert.equal(ds.map((d) => [d.name, d.window, d.responseLags, d.hidden]), [['narx', 4, 1, [NARX_BASE_WIDTH]], ['narx', 4, 1, [32]], ['state', 1, 1, [32]], ['memoryless', 1, 0, [64]], ['transmission', 1, 0, undefined]]);
  // Only the state design's gradient runs along its response lag: its memory is there.
  assert.equal(ds.map((d) => d.vjp), [{}, {}, STATE_VJP, {}, {}]);
  assert.equal(STATE_VJP, { throughResponses: true, responseDecay: 0.5 });
  const [narx, narxScaled, state, mem, tm] = ds.map((d) => d.build(1));
  assert.ok(narx instanceof NarxSurrogate && narxScaled instanceof NarxSurrogate && state instanceof NarxSurrogate && mem instanceof NarxSurrogate && tm instanceof TransmissionSurrogate);
  assert.equal((narxScaled as NarxSurrogate).hidden, [narxWidth(8, 16, 4, 1)]);
  assert.equal((state as NarxSurrogate).hidden, [stateWidth(16)]);
  assert.equal((mem as NarxSurrogate).hidden, [memorylessWidth(8, 16)]);
  for (const s of [narx, narxScaled, state, mem, tm]) s.dispose();
  // sim:analog's scaled width is the trainers' own: one NARX candidate; analog-awg's is wider: two.
  assert.equal(surrogateDesigns(1, 50, { names: ['narx'] }).map((d) => d.hidden), [[64]]);
  assert.equal(surrogateDesigns(50, 50, { names: ['narx'] }).map((d) => d.hidden), [[64], [112]]);
  assert.equal(surrogateDesigns(8, 16, { names: ['memoryless'] }).map((d) => d.name), ['memoryless']);
  assert.throws(() => surrogateDesigns(8, 16, { names: ['grey' as 'narx'] }), /grey/);
});

test('taps cover what the device does not remember', () => {
  assert.is(suggestTaps(0, 20), 20);
  assert.is(suggestTaps(2, 20), 18);
  assert.is(suggestTaps(30, 20), 1);
  assert.throws(() => suggestTaps(1, 0), RangeError);
});

test.run();
