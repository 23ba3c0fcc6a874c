import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rhil as run } from './rhil.js';


test('--surrogate bogus is a one-line usage error (exit 2) naming the choices', async () => {
  const r = await run(['train', '--surrogate', 'bogus', '--no-record']);
  assert.is(r.code, 2);
  assert.equal(r.stderr.trim().split('\n'), ['rhil: --surrogate must be auto, narx, state, memoryless, transmission, got bogus']);
});

test('--surrogate memoryless trains with it, records it in the config and as an artifact that runs show prints', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rhil-surrogate-'));
  try {
    const db = join(dir, 'r.db');
    const r = await run(['train', '--device', 'sim:optical', '--surrogate', 'memoryless', '--episodes', '1', '--db', db, '--out', join(dir, 'm.json')]);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /^surrogate memoryless \(window 1, 0 response lags, 256 hidden units\)$/m);
    const show = await run(['runs', 'show', 'last', '--db', db]);
    assert.is(show.code, 0, show.stderr);
    assert.match(show.stdout, /surrogate = "memoryless"/);
    assert.match(show.stdout, /^surrogate\s+memoryless \(window 1, 0 response lags, 256 hidden units; asked: memoryless\)$/m);
    assert.match(show.stdout, /surrogate_choice \(surrogate-choice, json/);
    const json = JSON.parse((await run(['runs', 'show', 'last', '--db', db, '--json'])).stdout);
    assert.equal(json.surrogateChoice, { requested: 'memoryless', design: 'memoryless', window: 1, responseLags: 0, hidden: [256], samples: 0 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--refit-every outside 1..1000 is a one-line usage error (exit 2); --refit-every 3 --refit-worker trains, stored in the config', async () => {
  const bad = await run(['train', '--refit-every', '0', '--no-record']);
  assert.is(bad.code, 2);
  assert.equal(bad.stderr.trim().split('\n'), ['rhil: --refit-every must be an integer in 1..1000, got 0']);
  const dir = mkdtempSync(join(tmpdir(), 'rhil-refit-'));
  try {
    const db = join(dir, 'r.db');
    const r = await run(['train', '--episodes', '4', '--refit-every', '3', '--refit-worker', '--db', db, '--out', join(dir, 'm.json')]);
    assert.is(r.code, 0, r.stderr);
    const json = JSON.parse((await run(['runs', 'show', 'last', '--db', db, '--json'])).stdout);
    assert.equal({ every: json.config.refitEvery, worker: json.config.refitWorker }, { every: 3, worker: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
