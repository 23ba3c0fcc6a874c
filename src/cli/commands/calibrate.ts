import type { Argv } from 'yargs';
import { type CalibrationDevice, type CalibrationRecord, loadPlan, median, runCalibration } from '../../calibration/index.js';
import { DEFAULT_DEVICE, openDevice } from '../../device/index.js';
import { openRecordDb } from '../../record/index.js';
import {
  ExitError, INTERRUPT_EXIT_CODE, RecordDbError, explainDbError, interruptRequested, parseRecordPolicy, planSamples, policyPhrase, policyText, projectedBytes,
  saveCalibration, saveNamedFile, saveNewFile, sizeText, withRecordedRun,
} from '../../session/index.js';
import { LIVE_OPTION, startLive } from '../live.js';
import { Progress } from '../progress.js';
import { UsageError, defaultDbPath, intArg, usage } from '../util.js';

const medianOf = (xs: number[] | null | undefined): string => (xs && xs.length ? median(xs).toPrecision(4) : '-');

export function calibrateCommand(y: Argv): Argv {
  return y.command(
    'calibrate',
    'Run a calibration plan on a device (DC sweep, noise, latency, crosstalk, drift) and save the calibration record',
    (a) => a
      .option('plan', { type: 'string', default: 'default', describe: 'a plan name in calibration/plans (default, analog, optical, fpga) or a path to a plan JSON file' })
      .option('device', { type: 'string', default: DEFAULT_DEVICE, describe: 'serial path, tcp://host:port or sim:<profile>' })
      .option('seed', { type: 'number', default: 1, describe: 'seed of the plan\'s randomness and of a simulated device' })
      .option('db', { type: 'string', defaultDescription: '$RHIL_DB or rhil.db', describe: 'run database: records the run (every batch) and keeps the calibration, where rhil train finds it' })
      .option('record', { type: 'boolean', default: true, describe: 'record in the database (--no-record: write no database; the record then goes to a JSON file)' })
      .option('record-batches', { type: 'string', default: 'every 100', describe: 'which device batches the run records: all, none, or every N (the record itself and every event are kept either way)' })
      .option('out', { type: 'string', describe: 'also save the record as JSON here (with --no-record: default rhil-calibration-<model>-<serial>.json, never replacing a file)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the record as JSON' })
      .option('live', LIVE_OPTION)
      .example('$0 calibrate --plan analog --device sim:analog', 'calibrate the built-in analog simulator')
      .epilogue('Ctrl-C stops after the batch in flight: the run is marked interrupted (its batches are kept), no calibration is saved, and rhil exits with 130. Exit codes: 0 ok, 1 failure, 2 usage error, 130 interrupted.'),
    async (args) => {
      const seed = intArg('seed', args.seed, 0, 0xffffffff)!;
      const dbPath = args.db ?? defaultDbPath();
      const policy = usage(() => parseRecordPolicy(args['record-batches']));
      // An unknown, unreadable or invalid plan is a usage error, like any other bad input file.
      const plan = await loadPlan(args.plan).catch((e: unknown) => { throw new UsageError(`--plan: ${(e as Error).message}`); });
      const live = await startLive(args.live, args.record);
      const device = await openDevice(args.device, { seed })
        .catch(async (e: unknown) => { await live?.close(); throw e instanceof RangeError ? new UsageError(`--device: ${e.message}`) : e; });
      const progress = args.json ? null : new StepProgress();
      if (args.record && !args.json) {
        const { inChannels, outChannels } = device.info;
        const bytes = projectedBytes(planSamples(plan, inChannels), inChannels, outChannels, device.maxBatch, policy);
        console.log(`recording ${policyPhrase(policy)} of the ${planSamples(plan, inChannels)} device samples planned: about ${sizeText(bytes)} in ${dbPath} (--record-batches all|none|every N)`);
      }
      let runId: number | null = null;
      let signal: AbortSignal | undefined;
      let measured: CalibrationRecord | null = null;
      try {
        const { record, calibrationId } = await withRecordedRun({
          db: args.record ? dbPath : undefined, kind: 'calibrate', seed, device, recordBatches: policy,
          config: { plan: args.plan, planName: plan.name, device: args.device, seed, out: args.out ?? null, recordBatches: policyText(policy) },
        }, async (ctx) => {
          runId = ctx.runId;
          signal = ctx.signal;
          if (runId !== null) live?.attach(dbPath, runId);
          const record = await runCalibration(stoppable(device, ctx.signal), plan, { seed, onProgress: (p) => progress?.step(p) });
          measured = record;
          progress?.end();
          ctx.artifact('calibration', 'calibration', record);
          // Saved before the run completes, so a completed calibrate run always has its row.
          let calibrationId: number | null = null;
          if (ctx.runId !== null) {
            let db;
            try {
              db = openRecordDb(dbPath);
              calibrationId = saveCalibration(db, record, { runId: ctx.runId });
            } catch (e) {
              throw explainDbError(dbPath, e, 'recording');
            } finally {
              db?.close();
            }
          }
          return { record, calibrationId };
        });
        const out = args.out !== undefined ? saveNamedFile(args.out, JSON.stringify(record)) : args.record ? undefined : saveNewFile(fileStem(record), JSON.stringify(record));
        if (args.json) return void console.log(JSON.stringify(record, null, 2));
        console.log(summary(record, args.device, plan.name, [
          calibrationId !== null ? `calibration ${calibrationId} in ${dbPath} (run ${runId}); rhil train uses it on this device` : null,
          out !== undefined ? out : null,
        ]));
      } catch (e) {
        progress?.clear();
        if (e instanceof RecordDbError) {
          // The database failed, not the measurement: a finished record still reaches a file.
          const done = measured as CalibrationRecord | null;
          if (done === null) throw new RecordDbError(e.path, `${e.message}; the calibration had not finished, so there is no record to keep`);
          const file = saveNewFile(fileStem(done), JSON.stringify(done));
          throw new RecordDbError(e.path, `${e.message}; the calibration record was saved to ${file} (rhil train --calibration ${file})`);
        }
        if (!interruptRequested(signal)) throw e;
        throw new ExitError(runId === null
          ? 'calibration interrupted; nothing saved'
          : `calibration interrupted; run ${runId} marked interrupted (its batches are kept); no calibration saved`, INTERRUPT_EXIT_CODE);
      } finally {
        await device.close();
        await live?.close();
      }
    },
  );
}

