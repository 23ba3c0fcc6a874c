/**
 * The declared shape of a model as a chain of layers (issue 12): what a model-spec file parses
 * into (chain/spec.ts) and what the chain trainers build from. The chain runs left to right:
 * layer k's output feeds layer k+1; a physical layer's input width is its device's drive channels,
 * its output width the device's response channels.
 *
 * ```json
 * { "name": "mnist-optical", "task": "mnist",
 *   "layers": [ { "kind": "digital", "units": 64, "activation": "tanh" },
 *               { "kind": "physical", "device": "sim:optical" },
 *               { "kind": "readout", "type": "softmax" } ] }
 * ```
 */

/** A trainable dense layer (with tapped delays of its input for a time series). */
export interface DigitalLayerSpec {
  kind: 'digital';
  /** Output width. Before a physical layer it must equal the device's drive channels. */
  units: number;
  /** Defaults to 'tanh' (the range a device's drives take, [-1, 1]). */
  activation?: 'tanh' | 'relu' | 'linear' | 'sigmoid';
  /** Past inputs (or, after a physical layer, past responses) the layer sees: time series only. Defaults to 1: the current one. */
  taps?: number;
}

/** A device measured in the forward pass, with its own surrogate for the backward pass. */
export interface PhysicalLayerSpec {
  kind: 'physical';
  /** `sim:<profile>` or a device path; two layers naming the same device reuse it (each its own segments and surrogate). */
  device: string;
  /** Surrogate design of this layer. Defaults to 'auto' on a classification task, 'narx' on a time series (spec.ts seriesChainShape). */
  surrogate?: 'auto' | 'narx' | 'state' | 'memoryless' | 'transmission';
}

/** The last layer: ridge from summed statistics (regression), or a trained dense softmax (classes). */
export interface ReadoutLayerSpec {
  kind: 'readout';
  type: 'ridge' | 'softmax';
}

export type LayerSpec = DigitalLayerSpec | PhysicalLayerSpec | ReadoutLayerSpec;

export interface ModelSpec {
  name?: string;
  /** A task name (`mnist`, `synthetic-classes`, or a time-series task). */
  task?: string;
  layers: LayerSpec[];
}
