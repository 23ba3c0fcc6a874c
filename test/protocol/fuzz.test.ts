import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MESSAGE_TYPE, REJECT_REASONS } from '../../src/protocol/index.js';
import { MUTATIONS, type FuzzReport, mergeReports, replayCase, runFuzz } from './fuzz-engine.js';

const SEED = 0x5eed1;
const CASES = 100_000;

const strip = (r: FuzzReport) => ({ ...r, seconds: 0, firstCase: 0 });

test(`codec fuzz: ${CASES} seeded cases, zero violations, every rejection reason exercised`, () => {
  const r = runFuzz({ cases: CASES, seed: SEED });
  console.log(`  fuzz: ${r.cases} cases, ${r.events} events, ${(r.bytes / 1e6).toFixed(1)} MB in ${r.seconds.toFixed(2)} s ` +
    `(${Math.round(r.cases / r.seconds)} cases/s); rejects ${JSON.stringify(r.rejectsByReason)}`);
  assert.is(r.violationCount, 0, `violations:\n${r.violations.join('\n')}`);
  assert.is(r.cases, CASES);
  for (const reason of REJECT_REASONS) assert.ok(r.rejectsByReason[reason] > 0, `rejection reason ${reason} never exercised`);
  for (const m of MUTATIONS) assert.ok(r.mutations[m] > 0, `mutation ${m} never drawn`);
  for (const k of Object.keys(MESSAGE_TYPE)) assert.ok(r.kinds[k] > 0, `message kind ${k} never generated`);
  const rejects = Object.values(r.rejectsByReason).reduce((a, b) => a + b, 0);
  assert.is(r.okFrames + rejects, r.events);
  // Every case ends with its sentinel; unmutated cases add their frame.
  assert.ok(r.okFrames >= r.cases + r.mutations.none);
});

test('fuzz runs are deterministic and slice-independent', () => {
  const whole = runFuzz({ cases: 3000, seed: 7 });
  const again = runFuzz({ cases: 3000, seed: 7 });
  const sliced = mergeReports([
    runFuzz({ cases: 1000, seed: 7 }),
    runFuzz({ cases: 2000, seed: 7, firstCase: 1000 }),
  ]);
  assert.equal(strip(again), strip(whole));
  assert.equal(strip(sliced), strip(whole));
  const other = runFuzz({ cases: 3000, seed: 8 });
  assert.is.not(other.bytes, whole.bytes);
});

test('replayCase reproduces one case of a run on its own', () => {
  const t = replayCase(SEED, 12345);
  assert.is(t.index, 12345);
  assert.equal(t.violations, []);
  assert.equal(replayCase(SEED, 12345), t);
  const last = t.events[t.events.length - 1] as { ok: boolean; frame: { seq: number } };
  assert.ok(last.ok);
  assert.is(last.frame.seq, 0xbeef);
});

test.run();
