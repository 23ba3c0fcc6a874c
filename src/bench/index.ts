/** Benchmarks of a device as the host sees it (what `rhil bench` runs). */
export {
  type DeviceBenchOptions, type DeviceBenchReport, type LatencyStats, type ThroughputResult, benchDevice, defaultBatchSizes, deviceUtilisation, latencyStats,
} from './device-bench.js';
