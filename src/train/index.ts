/** Training around the device: backend selection, ridge readout, gradient checks. */
export * from '../core/backend.js';
export * from './ridge.js';
export * from './vjp-check.js';
export * from './hybrid.js';
export type {
  TrainOptions, TrainResult, EpisodeRecord, DeviceSummary, SurrogateTrainOptions, TrainerName, TrainCheckpoint, TestTrace, CustomTask,
  SurrogateDesignOption, SurrogateChoiceRecord, ExploreSettings,
} from './common.js';
export { DEFAULT_EPISODES, TrainingInterrupted, taskName } from './common.js';
export { trainPat } from './pat.js';
export { trainClassic, trainDigital, type DigitalOptions } from './baselines.js';
export { train, type AnyTrainOptions } from './train.js';
export { trainOracle, type OracleOptions, type OracleEpisodeRecord, type FidelityOptions } from './oracle.js';
export { trainInsilico, type InsilicoOptions, type InsilicoSettings, type InsilicoEpisodeRecord } from './insilico.js';
export { trainSpsa, ridgeLoss, type SpsaOptions, type SpsaGains } from './spsa.js';
export * from './fidelity.js';
export * from './twin-grad.js';
export { surrogateRefitter, surrogateDefaults, chooseSurrogate, SURROGATE_DESIGNS, EXPLORE_SHARE, type ResolvedSurrogateOptions, type SurrogateChoice } from './surrogate-setup.js';
export * from './apply.js';
export { trainRandomFeatures, type ClassicOptions, CLASSIC_HELD_OUT_FRACTION, DIGITAL_HELD_OUT_STEPS } from './baselines.js';
export { sweep, tuneDigital, tuneClassic, tuneRandomFeatures, DIGITAL_RATES, INPUT_GAINS, type SweepEntry, type SweepResult, type DigitalTuning, type GainTuning } from './tune.js';
export type { HeldOutScore } from './common.js';
