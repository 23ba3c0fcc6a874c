/**
 * What a per-device surrogate choice changes for pat (issue 11, not a test: minutes per row).
 * For each profile: the exploration (train/explore.ts) picks a design from device queries alone;
 * pat then runs with its default surrogate and with the chosen one. Today's pat takes NARX designs
 * only, so a chosen transmission matrix is replaced by the best-scoring MLP design (printed).
 *
 *   node dist/scripts/bench/surrogate-choice.js [--profiles optical,fpga] [--seed 1] [--episodes 100]
 *
 * pat's device samples do not include the exploration's (printed separately).
 */
import { DeviceClient } from '../../src/device/client.js';
import { openSimLink } from '../../src/sim/serve.js';
import { selectBackend } from '../../src/core/backend.js';
import type { SurrogateTrainOptions } from '../../src/train/common.js';
import { exploreDevice, exploreRecord } from '../../src/train/explore.js';
import { deviceMeasurer } from '../../src/train/spot-check.js';
import { train } from '../../src/train/train.js';

const args = process.argv.slice(2);
const flag = (name: string, d: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : d;
};
const profiles = flag('profiles', 'optical,fpga').split(',');
const seed = Number(flag('seed', '1'));
const episodes = Number(flag('episodes', '100'));

await selectBackend('wasm');

async function withDevice<T>(profile: string, f: (d: DeviceClient) => Promise<T>): Promise<T> {
  const sim = openSimLink(profile, { seed });
  const device = await DeviceClient.connect(sim.link);
  try { return await f(device); } finally { await device.close(); }
}

for (const profile of profiles) {
  const ex = await withDevice(profile, (d) => exploreDevice(deviceMeasurer(d), { inChannels: d.info.inChannels, outChannels: d.info.outChannels, seed }));
  console.log(JSON.stringify({ profile, exploration: exploreRecord(ex) }));
  const mlp = ex.scores.filter((s) => s.design.hidden).sort((a, b) => a.score - b.score)[0];
  const chosen: SurrogateTrainOptions = { window: mlp.design.window, responseLags: mlp.design.responseLags, hidden: [...mlp.design.hidden!] };
  for (const [label, surrogate] of [['default', undefined], [`chosen ${mlp.design.name}`, chosen]] as const) {
    const res = await withDevice(profile, (device) => train({ trainer: 'pat', task: 'narma10', seed, episodes, device, fidelityEvery: 0, ...(surrogate ? { surrogate } : {}) }));
    console.log(JSON.stringify({ profile, label, surrogate: surrogate ?? 'default', test: +res.test.value.toFixed(4), metric: res.test.metric, deviceSamples: res.deviceSamples, explorationSamples: ex.samples, seconds: +(res.elapsedMs / 1000).toFixed(1) }));
  }
}
