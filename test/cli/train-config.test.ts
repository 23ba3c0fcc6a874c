import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDevice } from '../../src/device/index.js';
import { selectBackend } from '../../src/core/backend.js';
import { cliTrainOptions, trainSettings } from '../../src/session/index.js';
import { train } from '../../src/train/train.js';
import { rhil } from './rhil.js';

test.before(async () => {
  await selectBackend('wasm');
});

test('cliTrainOptions leaves pat\'s fidelity checks at their default, as the command does', () => {
  const o = cliTrainOptions({ episodes: 30 });
  assert.is(o.trainer, 'pat');
  assert.is(o.fidelityEvery, undefined);
  assert.is(o.budget, undefined);
  // pat explores the device for its design; oracle's surrogate only reports fidelity.
  assert.equal(o.surrogate, { design: 'auto' });
  assert.equal(cliTrainOptions({ trainer: 'oracle' }).surrogate, { design: 'narx' });
  assert.equal(cliTrainOptions({ trainer: 'pat', surrogate: 'state' }).surrogate, { design: 'state' });
});

test('a resumed run keeps its recorded surrogate, and one recorded before --surrogate existed is narx', () => {
  const resumed = (surrogate?: string) => ({ id: 4, config: { task: 'narma10', trainer: 'pat', seed: 1, episodes: 10, learningRate: 0.03, ...(surrogate ? { surrogate } : {}) }, checkpoint: { episode: 3 } }) as unknown as Parameters<typeof trainSettings>[1];
  const d = { device: 'sim:analog-awg', episodes: 100 };
  assert.is(trainSettings({}, resumed(), d).surrogate, 'narx');
  assert.is(trainSettings({}, resumed('state'), d).surrogate, 'state');
  assert.is(trainSettings({}, undefined, d).surrogate, 'auto');
  assert.is(trainSettings({ trainer: 'classic' }, undefined, d).surrogate, 'narx');
});

test('cliTrainOptions gives what `rhil train` gives: same test NMSE and device samples, fidelity check included (pat, 25 episodes: the check runs after the 25th)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rhil-config-'));
  try {
    const device = await openDevice('sim:analog-awg', { seed: 1 });
    try {
      // The command in a child process and the same options in this one, side by side (2 cores).
      const [cli, res] = await Promise.all([
        rhil(['train', '--device', 'sim:analog-awg', '--episodes', '25', '--backend', 'wasm', '--no-record', '--json', '--out', join(dir, 'm.json')]),
        train({ ...cliTrainOptions({ episodes: 25 }), device }),
      ]);
      assert.is(cli.code, 0, cli.stderr);
      const fromCli = JSON.parse(cli.stdout) as { test: { value: number }; deviceSamples: number; episodes: { fidelityCosine?: number }[] };
      assert.is(res.test.value, fromCli.test.value);
      assert.is(res.deviceSamples, fromCli.deviceSamples);
      assert.ok(fromCli.episodes[24].fidelityCosine !== undefined, 'the 25th episode ran a fidelity check');
      // The default explored the device, and its samples are in the count both gave.
      assert.is(res.surrogateChoice?.requested, 'auto');
      assert.ok(res.surrogateChoice!.samples > 0 && res.deviceSamples > res.surrogateChoice!.samples);
    } finally {
      await device.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
