import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type CalibrationRecord, applyCalibration, runCalibration, validatePlan } from '../../src/calibration/index.js';
import { type DeviceClient, openDevice } from '../../src/device/index.js';
import { getRun, openRecordDb, readArtifact } from '../../src/record/index.js';
import {
  CalibrationError, assertCalibrationFits, findNewestCalibration, loadCalibration, readCalibrationFile, saveCalibration, withRecordedRun,
} from '../../src/session/index.js';

// A sweep only: enough for a usable record (offset, gain, linearisation) in a fraction of a second.
const plan = validatePlan({
  format: 'rhil-calibration-plan', version: 1, name: 'tiny',
  steps: [{ type: 'sweep', levels: 5, repeats: 1, settleSamples: 40, holdSamples: 40 }],
});

function tempDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'rhil-cal-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

async function withDevice<T>(spec: string, f: (d: DeviceClient) => Promise<T>): Promise<T> {
  const d = await openDevice(spec, { seed: 1 });
  try {
    return await f(d);
  } finally {
    await d.close();
  }
}

/** Calibrates `spec` inside a recorded calibrate run and returns the run id and record. */
async function calibrateRecorded(path: string, device: DeviceClient): Promise<{ runId: number; record: CalibrationRecord }> {
  return withRecordedRun({ db: path, kind: 'calibrate', config: { plan: 'tiny' }, device, handleSignals: false }, async (ctx) => {
    const record = await runCalibration(device, plan, { seed: 1 });
    ctx.artifact('calibration', 'calibration', record);
    return { runId: ctx.runId!, record };
  });
}

test('sim:analog and sim:analog-awg are two boards: each profile finds its own calibration, never the other\'s', async () => {
  const t = tempDir();
  try {
    const path = join(t.dir, 'rhil.db');
    const analog = await withDevice('sim:analog', async (d) => ({ info: d.info, ...await calibrateRecorded(path, d) }));
    const awg = await withDevice('sim:analog-awg', async (d) => ({ info: d.info, ...await calibrateRecorded(path, d) }));
    assert.is.not(analog.info.model, awg.info.model, 'the profiles report different identities');
    const db = openRecordDb(path);
    try {
      const idAnalog = saveCalibration(db, analog.record, { runId: analog.runId, now: 1000 });
      assert.is(findNewestCalibration(db, awg.info), null, 'the analog calibration is not the awg board\'s');
      const idAwg = saveCalibration(db, awg.record, { runId: awg.runId, now: 2000 });
      assert.is(findNewestCalibration(db, awg.info)!.id, idAwg);
      assert.is(findNewestCalibration(db, analog.info)!.id, idAnalog, 'the newer awg calibration does not shadow the analog one');
      assert.throws(() => assertCalibrationFits(analog.record, awg.info, 'calibration'), /model: record "sim-analog", device "sim-analog-awg"/);
    } finally {
      db.close();
    }
  } finally {
    t.cleanup();
  }
});

test('a calibration saved for a run\'s device is found as the newest match and loads back equal', async () => {
  const t = tempDir();
  try {
    const path = join(t.dir, 'rhil.db');
    await withDevice('sim:analog', async (device) => {
      const first = await calibrateRecorded(path, device);
      const second = await calibrateRecorded(path, device);
      const db = openRecordDb(path);
      try {
        const id1 = saveCalibration(db, first.record, { runId: first.runId, now: 1000 });
        const id2 = saveCalibration(db, second.record, { runId: second.runId, now: 2000 });
        assert.ok(id2 > id1);
        // Same identity but another firmware: not this device, however new.
        const other = structuredClone(second.record);
        other.device.firmware = '9.9.9';
        const id3 = saveCalibration(db, other, { now: 3000 });
        const found = findNewestCalibration(db, device.info)!;
        assert.is(found.id, id2);
        assert.is(found.name, `tiny (run ${second.runId})`);
        assert.equal(found.record, second.record);
        assert.equal(loadCalibration(db, id1).record, first.record);
        assert.is(loadCalibration(db, id3).record.device.firmware, '9.9.9');
        // The record came back usable, not only equal.
        const y = applyCalibration(found.record).normalizeResponse(new Array(50).fill(2048));
        assert.ok(y.every(Number.isFinite));
        // The accept filter skips newer records it refuses.
        assert.is(findNewestCalibration(db, device.info, { accept: (r) => r.createdAt === first.record.createdAt })!.id, id1);
        // The run's device row is the calibration's.
        const run = getRun(db, second.runId)!;
        const row = db.prepare('SELECT device_id FROM calibrations WHERE id = ?').get(id2) as { device_id: number };
        assert.is(row.device_id, run.device!.id);
        assert.equal(readArtifact(db, second.runId, 'calibration')!.json, second.record);
      } finally {
        db.close();
      }
    });
    await withDevice('sim:fpga', async (fpga) => {
      const db = openRecordDb(path);
      try {
        assert.is(findNewestCalibration(db, fpga.info), null);
      } finally {
        db.close();
      }
    });
  } finally {
    t.cleanup();
  }
});

