/**
 * A seeded synthetic classification task for fast tests of classification through a device
 * (issue 12): labels come from a random "teacher" network with one saturating tanh hidden layer,
 *
 *   x ~ N(0, I_features),   h = tanh(gain · W1 x / sqrt(features) + b1),   y = argmax_c (W2 h + b2)_c,
 *
 * W1, b1, W2 ~ N(0, 1) drawn from the seed. The classes are therefore unions of regions cut by
 * `teacherUnits` bent hyperplanes: a linear classifier cannot separate them, a network with one
 * nonlinear hidden layer can (it has the teacher's form), so a physical nonlinear layer has
 * something to add. b2 is set from a calibration sample so that every class is about equally
 * likely, and each split then holds exactly its share of each class (a split of `count` examples
 * has floor(count / classes) or one more per class, drawn by rejection), so chance is 1 / classes
 * and a majority vote earns nothing. `noise` replaces that fraction of labels by a uniform class
 * (the best reachable accuracy is then 1 - noise + noise / classes).
 *
 * Measured at the defaults (features 16, classes 4, 2000 train / 1000 test), both trained by
 * minibatch Adam for 30 epochs (test/tasks/tiny-nets.ts): a linear softmax classifier reaches
 * test accuracy 0.82 / 0.73 / 0.70 on seeds 1 / 2 / 3, a network with 32 tanh hidden units
 * 0.92 / 0.88 / 0.87 (and 1.00 / 1.00 / 0.99 on the training split, so the gap is the model class,
 * not the optimiser). test/tasks/synthetic-classes.test.ts asserts the gap on seed 1.
 *
 * ```ts
 * const data = syntheticClasses({ seed: 1 });           // 16 features, 4 classes
 * data.train.x.subarray(0, data.features);              // first example
 * data.train.labels[0];                                 // its class
 * ```
 */
import { Rng, checkSeed } from '../core/rng.js';
import { checkInt, checkKeys, checkNumber } from '../core/validate.js';
import type { ClassSet, ClassSplit } from './classes.js';
import { MAX_CLASSES } from './class-metrics.js';

export interface SyntheticClassesOptions {
  /** Input width. Defaults to 16. */
  features?: number;
  /** Number of classes, in [2, 256]. Defaults to 4. */
  classes?: number;
  /** Training examples. Defaults to 2000. */
  trainCount?: number;
  /** Test examples. Defaults to 1000. */
  testCount?: number;
  /** Hidden tanh units of the teacher network: more units, more intricate class boundaries. Defaults to 8. */
  teacherUnits?: number;
  /** Pre-activation scale of the teacher's hidden layer: larger is more saturated, hence less linear. Defaults to 3. */
  gain?: number;
  /** Fraction of labels replaced by a uniformly drawn class, in [0, 1). Defaults to 0. */
  noise?: number;
  /** uint32; the teacher, the inputs and the label noise all derive from it. */
  seed: number;
}

export const syntheticClassesDefaults = Object.freeze({
  features: 16,
  classes: 4,
  trainCount: 2000,
  testCount: 1000,
  teacherUnits: 8,
  gain: 3,
  noise: 0,
});

/** Examples drawn to set the output biases; enough that each class's share is known to about 1 %. */
const CALIBRATION_SAMPLES = 4000;
/** Rejection sampling gives up after this many draws per requested example (a class too rare to fill). */
const MAX_DRAWS_PER_EXAMPLE = 200;

/** The teacher network: fixed weights, and a function from one input row to its logits. */
class Teacher {
  private readonly w1: Float64Array;
  private readonly b1: Float64Array;
  private readonly w2: Float64Array;
  readonly b2: Float64Array;
  private readonly h: Float64Array;

  constructor(rng: Rng, readonly features: number, readonly units: number, readonly classes: number, gain: number) {
    const scale = gain / Math.sqrt(features);
    this.w1 = Float64Array.from({ length: units * features }, () => scale * rng.normal());
    this.b1 = Float64Array.from({ length: units }, () => rng.normal());
    this.w2 = Float64Array.from({ length: classes * units }, () => rng.normal());
    this.b2 = new Float64Array(classes);
    this.h = new Float64Array(units);
  }

  /** Writes the logits of input `x` into `out` (length classes). */
  logits(x: ArrayLike<number>, out: Float64Array): void {
    const { features, units, classes, h } = this;
    for (let j = 0; j < units; j++) {
      let a = this.b1[j];
      for (let i = 0; i < features; i++) a += this.w1[j * features + i] * x[i];
      h[j] = Math.tanh(a);
    }
    for (let c = 0; c < classes; c++) {
      let z = this.b2[c];
      for (let j = 0; j < units; j++) z += this.w2[c * units + j] * h[j];
      out[c] = z;
    }
  }

  label(x: ArrayLike<number>, scratch: Float64Array): number {
    this.logits(x, scratch);
    let best = 0;
    for (let c = 1; c < this.classes; c++) if (scratch[c] > scratch[best]) best = c;
    return best;
  }

