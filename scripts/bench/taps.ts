/**
 * Taps sweep (`node dist/scripts/bench/taps.js [--profiles analog-awg,optical,...] [--taps 1,5,10,20]
 * [--task narma10] [--seeds 1] [--episodes 100]`): what the device contributes as memory. For each
 * profile and each number of input taps (the digital layer's window of past inputs), the test
 * metric of pat through the device and of the same digital layer alone (digital, no device), at
 * the trainers' defaults otherwise. A device that remembers lets pat hold up as the taps shrink;
 * digital has only the taps. Prints one JSON line per run, then a Markdown table per task.
 */
import { cpus } from 'node:os';
import { DeviceClient } from '../../src/device/client.js';
import { createSim, openSimLink } from '../../src/sim/serve.js';
import { selectBackend } from '../../src/core/backend.js';
import { train, type AnyTrainOptions } from '../../src/train/train.js';

const args = process.argv.slice(2);
const flag = (name: string, d: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : d;
};
const profiles = flag('profiles', 'analog,analog-awg,optical,optical-feedback,fpga,fpga-large,fpga-awg').split(',');
const tapsList = flag('taps', '1,5,10,20').split(',').map(Number);
const task = flag('task', 'narma10');
const seeds = flag('seeds', '1').split(',').map(Number);
const episodes = Number(flag('episodes', '100'));
for (const t of tapsList) if (!(Number.isInteger(t) && t >= 1)) throw new RangeError(`--taps must list positive integers, got ${flag('taps', '')}`);

const backend = await selectBackend('wasm');
const cell = new Map<string, number[]>();
const key = (p: string, trainer: string, taps: number) => `${p}|${trainer}|${taps}`;

for (const profile of profiles) {
  for (const taps of tapsList) {
    for (const trainer of ['pat', 'digital'] as const) {
      for (const seed of seeds) {
        const sim = trainer === 'pat' ? openSimLink(profile, { seed }) : undefined;
        const device = sim ? await DeviceClient.connect(sim.link, { twin: sim.model }) : undefined;
        // digital trains its layer at the width the readout sees through the device (its output channels).
        const units = sim ? undefined : createSim(profile, { seed }).model.outChannels;
        try {
          const res = await train({ task, seed, episodes, taps, trainer, device, ...(units ? { units } : {}) } as AnyTrainOptions);
          console.log(JSON.stringify({ profile, trainer, taps, seed, value: res.test.value, metric: res.test.metric, samples: res.deviceSamples }));
          const k = key(profile, trainer, taps);
          cell.set(k, [...(cell.get(k) ?? []), res.test.value]);
        } finally {
          await device?.close();
        }
      }
    }
  }
}

const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
console.log(`\n${task}, test metric (mean over seeds ${seeds.join(',')}), ${episodes} episodes, pat / digital alone:\n`);
console.log(`| profile | ${tapsList.map((t) => `${t} taps`).join(' | ')} |`);
console.log(`|---|${tapsList.map(() => '---').join('|')}|`);
for (const p of profiles) {
  console.log(`| ${p} | ${tapsList.map((t) => `${mean(cell.get(key(p, 'pat', t)) ?? [NaN]).toFixed(3)} / ${mean(cell.get(key(p, 'digital', t)) ?? [NaN]).toFixed(3)}`).join(' | ')} |`);
}
console.log(`\n${new Date().toISOString()}  ${cpus()[0]?.model ?? 'unknown cpu'} x${cpus().length}  node ${process.version}  backend ${backend.detail}`);
