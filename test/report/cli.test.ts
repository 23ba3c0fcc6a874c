import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rhil } from '../cli/rhil.js';
import { type Fixture, makeFixture } from './fixtures.js';


let fixture: Promise<Fixture> | null = null;
const fx = () => (fixture ??= makeFixture());
test.after(async () => { if (fixture) (await fixture).cleanup(); });

test('rhil report RUN --db writes rhil-run-<id>.html in the working directory', async () => {
  const f = await fx();
  const r = await rhil(['report', String(f.trainId), '--db', f.dbPath], { cwd: f.dir });
  assert.is(r.code, 0, r.stderr);
  const out = join(f.dir, `rhil-run-${f.trainId}.html`);
  assert.ok(existsSync(out));
  const html = readFileSync(out, 'utf8');
  assert.match(r.stdout, new RegExp(`^wrote rhil-run-${f.trainId}\\.html \\(${Buffer.byteLength(html).toLocaleString('en-US')} bytes, 10 charts\\)$`, 'm'));
  assert.match(html, /<title>rhil run 1 \(train, completed\)<\/title>/);
});

test('rhil report takes --out, and the database from $RHIL_DB by default', async () => {
  const f = await fx();
  const out = join(f.dir, 'cal.html');
  const r = await rhil(['report', String(f.calibrateId), '--out', out], { cwd: f.dir, env: { ...process.env, RHIL_DB: f.dbPath } });
  assert.is(r.code, 0, r.stderr);
  assert.match(readFileSync(out, 'utf8'), /DC transfer: linearisation per input channel/);
});

test('rhil report: an unknown run, a missing database or a bad id is a usage error (exit 2)', async () => {
  const f = await fx();
  const none = await rhil(['report', '99', '--db', f.dbPath], { cwd: f.dir });
  assert.is(none.code, 2);
  assert.match(none.stderr, /run 99 not found in .*; rhil runs list/);
  const missing = await rhil(['report', '1', '--db', join(f.dir, 'nope.db')], { cwd: f.dir });
  assert.is(missing.code, 2);
  assert.match(missing.stderr, /no run database at .*nope\.db \(opened read-only, so not created\)/);
  assert.not.ok(existsSync(join(f.dir, 'nope.db')), 'a report creates no database');
  const bad = await rhil(['report', 'x', '--db', f.dbPath], { cwd: f.dir });
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /RUN must be a run id \(a positive integer\) or last, got x/);
  const last = await rhil(['report', 'last', '--db', f.dbPath, '--out', join(f.dir, 'last.html')], { cwd: f.dir });
  assert.is(last.code, 0, last.stderr);
  assert.ok(existsSync(join(f.dir, 'last.html')), '`last` names the newest run');
});

test.run();
