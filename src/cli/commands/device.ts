import type { Argv } from 'yargs';
import { DEFAULT_DEVICE, openDevice, probeDevice } from '../../device/index.js';
import { CAPABILITY } from '../../protocol/index.js';
import { listSerialPorts } from '../../transport/index.js';
import { UsageError, intArg } from '../util.js';

export function devicesCommand(y: Argv): Argv {
  return y.command(
    'devices',
    'List serial ports with their USB vendor id, product id and serial number',
    (a) => a.option('json', { type: 'boolean', default: false, describe: 'print JSON' }),
    async (args) => {
      const ports = await listSerialPorts();
      if (args.json) return void console.log(JSON.stringify(ports, null, 2));
      if (ports.length === 0) return void console.log('no serial ports found');
      for (const p of ports) {
        const usb = p.vendorId ? ` usb ${p.vendorId}:${p.productId ?? '?'}` : '';
        console.log(`${p.path}${usb}${p.serialNumber ? ` serial ${p.serialNumber}` : ''}${p.manufacturer ? ` (${p.manufacturer})` : ''}`);
      }
    },
  );
}

export function infoCommand(y: Argv): Argv {
  return y.command(
    'info',
    "Connect to a device, print its INFO and STATUS, and probe it with a short input ramp",
    (a) => a
      .option('device', { type: 'string', default: DEFAULT_DEVICE, describe: 'serial path, serial:PATH?baud=N, tcp://host:port or sim:<profile>' })
      .option('seed', { type: 'number', describe: 'seed of a simulated device' })
      .option('timeout', { type: 'number', default: 1000, describe: 'reply timeout in ms' })
      .option('probe', { type: 'boolean', default: true, describe: 'drive a short ramp and report round trips (--no-probe to skip)' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
      .example('$0 info', 'the built-in analog simulator')
      .example('$0 info --device /dev/ttyACM0', 'a board on USB'),
    async (args) => {
      const client = await openDevice(args.device, { seed: intArg('seed', args.seed, 0, 0xffffffff), timeoutMs: intArg('timeout', args.timeout, 1, 600000) })
        .catch((e: unknown) => { throw e instanceof RangeError ? new UsageError(`--device: ${e.message}`) : e; });
      try {
        const probe = args.probe ? await probeDevice(client) : undefined;
        const status = probe?.status ?? await client.getStatus();
        if (args.json) {
          return void console.log(JSON.stringify({ device: args.device, info: client.info, usableMaxBatch: client.maxBatch, status, probe }, null, 2));
        }
        const i = client.info;
        const caps = Object.entries(CAPABILITY).filter(([, bit]) => i.capabilities & bit).map(([k]) => k.toLowerCase());
        console.log([
          `device      ${args.device}`,
          `identity    ${i.vendor} ${i.model}, serial ${i.serial}, firmware ${i.firmware}, protocol ${i.protocolVersion}`,
          `inputs      ${i.inChannels} x ${i.inFormat} in [${i.inMin}, ${i.inMax}]`,
          `outputs     ${i.outChannels} x ${i.outFormat} in [${i.outMin}, ${i.outMax}]`,
          `batches     up to ${client.maxBatch} vectors, ${i.credits} in flight, frames up to ${i.maxFrame} bytes`,
          `sample      ${i.samplePeriodNs ? `${i.samplePeriodNs} ns (${(1e9 / i.samplePeriodNs).toFixed(0)} samples/s)` : 'unpaced'}`,
          `caps        ${caps.join(', ') || 'none'}`,
          `status      epoch ${status.epoch}, boot ${status.bootCount}, up ${(status.uptimeUs / 1e6).toFixed(3)} s, frames ok ${status.framesOk}, crc errors ${status.crcErrors}, framing errors ${status.framingErrors}, dropped batches ${status.droppedBatches}` +
            (status.temperatureC === null ? '' : `, ${status.temperatureC.toFixed(1)} °C`),
          ...(probe ? [`probe       ${probe.batches} batches of ${probe.samplesPerBatch}: round trip p50 ${probe.roundTripMs.p50.toFixed(2)} ms, max ${probe.roundTripMs.max.toFixed(2)} ms; ` +
            `response in [${probe.output.min}, ${probe.output.max}]; clipped ${probe.clippedBatches}, saturated ${probe.saturatedBatches}`] : []),
        ].join('\n'));
      } finally {
        await client.close();
      }
    },
  );
}
