import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { memorylessWidth, narxWidth, surrogateDesigns } from '../../src/surrogate/designs.js';
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
});

test('designs: shapes and models per name', () => {
  const ds = surrogateDesigns(8, 16);
  assert.equal(ds.map((d) => [d.name, d.window, d.responseLags]), [['narx', 4, 1], ['memoryless', 1, 0], ['transmission', 1, 0]]);
  const [narx, mem, tm] = ds.map((d) => d.build(1));
  assert.ok(narx instanceof NarxSurrogate && mem instanceof NarxSurrogate && tm instanceof TransmissionSurrogate);
  assert.equal((mem as NarxSurrogate).hidden, [memorylessWidth(8, 16)]);
  for (const s of [narx, mem, tm]) s.dispose();
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
