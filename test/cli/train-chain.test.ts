import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { interruptAfterCheckpoint, rhil as run } from './rhil.js';
import { getRun, listRuns, openRecordDb, readArtifact, readMetrics } from '../../src/record/index.js';
import { describeChain, parseModelSpec, simDeviceWidths } from '../../src/train/chain/spec.js';

const dir = mkdtempSync(join(tmpdir(), 'rhil-chain-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function spec(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const OPTICAL = `task: synthetic-classes
layers:
  - { kind: digital, units: 64 }
  - { kind: physical, device: "sim:optical" }
  - { kind: readout, type: softmax }
`;

test('a spec whose layers do not connect, or that names no real device, is one line naming the layer and field (exit 2), before any device opens', async () => {
  const cases: [string, RegExp][] = [
    [OPTICAL.replace('units: 64', 'units: 32'), /bad\.yaml: layer 1 \(digital\).*units 32.*64/],
    [OPTICAL.replace('sim:optical', 'sim:nope'), /bad\.yaml: layer 2 \(physical\).*device 'sim:nope' does not exist/],
    [OPTICAL.replace('kind: digital', 'kind: conv'), /bad\.yaml: layer 1.*unknown kind 'conv'/],
  ];
  for (const [text, why] of cases) {
    const r = await run(['train', '--model-spec', spec('bad.yaml', text), '--no-record']);
    assert.is(r.code, 2, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.is(lines.length, 1, r.stderr);
    assert.match(lines[0], why);
  }
});

test('flags that do not fit a chain, and a classification task without a spec, are usage errors', async () => {
  const f = spec('ok.yaml', OPTICAL);
  const a = await run(['train', '--model-spec', f, '--episodes', '3', '--no-record']);
  assert.is(a.code, 2);
  assert.match(a.stderr, /--model-spec does not take --episodes/);
  const b = await run(['train', '--task', 'mnist', '--no-record']);
  assert.is(b.code, 2);
  assert.match(b.stderr, /--task mnist is a classification task: train it as a chain with --model-spec FILE/);
  const c = await run(['train', '--model-spec', f, '--trainer', 'spsa', '--no-record']);
  assert.is(c.code, 2);
  assert.match(c.stderr, /--trainer spsa does not train a chain/);
});

test('classic through sim:optical: trained, recorded (accuracy, confusion, model), saved; rhil run on the file measures the same accuracy up to the camera noise', async () => {
  const db = join(dir, 'c.db'), out = join(dir, 'chain.json');
  const r = await run(['train', '--model-spec', spec('optical.yaml', OPTICAL), '--trainer', 'classic', '--db', db, '--out', out]);
  assert.is(r.code, 0, r.stderr);
  const acc = Number(/^test accuracy ([0-9.]+)/m.exec(r.stdout)?.[1]);
  assert.ok(acc > 0.4 && acc <= 1, r.stdout);   // 4 classes: chance is 0.25
  assert.match(r.stdout, /^chain digital 16->64 tanh \| physical sim:optical 64->128 \| readout softmax 128->4$/m);
  const show = JSON.parse((await run(['runs', 'show', 'last', '--db', db, '--json'])).stdout);
  assert.ok(JSON.stringify(show).includes('test_accuracy'), 'the accuracy is a recorded metric');
  const html = join(dir, 'report.html');
  const rep = await run(['report', 'last', '--db', db, '--out', html]);
  assert.is(rep.code, 0, rep.stderr);
  const page = readFileSync(html, 'utf8');
  assert.match(page, /id="confusion-matrix"/);
  // The loss of a chain is a cross-entropy per training step, not a time series' MSE per episode.
  assert.ok(page.includes('cross-entropy (training batch)') && !page.includes('MSE (in-sample)'), 'loss axis of a chain run');
  // The report's count of right answers is the recorded accuracy.
  const [, n, right] = /([\d,]+) test examples, ([\d,]+) right/.exec(page) ?? [];
  assert.is(Number(right.replace(/,/g, '')) / Number(n.replace(/,/g, '')), acc);
  const applied = await run(['run', '--model', out, '--db', db]);
  assert.is(applied.code, 0, applied.stderr);
  // A fresh measurement: the camera's shot noise is new, so a few borderline examples may flip.
  const again = Number(/^test accuracy ([0-9.]+)/m.exec(applied.stdout)?.[1]);
  assert.ok(Math.abs(again - acc) <= 0.02, `${again} vs ${acc}`);
  assert.match(applied.stdout, new RegExp(`at the end of training: ${acc.toFixed(4)}`));
});

test('the digital trainer opens no device and trains the chain without its physical layers', async () => {
  const r = await run(['train', '--model-spec', spec('digital.yaml', OPTICAL), '--trainer', 'digital', '--no-record', '--out', join(dir, 'digital.json')]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /\(synthetic-classes, chain, digital, seed 1, 0 device samples/);
  assert.not.match(r.stdout, /^device /m);
});

test('the rising-loss guard is on by default (rate and rollbacks recorded per step); --no-guard is recorded in the config and, where the guard never fired, gives the same losses', async () => {
  const db = join(dir, 'guard.db');
  for (const extra of [[], ['--no-guard']]) {
    const r = await run(['train', '--model-spec', spec('guard.yaml', OPTICAL), '--trainer', 'digital', '--db', db, '--out', join(dir, `guard${extra.length}.json`), ...extra]);
    assert.is(r.code, 0, r.stderr);
  }
  const d = openRecordDb(db, { readonly: true });
  try {
    const [on, off] = listRuns(d).map((x) => x.id).sort((a, b) => a - b);
    assert.is((getRun(d, on)!.config as { guard?: boolean }).guard, undefined);
    assert.is((getRun(d, off)!.config as { guard?: boolean }).guard, false);
    const rates = readMetrics(d, on, 'learning_rate').map((p) => p.value);
    assert.ok(rates.length > 10 && rates.every((v) => v === 2e-3), String(rates));
    assert.ok(readMetrics(d, on, 'rollbacks').every((p) => p.value === 0));
    assert.is(readMetrics(d, off, 'learning_rate').length, 0);
    assert.equal(readMetrics(d, off, 'loss').map((p) => p.value), readMetrics(d, on, 'loss').map((p) => p.value));
  } finally { d.close(); }
});

test('the classification example specs the README points to parse and connect', () => {
  const where = new URL('../../../scripts/examples/chains/', import.meta.url).pathname;   // the yaml files are not compiled into dist
  // The time-series examples (narma-*.yaml) are checked in train-series-chain.test.ts.
  const files = readdirSync(where).filter((f) => f.startsWith('mnist-') && f.endsWith('.yaml'));
  assert.ok(files.length >= 2);
  for (const f of files) {
    const s = parseModelSpec(readFileSync(join(where, f), 'utf8'), f, simDeviceWidths);
    assert.match(describeChain(s, { inputWidth: 784, outputWidth: 10, devices: simDeviceWidths }), /^digital 784->64 tanh \| physical sim:optical 64->128/);
  }
});

test('SIGINT stops a chain run: interrupted, exit 130, resume offered; --resume continues from the checkpoint as a new run to the planned steps', async () => {
  const db = join(dir, 'r.db'), out = join(dir, 'resumed.json');
  const f = spec('resume.yaml', OPTICAL);
  const env = { ...process.env };
  delete env.RHIL_DB;
  // 20 epochs: 625 steps of 64 (2,000 training examples), long enough to be stopped once a checkpoint is in the database.
  const { code, stderr } = await interruptAfterCheckpoint(['train', '--model-spec', f, '--trainer', 'classic', '--epochs', '20', '--checkpoint-every', '5', '--db', db], db, env);
  assert.is(code, 130, stderr);
  const m = /interrupted after (\d+) steps; run 1 marked interrupted; resume with: rhil train --resume 1 --db \S+/.exec(stderr);
  assert.ok(m, stderr);
  const d = openRecordDb(db, { readonly: true });
  const ckpt = (() => {
    try {
      assert.is(getRun(d, 1)!.status, 'interrupted');
      return readArtifact(d, 1, 'checkpoint')!.json as { steps: number };
    } finally { d.close(); }
  })();
  assert.ok(ckpt.steps >= 5 && ckpt.steps % 5 === 0 && ckpt.steps <= Number(m![1]), `${ckpt.steps} of ${m![1]}`);

  const refused = await run(['train', '--resume', '1', '--db', db, '--epochs', '3']);
  assert.is(refused.code, 2);
  assert.match(refused.stderr, /--resume 1: run 1 is a chain run, continued as it was configured; drop --epochs/);

  const r = await run(['train', '--resume', '1', '--db', db, '--out', out]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`resuming run 1 from its checkpoint after step ${ckpt.steps}`));
  assert.match(r.stdout, /^test accuracy [0-9.]+, cross-entropy [0-9.]+ \(synthetic-classes, chain, classic, seed 1/m);
  const d2 = openRecordDb(db, { readonly: true });
  try {
    const [latest] = listRuns(d2, { kind: 'train' });
    const again = getRun(d2, latest.id)!;
    assert.is(again.status, 'completed');
    assert.is((again.config as { resumedFrom: number }).resumedFrom, 1);
    const steps = readMetrics(d2, again.id, 'loss').map((p) => p.step);
    assert.is(steps[0], ckpt.steps);
    assert.is(steps[steps.length - 1], 624);
  } finally { d2.close(); }
  assert.is((JSON.parse(readFileSync(out, 'utf8')) as { steps: number }).steps, 625);
});

test.run();
