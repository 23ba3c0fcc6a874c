import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const main = new URL('../../src/cli/main.js', import.meta.url).pathname;
const run = async (args: string[], input?: string) => {
  const p = promisify(execFile)(process.execPath, [main, ...args], { encoding: 'utf8' });
  if (input !== undefined) { p.child.stdin!.end(input); }
  try {
    const { stdout, stderr } = await p;
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
};

test('--help lists exactly the commands that exist', async () => {
  const r = await run(['--help']);
  assert.is(r.code, 0);
  const commands = [...r.stdout.matchAll(/^\s+rhil (\w+)/gm)].map((m) => m[1]).sort();
  assert.equal(commands, ['bench', 'calibrate', 'decode', 'devices', 'encode', 'export', 'info', 'report', 'run', 'runs', 'sim', 'sweep', 'train', 'watch']);
});

test('info on the built-in simulator prints identity, status and a probe', async () => {
  const r = await run(['info']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /identity\s+reservoir-hil sim-analog/);
  assert.match(r.stdout, /outputs\s+50 x u16 in \[0, 4095\]/);
  assert.match(r.stdout, /probe\s+16 batches of 16/);
});

test('info --json is machine-readable', async () => {
  const r = await run(['info', '--device', 'sim:fpga', '--json', '--no-probe']);
  assert.is(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.is(j.info.inFormat, 'i16');
  assert.is(j.probe, undefined);
});

test('bad devices and flags are usage errors (exit 2) naming the problem; an unreachable device is a failure (exit 1)', async () => {
  const bad = await run(['info', '--device', 'sim:nope']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /unknown simulator profile 'nope'/);
  const form = await run(['info', '--device', 'ftp://x']);
  assert.is(form.code, 2);
  assert.match(form.stderr, /accepted forms/);
  const refused = await run(['info', '--device', 'tcp://127.0.0.1:1']);
  assert.is(refused.code, 1);
  assert.match(refused.stderr, /connection refused/);
  assert.is((await run(['sim'])).code, 2);
  assert.is((await run(['sim', '--pty', '--bit-flip-rate', '2'])).code, 2);
  assert.is((await run(['nonsense'])).code, 2);
});

async function serving(args: string[]): Promise<{ address: string; stop(): Promise<string> }> {
  const child = spawn(process.execPath, [main, 'sim', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => { err += d; });
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  return {
    address: line.split(' ')[1],
    stop: async () => {
      child.kill('SIGINT');
      await once(child, 'exit');
      return err;
    },
  };
}

test('rhil sim --pty serves a device that info opens as a serial port, twice', async () => {
  const sim = await serving(['--profile', 'fpga', '--pty']);
  assert.match(sim.address, /^\/dev\/pts\/\d+$/);
  for (let i = 0; i < 2; i++) {
    const r = await run(['info', '--device', sim.address]);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /sim-fpga/);
  }
  assert.match(await sim.stop(), /device served 32 batches/);
});

test('the fixed link path rhil sim --pty --link prints is a --device as typed; a file or a missing path is refused by name', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rhil-link-'));
  const link = join(dir, 'board');
  const sim = await serving(['--profile', 'fpga', '--pty', '--link', link]);
  try {
    assert.is(sim.address, link);
    const r = await run(['info', '--device', link, '--no-probe']);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /sim-fpga/);
    const file = await run(['info', '--device', main]);
    assert.is(file.code, 2);
    assert.match(file.stderr, /is a file, not a serial port/);
    const missing = await run(['info', '--device', join(dir, 'nothing')]);
    assert.is(missing.code, 2);
    assert.match(missing.stderr, /no device at '.*nothing' \(ENOENT\)/);
  } finally {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rhil sim --listen serves over TCP', async () => {
  const sim = await serving(['--profile', 'optical', '--listen', '127.0.0.1:0']);
  assert.match(sim.address, /^tcp:\/\/127\.0\.0\.1:\d+$/);
  const r = await run(['info', '--device', sim.address, '--json']);
  assert.is(r.code, 0, r.stderr);
  assert.is(JSON.parse(r.stdout).info.model, 'sim-optical');
  await sim.stop();
});

test('encode then decode round-trips, and a bad line is a usage error with its number', async () => {
  const line = '{"seq":1,"flags":0,"message":{"kind":"hello","minVersion":1,"maxVersion":1}}';
  const enc = await run(['encode', '--hex'], `${line}\n`);
  assert.is(enc.code, 0);
  const dec = await run(['decode', '--hex'], enc.stdout);
  assert.is(dec.stdout.trim(), line);
  const bad = await run(['encode'], `${line}\n{"seq":2,"message":{"kind":"hello","minVersion":0,"maxVersion":1}}\n`);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /line 2: cannot encode hello\.minVersion/);
});

test('train runs physics-aware training on the built-in simulator and saves a model with its metadata', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rhil-train-'));
  const out = join(dir, 'model.json');
  const r = await run(['train', '--episodes', '3', '--out', out, '--verbose', '--db', join(dir, 'runs.db')]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /episode\s+3\/3\s+loss/);
  assert.match(r.stdout, /test nmse \d\.\d{4} \(narma10, pat, seed 1/);
  // pat's default explores the device first; the recording estimate is of an episode's own samples (50 washout + 400), not the exploration's.
  assert.match(r.stdout, /chosen by exploring the device \(\d+ samples\)/);
  assert.match(r.stdout, /recording every batch: about [\d.]+ kB of batches for the episode to come, 450 device samples each/);
  const saved = JSON.parse(readFileSync(out, 'utf8'));
  assert.is(saved.trainer, 'pat');
  assert.is(saved.deviceSpec, 'sim:analog-awg');
  assert.match(saved.backend, /wasm|cpu|tensorflow/);
  assert.ok(saved.model.inputLayer && saved.model.readout && saved.model.surrogate);
  assert.ok(saved.test.value > 0 && saved.test.value < 1.5);
  rmSync(dir, { recursive: true });
  assert.is((await run(['train', '--episodes', '0'])).code, 2);
});

test('calibrate runs a plan on the simulator and saves a record that recovers its noise', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rhil-cal-'));
  const out = join(dir, 'cal.json');
  const r = await run(['calibrate', '--plan', 'analog', '--device', 'sim:analog', '--out', out, '--no-record']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /noise\s+median sigma 2\.0\d\d/);
  const rec = JSON.parse(readFileSync(out, 'utf8'));
  assert.is(rec.format, 'rhil-calibration');
  assert.is(rec.device.model, 'sim-analog');
  assert.is(rec.latency.latencySamples, 0);
  rmSync(dir, { recursive: true });
  const bad = await run(['calibrate', '--plan', 'nope']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /--plan: .*nope/);
});

test.run();
