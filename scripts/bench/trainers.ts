/**
 * Trainer comparisons for the training issue's tables (not a test: minutes of CPU per row).
 *
 *   node dist/scripts/bench/trainers.js table  [--profile analog] [--task narma10] [--seeds 1,2,3] [--trainers pat,oracle,...] [--episodes 100] [--overrides JSON] [--surrogate narx|auto|memoryless] [--budget N]
 *   node dist/scripts/bench/trainers.js drift  [--profile analog] [--seeds 1,2,3] [--episodes 100]
 *   node dist/scripts/bench/trainers.js curves [--profile analog] [--seeds 1] [--episodes 100]
 *
 * table: fair baselines (issue 11). pat, oracle, insilico and spsa run with exactly the options
 * `rhil train --device sim:<profile> --trainer T --seed S --episodes E` gives (session
 * cliTrainOptions: pat's fidelity checks every 25 episodes included, their samples counted).
 * pat runs first and its deviceSamples becomes the budget of classic, insilico and spsa. The
 * baselines are tuned on held-out rows of the training sequence, never on the test (train/tune.ts):
 *   - digital tuned @ W: the digital layer alone at W = the device's outChannels and at 50 units,
 *     a learning-rate sweep (DIGITAL_RATES) with early stopping on held-out training steps, up to
 *     --digital-episodes (default: --episodes);
 *   - classic tuned: the fixed random input layer with an input-gain sweep (INPUT_GAINS), each
 *     gain at pat's budget;
 *   - random features @ W: a fixed random tanh layer of the device's width on the same taps and a
 *     ridge readout, no device, with the same gain sweep.
 * --trainers picks rows by pat, oracle, insilico, spsa, classic, digital (both widths), random.
 * Prints one JSON line per run (every candidate of a sweep with its held-out and test scores),
 * then a Markdown table of the mean (min-max) test metric per row with the chosen settings.
 *
 * drift: the device's read-out gain drifts 10 % over pat's training (gainDriftPerHour 1 with the
 * sample period stretched so the run spans 0.1 h of device time); pat with continuous refit, pat
 * with its surrogate frozen after the first fit, and pat without drift.
 *
 * --surrogate: pat's and oracle's surrogate design (rhil train --surrogate; default the CLI's: auto for
 * pat, narx for oracle; drift and curves, which are not CLI runs, default to narx).
 * With auto, pat's exploration counts in its deviceSamples, so in the budget of the others.
 * --budget: pat's device-sample budget (default none: its episodes decide; not a CLI flag), e.g.
 * 48100 to hold pat with auto to a run's samples, exploration included.
 * --overrides: simulator parameters (not a CLI setting: a run with them is not one rhil gives).
 * --through-responses, --response-decay R: pat's VJP along the response lags, passing back R of
 * the adjoint per step (library surrogate.throughResponses / responseDecay; not CLI flags).
 *
 * curves: samples-to-target: pat's test metric after 10, 25, 50 and `episodes` episodes with the
 * device samples each used, and spsa's at 1x, 3x and 10x pat's full budget.
 *
 * drift and curves keep pat's fidelity checks off (fidelityEvery 0), as their README figures were
 * measured.
 */
import { DeviceClient } from '../../src/device/client.js';
import { openSimLink } from '../../src/sim/serve.js';
import { selectBackend } from '../../src/core/backend.js';
import type { SurrogateDesignOption, TrainOptions, TrainResult, TrainerName } from '../../src/train/common.js';
import { train, type AnyTrainOptions } from '../../src/train/train.js';
import { type SweepResult, tuneClassic, tuneDigital, tuneRandomFeatures } from '../../src/train/tune.js';
import { cliTrainOptions } from '../../src/session/train-plan.js';

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
const trainers = flag('trainers', 'pat,oracle,insilico,spsa,classic,digital,random').split(',');
const digitalEpisodes = Number(flag('digital-episodes', String(episodes)));
const design = (flag('surrogate', '') || undefined) as SurrogateDesignOption | undefined;
const patBudget = flag('budget', '') === '' ? {} : { budget: Number(flag('budget', '')) };
// pat's step through the surrogate's response lags too (TrainOptions surrogate.throughResponses).
const throughResponses = args.includes('--through-responses');
// pat's share of the adjoint passed back per response lag (surrogate.responseDecay), for ablations.
const responseDecay = flag('response-decay', '') === '' ? undefined : Number(flag('response-decay', ''));

await selectBackend('wasm');

/** One run, or one sweep's chosen run: `sweepSamples` is what all its candidates spent, `chosen` its settings. */
interface Row { label: string; seed: number; value: number; samples: number; sweepSamples?: number; seconds: number; metric: string; chosen?: string }
const rows: Row[] = [];

/** The sim device of a run: opened as `rhil train --device sim:<profile> --seed S` opens it (plus --overrides, if any). */
async function simDevice(seed: number, ov = overrides): Promise<DeviceClient> {
  const sim = openSimLink(profile, { seed, overrides: ov });
  return DeviceClient.connect(sim.link, { twin: sim.model });
}

/** pat, oracle, insilico, spsa as `rhil train` runs them, with `extra` (a budget) on top. */
async function runCli(label: string, seed: number, trainer: TrainerName, extra: Partial<AnyTrainOptions> = {}): Promise<TrainResult> {
  const opts = cliTrainOptions({ task, trainer, seed, episodes, device: `sim:${profile}`, ...((trainer === 'pat' || trainer === 'oracle') && design ? { surrogate: design } : {}) });
  const device = await simDevice(seed);
  try {
    const withMemory = trainer !== 'pat' ? {} : {
      surrogate: { ...opts.surrogate, ...(throughResponses ? { throughResponses: true } : {}), ...(responseDecay !== undefined ? { responseDecay } : {}) },
    };
    const res = await train({ ...opts, ...withMemory, ...extra, device } as AnyTrainOptions);
    record({ label, seed, value: res.test.value, samples: res.deviceSamples, seconds: res.elapsedMs / 1000, metric: res.test.metric }, res);
    return res;
  } finally {
    await device.close();
  }
}

