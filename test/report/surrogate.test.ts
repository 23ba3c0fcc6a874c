import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunRecorder, openRecordDb } from '../../src/record/index.js';
import { renderReport } from '../../src/report/index.js';

function runWith(choice: unknown): { html: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'rhil-report-surrogate-'));
  const db = openRecordDb(join(dir, 'rhil.db'));
  const rec = new RunRecorder(db);
  const id = rec.startRun({ kind: 'train', config: { task: 'narma10', trainer: 'pat' }, seed: 1, backend: 'cpu' });
  rec.recordMetric('loss', 0, 0.5);
  if (choice !== undefined) rec.saveArtifact('surrogate_choice', 'surrogate-choice', choice);
  rec.finish('completed');
  const html = renderReport(db, id);
  db.close();
  return { html, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

test('a run that chose its surrogate by exploring shows every design with its held-out error and device-measured fidelity, the chosen one marked', () => {
  const score = (design: string, heldOutNmse: number, slope: number, cosine: number) => ({ design, window: design === 'memoryless' ? 1 : 4, responseLags: design === 'memoryless' ? 0 : 1, hidden: [256], heldOutNmse, slope, slopeSe: 0.05, cosine, score: heldOutNmse + 1 - cosine });
  const { html, cleanup } = runWith({
    requested: 'auto', design: 'memoryless', window: 1, responseLags: 0, hidden: [256], samples: 7200,
    exploration: { choice: score('memoryless', 0.7, 0.9, 0.21), scores: [score('narx', 0.9, 0.2, 0.05), score('memoryless', 0.7, 0.9, 0.21)], memory: { capacity: 0.4, reach: 0 }, suggestedTaps: 20 },
  });
  try {
    assert.match(html, /<h2>Surrogate<\/h2>/);
    assert.match(html, /Design <b>memoryless<\/b> \(asked for: auto\)/);
    assert.match(html, /7,200 samples/);
    assert.match(html, /memoryless \(chosen\)/);
    assert.not.match(html, /narx \(chosen\)/);
    assert.match(html, /0\.900 ± 0\.0500/);
    assert.match(html, /linear capacity 0\.400, recall reaches 0 steps back/);
  } finally {
    cleanup();
  }
});

test('two NARX widths: only the chosen width is marked, with parameters and the standard error of the score', () => {
  const narx = (hidden: number, score: number, scoreSe: number, parameters: number) => ({ design: 'narx', window: 4, responseLags: 1, hidden: [hidden], heldOutNmse: 0.05, slope: 1, slopeSe: 0.1, cosine: 1.05 - score, score, scoreSe, parameters });
  const small = narx(64, 0.066, 0.033, 51920), big = narx(416, 0.061, 0, 335280);
  const { html, cleanup } = runWith({
    requested: 'auto', design: 'narx', window: 4, responseLags: 1, hidden: [64], samples: 7200,
    exploration: { choice: small, best: big, scores: [small, big], memory: { capacity: 3, reach: 2 }, suggestedTaps: 10 },
  });
  try {
    assert.is((html.match(/narx \(chosen\)/g) ?? []).length, 1);
    assert.match(html, /<tr class="chosen"><td>narx \(chosen\)<\/td><td>4 \/ 1 \/ 64<\/td><td>51,920<\/td>/);
    assert.match(html, /0\.0660 \(± 0\.0330\)/);
    assert.match(html, /fewest parameters/);
  } finally {
    cleanup();
  }
});

test('a run without a surrogate choice has no such section; a malformed one says so', () => {
  const none = runWith(undefined);
  try { assert.not.match(none.html, /<h2>Surrogate<\/h2>/); } finally { none.cleanup(); }
  const bad = runWith('just a string');
  try { assert.match(bad.html, /artifact 'surrogate_choice' is not a JSON record/); } finally { bad.cleanup(); }
});

test.run();
