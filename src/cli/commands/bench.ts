import type { Argv } from 'yargs';
import { type DeviceBenchReport, benchDevice, defaultBatchSizes } from '../../bench/index.js';
import { DEFAULT_DEVICE, openDevice } from '../../device/index.js';
import { withRecordedRun } from '../../session/index.js';
import { UsageError, defaultDbPath, intArg } from '../util.js';

const ms = (x: number) => `${x.toFixed(3)} ms`;
const int = (x: number) => Math.round(x).toLocaleString('en-US');

function describe(spec: string, r: DeviceBenchReport, runId: number | null, db: string): string {
  const d = r.device;
  const rows = r.throughput.map((t) => `            ${String(t.batch).padStart(6)}  ${int(t.samplesPerSecond).padStart(12)}  ${(t.bytesPerSecond / 1e6).toFixed(2).padStart(8)}  `
    + `${(t.utilisation === null ? '-' : t.utilisation.toFixed(3)).padStart(11)}${t.failedBatches ? `  (${t.failedBatches} batches lost to state breaks)` : ''}`);
  const rejects = Object.entries(r.rejects).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  const e = r.deviceErrors;
  return [
    `device      ${spec}: ${d.vendor} ${d.model}, serial ${d.serial}, firmware ${d.firmware}`,
    `            ${d.inChannels} in (${d.inFormat}) -> ${d.outChannels} out (${d.outFormat}), batch up to ${d.maxBatch}, ${d.credits} credits, declared ${int(d.sampleRateHz)} samples/s`,
    `latency     1-sample PROCESS round trip (${r.latency.count}): p50 ${ms(r.latency.p50Ms)}, p90 ${ms(r.latency.p90Ms)}, p99 ${ms(r.latency.p99Ms)}, max ${ms(r.latency.maxMs)}`,
    `            PING round trip (link and host only): p50 ${ms(r.ping.p50Ms)}, p99 ${ms(r.ping.p99Ms)}`,
    `throughput   batch     samples/s      MB/s  utilisation   (${r.throughput[0]?.batches} batches each, all credits in flight)`,
    ...rows,
    `errors      host decoder rejects: ${rejects}; device: crc ${e.crcErrors}, framing ${e.framingErrors}, rejected ${e.rejected}, dropped batches ${e.droppedBatches}; state breaks ${r.breaks}`,
    ...(e.temperatureC !== null ? [`temperature ${e.temperatureC.toFixed(1)} °C`] : []),
    `took        ${(r.elapsedMs / 1000).toFixed(1)} s${runId !== null ? `; recorded as run ${runId} in ${db}` : ''}`,
  ].join('\n');
}

export function benchCommand(y: Argv): Argv {
  return y.command(
    'bench',
    'Benchmark a device: 1-sample round-trip latency, streaming throughput at several batch sizes, decoder rejects',
    (a) => a
      .option('device', { type: 'string', default: DEFAULT_DEVICE, describe: 'serial path, tcp://host:port or sim:<profile>' })
      .option('seed', { type: 'number', default: 1, describe: 'seed of a simulated device' })
      .option('batches', { type: 'number', default: 500, describe: 'round trips timed for the latency, and batches per throughput batch size' })
      .option('batch', { type: 'number', describe: 'one throughput batch size instead of 1, 16, 64, 256 and the device\'s largest' })
      .option('db', { type: 'string', describe: 'run database to record into; default $RHIL_DB, else rhil.db' })
      .option('record', { type: 'boolean', default: true, describe: 'record the run (--no-record to skip)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' })
      .example('$0 bench --device /dev/ttyACM0', 'benchmark a board on USB')
      .example('$0 bench --device sim:fpga --batches 100 --batch 256 --json', 'a quick look at one batch size of the FPGA simulator'),
    async (args) => {
      const seed = intArg('seed', args.seed, 0, 0xffffffff)!;
      const batches = intArg('batches', args.batches, 1, 1_000_000)!;
      const batch = intArg('batch', args.batch, 1, 65535);
      const db = args.db ?? defaultDbPath();
      const device = await openDevice(args.device, { seed })
        .catch((e: unknown) => { throw e instanceof RangeError ? new UsageError(`--device: ${e.message}`) : e; });
      try {
        if (batch !== undefined && batch > device.maxBatch) throw new UsageError(`--batch ${batch} exceeds the device's usable batch of ${device.maxBatch}`);
        const sizes = batch !== undefined ? [batch] : defaultBatchSizes(device.maxBatch);
        const config = { command: 'bench', device: args.device, seed, batches, batchSizes: sizes };
        // The run names the device and records its events, not its batches: storing every
        // benchmark batch would time the database's commits as the device's.
        const { report, runId } = await withRecordedRun({ db: args.record ? db : undefined, kind: 'bench', config, seed, device, recordBatches: false }, async (ctx) => {
          const r = await benchDevice(device, {
            roundTrips: batches, batches, batchSizes: sizes, signal: ctx.signal,
            onProgress: (part, done, total) => { if (!args.json) process.stderr.write(`bench: ${part} done (${done}/${total})\n`); },
          });
          for (const [k, v] of [['latency_p50_ms', r.latency.p50Ms], ['latency_p90_ms', r.latency.p90Ms], ['latency_p99_ms', r.latency.p99Ms], ['ping_p50_ms', r.ping.p50Ms]] as const) ctx.metric(k, 0, v);
          for (const t of r.throughput) {
            ctx.metric('samples_per_s', t.batch, t.samplesPerSecond);
            ctx.metric('bytes_per_s', t.batch, t.bytesPerSecond);
            ctx.metric('utilisation', t.batch, t.utilisation ?? NaN);
          }
          ctx.metric('decoder_rejects', 0, Object.values(r.rejects).reduce((s, n) => s + n, 0));
          ctx.metric('state_breaks', 0, r.breaks);
          ctx.artifact('bench', 'device-bench', { ...r, deviceSpec: args.device });
          return { report: r, runId: ctx.runId };
        });
        if (args.json) console.log(JSON.stringify({ ...report, deviceSpec: args.device, runId }, null, 2));
        else console.log(describe(args.device, report, runId, db));
      } finally {
        await device.close();
      }
    },
  );
}
