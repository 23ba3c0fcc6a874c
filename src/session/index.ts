/** Recorded sessions: runs with their batches, metrics and artifacts, and calibrations kept in the run database. */
export {
  type RecordedRunOptions, type RunContext, ExitError, INTERRUPT_EXIT_CODE, InterruptRequest, RecordDbError, explainDbError, interruptRequested,
  isInterruption, SessionError, withRecordedRun,
} from './run.js';
export {
  type FindCalibrationOptions, type SaveCalibrationOptions, type StoredCalibration, CalibrationError, assertCalibrationFits,
  findNewestCalibration, loadCalibration, readCalibrationFile, saveCalibration,
} from './calibrations.js';
export {
  type GivenTrainSettings, type PickedCalibration, type Resumed, type RunSettings, type TrainConfig, type TrainSettings, type UsedCalibration, TRAIN_FLAG_DEFAULTS, loadResume,
  pickCalibration, saveNamedFile, saveNewFile, cliTrainOptions, trainOptionsOf, trainSettings,
} from './train-plan.js';
export { type RecordPolicy, parseRecordPolicy, planSamples, policyPhrase, policyText, projectedBytes, rowBytes, sizeText } from './record-policy.js';
