import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { DeviceClient } from '../../src/device/client.js';
import { openSimLink } from '../../src/sim/serve.js';
import type { AnalogOptions } from '../../src/sim/analog.js';
import type { SimDeviceOptions } from '../../src/sim/device.js';
import { selectBackend } from '../../src/core/backend.js';
import { liveRefitWorkers } from '../../src/surrogate/lagged-refit.js';
import { TrainingInterrupted, type TrainOptions, type TrainResult } from '../../src/train/common.js';
import { train } from '../../src/train/train.js';

test.before(async () => {
  await selectBackend('wasm');
});

/** The sizes of pat.test.ts (15 episodes of 250 steps, 5350 device samples in all). */
const SMALL: Omit<TrainOptions, 'trainer' | 'seed'> = {
  task: 'narma10', episodes: 15, learningRate: 0.05, steps: 200, washout: 50, trainSteps: 2000, fitSteps: 1000, testSteps: 500,
  surrogate: { fitExamples: 512, hidden: [32] },
};

async function onAnalog(
  overrides: Partial<AnalogOptions>, device: SimDeviceOptions, opts: Omit<TrainOptions, 'device'>, wrap = (d: DeviceClient): DeviceClient => d,
): Promise<TrainResult> {
  const { link } = openSimLink('analog', { seed: 1, overrides, device });
  const client = await DeviceClient.connect(link);
  try {
    const o: TrainOptions = { ...opts, device: wrap(client) };
    return await train(o);
  } finally {
    await client.close();
  }
}

const mean = (a: number[]): number => a.reduce((s, x) => s + x, 0) / a.length;

/** `d` with its method `key` replaced by `wrap(the original, bound)`. */
function intercept<K extends 'process' | 'resetState'>(d: DeviceClient, key: K, wrap: (f: DeviceClient[K]) => DeviceClient[K]): DeviceClient {
  const wrapped = wrap(d[key].bind(d) as DeviceClient[K]);
  return new Proxy(d, {
    get(target, k) {
      if (k === key) return wrapped;
      const v = Reflect.get(target, k, target) as unknown;
      return typeof v === 'function' ? (v as (...x: unknown[]) => unknown).bind(target) : v;
    },
  });
}
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
  // Continuous refit: every episode refitted before its step (lag 0, the default), the alarm
  // fires, the test NMSE stays reasonable.
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
  // Per-episode records carry the held-out NMSE and the counts: episode e steps with the refit on episodes up to e.
  assert.ok(live.episodes.every((e, i) => e.surrogateHeldOutNmse !== undefined && e.refits === i + 1), JSON.stringify(live.episodes.map((e) => e.refits)));
  // Lag 1: episode e steps with the refit on episodes up to e-1 (episode 0's step waits for episode 1).
  const lagged = await onAnalog(drift, {}, { ...opts, episodes: 5, surrogate: { ...SMALL.surrogate, lag: 1 } });
  assert.ok(lagged.episodes.every((e, i) => (e.surrogateHeldOutNmse !== undefined) === (i > 0) && e.refits === i), JSON.stringify(lagged.episodes.map((e) => e.refits)));
});

