/**
 * The fast variant of scripts/crash.ts: three SIGKILLs of a recording `rhil train`, each at a
 * seeded moment; after each the database opens, the run reads 'interrupted' and verifies.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCrashes } from '../../scripts/crash.js';

test('rhil train --db killed with SIGKILL 3 times: the database opens, each run is interrupted and verifies', async () => {
  const r = await runCrashes({ kills: 3, seed: 2, minDelayMs: 200, maxDelayMs: 1000 });
  assert.is(r.kills.length, 3);
  for (const k of r.kills) {
    assert.is(k.status, 'interrupted', `run ${k.runId}`);
    assert.is(k.integrity, 'ok');
    assert.ok(k.verifyOk, k.problems.join('\n'));
  }
  assert.ok(r.kills.some((k) => k.batches > 0), 'some kill landed after batches were recorded');
  assert.is(r.finalRuns, 3);
  assert.equal(r.finalProblems, []);
  assert.ok(r.ok);
});

test.run();
