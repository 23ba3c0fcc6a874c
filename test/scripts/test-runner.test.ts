/**
 * `npm test` (scripts/test.mjs) checks the system programs its suites need before running any,
 * and names what is missing with the install line, ending with the totals line CI reads.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = new URL('../../../', import.meta.url).pathname;

/** Runs the test runner with a PATH holding only `programs` (found on the real PATH). */
function runWith(programs: string[]): { status: number | null; stdout: string } {
  const bin = mkdtempSync(join(tmpdir(), 'rhil-path-'));
  try {
    for (const p of programs) {
      // python3 may be a version manager's shell shim that needs a full PATH: link the interpreter itself.
      const where = p === 'python3'
        ? spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim()
        : spawnSync('sh', ['-c', `command -v ${p}`], { encoding: 'utf8' }).stdout.trim();
      if (where) symlinkSync(where, join(bin, p));
    }
    symlinkSync(process.execPath, join(bin, 'node'));
    const r = spawnSync(process.execPath, ['scripts/test.mjs'], {
      cwd: root, encoding: 'utf8', timeout: 30_000,
      env: { PATH: bin, RHIL_CHROMIUM: process.execPath, HOME: process.env.HOME ?? '/tmp' },
    });
    return { status: r.status, stdout: r.stdout };
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
}

test('without socat the runner stops before any suite, names it with the apt-get line, and reports 0 passed, 1 failed', () => {
  const r = runWith(['make', 'cc', 'python3']);
  assert.is(r.status, 1);
  assert.match(r.stdout, /^missing: socat \(serves simulators on pseudo-terminals\), not found on PATH$/m);
  assert.match(r.stdout, /^install with: sudo apt-get install -y socat$/m);
  assert.not.match(r.stdout, /missing: (make|cc|python3|chromium)/);
  assert.match(r.stdout, /\n0 passed, 1 failed \(missing system prerequisites: socat\)\n$/);
});

test('every missing program is named, each install package once', () => {
  const r = runWith([]);
  assert.is(r.status, 1);
  for (const p of ['socat', 'python3', 'make', 'cc']) assert.match(r.stdout, new RegExp(`^missing: ${p} `, 'm'));
  assert.match(r.stdout, /^install with: sudo apt-get install -y socat python3 make gcc$/m);
});

test.run();
