/** Scripted calibration: plans, the run, the record and the helpers that apply it. */
export {
  type CalibrationPlan, type CrosstalkStep, type DriftStep, type LatencyStep, type NoiseStep, type PlanStep, type StepType, type SweepStep,
  PLAN_FORMAT, PLAN_VERSION, PLANS_DIR, PlanError, STEP_TYPES, loadPlan, planHash, validatePlan,
} from './plan.js';
export {
  type CalibrationRecord, type CrosstalkSummary, type DeviceIdentity, type DriftSummary, type LatencySummary, type LinearizationTable,
  type NoiseSummary, type SweepSummary, RECORD_FORMAT, RECORD_VERSION, checkRecord,
} from './record.js';
export { type CalibrationDevice, driveOf, median } from './measure.js';
export { type CalibrationOptions, type CalibrationProgress, runCalibration } from './run.js';
export { type AppliedCalibration, applyCalibration, deviceMismatches, hasSweep, matchesDevice } from './apply.js';
