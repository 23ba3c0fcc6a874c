/**
 * One-call ways to get a simulated device: in process over a memory pair (the default device of
 * tests and `rhil` commands), or served on any Link (TCP socket, pty) for `rhil sim`.
 *
 * ```ts
 * const { link, device } = openSimLink('fpga', { seed: 3 });
 * link.setHandlers({ data: (c) => decoder.push(c, onFrame), close: () => {} }); // BOOT arrives first
 * ```
 */
import { createMemoryPair } from '../transport/memory.js';
import type { Link } from '../transport/link.js';
import { SimDevice, type SimDeviceOptions } from './device.js';
import type { ReservoirModel } from './model.js';
import { type ModelOptions, type ProfileName, createModel } from './profiles.js';

/** Options of openSimLink and serveSim. */
export interface SimLinkOptions {
  /** Seed (uint32) of the model; also the device's seed unless `device.seed` is given. Defaults to 1. */
  seed?: number;
  /** Model options over the profile's. Defaults to none. */
  overrides?: Partial<ModelOptions[keyof ModelOptions]>;
  /** Device options. Defaults to SimDevice's defaults. */
  device?: SimDeviceOptions;
  /** Largest chunk the memory pair delivers at once (reads are split at random sizes up to it). Defaults to 4096. */
  chunk?: number;
}

/** A simulated device and its model. */
export interface SimServed {
  device: SimDevice;
  model: ReservoirModel;
}

/** A simulated device of `profile`, not yet attached to a link. Throws RangeError for an unknown profile or bad option. */
export function createSim(profile: string, opts: SimLinkOptions = {}): SimServed {
  const seed = opts.seed ?? 1;
  const model = createModel(profile as ProfileName, (opts.overrides ?? {}) as never, seed) as ReservoirModel;
  // Each profile is its own board: 'analog' and 'analog-awg' share a model kind but not an
  // identity, so a calibration or a trained model is matched to the profile that made it.
  const device = new SimDevice(model, { seed, model: `sim-${profile}`, ...opts.device });
  return { device, model };
}

/** Serves a new simulated device of `profile` on `link` (it sends BOOT at once). Throws RangeError for an unknown profile or bad option. */
export function serveSim(link: Link, profile: string, opts: SimLinkOptions = {}): SimServed {
  const served = createSim(profile, opts);
  served.device.attach(link);
  return served;
}

/** An in-process simulated device of `profile`; `link` is the host's end of a memory pair. */
export function openSimLink(profile: string, opts: SimLinkOptions = {}): SimServed & { link: Link } {
  const served = createSim(profile, opts);
  const [host, board] = createMemoryPair({ maxChunk: opts.chunk, seed: opts.seed ?? 1, names: ['memory:host', `memory:sim-${profile}`] });
  served.device.attach(board);
  return { link: host, ...served };
}
