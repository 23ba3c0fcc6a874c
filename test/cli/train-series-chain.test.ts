import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { interruptAfterCheckpoint, rhil as run } from './rhil.js';
import { getRun, listRuns, openRecordDb, readArtifact, readMetrics } from '../../src/record/index.js';
import { describeChain, parseModelSpec, seriesChainShape, simDeviceWidths } from '../../src/train/chain/spec.js';

const dir = mkdtempSync(join(tmpdir(), 'rhil-series-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const examples = new URL('../../../scripts/examples/chains/', import.meta.url).pathname;   // the yaml files are not compiled into dist
const env = { ...process.env };
delete env.RHIL_DB;
delete env.FORCE_COLOR;

function spec(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** Two layers of sim:fpga-awg: no noise and no drift, so a fresh session measures the same drives the same way. */
const FPGA2 = `task: narma10
layers:
  - { kind: digital, units: 50, taps: 10 }
  - { kind: physical, device: "sim:fpga-awg" }
  - { kind: digital, units: 50 }
  - { kind: physical, device: "sim:fpga-awg" }
  - { kind: readout, type: ridge }
`;

const testLine = /^test nmse ([0-9.]+) \(narma10, .*?(\d+) device samples/m;

test('the time-series example specs parse and connect as series chains; narma-analog is the default model', () => {
  const one = parseModelSpec(readFileSync(join(examples, 'narma-analog.yaml'), 'utf8'), 'narma-analog.yaml', simDeviceWidths);
  assert.is(describeChain(one, { inputWidth: 1, outputWidth: 1 }), 'digital 1->50 tanh taps 20 | physical sim:analog-awg 50->50 | readout ridge 50->1');
  // rhil train's defaults: taps 20, sim:analog-awg, auto (pat explores the device for its surrogate).
  assert.equal(seriesChainShape(one), { taps: 20, betweenTaps: 1, physical: [{ device: 'sim:analog-awg', surrogate: 'auto' }] });
  const two = parseModelSpec(readFileSync(join(examples, 'narma-analog-2.yaml'), 'utf8'), 'narma-analog-2.yaml', simDeviceWidths);
  assert.is(seriesChainShape(two).physical.length, 2);
});

test('one physical layer is rhil train --device: the same test NMSE and device samples; the spec is in the run config', async () => {
  const db = join(dir, 'one.db');
  const a = await run(['train', '--model-spec', join(examples, 'narma-analog.yaml'), '--episodes', '3', '--seed', '2', '--db', db, '--out', join(dir, 'one-spec.json')], { env });
  assert.is(a.code, 0, a.stderr);
  const b = await run(['train', '--device', 'sim:analog-awg', '--episodes', '3', '--seed', '2', '--no-record', '--out', join(dir, 'one-device.json')], { env });
  assert.is(b.code, 0, b.stderr);
  const [, nmseA, samplesA] = testLine.exec(a.stdout) ?? [];
  const [, nmseB, samplesB] = testLine.exec(b.stdout) ?? [];
  assert.ok(nmseA !== undefined, a.stdout);
  assert.is(nmseA, nmseB);
  assert.is(samplesA, samplesB);
  // The saved models are the same numbers (the file of the spec run is today's model file).
  const ma = JSON.parse(readFileSync(join(dir, 'one-spec.json'), 'utf8')) as { test: unknown; deviceSamples: number; model: unknown };
  const mb = JSON.parse(readFileSync(join(dir, 'one-device.json'), 'utf8')) as typeof ma;
  assert.equal(ma.test, mb.test);
  assert.equal(ma.model, mb.model);
  const d = openRecordDb(db, { readonly: true });
  try {
    const c = getRun(d, 1)!.config as { modelSpec: { name: string }; specFile: string; taps: number; device: string; surrogate: string };
    assert.is(c.modelSpec.name, 'narma-analog');
    assert.ok(c.specFile.endsWith('narma-analog.yaml'));
    assert.is(c.taps, 20);
    assert.is(c.device, 'sim:analog-awg');
    assert.is(c.surrogate, 'auto');
  } finally { d.close(); }
  // A time-series spec run's loss is the readout's MSE per episode, not a classification chain's cross-entropy.
  const html = join(dir, 'one.html');
  const rep = await run(['report', 'last', '--db', db, '--out', html], { env });
  assert.is(rep.code, 0, rep.stderr);
  assert.ok(readFileSync(html, 'utf8').includes('MSE (in-sample)'));
});

test('time-series specs the trainers cannot run, and flags that do not fit them, are one-line usage errors (exit 2)', async () => {
  const awg = (x = '') => `  - { kind: physical, device: "sim:analog-awg"${x} }\n`;
  const head = 'task: narma10\nlayers:\n  - { kind: digital, units: 50, taps: 5 }\n';
  const cases: [string[], RegExp][] = [
    [['--model-spec', spec('row.yaml', `${head}${awg()}${awg()}  - { kind: readout, type: ridge }\n`)], /row\.yaml: layer 3 \(physical\): two physical layers in a row.*\(supported on a time series: digital \(tanh, taps\) -> physical/],
    [['--model-spec', spec('sur.yaml', `${head}${awg()}  - { kind: digital, units: 50 }\n${awg(', surrogate: auto')}  - { kind: readout, type: ridge }\n`)], /sur\.yaml: layer 4 \(physical\): surrogate auto is not supported on a time-series chain of 2 physical layers, only narx/],
    [['--model-spec', spec('relu.yaml', `task: narma10\nlayers:\n  - { kind: digital, units: 50, activation: relu }\n${awg()}  - { kind: readout, type: ridge }\n`)], /relu\.yaml: layer 1 \(digital\): activation relu/],
    [['--model-spec', spec('two.yaml', FPGA2), '--trainer', 'classic'], /--trainer classic does not train a time-series chain of 2 physical layers \(pat, oracle\)/],
    [['--model-spec', spec('two.yaml', FPGA2), '--device', 'sim:fpga'], /--model-spec on a time series does not take --device/],
    [['--model-spec', join(examples, 'narma-analog.yaml'), '--budget', '9000'], /does not take --budget .*one physical layer trains as rhil train --device does/],
    // The spec's own task is a time series; --task changes it to a classification task, which its tapped first layer does not fit.
    [['--model-spec', join(examples, 'narma-analog.yaml'), '--task', 'mnist'], /narma-analog\.yaml: layer 1 \(digital\): taps 20 needs a time-series task/],
  ];
  for (const [args, why] of cases) {
    const r = await run(['train', ...args, '--no-record'], { env });
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.is(lines.length, 1, r.stderr);
    assert.match(lines[0], why);
  }
});

test('two physical layers: trained by the series chain, recorded per episode, reported; rhil run on the file measures the training\'s test NMSE exactly; a malformed file is refused by field', async () => {
  const db = join(dir, 'two.db'), out = join(dir, 'two.json');
  const r = await run(['train', '--model-spec', spec('fpga2.yaml', FPGA2), '--episodes', '3', '--seed', '3', '--db', db, '--out', out], { env });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^chain digital 1->50 tanh taps 10 \| physical sim:fpga-awg 50->100 \| digital 100->50 tanh \| physical sim:fpga-awg 50->100 \| readout ridge 100->1 \(time series, pat\)$/m);
  const [, trained, samples] = testLine.exec(r.stdout) ?? [];
  assert.ok(trained !== undefined, r.stdout);
  // Three episodes of two layers and the final fit and test through both: 2 x (3 x 450 + 2 x 50 + 2000 + 1000).
  assert.is(Number(samples), 2 * (3 * 450 + 2 * 50 + 2000 + 1000));
  const d = openRecordDb(db, { readonly: true });
  try {
    const run1 = getRun(d, 1)!;
    assert.is((run1.config as { chain: string }).chain, 'series');
    assert.equal(readMetrics(d, 1, 'loss').map((p) => p.step), [0, 1, 2]);
    assert.equal(readMetrics(d, 1, 'device_samples').map((p) => p.value), [900, 1800, 2700]);
    assert.is(readMetrics(d, 1, 'readout_nmse').length, 2);
    assert.is(readMetrics(d, 1, 'test_nmse')[0].value.toFixed(4), trained);
    assert.is((readArtifact(d, 1, 'model')!.json as { kind: string }).kind, 'rhil-series-chain-model/1');
    assert.is((readArtifact(d, 1, 'checkpoint')!.json as { episode: number }).episode, 3);
    // The rising-loss guard is on by default: the rate of every step is recorded, and the checkpoint carries the guard.
    assert.equal(readMetrics(d, 1, 'learning_rate').map((p) => p.value), [0.03, 0.03, 0.03]);
    assert.equal(readMetrics(d, 1, 'rollbacks').map((p) => p.value), [0, 0, 0]);
    assert.ok((readArtifact(d, 1, 'checkpoint')!.json as { guard?: unknown }).guard, 'the checkpoint carries the guard');
    assert.is((run1.config as { guard?: boolean }).guard, undefined);
  } finally { d.close(); }
  // --no-guard: plain Adam, recorded in the config; where the guard never fired, the same losses.
  const off = await run(['train', '--model-spec', spec('fpga2.yaml', FPGA2), '--episodes', '2', '--seed', '3', '--db', db, '--out', join(dir, 'two-off.json'), '--no-guard'], { env });
  assert.is(off.code, 0, off.stderr);
  {
    const d2 = openRecordDb(db, { readonly: true });
    try {
      assert.is((getRun(d2, 2)!.config as { guard?: boolean }).guard, false);
      assert.is(readMetrics(d2, 2, 'learning_rate').length, 0);
      assert.is((readArtifact(d2, 2, 'checkpoint')!.json as { guard?: unknown }).guard, undefined);
      assert.equal(readMetrics(d2, 2, 'loss').map((p) => p.value), readMetrics(d2, 1, 'loss').slice(0, 2).map((p) => p.value));
    } finally { d2.close(); }
  }
  const html = join(dir, 'two.html');
  const rep = await run(['report', '1', '--db', db, '--out', html], { env });
  assert.is(rep.code, 0, rep.stderr);
  assert.ok(readFileSync(html, 'utf8').includes('id="test-metrics"'));

  const file = JSON.parse(readFileSync(out, 'utf8')) as { test: { value: number }; model: { between: { W: number[] }[] }; settings: Record<string, unknown>; deviceUtilisation: number };
  assert.ok(file.deviceUtilisation > 0 && file.deviceUtilisation <= 1, `device utilisation ${file.deviceUtilisation}`);
  const applied = await run(['run', '--model', out, '--db', db, '--json'], { env });
  assert.is(applied.code, 0, applied.stderr);
  const res = JSON.parse(applied.stdout) as { value: number; deviceSamples: number; trainedValue: number };
  assert.is(res.value, file.test.value);
  assert.is(res.trainedValue, file.test.value);
  assert.is(res.deviceSamples, 2 * (50 + 1000));
  const viaRun = await run(['run', '--model-run', '1', '--db', db, '--json', '--no-record'], { env });
  assert.is(viaRun.code, 0, viaRun.stderr);
  assert.is((JSON.parse(viaRun.stdout) as { value: number }).value, file.test.value);

  const bad: [unknown, RegExp][] = [
    [{ ...file, model: { ...file.model, between: [{ ...file.model.between[0], W: file.model.between[0].W.slice(1) }] } }, /model\.between\[0\]: W must/],
    [{ ...file, settings: { ...file.settings, testSteps: 0 } }, /settings\.testSteps must be a positive integer, got 0/],
    [{ ...file, seed: -1 }, /seed must be a non-negative integer, got -1/],
    [{ ...file, task: 'mnist' }, /task "mnist" is not a time-series task/],
  ];
  for (const [json, why] of bad) {
    const f = spec('bad-model.json', JSON.stringify(json));
    const b = await run(['run', '--model', f, '--no-record'], { env });
    assert.is(b.code, 2, b.stderr);
    assert.is(b.stderr.trim().split('\n').length, 1, b.stderr);
    assert.match(b.stderr, why);
  }
});

test('SIGINT stops a two-layer chain: interrupted, exit 130, resume offered; --resume continues from the checkpoint to the planned episodes', async () => {
  const db = join(dir, 'r.db'), out = join(dir, 'resumed.json');
  const f = spec('resume.yaml', FPGA2);
  const { code, stderr } = await interruptAfterCheckpoint(['train', '--model-spec', f, '--episodes', '30', '--checkpoint-every', '2', '--db', db], db, env);
  assert.is(code, 130, stderr);
  const m = /interrupted after (\d+) episodes; run 1 marked interrupted; resume with: rhil train --resume 1 --db \S+/.exec(stderr);
  assert.ok(m, stderr);
  const ckpt = (() => {
    const d = openRecordDb(db, { readonly: true });
    try {
      assert.is(getRun(d, 1)!.status, 'interrupted');
      return readArtifact(d, 1, 'checkpoint')!.json as { episode: number };
    } finally { d.close(); }
  })();
  assert.ok(ckpt.episode >= 2 && ckpt.episode <= Number(m![1]), `${ckpt.episode} of ${m![1]}`);

  const refused = await run(['train', '--resume', '1', '--db', db, '--episodes', '300'], { env });
  assert.is(refused.code, 2);
  assert.match(refused.stderr, /--resume 1: run 1 is a chain run, continued as it was configured; drop --episodes/);
  // The rest of the 30 episodes, as a new run.
  const r = await run(['train', '--resume', '1', '--db', db, '--out', out], { env });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`resuming run 1 from its checkpoint after episode ${ckpt.episode}`));
  assert.match(r.stdout, /^test nmse [0-9.]+ \(narma10, chain of 2 physical layers, pat, seed 1/m);
  const d = openRecordDb(db, { readonly: true });
  try {
    const [latest] = listRuns(d, { kind: 'train' });
    const again = getRun(d, latest.id)!;
    assert.is(again.status, 'completed');
    assert.is((again.config as { resumedFrom: number }).resumedFrom, 1);
    const steps = readMetrics(d, again.id, 'loss').map((p) => p.step);
    assert.is(steps[0], ckpt.episode);
    assert.is(steps[steps.length - 1], 29);
  } finally { d.close(); }
  assert.is((JSON.parse(readFileSync(out, 'utf8')) as { episodes: number }).episodes, 30);
});

test('a one-layer spec run resumes as a plain train run: its spec, taps and device kept, its checkpoint\'s layer of the spec\'s taps', async () => {
  const db = join(dir, 'one-r.db');
  const f = spec('taps10.yaml', 'task: narma10\nlayers:\n  - { kind: digital, units: 50, taps: 10 }\n  - { kind: physical, device: "sim:analog-awg" }\n  - { kind: readout, type: ridge }\n');
  const { code, stderr } = await interruptAfterCheckpoint(['train', '--model-spec', f, '--episodes', '40', '--db', db], db, env);
  assert.is(code, 130, stderr);
  assert.match(stderr, /run 1 marked interrupted; resume with: rhil train --resume 1 --db /);
  const refused = await run(['train', '--resume', '1', '--db', db, '--model-spec', f], { env });
  assert.is(refused.code, 2, refused.stderr);
  const r = await run(['train', '--resume', '1', '--db', db, '--out', join(dir, 'one-r.json')], { env });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^resuming run 1 from its checkpoint after episode \d+/m);
  const d = openRecordDb(db, { readonly: true });
  try {
    const c = getRun(d, 2)!.config as { resumedFrom: number; taps: number; device: string; modelSpec: { layers: unknown[] }; specFile: string };
    assert.is(c.resumedFrom, 1);
    assert.is(c.taps, 10);
    assert.is(c.device, 'sim:analog-awg');
    assert.is(c.modelSpec.layers.length, 3);
    assert.ok(c.specFile.endsWith('taps10.yaml'));
    const model = readArtifact(d, 2, 'model')!.json as { model: { inputLayer: { taps: number } }; episodes: unknown[] };
    assert.is(model.model.inputLayer.taps, 10);
    assert.is(model.episodes.length, 40);
  } finally { d.close(); }
});

test.run();
