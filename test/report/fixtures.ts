/**
 * Run databases for the report tests and scripts/check-report: a train-like run (metrics of every
 * group over 30 steps, final test metrics, a test trace, batches, hostile strings from the device
 * and the config), a calibrate run with a real calibration record of the analog simulator, and a
 * failed run with batches only.
 */
import type Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPlan, runCalibration } from '../../src/calibration/index.js';
import { openDevice } from '../../src/device/index.js';
import { RunRecorder, openRecordDb } from '../../src/record/index.js';

/** Strings a device or a user could put into a run, each of which would break a page that did not escape it. */
export const HOSTILE_FIRMWARE = '1.2.3</script><script>window.__pwned=1</script>';
export const HOSTILE_NOTE = '</script><!-- <img src=x onerror="window.__pwned=2">';
export const FAIL_MESSAGE = 'no RESULT for batch 7 within 500 ms <timeout & "retry">';

export interface Fixture {
  dir: string;
  dbPath: string;
  db: Database.Database;
  trainId: number;
  calibrateId: number;
  failedId: number;
  cleanup(): void;
}

/** The charts each fixture run's report must draw. */
export const EXPECTED_CHARTS = { train: 10, calibrate: 3, failed: 2 } as const;

const TRAIN_STEPS = 30;

/** Records an event where the recorder can (events came with schema v2; a v1 recorder has none to record). */
function recordEvent(rec: RunRecorder, kind: string, detail: unknown): boolean {
  const r = rec as unknown as { recordEvent?: (kind: string, detail?: unknown) => void };
  if (typeof r.recordEvent !== 'function') return false;
  r.recordEvent(kind, detail);
  return true;
}

