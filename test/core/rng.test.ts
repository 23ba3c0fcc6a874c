import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng } from '../../src/sim/index.js';
import { stats } from '../sim/helpers.js';

const draw = (r: Rng, n: number): number[] => Array.from({ length: n }, () => r.nextU32());

test('same seed gives the same stream, different seeds different streams', () => {
  assert.equal(draw(new Rng(7), 20), draw(new Rng(7), 20));
  assert.not.equal(draw(new Rng(7), 20), draw(new Rng(8), 20));
  assert.not.equal(draw(new Rng(0), 20), draw(new Rng(0xffffffff), 20));
});

test('fork depends on seed and label only, not on draws made before', () => {
  const a = new Rng(3);
  const b = new Rng(3);
  draw(b, 100);
  assert.equal(draw(a.fork('noise'), 10), draw(b.fork('noise'), 10));
  assert.not.equal(draw(a.fork('noise'), 10), draw(a.fork('mask'), 10));
  assert.not.equal(draw(a.fork('noise'), 10), draw(a, 10));
});

test('uniform is in [0, 1) with mean 1/2; normal has mean 0 and sd 1', () => {
  const r = new Rng(11);
  const u = Array.from({ length: 20000 }, () => r.uniform());
  assert.ok(u.every((x) => x >= 0 && x < 1));
  assert.ok(Math.abs(stats(u).mean - 0.5) < 0.01);
  const z = stats(Array.from({ length: 20000 }, () => r.normal()));
  assert.ok(Math.abs(z.mean) < 0.03, `mean ${z.mean}`);
  assert.ok(Math.abs(z.sd - 1) < 0.03, `sd ${z.sd}`);
});

test('a seed that is not a uint32 throws RangeError', () => {
  for (const s of [-1, 1.5, 2 ** 32, NaN]) assert.throws(() => new Rng(s), (e: unknown) => e instanceof RangeError && /seed/.test((e as Error).message));
});

test.run();
