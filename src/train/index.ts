/** Training around the device: backend selection, ridge readout, gradient checks. */
export * from './backend.js';
export * from './ridge.js';
export * from './vjp-check.js';
export * from './hybrid.js';
export type { TrainOptions, TrainResult, EpisodeRecord, DeviceSummary, SurrogateTrainOptions, TrainerName } from './common.js';
export { trainPat } from './pat.js';
export { trainClassic, trainDigital, type DigitalOptions } from './baselines.js';
export { train } from './train.js';
