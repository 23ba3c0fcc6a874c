/** Simulated physical reservoirs (device side) and their float twins. */
export { Rng, checkSeed } from '../core/rng.js';
export {
  type ReservoirModel, type ReservoirTwin, type TwinStep, type TwinStepVjp, STATUS_INPUT_CLIPPED, STATUS_OUTPUT_SATURATED,
} from './model.js';
export { AnalogReservoir, type AnalogOptions, analogDefaults, resolveAnalogOptions } from './analog.js';
export { OpticalReservoir, type OpticalOptions, opticalDefaults, resolveOpticalOptions } from './optical.js';
export { FpgaReservoir, type FpgaOptions, fpgaDefaults, resolveFpgaOptions, estimateSpectralRadius } from './fpga.js';
export { createModel, profiles, type Profile, type ProfileName, type ModelOptions, type ModelClasses } from './profiles.js';
export { SimDevice, type SimDeviceOptions, type PacingOptions, wireFormatFor, SIM_FIRMWARE, SIM_MAX_BATCH_CAP } from './device.js';
export { ByteFaults, type FaultOptions, type FaultCounts, emptyFaultCounts, resolveFaults } from './faults.js';
export { createSim, openSimLink, serveSim, type SimLinkOptions, type SimServed } from './serve.js';
export { serveSimOnPty, serveSimOnTcp, type ExposedSim } from './expose.js';
