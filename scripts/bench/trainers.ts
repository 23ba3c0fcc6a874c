/** Compare pat, oracle, insilico, spsa (and classic) on NARMA10, sim:analog, the sizes of test/train/pat.test.ts. Usage: node dist/scripts/bench/trainers.js [seeds] [trainers] */
import { openDevice } from '../../src/device/index.js';
import { selectBackend } from '../../src/train/backend.js';
import type { TrainOptions } from '../../src/train/common.js';
import { train, type AnyTrainOptions } from '../../src/train/train.js';

const SMALL: Omit<TrainOptions, 'trainer' | 'seed'> = {
  task: 'narma10', episodes: 15, learningRate: 0.05, steps: 200, washout: 50, trainSteps: 2000, fitSteps: 1000, testSteps: 500,
  surrogate: { fitExamples: 512, hidden: [32] },
};

await selectBackend('wasm');
const seeds = (process.argv[2] ?? '1').split(',').map(Number);
const trainers = (process.argv[3] ?? 'pat,oracle,insilico,spsa').split(',');
for (const seed of seeds) {
  for (const t of trainers) {
    const [name, variant] = t.split(':');
    const device = await openDevice('sim:analog', { seed });
    const extra: Partial<AnyTrainOptions> = {};
    if (name === 'insilico') extra.surrogate = {};
    if (variant === 'nfir') extra.surrogate = { window: 16, responseLags: 0, hidden: [64], fitExamples: 512 };
    if (variant === 'spot') extra.fidelity = { spot: { directions: 1 } };
    if (variant === 'same-budget') extra.budget = 15 * 250 + 2 * 50 + 1000 + 500;
    if (variant === 'long') extra.episodes = 60;
    try {
      const res = await train({ ...SMALL, ...extra, trainer: name as AnyTrainOptions['trainer'], seed, device } as AnyTrainOptions);
      const fid = res.episodes.map((e) => (e as { fidelity?: { vjpCosine?: number; spot?: { ratio: number; cosine: number } } }).fidelity).filter(Boolean);
      const cos = fid.map((f) => f!.vjpCosine).filter((x): x is number => x !== undefined);
      const spot = fid.map((f) => f!.spot).filter(Boolean);
      console.log(JSON.stringify({
        seed, trainer: t, nmse: +res.test.value.toFixed(4), deviceSamples: res.deviceSamples, seconds: +(res.elapsedMs / 1000).toFixed(1),
        episodes: res.episodes.length, firstLoss: res.episodes[0]?.loss, lastLoss: res.episodes.at(-1)?.loss,
        ...(cos.length ? { vjpCosine: { first: +cos[0].toFixed(3), mean: +(cos.reduce((a, b) => a + b, 0) / cos.length).toFixed(3), last: +cos.at(-1)!.toFixed(3) } } : {}),
        ...(spot.length ? { spot: spot.map((s) => [+s!.ratio.toFixed(2), s!.cosine]) } : {}),
        ...(name === 'insilico' ? { last: res.episodes.at(-1) } : {}),
      }));
    } finally {
      await device.close();
    }
  }
}