  /**
   * Moves b2 until each class takes about 1 / classes of `xs`: a few rounds of
   * b2_c += step · (1/classes - share_c), the balance a softmax's bias gradient would seek.
   * Without it a random teacher often leaves one class with a few percent of the inputs.
   */
  balance(xs: Float64Array, count: number): void {
    const { features, classes } = this;
    const scratch = new Float64Array(classes);
    const share = new Float64Array(classes);
    for (let round = 0; round < 60; round++) {
      share.fill(0);
      for (let n = 0; n < count; n++) share[this.label(xs.subarray(n * features, (n + 1) * features), scratch)] += 1 / count;
      let worst = 0;
      for (let c = 0; c < classes; c++) worst = Math.max(worst, Math.abs(share[c] - 1 / classes));
      if (worst < 0.02) return;
      for (let c = 0; c < classes; c++) this.b2[c] += 2 * (1 / classes - share[c]);
    }
  }
}

/** Draws `count` examples with exactly floor(count / classes) (or one more) of each class, in random order. */
function drawSplit(teacher: Teacher, rng: Rng, count: number, noise: number, noiseRng: Rng, split: string): ClassSplit {
  const { features, classes } = teacher;
  const quota = Array.from({ length: classes }, (_, c) => Math.floor(count / classes) + (c < count % classes ? 1 : 0));
  const x = new Float32Array(count * features);
  const labels = new Uint8Array(count);
  const row = new Float64Array(features);
  const scratch = new Float64Array(classes);
  let filled = 0;
  for (let draws = 0; filled < count; draws++) {
    if (draws > MAX_DRAWS_PER_EXAMPLE * count) {
      const short = quota.findIndex((q) => q > 0);
      throw new RangeError(`seed: the teacher network of this seed gives class ${short} too few inputs to fill the ${split} split; try another seed, or more teacherUnits`);
    }
    for (let i = 0; i < features; i++) row[i] = rng.normal();
    const y = teacher.label(row, scratch);
    if (quota[y] === 0) continue;
    quota[y]--;
    x.set(row, filled * features);
    labels[filled++] = y;
  }
  // Accepted examples arrive class by class as quotas fill; shuffle so order says nothing of the label.
  shuffleRows(x, labels, features, rng);
  for (let n = 0; n < count; n++) if (noise > 0 && noiseRng.uniform() < noise) labels[n] = noiseRng.int(classes);
  return { count, x, labels };
}

/** Fisher-Yates shuffle of rows of `x` together with their labels. */
function shuffleRows(x: Float32Array, labels: Uint8Array, width: number, rng: Rng): void {
  const tmp = new Float32Array(width);
  for (let i = labels.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    if (j === i) continue;
    tmp.set(x.subarray(i * width, (i + 1) * width));
    x.copyWithin(i * width, j * width, (j + 1) * width);
    x.set(tmp, j * width);
    const l = labels[i];
    labels[i] = labels[j];
    labels[j] = l;
  }
}

/** The synthetic task: a seeded teacher network's labels on Gaussian inputs (see the module comment). */
export function syntheticClasses(options: SyntheticClassesOptions): ClassSet {
  checkKeys(options, [...Object.keys(syntheticClassesDefaults), 'seed'], 'syntheticClasses');
  const o = { ...syntheticClassesDefaults, ...options };
  const seed = checkSeed(o.seed);
  const features = checkInt(o.features, 'features', 1);
  const classes = checkInt(o.classes, 'classes', 2, MAX_CLASSES);
  const trainCount = checkInt(o.trainCount, 'trainCount', 1);
  const testCount = checkInt(o.testCount, 'testCount', 1);
  const teacherUnits = checkInt(o.teacherUnits, 'teacherUnits', 1);
  const gain = checkNumber(o.gain, 'gain', { gt: 0 });
  const noise = checkNumber(o.noise, 'noise', { min: 0 });
  if (noise >= 1) throw new RangeError(`noise must be a fraction in [0, 1), got ${noise}`);

  const rng = new Rng(seed);
  const teacher = new Teacher(rng.fork('teacher'), features, teacherUnits, classes, gain);
  const calibration = rng.fork('calibration');
  teacher.balance(Float64Array.from({ length: CALIBRATION_SAMPLES * features }, () => calibration.normal()), CALIBRATION_SAMPLES);
  return {
    name: 'synthetic-classes',
    features,
    classes,
    train: drawSplit(teacher, rng.fork('train'), trainCount, noise, rng.fork('train-noise'), 'train'),
    test: drawSplit(teacher, rng.fork('test'), testCount, noise, rng.fork('test-noise'), 'test'),
    source: `syntheticClasses (reservoir-hil): labels of a random tanh teacher network (${features} inputs, ${teacherUnits} hidden units, gain ${gain}) `
      + `on N(0, I) inputs, ${classes} balanced classes, label noise ${noise}, seed ${seed}`,
  };
}
