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
  // A fresh Adam (no step yet, as after a guard's rollback): its step count and no moments.
  if (saved.length === 1 && saved[0].values.length === 1 && saved[0].values[0] === 0) return;
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
  restoreBetaPowers(optimizer, saved[0].values[0]);
}

/**
 * Adam's running powers β₁ᵗ⁺¹ and β₂ᵗ⁺¹ after t steps, as the uninterrupted run holds them: a
 * float32 product taken once a step. setWeights sets pow(β, t + 1) instead, which can differ in the
 * last bit, and that bit moved a resumed series chain off the uninterrupted run's losses after
 * two steps (test/train/chain/series.test.ts).
 */
function restoreBetaPowers(optimizer: tf.Optimizer, steps: number): void {
  const adam = optimizer as unknown as { accBeta1?: tf.Variable; accBeta2?: tf.Variable; beta1?: number; beta2?: number };
  if (!adam.accBeta1 || !adam.accBeta2 || adam.beta1 === undefined || adam.beta2 === undefined || !Number.isSafeInteger(steps) || steps < 0) return;
  const power = (beta: number): number => {
    const b = Math.fround(beta);
    let p = b;
    for (let i = 0; i < steps; i++) p = Math.fround(p * b);
    return p;
  };
  tf.tidy(() => {
    adam.accBeta1!.assign(tf.scalar(power(adam.beta1!)));
    adam.accBeta2!.assign(tf.scalar(power(adam.beta2!)));
  });
}
