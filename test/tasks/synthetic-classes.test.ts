import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { classAccuracy, syntheticClasses } from '../../src/tasks/index.js';
import { throwsRangeNaming } from './helpers.js';
import { trainTinyNet } from './tiny-nets.js';

const counts = (labels: Uint8Array, classes: number): number[] => {
  const c = new Array<number>(classes).fill(0);
  for (const y of labels) c[y]++;
  return c;
};
const sameArray = (a: ArrayLike<number>, b: ArrayLike<number>): boolean => a.length === b.length && Array.prototype.every.call(a, (x: number, i: number) => Object.is(x, b[i]));

test('shapes, defaults and exactly balanced classes', () => {
  const d = syntheticClasses({ seed: 1, trainCount: 203, testCount: 50, classes: 5, features: 7 });
  assert.is(d.name, 'synthetic-classes');
  assert.is(d.features, 7);
  assert.is(d.classes, 5);
  assert.is(d.train.count, 203);
  assert.is(d.train.x.length, 203 * 7);
  assert.is(d.train.labels.length, 203);
  assert.is(d.test.x.length, 50 * 7);
  assert.equal(counts(d.train.labels, 5), [41, 41, 41, 40, 40]);
  assert.equal(counts(d.test.labels, 5), [10, 10, 10, 10, 10]);
  assert.ok(d.train.x.every(Number.isFinite));
  assert.match(d.source, /seed 1/);
  const def = syntheticClasses({ seed: 1 });
  assert.is(def.features, 16);
  assert.is(def.classes, 4);
  assert.is(def.train.count, 2000);
  assert.is(def.test.count, 1000);
});

test('same seed same data, different seed different data', () => {
  const a = syntheticClasses({ seed: 4, trainCount: 300, testCount: 100 });
  const b = syntheticClasses({ seed: 4, trainCount: 300, testCount: 100 });
  const c = syntheticClasses({ seed: 5, trainCount: 300, testCount: 100 });
  assert.ok(sameArray(a.train.x, b.train.x) && sameArray(a.train.labels, b.train.labels) && sameArray(a.test.x, b.test.x));
  assert.not.ok(sameArray(a.train.x, c.train.x));
  assert.not.ok(sameArray(a.train.labels, c.train.labels));
  // Train and test are different draws, not one set cut in two.
  assert.not.ok(sameArray(a.train.x.subarray(0, 1600), a.test.x.subarray(0, 1600)));
});

test('label noise replaces about that fraction of labels and leaves the inputs alone', () => {
  const clean = syntheticClasses({ seed: 2, trainCount: 4000, testCount: 10 });
  const noisy = syntheticClasses({ seed: 2, trainCount: 4000, testCount: 10, noise: 0.2 });
  assert.ok(sameArray(clean.train.x, noisy.train.x));
  let changed = 0;
  for (let i = 0; i < 4000; i++) if (clean.train.labels[i] !== noisy.train.labels[i]) changed++;
  // A replaced label is drawn uniformly, so it keeps its value 1 time in 4: expect 0.2 * 3/4 = 15 %.
  const rate = changed / 4000;
  assert.ok(rate > 0.13 && rate < 0.17, `changed ${rate}`);
});

test('a linear classifier is clearly below a one-hidden-layer tanh network (seed 1)', () => {
  const d = syntheticClasses({ seed: 1 });
  const linear = trainTinyNet(d, { hidden: 0, epochs: 30, seed: 1 });
  const mlp = trainTinyNet(d, { hidden: 32, epochs: 30, seed: 1 });
  const lin = classAccuracy(linear.testLogits, d.test.labels, d.classes);
  const net = classAccuracy(mlp.testLogits, d.test.labels, d.classes);
  const linTrain = classAccuracy(linear.trainLogits, d.train.labels, d.classes);
  // Chance is 0.25: both learn something, the network clearly more, and the linear model's
  // shortfall is there on the training split too (it cannot fit the classes, not merely overfit).
  assert.ok(lin > 0.5, `linear ${lin}`);
  assert.ok(net > 0.88, `network ${net}`);
  assert.ok(net - lin > 0.07, `gap: linear ${lin}, network ${net}`);
  assert.ok(linTrain < 0.9, `linear on its training split ${linTrain}`);
});

test('bad options are RangeErrors naming the option', () => {
  throwsRangeNaming(() => syntheticClasses({ seed: 1, classes: 1 }), 'classes');
  throwsRangeNaming(() => syntheticClasses({ seed: 1, classes: 300 }), 'classes');
  throwsRangeNaming(() => syntheticClasses({ seed: 1, features: 0 }), 'features');
  throwsRangeNaming(() => syntheticClasses({ seed: 1, trainCount: 2.5 }), 'trainCount');
  throwsRangeNaming(() => syntheticClasses({ seed: 1, noise: 1 }), 'noise');
  throwsRangeNaming(() => syntheticClasses({ seed: 1, gain: 0 }), 'gain');
  throwsRangeNaming(() => syntheticClasses({ seed: -1 }), 'seed');
  throwsRangeNaming(() => syntheticClasses({ seed: 1, featurs: 3 } as never), 'featurs');
});

test.run();
