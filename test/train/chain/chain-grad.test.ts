import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../src/core/backend.js';
import { Rng } from '../../../src/core/rng.js';
import { NarxSurrogate } from '../../../src/surrogate/narx.js';
import { ChainModel } from '../../../src/train/chain/model.js';
import { surrogateResponder } from '../../../src/train/chain/responders.js';
import { chainGradients } from '../../../src/train/chain/train.js';
import type { ModelSpec } from '../../../src/train/chain/spec-types.js';
import { TWO_ON_DEV } from './helpers.js';

test.before(async () => {
  await selectBackend('wasm');
});

// Two physical layers on the same (imaginary) device 'dev', 4 drives -> 5 responses, each with
// its own random-init surrogate used as both its forward value and its VJP.
const spec = TWO_ON_DEV;

test('the chain gradient wrt the first digital weights equals finite differences through two surrogate VJPs', async () => {
  const model = ChainModel.build(spec, { features: 6, classes: 3, devices: { dev: { inChannels: 4, outChannels: 5 } }, seed: 3 });
  model.physical.forEach((p, k) => { p.surrogate = new NarxSurrogate({ inChannels: 4, outChannels: 5, hidden: [8], seed: 10 + k }); });
  const rng = new Rng(7);
  const rows = 12;
  const x = Float32Array.from({ length: rows * 6 }, () => rng.normal());
  const labels = Uint8Array.from({ length: rows }, () => rng.int(3));
  const respond = surrogateResponder();
  const first = await model.run(x, rows, respond, { calibrate: true });
  assert.ok(model.calibrated);
  const { grads, loss } = chainGradients(model, x, labels, first, model.surrogates());
  const w = model.trainable()[0];
  const w0 = Float32Array.from(w.dataSync());
  const lossAt = async (wv: Float32Array): Promise<number> => {
    tf.tidy(() => w.assign(tf.tensor2d(wv, w.shape as [number, number])));
    const pass = await model.run(x, rows, respond);
    return tf.tidy(() => model.loss(tf.tensor2d(x, [rows, 6]), tf.tensor1d(Int32Array.from(labels), 'int32'), pass, model.surrogates()).dataSync()[0]);
  };
  assert.ok(Math.abs((await lossAt(w0)) - loss) < 1e-6, 'the recorded pass is the pass at these weights');
  const eps = 1e-2;
  let worst = 0, norm = 0;
  for (let i = 0; i < w0.length; i++) {
    const p = w0.slice(); p[i] += eps;
    const m = w0.slice(); m[i] -= eps;
    const fd = ((await lossAt(p)) - (await lossAt(m))) / (2 * eps);
    worst = Math.max(worst, Math.abs(fd - grads[0][i]));
    norm = Math.max(norm, Math.abs(fd));
  }
  tf.tidy(() => w.assign(tf.tensor2d(w0, w.shape as [number, number])));
  assert.ok(norm > 1e-3, `the gradient must not vanish (max |fd| ${norm})`);
  assert.ok(worst < 2e-3 * Math.max(1, norm / 0.1), `max |chain - fd| ${worst} against max |fd| ${norm}`);
  // the surrogate path is only differentiable through the VJPs: one of them wrong breaks it
  const wrong = model.surrogates().map((s, k) => (k === 1 ? { vjpSeq: (d: tf.Tensor2D, dy: tf.Tensor2D) => tf.mul(s.vjpSeq(d, dy), 2) as tf.Tensor2D } : s));
  const g2 = chainGradients(model, x, labels, first, wrong).grads[0];
  let diff = 0;
  for (let i = 0; i < g2.length; i++) diff = Math.max(diff, Math.abs(g2[i] - grads[0][i]));
  assert.ok(diff > 10 * worst, `doubling the second layer's VJP must change the first layer's gradient (${diff})`);
  model.dispose();
});

test('a spec that does not connect is refused with the layer and field named', () => {
  const devices = { dev: { inChannels: 4, outChannels: 5 } };
  const build = (layers: unknown[]): void => { ChainModel.build({ layers } as ModelSpec, { features: 6, classes: 3, devices, seed: 1 }).dispose(); };
  const refuses = (layers: unknown[], re: RegExp): void => {
    try { build(layers); assert.unreachable(); } catch (e) { assert.ok(e instanceof RangeError && re.test(e.message), String(e)); }
  };
  refuses([{ kind: 'digital', units: 3 }, { kind: 'physical', device: 'dev' }, { kind: 'readout', type: 'softmax' }], /^layers\[1\]\.device: 'dev' takes 4 drive channels but the layer before gives 3/);
  refuses([{ kind: 'digital', units: 4 }, { kind: 'physical', device: 'sim:nope' }, { kind: 'readout', type: 'softmax' }], /^layers\[1\]\.device: no device 'sim:nope'/);
  refuses([{ kind: 'conv', units: 4 }, { kind: 'readout', type: 'softmax' }], /^layers\[0\]\.kind: unknown layer kind 'conv'/);
  refuses([{ kind: 'digital', units: 4 }, { kind: 'readout', type: 'ridge' }], /^layers\[1\]\.type: static classification needs a 'softmax' readout/);
  refuses([{ kind: 'readout', type: 'softmax' }, { kind: 'digital', units: 4 }], /^layers\[0\]\.kind: the readout must be the last layer/);
  refuses([{ kind: 'digital', units: 0 }, { kind: 'readout', type: 'softmax' }], /^layers\[0\]\.units must be a positive integer/);
  refuses([{ kind: 'digital', units: 4 }], /^layers\[0\]\.kind: the last layer must be a readout/);
  refuses([{ kind: 'digital', units: 4, taps: 3 }, { kind: 'readout', type: 'softmax' }], /^layers\[0\]\.taps/);
});

test.run();
