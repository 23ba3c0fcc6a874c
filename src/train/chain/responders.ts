/**
 * Where a chain's physical layers get their forward values (model.ts Responder): the device
 * itself, or each layer's surrogate (in silico).
 *
 * ```ts
 * const pass = await model.run(x, rows, deviceResponder({ 'sim:optical': dev }));
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import type { SegmentDevice } from '../../device/device.js';
import { measure } from '../device-units.js';
import type { Responder } from './model.js';

/**
 * Measures each physical layer's drives on the device its spec names, one segment from a reset
 * per call (rows = time steps). A device with memory (fpga, analog) carries its state from one
 * example to the next inside the segment, so an example's response depends a little on the
 * examples before it in the batch; the reset at every call keeps that within one batch, and a
 * surrogate with a drive window can model it. sim:optical without feedback has no memory.
 */
export function deviceResponder(devices: Readonly<Record<string, SegmentDevice>>): Responder {
  return async (stage, drives) => {
    const device = devices[stage.device];
    if (!device) throw new RangeError(`layers[${stage.index}].device: no device '${stage.device}' was given`);
    const m = await measure(device, drives);
    return { drives: m.drives, responses: m.responses, samples: m.samples };
  };
}

/** Each layer's surrogate predicts its responses (no device, no samples): the in-silico forward pass. */
export function surrogateResponder(): Responder {
  return async (stage, drives, rows) => {
    const s = stage.surrogate;
    if (!s?.predictSeq) throw new RangeError(`layers[${stage.index}]: the physical layer has no predictive surrogate`);
    const responses = tf.tidy(() => {
      const d = tf.tensor2d(drives, [rows, stage.inChannels]);
      return s.predictSeq!(d).dataSync() as Float32Array;
    });
    return { drives, responses: Float32Array.from(responses), samples: 0 };
  };
}
