import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type Database from 'better-sqlite3';
import { RunNotFoundError, RunRecorder, openRecordDb, verifyRun } from '../../src/record/index.js';
import { makeBatch } from './helpers.js';

/**
 * A clean run of 10 batches of 16 samples: seq 0..5 in epoch 3 (batch ids 1..6), a break and a
 * reset, then seq 6..9 in epoch 4 (batch ids 9..12: ids 7 and 8 went to the rejected batch and the
 * washout, which are not recorded), device time restarting lower in the new segment.
 */
function cleanRun(events: [number, string][] = [[6, 'break'], [6, 'reset']]): { db: Database.Database; runId: number } {
  const db = openRecordDb(':memory:');
  const rec = new RunRecorder(db);
  const runId = rec.startRun({ kind: 'run', gitCommit: null });
  rec.recordEvent('boot');
  for (let k = 0; k < 10; k++) {
    for (const [at, kind] of events) if (at === k) rec.recordEvent(kind);
    const b = makeBatch(k);
    if (k >= 6) Object.assign(b, { epoch: 4, batchId: k + 3, timestampUs: 500 * k });
    rec.recordBatch(b);
  }
  rec.finish('completed');
  return { db, runId };
}

test('a clean recorded run verifies, with its counts', () => {
  const { db, runId } = cleanRun();
  const v = verifyRun(db, runId);
  assert.equal(v.problems, []);
  assert.ok(v.ok);
  assert.is(v.batches, 10);
  assert.is(v.samples, 160);
  assert.is(v.segments, 2);
  assert.equal(v.events, { boot: 1, break: 1, reset: 1 });
  assert.is(v.omitted, 0);
  db.close();
});

test('a deleted row is a hidden gap, named by its seq', () => {
  const { db, runId } = cleanRun();
  db.prepare('DELETE FROM batches WHERE run_id = ? AND seq IN (2, 3)').run(runId);
  db.prepare('DELETE FROM batches WHERE run_id = ? AND seq = 9').run(runId);
  const v = verifyRun(db, runId);
  assert.not.ok(v.ok);
  assert.equal(v.problems, ['seq 2..3: 2 missing rows (a hidden gap before seq 4 (batch 5))'], 'a missing tail row cannot be seen; the ids across the gap are not reported again');
  db.prepare('DELETE FROM batches WHERE run_id = ? AND seq = 0').run(runId);
  assert.match(verifyRun(db, runId).problems[0], /^seq 0: missing row \(a hidden gap before seq 1 \(batch 2\)\)$/);
  db.close();
});

test('a flipped blob byte fails the checksum; a truncated blob also fails its shape', () => {
  const { db, runId } = cleanRun();
  const row = db.prepare('SELECT output FROM batches WHERE run_id = ? AND seq = 2').get(runId) as { output: Buffer };
  row.output[17] ^= 0x04;
  db.prepare('UPDATE batches SET output = ? WHERE run_id = ? AND seq = 2').run(row.output, runId);
  let v = verifyRun(db, runId);
  assert.is(v.problems.length, 1);
  assert.match(v.problems[0], /^seq 2 \(batch 3\): checksum mismatch: stored 0x[0-9a-f]{8}, blobs give 0x[0-9a-f]{8}$/);
  db.prepare('UPDATE batches SET input = substr(input, 1, 60) WHERE run_id = ? AND seq = 5').run(runId);
  v = verifyRun(db, runId);
  assert.is(v.problems.length, 3);
  assert.match(v.problems[1], /^seq 5 \(batch 6\): checksum mismatch/);
  assert.is(v.problems[2], 'seq 5 (batch 6): input blob is 60 bytes, shape [16,1] needs 64 (float32)');
  db.close();
});

test('a count that is not the shapes\' first dimension, a bad shape and an unknown format are each reported', () => {
  const { db, runId } = cleanRun();
  db.prepare('UPDATE batches SET count = 8 WHERE run_id = ? AND seq = 1').run(runId);
  db.prepare(`UPDATE batches SET output_shape = '[16,"3"]' WHERE run_id = ? AND seq = 3`).run(runId);
  db.prepare(`UPDATE batches SET input_format = 'u12' WHERE run_id = ? AND seq = 4`).run(runId);
  const v = verifyRun(db, runId);
  assert.equal(v.problems, [
    'seq 1 (batch 2): count 8 but input shape [16,1] has 16 rows',
    'seq 1 (batch 2): count 8 but output shape [16,3] has 16 rows',
    'seq 3 (batch 4): output shape [16,"3"] is not a list of 1..8 non-negative integers',
    'seq 4 (batch 5): input format "u12" is not u16, i16, f32 or f64',
  ]);
  assert.is(v.samples, 152);
  db.close();
});

test('an epoch change with no reset, boot or reconnect event is caught; a break alone does not make it legal', () => {
  const { db, runId } = cleanRun([[6, 'break']]);
  const v = verifyRun(db, runId);
  assert.equal(v.problems, ['seq 6 (batch 9): epoch changed from 3 to 4 with no reset, boot or reconnect event after seq 5']);
  db.close();
  const tampered = cleanRun();
  tampered.db.prepare('UPDATE batches SET epoch = 7 WHERE run_id = ? AND seq >= 8').run(tampered.runId);
  const t = verifyRun(tampered.db, tampered.runId);
  assert.equal(t.problems, ['seq 8 (batch 11): epoch changed from 4 to 7 with no reset, boot or reconnect event after seq 7']);
  assert.is(t.segments, 3);
  tampered.db.close();
});

