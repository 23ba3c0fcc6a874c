import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DeviceClient } from '../../src/device/client.js';
import { openSimLink } from '../../src/sim/serve.js';
import type { AnalogOptions } from '../../src/sim/analog.js';
import type { SimDeviceOptions } from '../../src/sim/device.js';
import { selectBackend } from '../../src/train/backend.js';
import type { TrainOptions, TrainResult } from '../../src/train/common.js';
import { train } from '../../src/train/train.js';

test.before(async () => {
  await selectBackend('wasm');
});

/** The sizes of pat.test.ts (15 episodes of 250 steps, 5350 device samples in all). */
const SMALL: Omit<TrainOptions, 'trainer' | 'seed'> = {
  task: 'narma10', episodes: 15, learningRate: 0.05, steps: 200, washout: 50, trainSteps: 2000, fitSteps: 1000, testSteps: 500,
  surrogate: { fitExamples: 512, hidden: [32] },
};

async function onAnalog(overrides: Partial<AnalogOptions>, device: SimDeviceOptions, opts: Omit<TrainOptions, 'device'>): Promise<TrainResult> {
  const { link } = openSimLink('analog', { seed: 1, overrides, device });
  const client = await DeviceClient.connect(link);
  try {
    return await train({ ...opts, device: client });
  } finally {
    await client.close();
  }
}

const mean = (a: number[]): number => a.reduce((s, x) => s + x, 0) / a.length;
const newest = (r: TrainResult): number[] => r.episodes.map((e) => e.surrogateNmse ?? NaN);

test('gain drift (1/h over ~750 s of device time per 15 episodes, ~55 % in the run): continuous refit tracks it and raises drift alarms; a frozen surrogate falls behind', async () => {
  // samplePeriod = 50 nodes x 1e7 ns = 0.5 s of device time per step: 250 steps = 3.5 % gain per episode.
  const drift = { gainDriftPerHour: 1, nodeSeparationNs: 1e7 };
  const opts = { ...SMALL, trainer: 'pat' as const, seed: 1 };
  const live = await onAnalog(drift, {}, opts);
  const frozen = await onAnalog(drift, {}, { ...opts, freezeSurrogate: true });
  const still = await onAnalog({}, {}, opts);
  const last = (r: TrainResult) => r.episodes[r.episodes.length - 1];
  console.log(`    test NMSE: refit ${live.test.value.toFixed(3)}, frozen ${frozen.test.value.toFixed(3)}, no drift ${still.test.value.toFixed(3)}`);
  console.log(`    newest-pairs NMSE, last 3 episodes: refit ${mean(newest(live).slice(-3)).toFixed(4)}, frozen ${mean(newest(frozen).slice(-3)).toFixed(4)}, no drift ${mean(newest(still).slice(-3)).toFixed(4)}`);
  console.log(`    refits ${last(live).refits} / ${last(frozen).refits} / ${last(still).refits}; drift alarms ${last(live).driftAlarms} / ${last(frozen).driftAlarms} / ${last(still).driftAlarms}`);
  // Continuous refit: every episode refitted, the alarm fires, the test NMSE stays reasonable.
  assert.is(last(live).refits, 15);
  assert.ok(last(live).driftAlarms! >= 3, `drift alarms ${last(live).driftAlarms}`);
  assert.ok(last(live).driftAlarms! > last(still).driftAlarms!, 'more alarms than without drift');
  assert.ok(live.test.value < 0.4, `test NMSE ${live.test.value}`);
  // Frozen: one fit; its newest-pairs error grows and ends well above the refitted one's.
  assert.is(last(frozen).refits, 1);
  const f = newest(frozen);
  assert.ok(mean(f.slice(-3)) > 4 * mean(f.slice(1, 4)), `frozen newest NMSE ${f.join(', ')}`);
  assert.ok(mean(f.slice(-3)) > 3 * mean(newest(live).slice(-3)));
  assert.ok(last(frozen).driftAlarms! > last(live).driftAlarms!);
  // Per-episode records carry the held-out NMSE and the counts.
  assert.ok(live.episodes.every((e, i) => e.surrogateHeldOutNmse !== undefined && e.refits === i + 1));
});

test('pipelining keeps the device busier (paced device: 200 µs per step, 50 ms per episode) and gives the same-seed numbers every time', async () => {
  const paced = { pacing: { samplePeriod: true } };
  const opts = { ...SMALL, trainer: 'pat' as const, seed: 2, episodes: 8 };
  const pipe = await onAnalog({ nodeSeparationNs: 4000 }, paced, opts);
  const serial = await onAnalog({ nodeSeparationNs: 4000 }, paced, { ...opts, pipeline: false });
  console.log(`    device utilisation: pipelined ${pipe.deviceUtilisation!.toFixed(2)} (${pipe.elapsedMs.toFixed(0)} ms), not ${serial.deviceUtilisation!.toFixed(2)} (${serial.elapsedMs.toFixed(0)} ms); test NMSE ${pipe.test.value.toFixed(3)} / ${serial.test.value.toFixed(3)}`);
  assert.ok(pipe.deviceUtilisation! > serial.deviceUtilisation! + 0.1, `${pipe.deviceUtilisation} vs ${serial.deviceUtilisation}`);
  assert.ok(pipe.deviceUtilisation! <= 1 && serial.deviceUtilisation! > 0);
  // The first episode is the same; later ones differ by the stale drives.
  assert.is(pipe.episodes[0].loss, serial.episodes[0].loss);
  assert.ok(pipe.episodes[3].loss !== serial.episodes[3].loss);
  // Same seed, same numbers, with and without pipelining (unpaced: the drift clock then runs on device steps only).
  const strip = (r: TrainResult) => ({ ...r, elapsedMs: 0, deviceUtilisation: 0 });
  const short = { ...opts, episodes: 4, fitSteps: 300, testSteps: 200 };
  for (const pipeline of [true, false]) {
    const a = await onAnalog({ gainDriftPerHour: 1, nodeSeparationNs: 1e7 }, {}, { ...short, pipeline });
    const b = await onAnalog({ gainDriftPerHour: 1, nodeSeparationNs: 1e7 }, {}, { ...short, pipeline });
    assert.equal(strip(a), strip(b));
  }
});

test.run();
