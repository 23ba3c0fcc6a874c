import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openDevice } from '../../src/device/index.js';
import { getRun, openRecordDb, readArtifact } from '../../src/record/index.js';
import { generateTask, nmse } from '../../src/tasks/index.js';
import { applyModel, loadModel } from '../../src/train/apply.js';
import { selectBackend } from '../../src/core/backend.js';

const main = new URL('../../src/cli/main.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'rhil-run-'));
const db = join(dir, 'runs.db');
const modelFile = join(dir, 'model.json');

// Node warns on stderr when both are set (the test runner sets NO_COLOR and npm test FORCE_COLOR): not rhil's output.
const env = { ...process.env };
delete env.FORCE_COLOR;

const rhil = (args: string[], input?: string) => new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
  const child = execFile(process.execPath, [main, ...args], { encoding: 'utf8', cwd: dir, env, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
    done({ code: err ? (err as { code?: number }).code ?? 1 : 0, stdout, stderr });
  });
  child.stdin!.end(input ?? '');
});

// A test sequence the model has not seen: NARMA10 from another seed.
const task = generateTask('narma10', 600, {}, { seed: 77 });
const csv = Array.from(task.inputs).join('\n') + '\n';
const jsonl = Array.from(task.inputs, (u) => `[${u}]`).join('\n') + '\n';

/** Predictions of a csv output, by step; the washout column checked on the way. */
function parseCsv(text: string, washout = 50): Map<number, number> {
  const [header, ...rows] = text.trim().split('\n');
  assert.is(header, 'step,washout,y0');
  return new Map(rows.map((r) => {
    const [step, wash, y] = r.split(',').map(Number);
    assert.is(wash, step < washout ? 1 : 0, `washout flag of step ${step}`);
    return [step, y];
  }));
}

let expected: Float64Array;
let trainRunId: number;

test.before(async () => {
  const t = await rhil(['train', '--device', 'sim:analog', '--episodes', '2', '--out', modelFile, '--db', db, '--json']);
  assert.is(t.code, 0, t.stderr);
  trainRunId = JSON.parse(t.stdout).runId;
  assert.ok(trainRunId >= 1);
  // What the library gives on a fresh simulator of the training seed: the CLI must match it.
  await selectBackend('wasm');
  const model = loadModel(JSON.parse(readFileSync(modelFile, 'utf8')));
  const device = await openDevice('sim:analog', { seed: 1 });
  expected = (await applyModel(model, task.inputs, { device })).predictions;
  await device.close();
  model.dispose();
});

test('run on a csv file writes one flagged prediction per input step, equal to applyModel, and records a run', async () => {
  writeFileSync(join(dir, 'u.csv'), csv);
  const r = await rhil(['run', '--model', modelFile, '--input', 'u.csv', '--out', 'y.csv', '--db', db]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /run: 600 steps of narma10 through sim:analog .* steps 0\.\.49 are washout \(flagged\); 600 device samples, 0 state breaks recovered; predictions written to y\.csv; recorded as run (\d+)/);
  const y = parseCsv(readFileSync(join(dir, 'y.csv'), 'utf8'));
  assert.is(y.size, 600);
  assert.equal([...y.values()], Array.from(expected));
  const score = nmse(Float64Array.from([...y.values()].slice(50)), task.targets.subarray(50));
  assert.ok(Number.isFinite(score) && score < 1.5, `nmse ${score}`);

  const runId = Number(/recorded as run (\d+)/.exec(r.stdout)![1]);
  const h = openRecordDb(db, { readonly: true });
  const run = getRun(h, runId)!;
  assert.is(run.kind, 'run');
  assert.is(run.status, 'completed');
  assert.is(run.batches, 1, 'one 600-step chunk fits one device batch');
  assert.equal((readArtifact(h, runId, 'summary')!.json as { steps: number }).steps, 600);
  h.close();
});

test('run streams standard input in small chunks (jsonl) and gives the same predictions; --drop-washout leaves the washout out', async () => {
  const r = await rhil(['run', '--model', modelFile, '--input-format', 'jsonl', '--output-format', 'csv', '--chunk', '37', '--no-record'], jsonl);
  assert.is(r.code, 0, r.stderr);
  assert.equal([...parseCsv(r.stdout).values()], Array.from(expected));
  assert.match(r.stderr, /run: 600 steps/);
  const d = await rhil(['run', '--model', modelFile, '--output-format', 'jsonl', '--drop-washout', '--no-record'], csv);
  assert.is(d.code, 0, d.stderr);
  const rows = d.stdout.trim().split('\n').map((l) => JSON.parse(l) as { step: number; washout: boolean; y: number[] });
  assert.is(rows.length, 550);
  assert.equal(rows[0], { step: 50, washout: false, y: [expected[50]] });
  assert.match(d.stderr, /steps 0\.\.49 are washout \(not written\)/);
});

test('run --model-run takes the model artifact of a recorded train run', async () => {
  const r = await rhil(['run', '--model-run', String(trainRunId), '--db', db, '--no-record'], csv);
  assert.is(r.code, 0, r.stderr);
  assert.equal([...parseCsv(r.stdout).values()], Array.from(expected));
  const missing = await rhil(['run', '--model-run', '999', '--db', db]);
  assert.is(missing.code, 2);
  assert.match(missing.stderr, /^rhil: --model-run: no run 999 in .*runs\.db\n$/);
});

