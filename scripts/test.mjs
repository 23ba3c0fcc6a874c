#!/usr/bin/env node
// Runs every test suite (TypeScript under uvu, C under make) and prints one final line
// "N passed, M failed" over all of them, which is what CI reads. Skipped tests count as
// failed: a test that cannot run must say so loudly, not vanish from the total.
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

function run(cmd, args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; process.stdout.write(d); });
    child.stderr.on('data', (d) => { out += d; process.stderr.write(d); });
    child.on('error', (e) => resolve({ code: 127, out: `${out}\n${e.message}` }));
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

// System programs the suites need, checked first: without one, a suite dies halfway through
// ("Exiting early before testing is finished") without naming what is missing.
const chromium = process.env.RHIL_CHROMIUM || '/usr/bin/chromium';
const prerequisites = [
  { name: 'socat', why: 'serves simulators on pseudo-terminals', found: onPath('socat'), apt: 'socat' },
  { name: 'chromium', why: 'checks the HTML reports', found: executable(chromium), apt: 'chromium', where: `${chromium} (or set RHIL_CHROMIUM)` },
  { name: 'python3', why: 'reads recorded runs and exports with the standard library (sqlite3)', found: onPath('python3') && spawnSync('python3', ['-c', 'import sqlite3']).status === 0, apt: 'python3' },
  { name: 'make', why: 'builds the C tests', found: onPath('make'), apt: 'make' },
  { name: process.env.CC || 'cc', why: 'compiles the C tests', found: onPath(process.env.CC || 'cc'), apt: 'gcc' },
];
const missing = prerequisites.filter((p) => !p.found);
if (missing.length > 0) {
  for (const p of missing) console.log(`missing: ${p.name} (${p.why}), not found ${p.where ? `at ${p.where}` : 'on PATH'}`);
  console.log(`install with: sudo apt-get install -y ${[...new Set(missing.map((p) => p.apt))].join(' ')}`);
  console.log(`0 passed, 1 failed (missing system prerequisites: ${missing.map((p) => p.name).join(', ')})`);
  process.exit(1);
}

function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(cmd) {
  if (cmd.includes('/')) return executable(cmd);
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir && executable(join(dir, cmd)));
}

const suites = [];

// TypeScript: uvu prints "Total: N", "Passed: N", "Skipped: N".
{
  const { code, out } = await run(process.execPath, ['node_modules/uvu/bin.js', 'dist/test', '\\.test\\.js$'], { NO_COLOR: '1' });
  const num = (label) => Number((out.match(new RegExp(`${label}:\\s+(\\d+)`)) ?? [])[1]);
  const total = num('Total'), passed = num('Passed'), skipped = num('Skipped');
  if (Number.isNaN(total) || Number.isNaN(passed)) suites.push({ name: 'typescript', passed: 0, failed: 1, note: `uvu exited ${code} without totals` });
  else suites.push({ name: 'typescript', passed, failed: total - passed + (skipped || 0) + (code !== 0 && total === passed ? 1 : 0) });
}

// C: every test program ends with "C <program>: N passed, M failed".
{
  const { code, out } = await run('make', ['-s', '-C', 'firmware-protocol/c', 'test']);
  const lines = [...out.matchAll(/^C (.+): (\d+) passed, (\d+) failed$/gm)];
  const passed = lines.reduce((s, m) => s + Number(m[2]), 0);
  let failed = lines.reduce((s, m) => s + Number(m[3]), 0);
  if (lines.length === 0 || (code !== 0 && failed === 0)) failed += 1;
  suites.push({ name: 'c', passed, failed, note: lines.length === 0 ? `make exited ${code} without test totals` : undefined });
}

for (const s of suites) console.log(`${s.name}: ${s.passed} passed, ${s.failed} failed${s.note ? ` (${s.note})` : ''}`);
const passed = suites.reduce((s, x) => s + x.passed, 0);
const failed = suites.reduce((s, x) => s + x.failed, 0);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
