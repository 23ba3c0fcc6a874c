import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../src/core/backend.js';
import { Rng } from '../../../src/core/rng.js';
import { ChainModel, DRIVE_RMS, type ChainPass, type DigitalStage, type ReadoutStage, type Responder } from '../../../src/train/chain/model.js';
import { TWO_ON_DEV } from './helpers.js';

test.before(async () => {
  await selectBackend('wasm');
});

const spec = TWO_ON_DEV;
const devices = { dev: { inChannels: 4, outChannels: 6 } };

/** A memoryless device: responses gain · (1 + sin(drives M)) / 2 + offset, per channel. */
function device(gain: number, offset: number): Responder {
  const m = Float32Array.from({ length: 24 }, (_, i) => Math.sin(3 * i + 1) * 2);
  return async (_stage, drives, rows) => {
    const r = new Float32Array(rows * 6);
    for (let i = 0; i < rows; i++) for (let c = 0; c < 6; c++) {
      let v = 0;
      for (let j = 0; j < 4; j++) v += drives[i * 4 + j] * m[j * 6 + c];
      r[i * 6 + c] = gain * (1 + Math.sin(v)) / 2 + offset;
    }
    return { drives: Float32Array.from(drives), responses: r, samples: rows };
  };
}

/** RMS of a dense layer's pre-activations (bias excluded) over its normalised inputs h [rows, width]. */
function preRms(d: DigitalStage['dense'], h: Float32Array, rows: number): number {
  return tf.tidy(() => {
    const x = tf.div(tf.sub(tf.tensor2d(h, [rows, d.shift.length]), tf.tensor1d(d.shift)), tf.tensor1d(d.scale));
    return Math.sqrt(tf.mean(tf.square(tf.matMul(x as tf.Tensor2D, d.w))).dataSync()[0]);
  });
}

function stats(r: Float32Array, rows: number, w: number): { mean: Float64Array; variance: Float64Array } {
  const mean = new Float64Array(w), variance = new Float64Array(w);
  for (let c = 0; c < w; c++) {
    let m = 0, q = 0;
    for (let i = 0; i < rows; i++) { m += r[i * w + c]; q += r[i * w + c] ** 2; }
    mean[c] = m / rows;
    variance[c] = q / rows - mean[c] ** 2;
  }
  return { mean, variance };
}

test('calibration sets each layer driving a device to pre-activations of RMS driveRms whatever its input scale; the readout keeps Glorot', async () => {
  const rng = new Rng(2);
  const rows = 40;
  for (const inputScale of [0.01, 100]) {
    const model = ChainModel.build(spec, { features: 5, classes: 3, devices, seed: 4 });
    const [d0, , d2, , ro] = model.stages as [DigitalStage, unknown, DigitalStage, unknown, ReadoutStage];
    const ro0 = Float32Array.from(ro.dense.w.dataSync());
    const x = Float32Array.from({ length: rows * 5 }, () => inputScale * rng.normal());
    const pass = await model.run(x, rows, device(0.3, 0.1), { calibrate: true });
    assert.ok(model.calibrated);
    assert.ok(d0.dense.drivesPhysical && d2.dense.drivesPhysical && !ro.dense.drivesPhysical);
    assert.ok(Math.abs(preRms(d0.dense, x, rows) - DRIVE_RMS) < 1e-4, `layer 0 at input scale ${inputScale}: ${preRms(d0.dense, x, rows)}`);
    assert.ok(Math.abs(preRms(d2.dense, pass.layers[0].responses, rows) - DRIVE_RMS) < 1e-4, `layer 2: ${preRms(d2.dense, pass.layers[0].responses, rows)}`);
    assert.equal(Array.from(ro.dense.w.dataSync()), Array.from(ro0), 'the readout drives nothing: not rescaled');
    // a later pass does not rescale again
    const w0 = Float32Array.from(d0.dense.w.dataSync());
    await model.run(Float32Array.from(x, (v) => 3 * v), rows, device(0.3, 0.1), { calibrate: true });
    assert.equal(Array.from(d0.dense.w.dataSync()), Array.from(w0));
    model.dispose();
  }
  const off = ChainModel.build(spec, { features: 5, classes: 3, devices, seed: 4, driveRms: 0 });
  const glorot = Float32Array.from((off.stages[0] as DigitalStage).dense.w.dataSync());
  await off.run(Float32Array.from({ length: rows * 5 }, () => rng.normal()), rows, device(0.3, 0.1), { calibrate: true });
  assert.equal(Array.from((off.stages[0] as DigitalStage).dense.w.dataSync()), Array.from(glorot), 'driveRms 0 keeps Glorot');
  off.dispose();
  assert.throws(() => ChainModel.build(spec, { features: 5, classes: 3, devices, seed: 4, driveRms: -1 }), /driveRms must be/);
});