export async function makeFixture(): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'rhil-report-'));
  const dbPath = join(dir, 'runs.db');
  const db = openRecordDb(dbPath);
  try {
    const trainId = trainRun(db);
    const calibrateId = await calibrateRun(db);
    const failedId = failedRun(db);
    return { dir, dbPath, db, trainId, calibrateId, failedId, cleanup: () => { db.close(); rmSync(dir, { recursive: true, force: true }); } };
  } catch (e) {
    db.close();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

function trainRun(db: Database.Database): number {
  const rec = new RunRecorder(db);
  const id = rec.startRun({
    kind: 'train',
    config: { task: 'narma10', trainer: 'pat', episodes: TRAIN_STEPS, note: HOSTILE_NOTE },
    seed: 1,
    backend: 'wasm',
    device: { vendor: 'reservoir-hil', model: 'sim-analog', serial: 'SIM-00000001', firmware: HOSTILE_FIRMWARE },
    gitCommit: 'c9fd3219a4b0e1f2d3c4b5a6978877665544332f',
  });
  for (let s = 0; s < TRAIN_STEPS; s++) {
    const loss = 1.2 * Math.exp(-s / 6) + 0.02 + 0.01 * Math.sin(s); // two decades: a log scale
    rec.recordMetric('loss', s, loss);
    rec.recordMetric('readout_nmse', s, loss * 0.9);
    rec.recordMetric('surrogate_nmse', s, 0.3 * Math.exp(-s / 10) + 0.05);
    if (s % 3 === 0) rec.recordMetric('surrogate_heldout_nmse', s, 0.35 * Math.exp(-s / 10) + 0.06);
    if (s % 5 === 0) {
      rec.recordMetric('fidelity_cosine', s, 0.6 + 0.3 * (1 - Math.exp(-s / 8)));
      rec.recordMetric('fidelity_slope', s, 0.5 + 0.35 * (1 - Math.exp(-s / 8)));
      rec.recordMetric('fidelity_slope_se', s, 0.2 * Math.exp(-s / 20));
      rec.recordMetric('fidelity_twin_slope', s, 0.55 + 0.33 * (1 - Math.exp(-s / 8)));
      rec.recordMetric('fidelity_directions', s, 3);
      rec.recordMetric('fidelity_samples', s, 7 * 450);
    }
    rec.recordMetric('saturation', s, 0.02 + 0.004 * s);
  }
  recordEvent(rec, 'reset', { epoch: 2 });
  recordEvent(rec, 'reject', { reason: 'crc', note: HOSTILE_NOTE });
  recordEvent(rec, 'reset', { epoch: 3 });
  rec.recordMetric('test_nmse', TRAIN_STEPS, 0.0812);
  rec.recordMetric('test_nrmse', TRAIN_STEPS, Math.sqrt(0.0812));
  for (let k = 0; k < 12; k++) rec.recordBatch(batch(k, 40, 1, 8));
  const steps = 400;
  const wave = (t: number, f: number, p = 0) => Math.sin(2 * Math.PI * f * t + p);
  const target = Array.from({ length: steps }, (_, t) => 0.3 + 0.1 * wave(t, 1 / 37) + 0.05 * wave(t, 1 / 9));
  rec.saveArtifact('test_trace', 'trace', {
    steps,
    drive: [0, 1].map((c) => Array.from({ length: steps }, (_, t) => 2048 + 900 * wave(t, 1 / 53, c))),
    response: Array.from({ length: 8 }, (_, c) => Array.from({ length: steps }, (_, t) => 2048 + 300 * wave(t, 1 / 41, c / 2) + 40 * wave(t, 1 / 7, c))),
    target: [target],
    prediction: [target.map((v, t) => v + 0.02 * wave(t, 1 / 5))],
  });
  rec.saveArtifact('model', 'model', { inputLayer: { taps: 20 }, readout: { ridge: 1e-6 } });
  rec.finish('completed');
  return id;
}

async function calibrateRun(db: Database.Database): Promise<number> {
  const dev = await openDevice('sim:analog', { seed: 1 });
  try {
    const plan = await loadPlan('analog');
    const rec = new RunRecorder(db);
    const id = rec.startRun({ kind: 'calibrate', config: { plan: plan.name, device: 'sim:analog' }, seed: 1, device: dev.info, gitCommit: null });
    const record = await runCalibration(dev, plan, { seed: 1 });
    rec.saveArtifact('calibration', 'calibration', record);
    rec.finish('completed');
    return id;
  } finally {
    await dev.close();
  }
}

function failedRun(db: Database.Database): number {
  const rec = new RunRecorder(db);
  const id = rec.startRun({ kind: 'run', config: { task: 'waveforms' }, seed: 7, gitCommit: null,
    device: { vendor: 'acme', model: 'optical-bench', serial: 'OB-7', firmware: '0.9' } });
  for (let k = 0; k < 30; k++) rec.recordBatch(batch(k, 32, 2, 6));
  rec.finish('failed', new Error(FAIL_MESSAGE));
  return id;
}

/** Drive of input channel c at sample t of a fixture run's batches (u16). */
export const fixtureDrive = (t: number, c: number): number => Math.round(2048 + 1500 * Math.sin(t / (15 + 10 * c)));
/** Response of output channel c at sample t (float32). */
export const fixtureResponse = (t: number, c: number): number => Math.fround(1000 + 500 * Math.tanh(Math.sin(t / 15 + c / 3) * (1 + c / 4)));

/** Batch k of `count` samples, sample t = k * count + row. */
export function batch(k: number, count: number, inCh: number, outCh: number) {
  const input = new Uint16Array(count * inCh);
  const output = new Float32Array(count * outCh);
  for (let r = 0; r < count; r++) {
    const t = k * count + r;
    for (let c = 0; c < inCh; c++) input[r * inCh + c] = fixtureDrive(t, c);
    for (let c = 0; c < outCh; c++) output[r * outCh + c] = fixtureResponse(t, c);
  }
  return { batchId: k + 1, epoch: 1, timestampUs: k * count * 10, status: 0, count, input, output };
}
