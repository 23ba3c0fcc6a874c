/**
 * The physics-aware step (Wright et al., Nature 601, 2022), the whole idea in one function: the
 * forward value is the device's measured response, the backward pass is the surrogate's
 * vector-Jacobian product at the drives actually sent, then autodiff into the input layer.
 *
 *     a = a_sent + (layer(x) - stop(layer(x)))      value a_sent, Jacobian of the current layer
 *     r = physicalLayer(surrogate, measured)(a)     value measured, gradient surrogate VJP at a_sent
 *     L = mean((r[washout:] W + b - y)²) + penalty · mean(z²),  z = x W_in + b_in (pre-activation)
 *
 * It returns L and dL/dθ for the layer's variables; applying them (Adam) is the caller's job. With
 * no surrogate yet (before the first fit) it returns the loss only.
 *
 * ```ts
 * const { loss, grads } = patGradients(layer, episode, surrogate);
 * if (grads) adam.applyGradients(grads);
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import type { DeviceSurrogate, VjpPath } from '../surrogate/narx.js';
import { physicalLayer } from '../surrogate/physical-layer.js';
import type { TappedDense } from './hybrid.js';

/** One measured episode, as the step needs it. Every array is row-major. */
export interface StepEpisode {
  /** Tapped features [L, layer.features]. */
  x: Float32Array;
  /** Drives sent [L, inChannels] in [-1, 1]. */
  sent: Float32Array;
  /** Measured responses [L, outChannels] in [0, 1]. */
  measured: Float32Array;
  /** Targets [steps, outputs] for rows washout.. of the episode. */
  target: Float32Array;
  /** Readout held constant in the step: W [outChannels, outputs], b [outputs]. */
  W: Float32Array;
  b: Float32Array;
  washout: number;
  /** Weight of the pre-activation penalty (0: none). */
  penalty: number;
}

/** @param path what the surrogate's VJP goes through (SeqContext.throughResponses, responseDecay) */
export function patGradients(layer: TappedDense, ep: StepEpisode, surrogate?: DeviceSurrogate, path: VjpPath = {}): { loss: number; grads?: tf.NamedTensorMap } {
  const L = ep.x.length / layer.features, co = ep.measured.length / L, outputs = ep.b.length, steps = L - ep.washout;
  const out = tf.tidy(() => {
    const x = tf.tensor2d(ep.x, [L, layer.features]), sent = tf.tensor2d(ep.sent, [L, layer.units]);
    const measured = tf.tensor2d(ep.measured, [L, co]), target = tf.tensor2d(ep.target, [steps, outputs]);
    const W = tf.tensor2d(ep.W, [co, outputs]), b = tf.tensor1d(ep.b);
    const now = layer.apply(x);   // made outside the objective: a constant to the gradient
    const objective = (): tf.Scalar => {
      const a = tf.add(tf.sub(layer.apply(x), now), sent) as tf.Tensor2D;
      const r = (surrogate ? physicalLayer(surrogate, measured, path)(a) : measured).slice([ep.washout, 0], [steps, co]);
      const mse = tf.mean(tf.squaredDifference(tf.add(tf.matMul(r, W), b), target)) as tf.Scalar;
      if (!(ep.penalty > 0)) return mse;
      return tf.add(mse, tf.mul(ep.penalty, tf.mean(tf.square(tf.add(tf.matMul(x, layer.W), layer.b))))) as tf.Scalar;
    };
    if (!surrogate) return { value: objective() };
    return tf.variableGrads(objective, layer.variables);
  }) as { value: tf.Scalar; grads?: tf.NamedTensorMap };
  const loss = out.value.dataSync()[0];
  out.value.dispose();
  return { loss, grads: out.grads };
}