test('track moves each normalisation after a device toward its batch statistics by the momentum; 1 freezes them, readout-only leaves the digital layers', async () => {
  const rng = new Rng(3);
  const rows = 50;
  const model = ChainModel.build(spec, { features: 5, classes: 3, devices, seed: 6 });
  const x = Float32Array.from({ length: rows * 5 }, () => rng.normal());
  await model.run(x, rows, device(0.2, 0.05), { calibrate: true });
  const [, , d2, , ro] = model.stages as [unknown, unknown, DigitalStage, unknown, ReadoutStage];
  // the responses widen and shift (as they do when the layers before a device train)
  const wide: ChainPass = await model.run(x, rows, device(0.8, 0.3));
  const before = [d2, ro].map((s) => ({ shift: Float32Array.from(s.dense.shift), scale: Float32Array.from(s.dense.scale) }));
  model.track(wide, 1);
  [d2, ro].forEach((s, i) => { assert.equal(s.dense.shift, before[i].shift); assert.equal(s.dense.scale, before[i].scale); });
  model.track(wide, 0.9, 'readout');
  assert.equal(d2.dense.shift, before[0].shift, 'readout-only: the digital layer after the first device keeps its normalisation');
  const held = d2.dense.shift;
  model.track(wide, 0.9);
  assert.ok(d2.dense.shift !== held, 'replaced, not written into (a pipelined snapshot may share the old array)');
  [d2, ro].forEach((s, k) => {
    const { mean, variance } = stats(wide.layers[k].responses, rows, 6);
    const prevShift = k === 1 ? Float64Array.from(before[1].shift, (v, c) => 0.9 * v + 0.1 * mean[c]) : Float64Array.from(before[0].shift);
    const prevScale = k === 1 ? Float64Array.from(before[1].scale, (v, c) => Math.sqrt(0.9 * v * v + 0.1 * variance[c])) : Float64Array.from(before[0].scale);
    for (let c = 0; c < 6; c++) {
      const shift = 0.9 * prevShift[c] + 0.1 * mean[c];
      const scale = Math.max(Math.sqrt(0.9 * prevScale[c] ** 2 + 0.1 * variance[c]), 1e-3);
      assert.ok(Math.abs(s.dense.shift[c] - shift) < 1e-5 && Math.abs(s.dense.scale[c] - scale) < 1e-5, `layer ${s.index} channel ${c}: ${s.dense.shift[c]} ${s.dense.scale[c]} against ${shift} ${scale}`);
    }
  });
  // many steps on the wide responses: the normalised inputs become standard again
  for (let i = 0; i < 200; i++) model.track(wide, 0.9);
  const { mean, variance } = stats(wide.layers[0].responses, rows, 6);
  for (let c = 0; c < 6; c++) assert.ok(Math.abs(d2.dense.shift[c] - mean[c]) < 1e-4 && Math.abs(d2.dense.scale[c] - Math.max(Math.sqrt(variance[c]), 1e-3)) < 1e-4);
  assert.throws(() => model.track(wide, 1.5), /momentum must be in \[0, 1\]/);
  model.dispose();
});

test('toJSON keeps the drive scale and the tracked normalisation: a restored model is not rescaled and predicts the same', async () => {
  const rng = new Rng(5);
  const rows = 30;
  const model = ChainModel.build(spec, { features: 5, classes: 3, devices, seed: 8, driveRms: 0.7 });
  const x = Float32Array.from({ length: rows * 5 }, () => rng.normal());
  await model.run(x, rows, device(0.2, 0.05), { calibrate: true });
  model.track(await model.run(x, rows, device(0.5, 0.1)), 0.5);
  const back = ChainModel.fromJSON(JSON.parse(JSON.stringify(model.toJSON())));
  assert.ok(back.calibrated);
  await back.run(x, rows, device(0.5, 0.1), { calibrate: true });
  const a = await model.predict(x, rows, device(0.5, 0.1)), b = await back.predict(x, rows, device(0.5, 0.1));
  for (let i = 0; i < a.probabilities.length; i++) assert.ok(Math.abs(a.probabilities[i] - b.probabilities[i]) < 1e-6);
  model.dispose();
  back.dispose();
});

test.run();
