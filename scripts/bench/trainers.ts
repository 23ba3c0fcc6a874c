/**
 * Trainer comparisons for the training issue's tables (not a test: minutes of CPU per row).
 *
 *   node dist/scripts/bench/trainers.js table  [--profile analog] [--task narma10] [--seeds 1,2,3] [--trainers pat,oracle,...] [--episodes 100] [--overrides JSON] [--surrogate narx|auto|memoryless] [--budget N]
 *   node dist/scripts/bench/trainers.js drift  [--profile analog] [--seeds 1,2,3] [--episodes 100]
 *   node dist/scripts/bench/trainers.js curves [--profile analog] [--seeds 1] [--episodes 100]
 *
 * table: every trainer on the same model structure (input layer of 20 taps, ridge readout, same
 * device) at the same device-sample budget: pat runs first and its deviceSamples becomes the
 * budget of classic, insilico and spsa; oracle and digital use pat's episodes. Prints one JSON line
 * per run, then a Markdown table of the mean (min-max) test metric per trainer.
 *
 * drift: the device's read-out gain drifts 10 % over pat's training (gainDriftPerHour 1 with the
 * sample period stretched so the run spans 0.1 h of device time); pat with continuous refit, pat
 * with its surrogate frozen after the first fit, and pat without drift.
 *
 * --surrogate: pat's and oracle's surrogate design (TrainOptions.surrogate.design; default narx).
 * With auto, pat's exploration counts in its deviceSamples, so in the budget of the others.
 * --budget: pat's device-sample budget (default none: its episodes decide), e.g. 48100 to hold
 * pat with auto to the default run's samples, exploration included.
 *
 * curves: samples-to-target: pat's test metric after 10, 25, 50 and `episodes` episodes with the
 * device samples each used, and spsa's at 1x, 3x and 10x pat's full budget.
 */
import { DeviceClient } from '../../src/device/client.js';
import { openSimLink } from '../../src/sim/serve.js';
import { selectBackend } from '../../src/core/backend.js';
import type { SurrogateDesignOption, TrainOptions, TrainResult } from '../../src/train/common.js';
import { train, type AnyTrainOptions } from '../../src/train/train.js';

const args = process.argv.slice(2);
const mode = args[0] && !args[0].startsWith('--') ? args.shift()! : 'table';
const flag = (name: string, d: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : d;
};
const profile = flag('profile', 'analog');
const task = flag('task', 'narma10');
const seeds = flag('seeds', mode === 'curves' ? '1' : '1,2,3').split(',').map(Number);
const episodes = Number(flag('episodes', '100'));
const overrides = JSON.parse(flag('overrides', '{}')) as Record<string, unknown>;
const trainers = flag('trainers', 'pat,oracle,insilico,spsa,classic,digital').split(',');
const design = flag('surrogate', 'narx') as SurrogateDesignOption;
const patBudget = flag('budget', '') === '' ? {} : { budget: Number(flag('budget', '')) };

await selectBackend('wasm');

interface Row { label: string; seed: number; value: number; samples: number; seconds: number; metric: string }
const rows: Row[] = [];

async function run(label: string, seed: number, opts: Partial<AnyTrainOptions> & { trainer: AnyTrainOptions['trainer'] }, ov = overrides): Promise<TrainResult> {
  const needsDevice = opts.trainer !== 'digital';
  const sim = needsDevice ? openSimLink(profile, { seed, overrides: ov }) : undefined;
  const device = sim ? await DeviceClient.connect(sim.link, { twin: sim.model }) : undefined;
  try {
    const res = await train({
      task, seed, episodes, ...opts, device,
      ...(opts.trainer === 'pat' || opts.trainer === 'oracle' ? { surrogate: { design } } : {}),
    } as AnyTrainOptions);
    const row = { label, seed, value: res.test.value, samples: res.deviceSamples, seconds: res.elapsedMs / 1000, metric: res.test.metric };
    rows.push(row);
    console.log(JSON.stringify({
      ...row, value: +row.value.toFixed(4), seconds: +row.seconds.toFixed(1), saturation: res.episodes.at(-1)?.saturation,
      ...(res.surrogateChoice ? { surrogate: { ...res.surrogateChoice, exploration: undefined } } : {}),
    }));
    return res;
  } finally {
    await device?.close();
  }
}

function summary(title: string): void {
  const labels = [...new Set(rows.map((r) => r.label))];
  console.log(`\n${title}\n\n| trainer | ${rows[0]?.metric ?? 'metric'} mean (min-max) | device samples | seconds per run |\n|---|---|---|---|`);
  for (const l of labels) {
    const rs = rows.filter((r) => r.label === l);
    const v = rs.map((r) => r.value);
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const s = rs.map((r) => r.samples);
    console.log(`| ${l} | ${mean.toFixed(3)} (${Math.min(...v).toFixed(3)}-${Math.max(...v).toFixed(3)}) | ${Math.min(...s)}${Math.max(...s) !== Math.min(...s) ? `-${Math.max(...s)}` : ''} | ${(rs.reduce((a, r) => a + r.seconds, 0) / rs.length).toFixed(0)} |`);
  }
}

const base: Omit<TrainOptions, 'trainer' | 'seed' | 'task'> = { fidelityEvery: 0 };

if (mode === 'table') {
  for (const seed of seeds) {
    const pat = await run('pat', seed, { ...base, trainer: 'pat', ...patBudget });
    for (const t of trainers.filter((x) => x !== 'pat')) {
      const budgeted = t === 'classic' || t === 'insilico' || t === 'spsa';
      await run(t, seed, { ...base, trainer: t as AnyTrainOptions['trainer'], ...(budgeted ? { budget: pat.deviceSamples } : {}) });
    }
  }
  summary(`${task} on sim:${profile}${Object.keys(overrides).length ? ` ${JSON.stringify(overrides)}` : ''}, ${episodes} episodes, seeds ${seeds.join(',')}`);
} else if (mode === 'drift') {
  // 10 % gain drift over the training samples: steps x 50 nodes x nodeSeparationNs = 0.1 h at 1/h.
  const trainSamples = episodes * 450;
  const nodes = Number((overrides as { nodes?: number }).nodes ?? 50);
  const drift = { ...overrides, gainDriftPerHour: 1, nodeSeparationNs: Math.round((0.1 * 3.6e12) / (trainSamples * nodes)) };
  for (const seed of seeds) {
    await run('pat, no drift', seed, { ...base, trainer: 'pat' });
    await run('pat, 10 % gain drift, continuous refit', seed, { ...base, trainer: 'pat' }, drift);
    await run('pat, 10 % gain drift, surrogate frozen after the first fit', seed, { ...base, trainer: 'pat', freezeSurrogate: true }, drift);
  }
  summary(`drift on sim:${profile}, ${task}, ${episodes} episodes, seeds ${seeds.join(',')}`);
} else if (mode === 'curves') {
  for (const seed of seeds) {
    let full: TrainResult | undefined;
    for (const e of [10, 25, 50, episodes].filter((x, i, a) => x <= episodes && a.indexOf(x) === i)) {
      full = await run(`pat, ${e} episodes`, seed, { ...base, trainer: 'pat', episodes: e });
    }
    for (const k of [1, 3, 10]) {
      await run(`spsa, ${k}x pat's samples`, seed, { ...base, trainer: 'spsa', episodes: 100000, budget: k * full!.deviceSamples });
    }
  }
  summary(`samples to target on sim:${profile}, ${task}, seeds ${seeds.join(',')}`);
} else {
  console.error(`unknown mode ${mode}: table, drift or curves`);
  process.exitCode = 2;
}