test('a csv header on line 1 is accepted; a header of the wrong width and blank lines between steps are not; trailing blank lines are', async () => {
  const withHeader = await rhil(['run', '--model', modelFile, '--no-record'], `u\n${csv}\n\n`);
  assert.is(withHeader.code, 0, withHeader.stderr);
  assert.equal([...parseCsv(withHeader.stdout).values()], Array.from(expected));
  const wide = await rhil(['run', '--model', modelFile, '--no-record'], `u,v\n${csv}`);
  assert.is(wide.code, 2);
  assert.match(wide.stderr, /^rhil: input line 1: header has 2 columns, but the model takes 1 value per step/);
  const blank = await rhil(['run', '--model', modelFile, '--no-record'], `\n${csv}`);
  assert.is(blank.code, 2);
  assert.match(blank.stderr, /^rhil: input line 1: blank line between steps/);
});

test('a bad input line stops the run: the line is named, the steps before it are written, the run is marked failed', async () => {
  const lines = csv.trim().split('\n');
  const cases: [string, RegExp][] = [
    ['0.1,0.2', /input line 101: 2 values, but the model takes 1 per step/],
    ['abc', /input line 101: field 1 "abc" is not a finite number/],
    ['NaN', /input line 101: field 1 "NaN" is not a finite number/],
    ['1e999', /input line 101: field 1 "1e999" is not a finite number/],
    ['0.1,', /input line 101: field 2 is empty/],
    // A skipped blank line would shift every later step by one: it is an error, not ignored.
    ['', /input line 101: blank line between steps/],
    ['u', /input line 101: field 1 "u" is not a finite number/],
  ];
  for (const [bad, re] of cases) {
    const input = [...lines.slice(0, 100), bad, ...lines.slice(100)].join('\n');
    const r = await rhil(['run', '--model', modelFile, '--out', 'partial.csv', '--db', db, '--chunk', '64'], input);
    assert.is(r.code, 2, `${bad}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.match(r.stderr, /predictions for the first 100 steps were written to partial\.csv, the rest were not\n$/);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.equal([...parseCsv(readFileSync(join(dir, 'partial.csv'), 'utf8')).values()], Array.from(expected.subarray(0, 100)));
  }
  const h = openRecordDb(db, { readonly: true });
  const last = h.prepare("SELECT id, status, error FROM runs WHERE kind = 'run' ORDER BY id DESC LIMIT 1").get() as { status: string; error: string };
  h.close();
  assert.is(last.status, 'failed');
  assert.match(last.error, /input line 101/);
  const json = await rhil(['run', '--model', modelFile, '--input-format', 'jsonl', '--no-record'], '[0.1]\n{"u": 1}\n');
  assert.is(json.code, 2);
  assert.match(json.stderr, /^rhil: input line 2: expected an array of 1 number, got object; predictions for the first 1 step were written, the rest were not\n$/);
});

test('an unknown or broken model file, a device of another shape and a missing input are one-line usage errors', async () => {
  const cases: [string[], RegExp][] = [
    [['--model', 'nope.json'], /^rhil: --model: cannot read nope\.json: ENOENT/],
    [['--model', 'broken.json'], /^rhil: model from broken\.json: model\.readout: W must hold 50 numbers, got 3\n$/],
    [['--model', 'text.json'], /^rhil: --model text\.json is not JSON/],
    [['--model', modelFile, '--device', 'sim:fpga'], /^rhil: the model needs a device with 1 input and 50 output channels \(trained on reservoir-hil sim-analog\); reservoir-hil sim-fpga has 1 and 100\n$/],
    [['--model', modelFile, '--input', 'missing.csv'], /^rhil: --input: cannot read missing\.csv: ENOENT/],
    [[], /^rhil: name the model with exactly one of --model FILE and --model-run RUN\n$/],
  ];
  const broken = JSON.parse(readFileSync(modelFile, 'utf8'));
  broken.model.readout.W = [1, 2, 3];
  writeFileSync(join(dir, 'broken.json'), JSON.stringify(broken));
  writeFileSync(join(dir, 'text.json'), 'not json');
  for (const [args, re] of cases) {
    const r = await rhil(['run', '--no-record', ...args], csv);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
});

test('a device lost mid-stream is a failure (exit 1): the steps measured are written, the run is marked failed with the lines', async () => {
  const sim = spawn(process.execPath, [main, 'sim', '--profile', 'analog', '--listen', '127.0.0.1:0', '--disconnect-after-batches', '4'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const [line] = (await once(createInterface({ input: sim.stdout! }), 'line')) as [string];
    const address = line.split(' ')[1];
    const r = await rhil(['run', '--model', modelFile, '--device', address, '--chunk', '100', '--out', 'lost.csv', '--db', db, '--record-batches', 'all'], csv);
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stderr, /\(while processing input lines 401\.\.500\); predictions for the first 400 steps were written to lost\.csv, the rest were not\n$/);
    assert.is(parseCsv(readFileSync(join(dir, 'lost.csv'), 'utf8')).size, 400);
    const h = openRecordDb(db, { readonly: true });
    const last = h.prepare("SELECT id, status, error FROM runs WHERE kind = 'run' ORDER BY id DESC LIMIT 1").get() as { id: number; status: string; error: string };
    assert.is(last.status, 'failed');
    assert.match(last.error, /input lines 401\.\.500/);
    assert.is(getRun(h, last.id)!.batches, 4);
    h.close();
  } finally {
    sim.kill('SIGINT');
    await once(sim, 'exit');
  }
});

test.run();