/** A tuned baseline: every candidate printed, the chosen one's test figure in the table. */
async function runSweep<P extends object>(label: string, seed: number, go: () => Promise<SweepResult<P>>): Promise<void> {
  const t0 = performance.now();
  const s = await go();
  for (const e of s.entries) {
    console.log(JSON.stringify({ label, seed, candidate: e.params, heldOut: +e.heldOut.value.toFixed(4), stoppedAfter: e.heldOut.episodes, test: +e.result.test.value.toFixed(4), samples: e.result.deviceSamples }));
  }
  const b = s.best;
  const chosen = Object.entries(b.params).map(([k, v]) => `${k} ${String(v)}`).join(', ') +
    (b.heldOut.episodes !== undefined && b.result.episodes.length > 0 ? `, stopped after ${b.heldOut.episodes} of ${b.result.episodes.length} episodes` : '') +
    (s.atEdge ? ' (edge of the grid)' : '');
  record({
    label, seed, value: b.result.test.value, samples: b.result.deviceSamples, sweepSamples: s.deviceSamples,
    seconds: (performance.now() - t0) / 1000, metric: b.result.test.metric, chosen,
  }, b.result);
}

function record(row: Row, res: TrainResult): void {
  rows.push(row);
  console.log(JSON.stringify({
    ...row, value: +row.value.toFixed(4), seconds: +row.seconds.toFixed(1), saturation: res.episodes.at(-1)?.saturation,
    ...(res.heldOut ? { heldOut: +res.heldOut.value.toFixed(4) } : {}),
    ...(res.surrogateChoice ? { surrogate: { ...res.surrogateChoice, exploration: undefined } } : {}),
  }));
}

async function run(label: string, seed: number, opts: Partial<AnyTrainOptions> & { trainer: AnyTrainOptions['trainer'] }, ov = overrides): Promise<TrainResult> {
  const device = opts.trainer !== 'digital' ? await simDevice(seed, ov) : undefined;
  try {
    const res = await train({
      task, seed, episodes, ...opts, device,
      ...(opts.trainer === 'pat' || opts.trainer === 'oracle' ? { surrogate: { design: design ?? 'narx' } } : {}),
    } as AnyTrainOptions);
    record({ label, seed, value: res.test.value, samples: res.deviceSamples, seconds: res.elapsedMs / 1000, metric: res.test.metric }, res);
    return res;
  } finally {
    await device?.close();
  }
}

function fairSummary(title: string): void {
  const labels = [...new Set(rows.map((r) => r.label))];
  console.log(`\n${title}\n\n| baseline | test ${rows[0]?.metric ?? 'metric'} mean (min-max) | chosen on held-out training data (per seed) | device samples | device samples of the whole sweep | seconds per seed |\n|---|---|---|---|---|---|`);
  const span = (xs: number[]): string => `${Math.min(...xs)}${Math.max(...xs) !== Math.min(...xs) ? `-${Math.max(...xs)}` : ''}`;
  for (const l of labels) {
    const rs = rows.filter((r) => r.label === l);
    const v = rs.map((r) => r.value);
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const sweep = rs.every((r) => r.sweepSamples !== undefined) ? span(rs.map((r) => r.sweepSamples!)) : '-';
    const chosen = rs.some((r) => r.chosen) ? rs.map((r) => r.chosen ?? '-').join('; ') : 'CLI defaults';
    console.log(`| ${l} | ${mean.toFixed(3)} (${Math.min(...v).toFixed(3)}-${Math.max(...v).toFixed(3)}) | ${chosen} | ${span(rs.map((r) => r.samples))} | ${sweep} | ${(rs.reduce((a, r) => a + r.seconds, 0) / rs.length).toFixed(0)} |`);
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
  const want = (t: string): boolean => trainers.includes(t);
  for (const seed of seeds) {
    const pat = await runCli('pat', seed, 'pat', patBudget);
    const budget = { budget: pat.deviceSamples };
    const width = pat.device!.outChannels;
    if (want('oracle')) await runCli('oracle', seed, 'oracle');
    if (want('insilico')) await runCli('insilico', seed, 'insilico', budget);
    if (want('spsa')) await runCli('spsa', seed, 'spsa', budget);
    // The baselines start from the CLI's options too (task, seed, taps, lengths); the sweeps set the rest.
    const common = cliTrainOptions({ task, trainer: 'digital', seed, episodes: digitalEpisodes });
    if (want('digital')) {
      for (const units of [...new Set([width, 50])]) {
        await runSweep(`digital tuned @ ${units}${units === width ? ' (device width)' : ''}`, seed, () => tuneDigital({ ...common, units }));
      }
    }
    if (want('classic')) {
      const device = await simDevice(seed);
      try {
        await runSweep('classic tuned', seed, () => tuneClassic({ ...cliTrainOptions({ task, trainer: 'classic', seed }), ...budget, device }));
      } finally {
        await device.close();
      }
    }
    if (want('random')) await runSweep(`random features @ ${width} (device width)`, seed, () => tuneRandomFeatures({ ...common, units: width }));
  }
  fairSummary(`${task} on sim:${profile}${Object.keys(overrides).length ? ` ${JSON.stringify(overrides)}` : ''}, ${episodes} episodes, seeds ${seeds.join(',')}`);
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
