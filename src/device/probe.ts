/**
 * A quick "is the board alive and sane" check for the bench: reset, drive a slow ramp across the
 * input range in small batches, and report round-trip times and what came back.
 */
import { RESULT_STATUS, type Status } from '../protocol/index.js';
import type { DeviceClient } from './client.js';

export interface ProbeReport {
  batches: number;
  samplesPerBatch: number;
  epoch: number;
  roundTripMs: { p50: number; max: number };
  output: { min: number; max: number };
  clippedBatches: number;
  saturatedBatches: number;
  status: Status;
}

/** Runs `batches` batches of `samplesPerBatch` vectors (defaults 16 and 16) through the device. */
export async function probeDevice(client: DeviceClient, batches = 16, samplesPerBatch = 16): Promise<ProbeReport> {
  const { inChannels, inMin, inMax, inFormat } = client.info;
  const n = Math.max(1, Math.min(samplesPerBatch, client.maxBatch));
  const epoch = await client.resetState();
  const rtts: number[] = [];
  let min = Infinity, max = -Infinity, clipped = 0, saturated = 0;
  for (let b = 0; b < batches; b++) {
    const drive = Array.from({ length: n * inChannels }, (_, i) => {
      const x = inMin + ((b * n + Math.floor(i / inChannels)) / (batches * n)) * (inMax - inMin);
      return inFormat === 'f32' ? x : Math.round(x);
    });
    const t0 = performance.now();
    const r = await client.process(drive);
    rtts.push(performance.now() - t0);
    for (const v of r.output) { if (v < min) min = v; if (v > max) max = v; }
    if (r.status & RESULT_STATUS.INPUT_CLIPPED) clipped++;
    if (r.status & RESULT_STATUS.OUTPUT_SATURATED) saturated++;
  }
  rtts.sort((a, b) => a - b);
  return {
    batches, samplesPerBatch: n, epoch,
    roundTripMs: { p50: rtts[Math.floor(rtts.length / 2)], max: rtts[rtts.length - 1] },
    output: { min, max }, clippedBatches: clipped, saturatedBatches: saturated,
    status: await client.getStatus(),
  };
}
