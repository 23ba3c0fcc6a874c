import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendChoice } from '../../src/core/backend.js';

async function rejection(p: Promise<unknown>): Promise<Error> {
  try { await p; } catch (e) { return e as Error; }
  throw new Error('expected a rejection');
}

function tfjsNodeInstalled(): boolean {
  try { createRequire(import.meta.url).resolve('@tensorflow/tfjs-node'); return true; } catch { return false; }
}

/** tanh(A·B + c) summed per column, on whatever backend is active. */
async function compute(): Promise<Float32Array> {
  const a = Float32Array.from({ length: 16 * 8 }, (_, i) => Math.sin(i * 0.37));
  const b = Float32Array.from({ length: 8 * 4 }, (_, i) => Math.cos(i * 0.91));
  const y = tf.tidy(() => tf.tanh(tf.matMul(tf.tensor2d(a, [16, 8]), tf.tensor2d(b, [8, 4])).add(0.1)).sum(0));
  const out = (await y.data()) as Float32Array;
  y.dispose();
  return out;
}

test('auto picks the best backend that loads here (tfjs-node if installed, else wasm, else cpu) and it computes', async () => {
  const before = tf.memory().numTensors;
  const info = await selectBackend();
  assert.is(tf.getBackend(), info.name);
  if (tfjsNodeInstalled()) assert.is(info.name, 'tensorflow');
  else assert.ok(info.name === 'wasm' || info.name === 'cpu', info.name);
  assert.ok(info.detail.startsWith(info.name), info.detail);
  assert.is(tf.memory().numTensors, before, 'the check computation leaks no tensors');
});

test('wasm initialises under Node from the package folder, and cpu and wasm agree', async () => {
  const cpu = await selectBackend('cpu');
  assert.equal(cpu, { name: 'cpu', detail: 'cpu (plain JavaScript)' });
  const onCpu = await compute();
  const wasm = await selectBackend('wasm');
  assert.is(wasm.name, 'wasm');
  assert.match(wasm.detail, /^wasm \((simd|no simd), \d+ threads?\)$/);
  const onWasm = await compute();
  assert.is(onWasm.length, 4);
  for (let j = 0; j < 4; j++) assert.ok(Math.abs(onCpu[j] - onWasm[j]) < 1e-4, `column ${j}: cpu ${onCpu[j]} wasm ${onWasm[j]}`);
});

test('forcing tensorflow without tfjs-node throws with the install hint and keeps the current backend', async () => {
  await selectBackend('cpu');
  if (tfjsNodeInstalled()) {
    assert.is((await selectBackend('tensorflow')).name, 'tensorflow');
    return;
  }
  const e = await rejection(selectBackend('tensorflow'));
  assert.match(e.message, /backend 'tensorflow' is not available: @tensorflow\/tfjs-node is not installed/);
  assert.match(e.message, /npm install @tensorflow\/tfjs-node on a machine that can download libtensorflow/);
  assert.is(tf.getBackend(), 'cpu');
});

test('an unknown choice throws naming the valid ones', async () => {
  const e = await rejection(selectBackend('gpu' as BackendChoice));
  assert.match(e.message, /unknown backend "gpu"/);
  assert.match(e.message, /auto, tensorflow, wasm, cpu/);
});

test.run();
