/**
 * physicalLayer: the physics-aware op (Wright et al. 2022). Forward = what the device measured,
 * backward = the surrogate's vector-Jacobian product at the drives actually sent.
 *
 * ```ts
 * const drives = encoder.apply(x);                          // digital layer, trainable
 * const measured = await device.run(await drives.array());  // measure first (async) …
 * const loss = () => lossFn(readout(physicalLayer(surrogate, measured)(encoder.apply(x))));
 * const { grads } = tf.variableGrads(loss);                 // … then the differentiable graph
 * ```
 *
 * @param surrogate its `vjpSeq` supplies dL/d(drives); it must not call tf.grad (tfjs cannot nest it)
 * @param measured the device's response [T, outChannels] to exactly the drives the op will get
 * @param history drives and responses before the sequence (see SeqContext); `measured` is always
 *   passed as the sequence's own response history for a NARX surrogate
 * @returns an op drives [T, inChannels] → measured (a copy), differentiable through the surrogate
 */
import * as tf from '@tensorflow/tfjs';
import type { DeviceSurrogate, SeqContext } from './narx.js';

export function physicalLayer(
  surrogate: DeviceSurrogate, measured: tf.Tensor2D, history: Omit<SeqContext, 'measured'> = {},
): (drives: tf.Tensor2D) => tf.Tensor2D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [drives, save] = args as [tf.Tensor, tf.GradSaveFunc];
    if (drives.rank !== 2 || drives.shape[0] !== measured.shape[0]) {
      throw new RangeError(`drives [${drives.shape.join(', ')}] do not match measured [${measured.shape.join(', ')}]`);
    }
    save([drives]);
    return {
      value: measured.clone(),
      gradFunc: (dy: tf.Tensor, [d]: tf.Tensor[]) => surrogate.vjpSeq(d as tf.Tensor2D, dy as tf.Tensor2D, { ...history, measured }),
    };
  });
  return (drives) => op(drives) as tf.Tensor2D;
}
