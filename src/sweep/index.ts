/** Sweeps: a grid or list of train settings, each point a recorded run tagged with the sweep, resumable, with a comparison report. */
export {
  type PointResult, type PointStatus, type SweepOptions, type SweepPoint, type SweepResult, type SweepValue, MAX_PARALLEL, SWEEP_SET_OPTIONS,
  SweepError, checkSweep, pointKey, pointLabel, runSweep, sweepRunsOf, trainFlags,
} from './run.js';