test('an event of kind reset, boot or reconnect recorded between two batches makes their epoch change legal', () => {
  for (const kind of ['reset', 'boot', 'reconnect']) {
    const { db, runId } = cleanRun([[6, kind]]);
    assert.ok(verifyRun(db, runId).ok, kind);
    db.close();
  }
  // An event before an earlier batch does not cover a later change.
  const early = cleanRun([[4, 'reset']]);
  assert.equal(early.db.prepare('SELECT seq_after FROM events WHERE kind = ?').pluck().all('reset'), [4]);
  assert.not.ok(verifyRun(early.db, early.runId).ok);
  early.db.close();
});

test('a reset recorded between two batches of one epoch (a board that kept its epoch) ends the segment: the jump after it is legal', () => {
  const db = openRecordDb(':memory:');
  const rec = new RunRecorder(db);
  const runId = rec.startRun({ kind: 'run', gitCommit: null });
  for (let k = 0; k < 6; k++) {
    if (k === 3) rec.recordEvent('reset');
    // Batches 0-2 and 3-5 share epoch 3; the ids jump by 5 and the device clock restarts at the reset.
    rec.recordBatch(Object.assign(makeBatch(k), { epoch: 3, batchId: k < 3 ? k + 1 : k + 6, timestampUs: 500 * (k % 3) }));
  }
  rec.finish('completed');
  const v = verifyRun(db, runId);
  assert.equal(v.problems, []);
  assert.is(v.segments, 2);
  // Without the event the same rows are a splice.
  db.prepare('DELETE FROM events WHERE run_id = ?').run(runId);
  const w = verifyRun(db, runId);
  assert.is(w.segments, 1);
  assert.equal(w.problems.length, 2, w.problems.join('; '));
  db.close();
});

test('a skipped batch id inside a segment is caught; the u32 wrap past 0xffffffff to 1 is not a skip', () => {
  const { db, runId } = cleanRun();
  db.prepare('UPDATE batches SET batch_id = batch_id + 1 WHERE run_id = ? AND seq >= 3 AND seq < 6').run(runId);
  assert.equal(verifyRun(db, runId).problems, ['seq 3 (batch 5): batch id 5 after 3 in epoch 3, expected 4']);
  db.close();

  const w = openRecordDb(':memory:');
  const rec = new RunRecorder(w);
  const id = rec.startRun({ kind: 'run', gitCommit: null });
  for (const [k, batchId] of [0xfffffffe, 0xffffffff, 1, 2].entries()) rec.recordBatch({ ...makeBatch(k), batchId });
  rec.finish('completed');
  assert.ok(verifyRun(w, id).ok);
  w.prepare('UPDATE batches SET batch_id = 0 WHERE run_id = ? AND seq = 2').run(id);
  assert.match(verifyRun(w, id).problems.join('\n'), /seq 2 \(batch 0\): batch id 0 after 4294967295 in epoch 3, expected 1/);
  w.close();
});

test('device time going back inside a segment is caught', () => {
  const { db, runId } = cleanRun();
  db.prepare('UPDATE batches SET timestamp_us = 10 WHERE run_id = ? AND seq = 2').run(runId);
  assert.equal(verifyRun(db, runId).problems, ['seq 2 (batch 3): device timestamp went back from 1000 to 10 us in epoch 3']);
  db.close();
});

test('a batch whose status is not 0 is caught', () => {
  const { db, runId } = cleanRun();
  db.prepare('UPDATE batches SET status = 3 WHERE run_id = ? AND seq = 7').run(runId);
  assert.equal(verifyRun(db, runId).problems, ['seq 7 (batch 10): status 3, not 0 (ok)']);
  db.close();
});

test('rows without a checksum (schema v1) are unverifiable, reported as ranges, and not ok', () => {
  const { db, runId } = cleanRun();
  db.prepare('UPDATE batches SET checksum = NULL WHERE run_id = ? AND (seq BETWEEN 0 AND 3 OR seq = 8)').run(runId);
  const v = verifyRun(db, runId);
  assert.not.ok(v.ok);
  assert.equal(v.problems, ['seq 0..3: no checksum (schema v1 rows): unverifiable', 'seq 8: no checksum (a schema v1 row): unverifiable']);
  db.close();
});

test('the problem list is capped, the rest counted; an unknown run throws RunNotFoundError', () => {
  const { db, runId } = cleanRun();
  db.prepare('UPDATE batches SET status = 1 WHERE run_id = ?').run(runId);
  const v = verifyRun(db, runId, { maxProblems: 3 });
  assert.is(v.problems.length, 3);
  assert.is(v.omitted, 7);
  assert.is(verifyRun(db, runId).problems.length, 10);
  assert.throws(() => verifyRun(db, runId + 1), (e: Error) => e instanceof RunNotFoundError && e.message === `run ${runId + 1} not found`);
  db.close();
});

test.run();
