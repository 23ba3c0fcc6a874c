/**
 * A simulated device served on a socat pty (or a local TCP port) in its own process, for the
 * benchmarks (started with child_process.fork, never run by hand). Keeping the board in another
 * process gives it its own event loop and its own core, as a real board has.
 *
 *   argv: <profile> <seed> <model: real|trivial|paced> [model overrides as JSON] [link: pty|tcp]
 *
 * 'tcp' stands for a board behind an Ethernet bridge (the one link fast enough for a board that
 * streams 50 channels at 10,000 samples/s: 1 MB/s, over three times a 3 Mbaud UART). The device
 * is created at once and attached to the first connection.
 *
 * IPC, child -> parent: { type: 'ready', path } once the pty (or the port: path tcp://127.0.0.1:N)
 * exists and the device has booted.
 * parent -> child: { type: 'windows' } -> { type: 'windows', windows: [start, end, count][] }: every
 * PROCESS handled so far with its paced window (start = max(arrival, previous end), end = start +
 * count x period), in absolute ms (performance.timeOrigin + now), for device utilisation.
 * parent -> child: { type: 'stats' } -> { type: 'stats', ... } (memory, CPU, event loop
 * utilisation since the last stats, batches processed); { type: 'close' } -> closes the pty
 * (socat exits), answers { type: 'closed', resources } with what is still active apart from the
 * IPC channel, then disconnects and lets the process end by itself: a process that does not exit
 * has leaked a handle or timer (the parent checks).
 *
 * 'trivial' replaces the reservoir model by one of the same shape (analog: 1 -> 50, 12-bit) whose
 * step costs almost nothing, to tell model compute from protocol and transport cost. 'paced' is
 * the real model answering no faster than its sample rate, as the board would.
 */
import { performance } from 'node:perf_hooks';
import { type ReservoirModel, SimDevice, createSim } from '../../src/sim/index.js';
import { createPty, listenTcp } from '../../src/transport/index.js';

const [profile = 'analog', seedArg = '1', mode = 'real', overridesArg = '{}', linkKind = 'pty'] = process.argv.slice(2);
if (linkKind !== 'pty' && linkKind !== 'tcp') throw new Error(`sim-child: link must be pty or tcp, got '${linkKind}'`);
const seed = Number(seedArg);

/** Same shape and ranges as the analog profile, output a cheap function of the input. */
function trivialModel(): ReservoirModel {
  return {
    name: 'analog', inChannels: 1, outChannels: 50, inRange: [0, 4095], outRange: [0, 4095], samplePeriodNs: 10_000,
    reset() {},
    step(input, output) {
      const x = input[0];
      for (let k = 0; k < 50; k++) output[k] = (x + 97 * k) & 4095;
      return 0;
    },
    twin() { throw new Error('trivial model has no twin'); },
  };
}

const windows: [number, number, number][] = [];

function send(m: unknown): void {
  process.send?.(m);
}

let device: SimDevice;
if (mode === 'trivial') {
  device = new SimDevice(trivialModel(), { seed });
} else {
  const served = createSim(profile, { seed, overrides: JSON.parse(overridesArg), device: { pacing: { samplePeriod: mode === 'paced' } } });
  device = served.device;
  // Every PROCESS with its paced window, as the simulator schedules it (utilisation.ts --board child).
  const periodMs = served.model.samplePeriodNs / 1e6;
  let lastEnd = 0;
  const dev = device as unknown as { process: (seq: number, p: { count: number }) => void };
  const orig = dev.process.bind(device);
  dev.process = (seq, p) => {
    const start = Math.max(performance.timeOrigin + performance.now(), lastEnd);
    lastEnd = start + p.count * periodMs;
    windows.push([start, lastEnd, p.count]);
    orig(seq, p);
  };
}
const pty = linkKind === 'pty' ? await createPty() : undefined;
let attached = false;
const server = linkKind === 'tcp' ? await listenTcp('127.0.0.1', 0, (link) => {
  // One board, one host: a second connection is refused, as a board's single socket would.
  if (attached) { void link.close(); return; }
  attached = true;
  device.attach(link);
}) : undefined;
if (pty) device.attach(pty.link);
const closeLink = () => (pty ? pty.close() : server!.close());

let elu = performance.eventLoopUtilization();
let cpu = process.cpuUsage();
let wall = performance.now();

let closing = false;
// The parent died without asking us to close: do not linger with a pty and a socat child.
process.on('disconnect', () => {
  if (closing) return;
  void device.detach().then(closeLink).then(() => process.exit(1));
});

process.on('message', (msg: { type: string }) => {
  if (msg.type === 'windows') {
    send({ type: 'windows', windows });
  } else if (msg.type === 'stats') {
    const e = performance.eventLoopUtilization(elu);
    const c = process.cpuUsage(cpu);
    const now = performance.now();
    send({
      type: 'stats', rss: process.memoryUsage().rss, heapUsed: process.memoryUsage().heapUsed,
      elu: e.utilization, cpu: (c.user + c.system) / 1000 / (now - wall), batches: device.batchesProcessed,
    });
    elu = performance.eventLoopUtilization();
    cpu = process.cpuUsage();
    wall = now;
  } else if (msg.type === 'close') {
    closing = true;
    void (async () => {
      await device.detach();
      await closeLink();
      // Let close callbacks of the port and the child run before looking.
      await new Promise((r) => setImmediate(r));
      const resources = process.getActiveResourcesInfo();
      send({ type: 'closed', resources, rss: process.memoryUsage().rss });
      process.disconnect();
    })();
  }
});

send({ type: 'ready', path: pty ? pty.path : `tcp://127.0.0.1:${server!.port}` });
