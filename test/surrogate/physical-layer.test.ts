import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/core/rng.js';
import { NarxSurrogate } from '../../src/surrogate/narx.js';
import { physicalLayer } from '../../src/surrogate/physical-layer.js';
import { diff, randn, randomExamples } from './helpers.js';

test.before(async () => {
  await tf.setBackend('cpu');
});

const T = 12, IN = 2, OUT = 3, X = 4, K = 2;

/** input x [T, X] → drives = tanh(x Wd + bd) [T, IN] → device [T, OUT] → readout y Wr [T, K] → MSE. */
function model(rng: Rng, window: number, responseLags: number) {
  const s = new NarxSurrogate({ inChannels: IN, outChannels: OUT, window, responseLags, hidden: [12], seed: 3 });
  s.fit(randomExamples(s.shape, 100, rng), { epochs: 0 });
  const x = randn(rng, T, X), target = randn(rng, T, K);
  const wd = tf.variable(randn(rng, X, IN, 0, 0.5)), bd = tf.variable(tf.zeros([IN]));
  const wr = tf.variable(randn(rng, OUT, K, 0, 0.5));
  const encode = () => tf.tanh(tf.add<tf.Tensor2D>(tf.matMul(x, wd), bd));
  const lossOf = (y: tf.Tensor2D) => tf.mean(tf.squaredDifference(tf.matMul(y, wr), target)) as tf.Scalar;
  const dispose = () => { s.dispose(); tf.dispose([x, target, wd, bd, wr]); };
  return { s, x, target, wd, bd, wr, encode, lossOf, dispose };
}

test('the forward value is the measured response, exactly', () => {
  const m = model(new Rng(1), 3, 1);
  const measured = randn(new Rng(2), T, OUT, 0, 5);
  const y = tf.tidy(() => physicalLayer(m.s, measured)(m.encode()));
  assert.equal(Array.from(y.dataSync()), Array.from(measured.dataSync()));
  assert.throws(() => physicalLayer(m.s, measured)(tf.zeros([T - 1, IN]) as tf.Tensor2D), /do not match measured/);
  tf.dispose([y, measured]);
  m.dispose();
});

for (const [window, responseLags] of [[1, 0], [4, 0], [4, 2]]) {
  test(`gradients through the layer are the chain rule with the surrogate VJP (W=${window}, R=${responseLags})`, () => {
    const rng = new Rng(10 + window + responseLags);
    const m = model(rng, window, responseLags);
    const measured = randn(rng, T, OUT, 0.2, 1.5);
    const history = { drives: randn(rng, window - 1, IN), responses: randn(rng, responseLags, OUT) };
    const layer = physicalLayer(m.s, measured, history);
    const { value, grads } = tf.variableGrads(() => m.lossOf(layer(m.encode())), [m.wd, m.bd, m.wr]);
    // By hand: r = y Wr - target, L = mean(r²) with y = measured.
    const expected = tf.tidy(() => {
      const d = m.encode();
      const gr = tf.mul(tf.sub(tf.matMul(measured, m.wr), m.target), 2 / (T * K)) as tf.Tensor2D;
      const gy = tf.matMul(gr, m.wr, false, true) as tf.Tensor2D;
      const gd = m.s.vjpSeq(d, gy, { ...history, measured });
      const gz = tf.mul(gd, tf.sub(1, tf.square(d))) as tf.Tensor2D;
      return { wd: tf.matMul(m.x, gz, true, false), bd: tf.sum(gz, 0), wr: tf.matMul(measured, gr, true, false) };
    });
    for (const [k, v] of [[m.wd, expected.wd], [m.bd, expected.bd], [m.wr, expected.wr]] as const) {
      const { maxAbs, scale } = diff(grads[k.name], v);
      assert.ok(scale > 1e-4 && maxAbs <= 1e-5 * scale, `${k.name}: ${maxAbs} vs ${scale}`);
    }
    tf.dispose([value, ...Object.values(grads), ...Object.values(expected), measured, history.drives, history.responses]);
    m.dispose();
  });
}

test('with measured := the surrogate prediction, gradients equal plain autodiff through the surrogate', () => {
  const rng = new Rng(20);
  const m = model(rng, 5, 0);
  const history = { drives: randn(rng, 4, IN) };
  const predicted = tf.tidy(() => m.s.predictSeq(m.encode(), history));
  const layer = physicalLayer(m.s, predicted, history);
  const vars = [m.wd, m.bd, m.wr];
  const pat = tf.variableGrads(() => m.lossOf(layer(m.encode())), vars);
  const plain = tf.variableGrads(() => m.lossOf(m.s.predictSeq(m.encode(), history)), vars);
  assert.ok(Math.abs(pat.value.dataSync()[0] - plain.value.dataSync()[0]) < 1e-6);
  for (const v of vars) {
    const { maxAbs, scale } = diff(pat.grads[v.name], plain.grads[v.name]);
    assert.ok(scale > 1e-4 && maxAbs <= 1e-5 * scale, `${v.name}: ${maxAbs} vs ${scale}`);
  }
  tf.dispose([pat.value, plain.value, ...Object.values(pat.grads), ...Object.values(plain.grads), predicted, history.drives]);
  m.dispose();
});

test('no tensors leak through forward + backward', () => {
  const rng = new Rng(30);
  const m = model(rng, 3, 1);
  const measured = randn(rng, T, OUT);
  const layer = physicalLayer(m.s, measured);
  const step = () => {
    const { value, grads } = tf.variableGrads(() => m.lossOf(layer(m.encode())), [m.wd, m.bd, m.wr]);
    tf.dispose([value, ...Object.values(grads)]);
  };
  step();
  const n0 = tf.memory().numTensors;
  for (let i = 0; i < 10; i++) step();
  assert.is(tf.memory().numTensors, n0);
  measured.dispose();
  m.dispose();
});

test.run();