/** Default file name of a record (model and serial made safe for a file name), without .json. */
const fileStem = (r: CalibrationRecord): string => `rhil-calibration-${r.device.model}-${r.device.serial}`.replace(/[^\w.-]+/g, '_');

function summary(record: CalibrationRecord, deviceSpec: string, planName: string, saved: (string | null)[]): string {
  return [
    `device      ${deviceSpec}: ${record.device.vendor} ${record.device.model}, serial ${record.device.serial}, firmware ${record.device.firmware}`,
    `plan        ${planName} (${record.plan.hash.replace(/^sha256:/, '').slice(0, 12)})`,
    `gain        median ${medianOf(record.channels.gain)} output units per drive unit`,
    `offset      median ${medianOf(record.channels.offset)}`,
    `noise       median sigma ${medianOf(record.channels.noiseSigma)}`,
    `latency     ${record.latency ? `${record.latency.latencySamples} samples, settling ${record.latency.settlingSamples} samples` : '-'}`,
    `drift       ${record.drift ? `offset ${record.drift.meanOffsetPerHour.toPrecision(3)} per hour (± ${record.drift.meanOffsetStdErrPerHour.toPrecision(2)})` : '-'}`,
    ...saved.filter((s): s is string => s !== null).map((s) => `saved       ${s}`),
  ].join('\n');
}

/** The device as runCalibration sees it, refusing new batches once `signal` is aborted (those in flight finish). */
function stoppable(device: CalibrationDevice, signal: AbortSignal): CalibrationDevice {
  return {
    info: device.info,
    maxBatch: device.maxBatch,
    resetState: async () => { signal.throwIfAborted(); return device.resetState(); },
    process: async (input) => { signal.throwIfAborted(); return device.process(input); },
  };
}

/**
 * The whole plan on one progress line: samples driven so far (each step's total is known only
 * when it starts), the share done as runCalibration weighs it, and the step under way.
 */
class StepProgress {
  private readonly bar = new Progress({ unit: 'samples', label: 'calibrating' });
  private before = 0;
  private index = -1;
  private last = 0;

  step(p: { step: string; stepIndex: number; steps: number; done: number; total: number; fraction: number }): void {
    if (p.stepIndex !== this.index) {
      this.before += this.last;
      this.index = p.stepIndex;
      this.last = 0;
    }
    // runCalibration closes each step with progress(1, 1), in other units than the step's own.
    if (!(p.done === 1 && p.total === 1)) this.last = p.done;
    this.bar.update(this.before + this.last, `${p.step} (${p.stepIndex + 1}/${p.steps})`, p.fraction);
  }

  end(): void {
    this.bar.finish('done');
  }

  clear(): void {
    this.bar.clear();
  }
}
