import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { test } from 'uvu';
import { openSimLink, serveSim } from '../../src/sim/serve.js';
import { createPty, listenTcp, openSerial, openTcp } from '../../src/transport/index.js';
import { deviceContract } from './contract.js';

deviceContract('sim:fpga in process', async () => {
  const { link } = openSimLink('fpga', { seed: 5 });
  return { link, deterministic: true, cleanup: async () => {} };
});

deviceContract('sim:analog in process', async () => {
  const { link } = openSimLink('analog', { seed: 5 });
  return { link, deterministic: false, cleanup: async () => {} };
});

deviceContract('sim:optical over a pty (serialport)', async () => {
  const pty = await createPty();
  serveSim(pty.link, 'optical', { seed: 2 });
  const link = await openSerial(pty.path);
  return { link, deterministic: false, cleanup: () => pty.close() };
});

deviceContract('sim:fpga over TCP', async () => {
  const server = await listenTcp('127.0.0.1', 0, (l) => serveSim(l, 'fpga', { seed: 3 }));
  const link = await openTcp('127.0.0.1', server.port);
  return { link, deterministic: true, cleanup: () => server.close() };
});

// The C reference firmware, written from SPEC.md independently of this host, served on a pty.
const cDir = new URL('../../../firmware-protocol/c/', import.meta.url).pathname;
execFileSync('make', ['-s', '-C', cDir, 'build/rhil_serve'], { stdio: 'inherit' });
deviceContract('C rhil_serve over a pty (serialport)', async () => {
  const child = spawn(`${cDir}build/rhil_serve`, ['--pty', '--inputs', '2', '--outputs', '4', '--credits', '3', '--seed', '9'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const [first] = (await once(lines, 'line')) as [string];
  const path = /^PTY (\S+)$/.exec(first)?.[1];
  if (!path) throw new Error(`rhil_serve printed ${first}`);
  const link = await openSerial(path);
  return {
    link, deterministic: true,
    cleanup: async () => {
      lines.close();
      child.kill();
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    },
  };
});

test.run();
