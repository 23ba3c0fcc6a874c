/**
 * Adam's state in a checkpoint (the classification chain's and the series chain's): its step count
 * and moments as plain numbers, and back. Without them a resumed run restarts Adam's bias
 * correction and moments, and steps differently from the run it continues.
 */
import * as tf from '@tensorflow/tfjs';
import type { OptimizerWeight } from './checkpoint.js';

/** Adam's step count and moments as plain numbers (tf.Optimizer.getWeights order). */
export async function optimizerState(optimizer: tf.Optimizer): Promise<OptimizerWeight[]> {
  const weights = await optimizer.getWeights();
  // The first is the step count, a fresh scalar; the rest are the optimizer's own variables.
  const out = weights.map((w) => ({ name: w.name, shape: [...w.tensor.shape], values: Array.from(w.tensor.dataSync()) }));
  weights[0]?.tensor.dispose();
  return out;
}

/** Puts a checkpoint's Adam state back, refused unless it holds one first and one second moment per variable, shaped like it. */
export async function restoreOptimizer(optimizer: tf.Optimizer, saved: readonly OptimizerWeight[], vars: readonly tf.Variable[]): Promise<void> {
  if (saved.length === 0) return;
  if (saved.length !== 1 + 2 * vars.length) throw new RangeError(`resume: the optimizer state holds ${saved.length} tensors; this chain's ${vars.length} variables need ${1 + 2 * vars.length}`);
  saved.slice(1).forEach((w, i) => {
    const v = vars[i % vars.length];
    if (w.shape.join('x') !== v.shape.join('x')) throw new RangeError(`resume: optimizer tensor ${w.name} is ${w.shape.join('x')}, its variable ${v.shape.join('x')}`);
  });
  const tensors = saved.map((w) => ({ name: w.name, tensor: tf.tensor(w.values, w.shape) }));
  try {
    await optimizer.setWeights(tensors);
  } finally {
    // setWeights makes its own variables of them.
    for (const t of tensors) t.tensor.dispose();
  }
}
