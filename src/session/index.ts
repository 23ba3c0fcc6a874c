/** Recorded sessions: runs with their batches, metrics and artifacts, and calibrations kept in the run database. */
export {
  type RecordedRunOptions, type RunContext, ExitError, INTERRUPT_EXIT_CODE, RecordDbError, explainDbError, isInterruption, withRecordedRun,
} from './run.js';
export {
  type FindCalibrationOptions, type SaveCalibrationOptions, type StoredCalibration, CalibrationError, assertCalibrationFits,
  findNewestCalibration, loadCalibration, readCalibrationFile, saveCalibration,
} from './calibrations.js';
