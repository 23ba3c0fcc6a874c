import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rhil as runCli } from './rhil.js';
import type { Argv } from 'yargs';
import { benchCommand } from '../../src/cli/commands/bench.js';
import { calibrateCommand } from '../../src/cli/commands/calibrate.js';
import { decodeCommand } from '../../src/cli/commands/codec.js';
import { trainCommand } from '../../src/cli/commands/train.js';
import { checkConfig, commandTable, configSupport, givenFlags, readConfigFile } from '../../src/cli/config.js';
import { UsageError } from '../../src/cli/util.js';

const dir = mkdtempSync(join(tmpdir(), 'rhil-config-'));
const file = (name: string, text: string) => { const p = join(dir, name); writeFileSync(p, text); return p; };
const rhil = (args: string[]) => runCli(args, { cwd: dir });

// A command defined here, so the test does not depend on another command's options.
const toyCommand = (y: Argv): Argv => y.command('toy [file]', 'toy', (a) => a
  .positional('file', { type: 'string' })
  .option('level', { type: 'number', alias: 'l', default: 1 })
  .option('mode', { type: 'string', choices: ['fast', 'slow'], default: 'fast' })
  .option('dry-run', { type: 'boolean', default: false })
  .option('device', { type: 'string' }), () => undefined);
const table = commandTable([toyCommand, benchCommand, decodeCommand]);

test('the allowed keys, types and choices come from the commands\' own option definitions', () => {
  const toy = table.get('toy')!;
  assert.equal([...toy.keys()], ['level', 'mode', 'dry-run', 'device'], 'the positional, help and version are not settings');
  assert.is(toy.get('level')!.type, 'number');
  assert.equal(toy.get('level')!.spellings, ['level', 'l']);
  assert.equal(toy.get('mode')!.choices, ['fast', 'slow']);
  assert.equal(toy.get('dry-run')!.spellings, ['dry-run', 'dryRun']);
  assert.ok(table.get('bench')!.has('batches'));
  assert.ok(!table.get('decode')!.has('file'));
  // Every real command's options are read without running it.
  const real = commandTable([trainCommand, calibrateCommand]);
  assert.equal(real.get('train')!.get('trainer')!.choices, ['pat', 'classic', 'digital', 'oracle', 'insilico', 'spsa']);
  assert.ok(real.get('calibrate')!.has('plan'));
});

test('a good file: shared keys reach every command that has the option, a section overrides them', () => {
  const cfg = checkConfig({ device: 'sim:fpga', seed: 3, toy: { level: 4, mode: 'slow', dryRun: true }, bench: { batches: 20 }, decode: null }, table, 'f.yaml');
  assert.equal([...cfg.shared], [['device', 'sim:fpga'], ['seed', 3]]);
  assert.equal([...cfg.sections.get('toy')!], [['level', 4], ['mode', 'slow'], ['dry-run', true]]);
  assert.equal(checkConfig(null, table).sections.size, 0, 'an empty YAML file sets nothing');
  const s = configSupport([toyCommand, benchCommand], ['toy', '--level', '9', '-l', '9']);
  const path = file('good.yaml', 'device: sim:optical\ntoy:\n  level: 4\n  mode: slow\n  device: sim:fpga\n');
  const argv: Record<string, unknown> = { _: ['toy'], config: path, level: 9, l: 9, mode: 'fast', device: undefined };
  s.middleware(argv);
  assert.is(argv.level, 9, 'a flag on the command line wins');
  assert.is(argv.mode, 'slow');
  assert.is(argv.device, 'sim:fpga', 'the section wins over the shared key');
  assert.is(s.explain('--mode must be fast or slow'), `${path}: config.toy.mode must be fast or slow`);
  assert.is(s.explain('--level must be an integer'), '--level must be an integer', 'a flag typed on the command line keeps its name');
});

