import { writeFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { DEFAULT_DEVICE, openDevice } from '../../device/index.js';
import { taskNames } from '../../tasks/index.js';
import { BACKEND_CHOICES, type BackendChoice, DEFAULT_EPISODES, selectBackend, train, type TrainerName } from '../../train/index.js';
import { UsageError, intArg, numArg } from '../util.js';

export function trainCommand(y: Argv): Argv {
  return y.command(
    'train',
    'Train the digital input layer and readout around the device on a task, then test and save the model',
    (a) => a
      .option('task', { type: 'string', default: 'narma10', choices: taskNames as unknown as string[], describe: 'benchmark task' })
      .option('device', { type: 'string', default: DEFAULT_DEVICE, describe: 'serial path, tcp://host:port or sim:<profile>' })
      .option('trainer', { type: 'string', default: 'pat', choices: ['pat', 'classic', 'digital', 'oracle', 'insilico', 'spsa'], describe: 'pat: physics-aware training through the device; classic: fixed random input layer + ridge; digital: the digital layers alone, no device; oracle: pat with the exact gradient of a simulator\'s twin (sim:<profile> only, benchmark); insilico: fit a surrogate on random exploration, train on the surrogate, deploy on the device; spsa: gradient-free SPSA on the device' })
      .option('seed', { type: 'number', default: 1, describe: 'seeds the task, the initialisation, the surrogate and a simulated device' })
      .option('episodes', { type: 'number', default: DEFAULT_EPISODES, describe: 'training episodes' })
      .option('learning-rate', { type: 'number', default: 0.03, describe: 'Adam learning rate of the digital layer' })
      .option('backend', { type: 'string', default: 'auto', choices: BACKEND_CHOICES as unknown as string[], describe: 'tfjs backend (auto: tensorflow if installed, else wasm, else cpu)' })
      .option('out', { type: 'string', describe: 'where to save the trained model and run metadata (JSON); default rhil-<task>-<trainer>-seed<seed>.json' })
      .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON instead of progress lines' })
      .example('$0 train', 'NARMA10 on the built-in analog simulator with physics-aware training')
      .example('$0 train --device /dev/ttyACM0 --trainer classic --seed 3', 'a board on USB, baseline trainer'),
    async (args) => {
      const seed = intArg('seed', args.seed, 0, 0xffffffff)!;
      const episodes = intArg('episodes', args.episodes, 1, 100000)!;
      const learningRate = numArg('learning-rate', args['learning-rate'], 1e-6, 10)!;
      const trainer = args.trainer as TrainerName;
      const backend = await selectBackend(args.backend as BackendChoice);
      const log = (s: string) => { if (!args.json) console.log(s); };
      log(`backend ${backend.detail}`);
      const device = trainer === 'digital' ? undefined : await openDevice(args.device, { seed })
        .catch((e: unknown) => { throw e instanceof RangeError ? new UsageError(`--device: ${e.message}`) : e; });
      try {
        if (device) log(`device ${args.device}: ${device.info.vendor} ${device.info.model}, ${device.info.inChannels} in, ${device.info.outChannels} out`);
        const result = await train({
          task: args.task, device, trainer, seed, episodes, learningRate,
          onEpisode: (r, i) => log(`episode ${String(i + 1).padStart(3)}/${episodes}  loss ${r.loss.toExponential(3)}` +
            (r.readoutNmse !== undefined ? `  readout nmse ${r.readoutNmse.toFixed(4)}` : '') +
            (r.surrogateNmse !== undefined ? `  surrogate nmse ${r.surrogateNmse.toFixed(4)}` : '') +
            `  device samples ${r.deviceSamples}`),
        });
        const out = args.out ?? `rhil-${args.task}-${trainer}-seed${seed}.json`;
        const saved = { ...result, backend: backend.detail, deviceSpec: trainer === 'digital' ? null : args.device };
        writeFileSync(out, JSON.stringify(saved));
        if (args.json) console.log(JSON.stringify({ ...saved, model: undefined, savedTo: out }, null, 2));
        else log(`test ${result.test.metric} ${result.test.value.toFixed(4)} (${result.task.name}, ${trainer}, seed ${seed}, ${result.deviceSamples} device samples, ${(result.elapsedMs / 1000).toFixed(1)} s); model saved to ${out}`);
      } finally {
        await device?.close();
      }
    },
  );
}
