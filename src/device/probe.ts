/**
 * A quick "is the board alive and sane" check for the bench: drive a slow ramp across the input
 * range in small batches (one segment from a reset), and report round-trip times and what came back.
 */
import { RESULT_STATUS, type Status } from '../protocol/index.js';
import type { Device } from './device.js';
import { measureSegment } from './segment.js';

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

/** Runs `batches` batches of `samplesPerBatch` vectors (defaults 16 and 16) through the device, one after another as one segment. */
export async function probeDevice(client: Device, batches = 16, samplesPerBatch = 16): Promise<ProbeReport> {
  const { inChannels, inMin, inMax, inFormat } = client.info;
  const n = Math.max(1, Math.min(samplesPerBatch, client.maxBatch));
  let epoch: number | undefined;
  const rtts: number[] = [];
  let min = Infinity, max = -Infinity, clipped = 0, saturated = 0;
  for (let b = 0; b < batches; b++) {
    const drive = Float64Array.from({ length: n * inChannels }, (_, i) => {
      const x = inMin + ((b * n + Math.floor(i / inChannels)) / (batches * n)) * (inMax - inMin);
      return inFormat === 'f32' ? x : Math.round(x);
    });
    // The first batch opens the segment with a reset; the round trip is timed from the batch's send.
    let t0 = performance.now();
    const seg = await measureSegment(client, drive, { epoch, maxRetries: 0, onSent: () => { t0 = performance.now(); } });
    rtts.push(performance.now() - t0);
    epoch = seg.epoch;
    for (const v of seg.raw) { if (v < min) min = v; if (v > max) max = v; }
    if (seg.status & RESULT_STATUS.INPUT_CLIPPED) clipped++;
    if (seg.status & RESULT_STATUS.OUTPUT_SATURATED) saturated++;
  }
  rtts.sort((a, b) => a - b);
  return {
    batches, samplesPerBatch: n, epoch: epoch!,
    roundTripMs: { p50: rtts[Math.floor(rtts.length / 2)], max: rtts[rtts.length - 1] },
    output: { min, max }, clippedBatches: clipped, saturatedBatches: saturated,
    status: await client.getStatus(),
  };
}
