/**
 * Spread of a trainer's result over the device's noise realisations (`npm run bench:noise-spread --
 * [--profile analog-awg] [--seeds 1,2,3] [--pre-steps 0,1,200,7200] [--trainer pat] [--surrogate D (default: the CLI's)]
 * [--task narma10] [--episodes 100] [--response-decay R]`). --response-decay sets pat's library
 * option surrogate.responseDecay (with throughResponses), for ablations; it is not a CLI flag.
 *
 * A simulator's read noise is one stream from its seed, so `rhil train --seed S` always meets the
 * same noise, and a seed's figure looks exact. A real board's noise is never the same twice. Here
 * each run first measures `pre-steps` steps of seeded random drives (not counted in the run), so
 * the run meets the same device, the same windows and the same initial weights, with the noise
 * stream moved on. 0 pre-steps is exactly `rhil train --device sim:<profile> --seed S` (the same
 * options, `cliTrainOptions`). With `--repeat-final K` the trained input layer is also fitted and
 * tested K more times on fresh noise, which separates the final test's own noise from the
 * training's sensitivity to the noise it met.
 *
 * Prints one JSON line per run, then per seed and over all runs: mean, standard deviation, range.
 */
import { openDevice } from '../../src/device/index.js';
import { selectBackend } from '../../src/core/backend.js';
import { Rng } from '../../src/core/rng.js';
import { cliTrainOptions } from '../../src/session/train-plan.js';
import type { TrainerName } from '../../src/train/common.js';
import { finishOnDevice, resolve } from '../../src/train/common.js';
import { measure } from '../../src/train/device-units.js';
import { TappedDense } from '../../src/train/input-layer.js';
import { type AnyTrainOptions, train } from '../../src/train/train.js';

const args = process.argv.slice(2);
const flag = (name: string, d: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : d;
};
const ints = (name: string, d: string, min: number): number[] => {
  const v = flag(name, d).split(',').map(Number);
  for (const x of v) if (!(Number.isInteger(x) && x >= min)) throw new RangeError(`--${name} must list integers >= ${min}, got ${flag(name, d)}`);
  return v;
};
const profile = flag('profile', 'analog-awg');
const seeds = ints('seeds', '1,2,3', 0);
const preSteps = ints('pre-steps', '0,1,200,7200', 0);
const repeatFinal = ints('repeat-final', '0', 0)[0];
const given = {
  device: `sim:${profile}`, task: flag('task', 'narma10'), trainer: flag('trainer', 'pat') as TrainerName,
  surrogate: flag('surrogate', '') || undefined, episodes: ints('episodes', '100', 1)[0],
};

const decay = flag('response-decay', '');
const vjp = decay === '' ? {} : { throughResponses: true, responseDecay: Number(decay) };

const backend = await selectBackend('wasm');
console.log(`# noise spread: ${profile}, ${given.trainer}, ${given.task}, surrogate ${given.surrogate ?? 'the CLI default'}${decay === '' ? '' : ` (response decay ${decay})`}, ${given.episodes} episodes, ${backend.detail}`);
const bySeed = new Map<number, number[]>();
for (const seed of seeds) {
  for (const n of preSteps) {
    const device = await openDevice(given.device, { seed });
    try {
      if (n > 0) {
        const rng = new Rng(seed).fork('pre-steps');
        await measure(device, Float32Array.from({ length: n * device.info.inChannels }, () => rng.range(-1, 1)));
      }
      const cli = cliTrainOptions({ ...given, seed });
      const o = { ...cli, ...(decay === '' ? {} : { surrogate: { ...cli.surrogate, ...vjp } }), device } as AnyTrainOptions;
      const res = await train(o);
      const finals: number[] = [];
      for (let k = 0; k < repeatFinal; k++) {
        const layer = TappedDense.fromJSON(res.model.inputLayer);
        try {
          finals.push((await finishOnDevice(o, resolve(o), given.trainer, performance.now(), device, layer, 0, [])).test.value);
        } finally {
          layer.dispose();
        }
      }
      bySeed.set(seed, [...(bySeed.get(seed) ?? []), res.test.value]);
      console.log(JSON.stringify({
        profile, seed, preSteps: n, metric: res.test.metric, test: +res.test.value.toFixed(4), deviceSamples: res.deviceSamples,
        ...(finals.length ? { finalAgain: finals.map((v) => +v.toFixed(4)) } : {}), seconds: +(res.elapsedMs / 1000).toFixed(1),
      }));
    } finally {
      await device.close();
    }
  }
}
const stats = (v: number[]) => {
  const m = v.reduce((a, x) => a + x, 0) / v.length;
  const sd = v.length > 1 ? Math.sqrt(v.reduce((a, x) => a + (x - m) ** 2, 0) / (v.length - 1)) : 0;
  return `mean ${m.toFixed(4)}, sd ${sd.toFixed(4)}, ${Math.min(...v).toFixed(4)}-${Math.max(...v).toFixed(4)} (${v.length} runs)`;
};
for (const [seed, v] of bySeed) console.log(`seed ${seed}: ${v.map((x) => x.toFixed(4)).join(' / ')}; ${stats(v)}`);
console.log(`all: ${stats([...bySeed.values()].flat())}`);
