/**
 * Test helpers of the chain tests: a tiny seeded classification set and a simulator opened with
 * its twin. (The shared synthetic task is tasks/synthetic-classes.ts; these tests keep their own
 * so they do not depend on its parameters.)
 */
import { DeviceClient } from '../../../src/device/client.js';
import { openSimLink } from '../../../src/sim/serve.js';
import { Rng } from '../../../src/core/rng.js';
import type { ClassSet, ClassSplit } from '../../../src/tasks/classes.js';
import type { ModelSpec } from '../../../src/train/chain/spec-types.js';

/**
 * Gaussian blobs: class k has centre μ_k ~ N(0, 1)^features; an example is μ_k + σ N(0, 1)^features,
 * labels uniform. `spread` is σ.
 */
export function blobs(o: { features: number; classes: number; train: number; test: number; spread: number; seed: number }): ClassSet {
  const rng = new Rng(o.seed);
  const centres = Float32Array.from({ length: o.classes * o.features }, () => rng.normal());
  const split = (count: number, r: Rng): ClassSplit => {
    const x = new Float32Array(count * o.features), labels = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      const k = r.int(o.classes);
      labels[i] = k;
      for (let j = 0; j < o.features; j++) x[i * o.features + j] = centres[k * o.features + j] + o.spread * r.normal();
    }
    return { count, x, labels };
  };
  return { name: 'blobs', features: o.features, classes: o.classes, train: split(o.train, rng.fork('train')), test: split(o.test, rng.fork('test')), source: `test blobs, seed ${o.seed}` };
}

/** An in-process simulator handshaken with its twin attached (closed by the caller). */
export async function openSim(profile: string, seed: number, overrides: Record<string, unknown>): Promise<DeviceClient> {
  const sim = openSimLink(profile, { seed, overrides });
  return DeviceClient.connect(sim.link, { twin: sim.model });
}

/** Two physical layers on the same (imaginary) device 'dev', each behind a 4-unit tanh digital layer, softmax readout. */
export const TWO_ON_DEV: ModelSpec = {
  layers: [
    { kind: 'digital', units: 4, activation: 'tanh' },
    { kind: 'physical', device: 'dev' },
    { kind: 'digital', units: 4, activation: 'tanh' },
    { kind: 'physical', device: 'dev' },
    { kind: 'readout', type: 'softmax' },
  ],
};

/**
 * A deterministic one-layer chain: a tanh layer, a noise-free optical layer and a softmax, on a
 * small blob set. Noise-free, so the device answers the same drives the same way in a fresh
 * session and runs and resumes repeat exactly.
 */
export const QUIET_OPTICAL = {
  spec: {
    layers: [
      { kind: 'digital', units: 8, activation: 'tanh' },
      { kind: 'physical', device: 'sim:optical', surrogate: 'transmission' },
      { kind: 'readout', type: 'softmax' },
    ],
  } as ModelSpec,
  data: blobs({ features: 6, classes: 3, train: 320, test: 100, spread: 1, seed: 5 }),
  overrides: { inChannels: 8, outChannels: 16, shotNoise: 0, readNoiseSigma: 0 },
} as const;
