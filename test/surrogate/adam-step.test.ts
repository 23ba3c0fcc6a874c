import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/core/rng.js';
import { NarxAdam } from '../../src/surrogate/adam-step.js';
import { NarxSurrogate, type NarxJSON } from '../../src/surrogate/narx.js';
import { fitJSONInSlices } from '../../src/surrogate/refit.js';
import type { Examples } from '../../src/surrogate/windows.js';
import { randomExamples } from './helpers.js';

test.before(async () => {
  await tf.setBackend('cpu');
});

const SHAPE = { inChannels: 2, outChannels: 3, window: 3, responseLags: 2 };

function rowsOf(ex: Examples, idx: Int32Array): Examples {
  const pick = (a: Float32Array, w: number) => Float32Array.from(Array.from(idx).flatMap((i) => Array.from(a.subarray(i * w, (i + 1) * w))));
  const w = { drives: SHAPE.window * SHAPE.inChannels, history: SHAPE.responseLags * SHAPE.outChannels, targets: SHAPE.outChannels };
  return { count: idx.length, drives: pick(ex.drives, w.drives), history: pick(ex.history, w.history), targets: pick(ex.targets, w.targets) };
}

test('NarxAdam steps match tf.variableGrads + tf.train.adam on the normalised MSE (one and two hidden layers, 5 steps)', () => {
  const rng = new Rng(7);
  const ex = randomExamples(SHAPE, 200, rng);
  const batches = Array.from({ length: 5 }, () => Int32Array.from({ length: 32 }, () => rng.int(ex.count)));
  for (const hidden of [[16], [12, 8]]) {
    const tensors = tf.memory().numTensors;
    const mine = new NarxSurrogate({ ...SHAPE, hidden, seed: 3 });
    mine.fit(ex, { epochs: 0 });   // the normalisation both start from
    const ref = NarxSurrogate.fromJSON(mine.toJSON());
    const { yStd } = ref.toJSON();
    const weight = tf.tensor1d(yStd.map((s) => 1 / (s * s)));
    const opt: tf.Optimizer = tf.train.adam(0.01);
    const adam = new NarxAdam(mine, ex, 0.01);
    for (const idx of batches) {
      const batch = rowsOf(ex, idx);
      const refLoss = tf.tidy(() => {
        const y = tf.tensor2d(batch.targets, [batch.count, SHAPE.outChannels]);
        const { value, grads } = tf.variableGrads(() => tf.mean(tf.mul(tf.squaredDifference(ref.predictExamples(batch), y), weight)) as tf.Scalar, ref.variables);
        opt.applyGradients(grads);
        return value.dataSync()[0];
      });
      const loss = adam.step(idx);
      assert.ok(Math.abs(loss - refLoss) <= 1e-5 * refLoss, `loss ${loss} vs ${refLoss}`);
    }
    adam.store(mine);
    const flat = (x: NarxSurrogate) => x.toJSON().layers.flatMap((l) => [...l.w, ...l.b]);
    const init = new NarxSurrogate({ ...SHAPE, hidden, seed: 3 });
    const a = flat(mine), b = flat(ref), w0 = flat(init);
    const moved = w0.reduce((m, w, i) => Math.max(m, Math.abs(b[i] - w)), 0);
    const err = a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
    assert.ok(moved > 0.01, `the reference moved the weights by ${moved}`);
    assert.ok(err < 1e-3 * moved, `hidden ${hidden.join(',')}: max weight difference ${err} (steps moved them by up to ${moved})`);
    [mine, ref, init].forEach((x) => x.dispose());
    weight.dispose();
    opt.dispose();
    assert.is(tf.memory().numTensors, tensors, 'NarxAdam keeps no tensors');
  }
});

test('store() writes the weights into the surrogate; steps alone do not', () => {
  const rng = new Rng(8);
  const ex = randomExamples(SHAPE, 64, rng);
  const s = new NarxSurrogate({ ...SHAPE, hidden: [8], seed: 1 });
  s.fit(ex, { epochs: 0 });
  const before = s.toJSON().layers[0].w;
  const adam = new NarxAdam(s, ex, 0.05);
  adam.step(Int32Array.from({ length: 16 }, (_, i) => i));
  assert.equal(s.toJSON().layers[0].w, before);
  adam.store(s);
  assert.not.equal(s.toJSON().layers[0].w, before);
  s.dispose();
});

test('fitJSONInSlices, sliced or not, gives the weights NarxSurrogate.fit gives in place (one fit path), first fit (normalisation) and refit', async () => {
  const rng = new Rng(9);
  const ex = randomExamples(SHAPE, 300, rng), more = randomExamples(SHAPE, 300, rng);
  const opts = { epochs: 3, batchSize: 32, learningRate: 0.01, seed: 4 };
  const inPlace = new NarxSurrogate({ ...SHAPE, hidden: [16], seed: 5 });
  const start = inPlace.toJSON();
  inPlace.fit(ex, opts);
  inPlace.fit(more, { ...opts, seed: 6 });
  const first = await fitJSONInSlices(start, ex, { ...opts, sliceMs: 0 }) as NarxJSON | undefined;
  const second = await fitJSONInSlices(first!, more, { ...opts, seed: 6, sliceMs: Infinity }) as NarxJSON | undefined;
  assert.ok(first!.normalized && first!.xMean.some((m) => m !== 0), 'the first fit set the normalisation');
  assert.equal(second, inPlace.toJSON());
  assert.not.equal(second!.layers, start.layers);
  inPlace.dispose();
});

test.run();
