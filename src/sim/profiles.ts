/**
 * Named device profiles: sensible defaults for each kind of board, created by name.
 *
 * ```ts
 * const dev = createModel('analog', { nodes: 100 }, 7);
 * const out = new Float32Array(dev.outChannels);
 * const status = dev.step(Float32Array.of(2048), out);
 * ```
 */
import { AnalogReservoir, type AnalogOptions } from './analog.js';
import { FpgaReservoir, type FpgaOptions } from './fpga.js';
import { OpticalReservoir, type OpticalOptions } from './optical.js';
import type { ReservoirModel } from './model.js';

/** Options type per model kind. */
export interface ModelOptions {
  analog: AnalogOptions;
  optical: OpticalOptions;
  fpga: FpgaOptions;
}

/** A profile: the model kind and the options it sets over that model's defaults. */
export interface Profile<K extends keyof ModelOptions = keyof ModelOptions> {
  readonly kind: K;
  readonly description: string;
  readonly options: Readonly<Partial<ModelOptions[K]>>;
}

function profile<K extends keyof ModelOptions>(kind: K, description: string, options: Partial<ModelOptions[K]> = {}): Profile<K> {
  return Object.freeze({ kind, description, options: Object.freeze(options) });
}

/** The named profiles. Every option not named here takes the model's default. */
export const profiles = Object.freeze({
  /** 50-node Mackey-Glass delay loop, 12-bit DAC/ADC, 2-count noise, slow drift, 100 kS/s. */
  analog: profile('analog', 'analog delay reservoir: 50 virtual nodes, 12-bit DAC/ADC, noise 2 LSB, drift 0.2 %/h gain and 4 LSB/h offset, 100 kS/s'),
  /**
   * The same board driven by an arbitrary waveform generator with one DAC channel per virtual
   * node: the host writes each node's slot itself, so the trained input layer takes the place of
   * the fixed input mask (the model's mask then only mixes the 50 channels). Smaller input scaling
   * and slower nodes than 'analog': 50 channels sum into each node, and theta 0.5 couples
   * neighbouring nodes more (NARMA10, pat, seed 1: test NMSE 0.030 against 0.078 on 'analog').
   */
  'analog-awg': profile('analog', 'analog delay reservoir driven per virtual node by a 50-channel AWG (the host\'s input layer is the mask): 50 nodes, 12-bit DAC/ADC, noise 2 LSB, gamma 0.05, theta 0.5, 100 kS/s', { inChannels: 50, gamma: 0.05, theta: 0.5 }),
  /** 64 SLM pixels -> 128 camera pixels, 8-bit SLM and camera, no feedback, 1 kHz frames. */
  optical: profile('optical', 'optical scattering medium: 64 SLM pixels (8-bit phase) -> 128 camera pixels (8-bit), shot + read noise, 1000 frames/s, no feedback'),
  /** As 'optical' with 30 % of the previous frame fed back into the SLM phases, 10-bit camera. */
  'optical-feedback': profile('optical', 'optical with recurrent feedback: 30 % of the previous frame mixed into the SLM phases, 10-bit camera', { feedback: 0.3, cameraBits: 10 }),
  /** 100-unit Q1.15 echo-state network, density 0.1, spectral radius 0.9, 1024-entry tanh table, 1 MS/s. */
  fpga: profile('fpga', 'FPGA fixed-point ESN: 100 units Q1.15, density 0.1, spectral radius 0.9, 1024-entry tanh LUT, 1 MS/s'),
  /** As 'fpga' with 400 units and a 4096-entry table. */
  'fpga-large': profile('fpga', 'FPGA fixed-point ESN: 400 units Q1.15, 4096-entry tanh LUT', { units: 400, lutSize: 4096 }),
  /**
   * As 'fpga' with a 50-channel input stream, one channel per group of two units (the host's
   * input layer then plays the input mask, as on 'analog-awg'). Everything else is 'fpga''s: the
   * same W, tanh table and per-unit input-gain distribution (uniform in +-0.5), so a unit is driven
   * no harder than on 'fpga'; only the drive signal differs between groups. 50 x 16 bit at 1 MS/s
   * is 0.8 Gbit/s, within a PCIe or 10 GbE host link (a UART could not carry it). Sources: ESN
   * settings (spectral radius 0.9, sparse W, input scaling 0.5) after Lukosevicius, "A practical
   * guide to applying echo state networks" (2012); 50 channels as the 'analog-awg' AWG.
   */
  'fpga-awg': profile('fpga', 'FPGA fixed-point ESN driven by a 50-channel input stream, one channel per group of 2 units: 100 units Q1.15, 1024-entry tanh LUT, 1 MS/s', { inChannels: 50, inputWiring: 'grouped' }),
});

export type ProfileName = keyof typeof profiles;
type KindOf<N extends ProfileName> = (typeof profiles)[N]['kind'];

/** The model type per kind. */
export interface ModelClasses {
  analog: AnalogReservoir;
  optical: OpticalReservoir;
  fpga: FpgaReservoir;
}

/**
 * Creates the model of profile `name` with `overrides` over the profile's options, from `seed`
 * (uint32). Throws RangeError for an unknown profile, an unknown or invalid option, or a bad seed.
 */
export function createModel<N extends ProfileName>(name: N, overrides: Partial<ModelOptions[KindOf<N>]>, seed: number): ModelClasses[KindOf<N>] & ReservoirModel {
  if (!Object.prototype.hasOwnProperty.call(profiles, name)) {
    throw new RangeError(`unknown profile '${String(name)}'; known: ${Object.keys(profiles).join(', ')}`);
  }
  const p: Profile = profiles[name];
  const options = { ...p.options, ...overrides };
  let model: ReservoirModel;
  switch (p.kind) {
    case 'analog': model = new AnalogReservoir(options as Partial<AnalogOptions>, seed); break;
    case 'optical': model = new OpticalReservoir(options as Partial<OpticalOptions>, seed); break;
    case 'fpga': model = new FpgaReservoir(options as Partial<FpgaOptions>, seed); break;
  }
  return model as ModelClasses[KindOf<N>] & ReservoirModel;
}
