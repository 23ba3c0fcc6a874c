import { writeFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { loadPlan, median, runCalibration } from '../../calibration/index.js';
import { DEFAULT_DEVICE, openDevice } from '../../device/index.js';
import { UsageError, intArg } from '../util.js';

const medianOf = (xs: number[] | null | undefined): string => (xs && xs.length ? median(xs).toPrecision(4) : '-');

export function calibrateCommand(y: Argv): Argv {
  return y.command(
    'calibrate',
    'Run a calibration plan on a device (DC sweep, noise, latency, crosstalk, drift) and save the calibration record',
    (a) => a
      .option('plan', { type: 'string', default: 'default', describe: 'a plan name in calibration/plans (default, analog, optical, fpga) or a path to a plan JSON file' })
      .option('device', { type: 'string', default: DEFAULT_DEVICE, describe: 'serial path, tcp://host:port or sim:<profile>' })
      .option('seed', { type: 'number', default: 1, describe: 'seed of the plan\'s randomness and of a simulated device' })
      .option('out', { type: 'string', describe: 'where to save the record (JSON); default rhil-calibration-<model>-<serial>.json' })
      .option('json', { type: 'boolean', default: false, describe: 'print the record as JSON' })
      .example('$0 calibrate --plan analog --device sim:analog', 'calibrate the built-in analog simulator'),
    async (args) => {
      const seed = intArg('seed', args.seed, 0, 0xffffffff)!;
      // An unknown, unreadable or invalid plan is a usage error, like any other bad input file.
      const plan = await loadPlan(args.plan).catch((e: unknown) => { throw new UsageError(`--plan: ${(e as Error).message}`); });
      const device = await openDevice(args.device, { seed })
        .catch((e: unknown) => { throw e instanceof RangeError ? new UsageError(`--device: ${e.message}`) : e; });
      try {
        let shown = -1;
        const record = await runCalibration(device, plan, {
          seed,
          onProgress: (p) => {
            const pct = Math.floor(p.fraction * 10) * 10;
            if (!args.json && pct !== shown) { shown = pct; process.stderr.write(`calibrating: ${p.step} (${p.stepIndex + 1}/${p.steps}), ${pct}%\n`); }
          },
        });
        const out = args.out ?? `rhil-calibration-${record.device.model}-${record.device.serial}.json`.replace(/[^\w.-]+/g, '_');
        writeFileSync(out, JSON.stringify(record));
        if (args.json) return void console.log(JSON.stringify(record, null, 2));
        console.log([
          `device      ${args.device}: ${record.device.vendor} ${record.device.model}, serial ${record.device.serial}, firmware ${record.device.firmware}`,
          `plan        ${record.plan.name} (${record.plan.hash.replace(/^sha256:/, '').slice(0, 12)})`,
          `gain        median ${medianOf(record.channels.gain)} output units per drive unit`,
          `offset      median ${medianOf(record.channels.offset)}`,
          `noise       median sigma ${medianOf(record.channels.noiseSigma)}`,
          `latency     ${record.latency ? `${record.latency.latencySamples} samples, settling ${record.latency.settlingSamples} samples` : '-'}`,
          `drift       ${record.drift ? `offset ${record.drift.meanOffsetPerHour.toPrecision(3)} per hour (± ${record.drift.meanOffsetStdErrPerHour.toPrecision(2)})` : '-'}`,
          `saved       ${out}`,
        ].join('\n'));
      } finally {
        await device.close();
      }
    },
  );
}
