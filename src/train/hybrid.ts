/**
 * The pieces of a hybrid (digital + physical) model, in normalised units:
 *
 *     u (task input) ─► taps ─► dense ─► tanh ─► a ∈ [-1, 1]   (input layer, trainable)
 *     a ─► toDeviceUnits ─► device ─► fromDeviceUnits ─► r ∈ [0, 1]^outChannels
 *     r ─► ridge readout ─► ŷ                                   (readout, sees r only)
 *
 * - Tapped delays: row t of the features is x(t) = [ũ(t), ũ(t-1), …, ũ(t-D+1)] (channels inside
 *   each lag), ũ = (u - shift) / scale with a per-channel shift and scale fixed from the training
 *   sequence; steps before the sequence start are ũ = 0 (the training mean).
 * - {@link TappedDense}: a = tanh(x W + b), W [D·inChannels, units], b [units], seeded
 *   uniform init W ~ U(-g, g)·√(3/fanIn) (so x W has about unit variance times g), b = 0. The
 *   input layer is a TappedDense with units = the device's inChannels; the `digital` baseline
 *   uses one with units = the device's outChannels.
 * - Device glue: a ∈ [-1, 1] ↦ inMin + (a + 1)/2 (inMax - inMin), rounded and clipped for the
 *   integer formats (u16, i16); responses ↦ (y - outMin)/(outMax - outMin).
 * - {@link RidgeReadout}: a linear readout over the scaled responses, solved from summed
 *   statistics (RidgeAccumulator) with λ chosen on a validation slice. It is given the device's
 *   responses only, never the task input: every method takes response rows and nothing else.
 *
 * ```ts
 * const norm = inputNorm(task.inputs, task.inChannels);
 * const layer = new TappedDense({ inChannels: 1, taps: 20, units: dev.info.inChannels, seed: 1, norm });
 * const a = layer.drives(task.inputs, 0, 450);               // Float32Array [450 * inChannels]
 * const { responses } = await measure(dev, a);                // scaled, [450 * outChannels]
 * ```
 */
export * from './input-layer.js';
export * from './device-units.js';
export * from './readout.js';