test('each kind of bad file is a usage error naming the field and what is allowed', () => {
  const bad: [unknown, RegExp][] = [
    [{ toy: { level: 'x' } }, /^f\.yaml: config\.toy\.level must be a finite number, got 'x'$/],
    [{ toy: { mode: 'medium' } }, /^f\.yaml: config\.toy\.mode must be one of fast, slow, got 'medium'$/],
    [{ toy: { 'dry-run': 'yes' } }, /^f\.yaml: config\.toy\.dry-run must be true or false, got 'yes'$/],
    [{ toy: { device: ['a'] } }, /^f\.yaml: config\.toy\.device must be a string, got a list$/],
    [{ toy: { speed: 1 } }, /^f\.yaml: config\.toy\.speed is not an option of toy; known: level, mode, dry-run, device$/],
    [{ toy: { file: 'x' } }, /config\.toy\.file is not an option of toy/],
    [{ toy: 3 }, /^f\.yaml: config\.toy must be a mapping of toy options, got 3$/],
    [{ trian: {} }, /^f\.yaml: config\.trian is not a known key; known: device, db, seed, toy, bench, decode$/],
    [{ seed: 'one' }, /^f\.yaml: config\.seed must be a finite number, got 'one' \(as bench --seed\)$/],
    [{ backend: 'wasm' }, /config\.backend is not a known key/],
    [[1, 2], /^f\.yaml: config must be a mapping of keys to values, got a list$/],
  ];
  for (const [doc, re] of bad) {
    assert.throws(() => checkConfig(doc, table, 'f.yaml'), (e: Error) => e instanceof UsageError && re.test(e.message), `${JSON.stringify(doc)} -> ${re}`);
  }
});

test('files are read as JSON or YAML, with the parse error and the path', () => {
  assert.equal(readConfigFile(file('a.json', '{"seed": 2}')), { seed: 2 });
  assert.equal(readConfigFile(file('a.yaml', 'seed: 2\nbench:\n  batches: 4\n')), { seed: 2, bench: { batches: 4 } });
  assert.throws(() => readConfigFile(file('b.json', '{"seed": 2,}')), /b\.json: not valid JSON/);
  assert.throws(() => readConfigFile(file('b.yml', 'seed: [1, 2\n')), /b\.yml: not valid YAML/);
  assert.throws(() => readConfigFile(file('dup.yaml', 'seed: 1\nseed: 2\n')), /dup\.yaml: not valid YAML: Map keys must be unique/);
  assert.throws(() => readConfigFile(join(dir, 'none.yaml')), /--config: cannot read .*none\.yaml: ENOENT/);
  assert.equal([...givenFlags(['run', '--no-record', '--chunk=5', '-xv', '--', '--seed'])].sort(), ['chunk', 'record', 'v', 'x']);
});

test('rhil --config: the file sets options, flags override it, and a bad value names its field', async () => {
  const cfg = file('bench.yaml', 'seed: 2\ndevice: sim:fpga\nbench:\n  batches: 7\n  batch: 16\n  record: false\n');
  const r = await rhil(['bench', '--config', cfg, '--json']);
  assert.is(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.is(report.latency.count, 7);
  assert.is(report.device.serial, 'SIM-00000002');
  assert.is(report.deviceSpec, 'sim:fpga');
  assert.equal(report.throughput.map((t: { batch: number }) => t.batch), [16]);
  assert.is(report.runId, null);
  const o = await rhil(['bench', '--config', cfg, '--json', '--batches', '3', '--device', 'sim:analog']);
  assert.is(o.code, 0, o.stderr);
  assert.is(JSON.parse(o.stdout).latency.count, 3);
  assert.is(JSON.parse(o.stdout).device.model, 'sim-analog');

  const range = await rhil(['bench', '--config', file('range.json', '{"bench": {"batches": 0}}')]);
  assert.is(range.code, 2);
  assert.match(range.stderr, /^rhil: .*range\.json: config\.bench\.batches must be an integer in 1\.\.1000000, got 0\n$/);
  const typo = await rhil(['info', '--config', file('typo.yaml', 'bench:\n  batchs: 3\n')]);
  assert.is(typo.code, 2, `every section is checked, not only the one of the command run: ${typo.stderr}`);
  assert.match(typo.stderr, /config\.bench\.batchs is not an option of bench; known: device, seed, batches, batch, db, record, json/);
  const missing = await rhil(['bench', '--config', 'nowhere.yaml']);
  assert.is(missing.code, 2);
  assert.match(missing.stderr, /^rhil: --config: cannot read nowhere\.yaml/);
});

test.run();