test('pipelining: the next episode is on the device while the host steps on the current one (paced device: 200 µs per step, 50 ms per episode); same seed, same numbers', async () => {
  const paced = { pacing: { samplePeriod: true } };
  const opts = { ...SMALL, trainer: 'pat' as const, seed: 2, episodes: 8 };
  let resets = 0;
  const counting = (d: DeviceClient): DeviceClient => intercept(d, 'resetState', (f) => () => { resets++; return f(); });
  // Episodes whose measurement had started (each begins with a reset) when episode i's record came, less i + 1.
  const ahead: number[][] = [[], []];
  const pipe = await onAnalog({ nodeSeparationNs: 4000 }, paced, { ...opts, onEpisode: (_r, i) => ahead[0].push(resets - (i + 1)) }, counting);
  resets = 0;
  const serial = await onAnalog({ nodeSeparationNs: 4000 }, paced, { ...opts, pipeline: false, onEpisode: (_r, i) => ahead[1].push(resets - (i + 1)) }, counting);
  console.log(`    device utilisation: pipelined ${pipe.deviceUtilisation!.toFixed(2)} (${pipe.elapsedMs.toFixed(0)} ms), not ${serial.deviceUtilisation!.toFixed(2)} (${serial.elapsedMs.toFixed(0)} ms); test NMSE ${pipe.test.value.toFixed(3)} / ${serial.test.value.toFixed(3)}`);
  assert.equal(ahead[0], [1, 1, 1, 1, 1, 1, 1, 0], 'pipelined: the next episode is measured during the step (none after the last)');
  assert.equal(ahead[1], [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.ok(pipe.deviceUtilisation! <= 1 && serial.deviceUtilisation! > 0);
  // The first episode is the same; later ones differ by the stale drives (and, paced, by the drift clock's idle time).
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

test('pipelining queues the next episode on the device behind the current one (its reset goes out before the current results are in); lag 1 with refitEvery 3 publishes a refit every third episode; same seed, same numbers', async () => {
  const paced = { pacing: { samplePeriod: true } };
  let outstanding = 0, queuedResets = 0;
  const watching = (d: DeviceClient): DeviceClient => intercept(
    intercept(d, 'process', (f) => (input) => { outstanding++; return f(input).finally(() => { outstanding--; }); }),
    'resetState', (f) => () => { if (outstanding > 0) queuedResets++; return f(); },
  );
  const opts = { ...SMALL, trainer: 'pat' as const, seed: 2, episodes: 8 };
  // 200 ms episodes: a reset goes out behind a measuring episode only if the host launches the next
  // one before the current one ends, and on a loaded 2-core CI machine 50 ms episodes left 4 of 8.
  await onAnalog({ nodeSeparationNs: 16000 }, paced, opts, watching);
  assert.ok(queuedResets >= 5, `resets issued behind a measuring episode: ${queuedResets} of 8`);

  // No drift alarms (they would start refits of their own): the schedule alone.
  const spread = { ...opts, episodes: 10, surrogate: { ...SMALL.surrogate, lag: 1 as const, refitEvery: 3 }, refit: { driftFactor: 1e9 } };
  const a = await onAnalog({ nodeSeparationNs: 4000 }, {}, spread);
  // First fit after episode 0 (in use from episode 1); the refits started at episodes 3 and 6 are in use from 6 and 9.
  assert.equal(a.episodes.map((e) => e.refits), [0, 1, 1, 1, 1, 1, 2, 2, 2, 3]);
  const b = await onAnalog({ nodeSeparationNs: 4000 }, {}, spread);
  assert.is(b.test.value, a.test.value);
});

test('refits on this thread (the default) or in a worker: identical numbers; no worker and no tensor left after a run, an abort or a device failure', async () => {
  const opts = { ...SMALL, trainer: 'pat' as const, seed: 3, episodes: 5, fitSteps: 300, testSteps: 200 };
  const strip = (r: TrainResult) => ({ ...r, elapsedMs: 0, deviceUtilisation: 0 });
  const tensors = tf.memory().numTensors;
  const workers: number[] = [], none: number[] = [];
  const there = await onAnalog({}, {}, { ...opts, refitWorker: true, onEpisode: () => workers.push(liveRefitWorkers()) });
  const here = await onAnalog({}, {}, { ...opts, onEpisode: () => none.push(liveRefitWorkers()) });
  assert.equal(workers, [1, 1, 1, 1, 1], 'one worker while training');
  assert.equal(none, [0, 0, 0, 0, 0]);
  assert.equal(strip(there), strip(here));
  assert.ok(Number.isFinite(here.test.value) && here.episodes.at(-1)!.refits === 5);
  assert.is(liveRefitWorkers(), 0);
  assert.is(tf.memory().numTensors, tensors);
  for (const refitWorker of [true, false]) {
    const ctl = new AbortController();
    const err = await onAnalog({}, {}, { ...opts, refitWorker, signal: ctl.signal, onEpisode: (_r, i) => { if (i === 2) ctl.abort(); } }).then(() => null, (e: unknown) => e);
    assert.instance(err, TrainingInterrupted);
    assert.is(liveRefitWorkers(), 0, 'after an abort');
    assert.is(tf.memory().numTensors, tensors, 'after an abort');
    // The device fails for good on episode 3's batch (a state break would be re-measured instead).
    let calls = 0;
    const unplugged = (d: DeviceClient): DeviceClient => intercept(d, 'process', (f) => (input) => (++calls === 4 ? Promise.reject(new Error('unplugged')) : f(input)));
    const failed = await onAnalog({}, {}, { ...opts, refitWorker }, unplugged).then(() => null, (e: unknown) => e as Error);
    assert.match(failed?.message ?? '', /unplugged/);
    assert.is(liveRefitWorkers(), 0, 'after a device failure');
    assert.is(tf.memory().numTensors, tensors, 'after a device failure');
  }
});

test.run();