test('a calibration of another device is refused with every mismatch listed, and cannot be saved for another device\'s run', async () => {
  const t = tempDir();
  try {
    const path = join(t.dir, 'rhil.db');
    const analog = await withDevice('sim:analog', (d) => calibrateRecorded(path, d));
    await withDevice('sim:fpga', async (fpga) => {
      const e = (() => { try { assertCalibrationFits(analog.record, fpga.info, 'calibration 1'); } catch (x) { return x as Error; } return null; })();
      assert.instance(e, CalibrationError);
      assert.match(e!.message, /^calibration 1 was made on another device/);
      assert.match(e!.message, /model: record "sim-analog", device "sim-fpga"/);
      assert.match(e!.message, /outChannels: record 50, device 100/);
      assert.match(e!.message, /--calibration none/);
      const fpgaRun = await withRecordedRun({ db: path, kind: 'calibrate', config: {}, device: fpga, handleSignals: false }, async (ctx) => ctx.runId!);
      const db = openRecordDb(path);
      try {
        assert.throws(() => saveCalibration(db, analog.record, { runId: fpgaRun }), /the record is of reservoir-hil sim-analog .* run \d+ used reservoir-hil sim-fpga/);
        assert.throws(() => saveCalibration(db, analog.record, { runId: 999 }), /no run 999/);
      } finally {
        db.close();
      }
    });
  } finally {
    t.cleanup();
  }
});

test('a corrupted stored record is refused naming the calibration id and the field; newest-match does not skip it silently', async () => {
  const t = tempDir();
  try {
    const path = join(t.dir, 'rhil.db');
    await withDevice('sim:analog', async (device) => {
      const { runId, record } = await calibrateRecorded(path, device);
      const db = openRecordDb(path);
      try {
        const good = saveCalibration(db, record, { runId, now: 1000 });
        const bad = saveCalibration(db, record, { runId, now: 2000 });
        db.prepare(`UPDATE calibrations SET data = json_set(data, '$.channels.gain[3]', 'x') WHERE id = ?`).run(bad);
        assert.throws(() => loadCalibration(db, bad), (e: Error) => e instanceof CalibrationError &&
          e.message.includes(`calibration ${bad} in ${path} is corrupted`) && e.message.includes('channels.gain[3]'));
        assert.throws(() => findNewestCalibration(db, device.info), new RegExp(`calibration ${bad} .*channels\\.gain\\[3\\]`));
        db.prepare(`UPDATE calibrations SET data = json_set(data, '$.format', 'other') WHERE id = ?`).run(bad);
        assert.throws(() => loadCalibration(db, bad), new RegExp(`calibration ${bad} .*format must be 'rhil-calibration'`));
        db.prepare(`UPDATE calibrations SET data = json_remove(data, '$.linearization[0].linear') WHERE id = ?`).run(good);
        assert.throws(() => loadCalibration(db, good), new RegExp(`calibration ${good} .*linearization\\[0\\]\\.linear is missing`));
        assert.throws(() => loadCalibration(db, 77), /no calibration 77 in/);
      } finally {
        db.close();
      }
      // A corrupted row of another device does not block this one's search.
      const db2 = openRecordDb(path);
      try {
        const other = structuredClone(record);
        other.device.serial = 'OTHER-1';
        const id = saveCalibration(db2, other, { now: 5000 });
        db2.prepare(`UPDATE calibrations SET data = '{"format":1}' WHERE id = ?`).run(id);
        db2.prepare(`DELETE FROM calibrations WHERE id <> ?`).run(id);
        assert.is(findNewestCalibration(db2, device.info), null);
      } finally {
        db2.close();
      }
    });
  } finally {
    t.cleanup();
  }
});

test('a calibration JSON file is read and checked like a stored one', async () => {
  const t = tempDir();
  try {
    const record = await withDevice('sim:analog', (d) => runCalibration(d, plan, { seed: 1 }));
    const file = join(t.dir, 'cal.json');
    writeFileSync(file, JSON.stringify(record));
    assert.equal(readCalibrationFile(file), record);
    writeFileSync(file, JSON.stringify({ ...record, device: { ...record.device, inChannels: 0 } }));
    assert.throws(() => readCalibrationFile(file), new RegExp(`calibration ${file} is corrupted: field device.inChannels is 0`));
    writeFileSync(file, '{');
    assert.throws(() => readCalibrationFile(file), /is not JSON/);
    assert.throws(() => readCalibrationFile(join(t.dir, 'none.json')), /cannot read calibration/);
  } finally {
    t.cleanup();
  }
});

test.run();
