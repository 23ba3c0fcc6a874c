/**
 * Calibrations kept in the run database (`calibrations` table), next to the runs that made and
 * used them, so training can pick the newest calibration of the device at hand by itself.
 *
 * ```ts
 * const id = saveCalibration(db, record, { runId });            // after a calibrate run
 * const found = findNewestCalibration(db, device.info);          // { id, record, createdMs } | null
 * const cal = applyCalibration(loadCalibration(db, 3));          // a corrupted row throws, naming row and field
 * ```
 *
 * Whether a record matches a device is decided by calibration/apply.ts `deviceMismatches` only.
 */
import type Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { deviceMismatches } from '../calibration/apply.js';
import { type CalibrationRecord, checkRecord } from '../calibration/record.js';
import { type Info, SAMPLE_FORMATS } from '../protocol/index.js';

export interface StoredCalibration {
  id: number;
  createdMs: number;
  name: string;
  record: CalibrationRecord;
}

export interface SaveCalibrationOptions {
  /** The run that measured it: its device row is the calibration's. Defaults to none (the device row is found or added from the record's identity). */
  runId?: number;
  /** Label. Defaults to the plan's name, with the run id when given. */
  name?: string;
  /** Creation time, Unix ms. Defaults to now. */
  now?: number;
}

/** A calibration cannot be used: missing, corrupted, or taken on another device. */
export class CalibrationError extends Error {
  override name = 'CalibrationError';
}

/** Stores `record` and returns its id. The record is checked first, so a stored one always loads. */
export function saveCalibration(db: Database.Database, record: CalibrationRecord, opts: SaveCalibrationOptions = {}): number {
  const r = checkStored(record, 'the calibration record to save');
  const d = r.device;
  return db.transaction((): number => {
    let deviceId: number;
    if (opts.runId !== undefined) {
      const run = db.prepare(`SELECT r.device_id AS id, d.vendor, d.model, d.serial, d.firmware FROM runs r LEFT JOIN devices d ON d.id = r.device_id
        WHERE r.id = ?`).get(opts.runId) as { id: number | null; vendor: string; model: string; serial: string; firmware: string } | undefined;
      if (!run) throw new CalibrationError(`saveCalibration: no run ${opts.runId} in ${db.name}`);
      if (run.id === null) throw new CalibrationError(`saveCalibration: run ${opts.runId} has no device`);
      const same = run.vendor === d.vendor && run.model === d.model && run.serial === d.serial && run.firmware === d.firmware;
      if (!same) {
        throw new CalibrationError(`saveCalibration: the record is of ${describe(d)}, run ${opts.runId} used ${describe(run)}`);
      }
      deviceId = run.id;
    } else {
      // Only the identity is known here, not a whole INFO: never overwrite a device's stored INFO with it.
      db.prepare(`INSERT INTO devices (vendor, model, serial, firmware, info, first_seen_ms) VALUES (?, ?, ?, ?, NULL, ?)
        ON CONFLICT (vendor, model, serial, firmware) DO NOTHING`).run(d.vendor, d.model, d.serial, d.firmware, opts.now ?? Date.now());
      deviceId = (db.prepare('SELECT id FROM devices WHERE vendor = ? AND model = ? AND serial = ? AND firmware = ?')
        .get(d.vendor, d.model, d.serial, d.firmware) as { id: number }).id;
    }
    const name = opts.name ?? (opts.runId !== undefined ? `${r.plan.name} (run ${opts.runId})` : r.plan.name);
    const res = db.prepare('INSERT INTO calibrations (device_id, created_ms, name, data, blob) VALUES (?, ?, ?, ?, NULL)')
      .run(deviceId, opts.now ?? Date.now(), name, JSON.stringify(r));
    return Number(res.lastInsertRowid);
  }).immediate();
}

/** Calibration `id`, checked; throws a CalibrationError naming the id (and the field, for a corrupted one). */
export function loadCalibration(db: Database.Database, id: number): StoredCalibration {
  if (!Number.isSafeInteger(id) || id < 1) throw new CalibrationError(`calibration id must be a positive integer, got ${id}`);
  const row = hasCalibrations(db)
    ? db.prepare('SELECT id, created_ms, name, data FROM calibrations WHERE id = ?').get(id) as Row | undefined
    : undefined;
  if (!row) throw new CalibrationError(`no calibration ${id} in ${db.name}`);
  return fromRow(row, db.name);
}

export interface FindCalibrationOptions {
  /** Only records this accepts count (say, those with a sweep). Defaults to all. */
  accept?: (record: CalibrationRecord) => boolean;
}

/**
 * The newest calibration whose record matches the device with INFO `info`, or null. A corrupted
 * row that belongs to this device stops the search with its error rather than silently falling
 * back to an older calibration; corrupted rows of other devices are skipped.
 */
export function findNewestCalibration(db: Database.Database, info: Info, opts: FindCalibrationOptions = {}): StoredCalibration | null {
  if (!hasCalibrations(db)) return null;
  const rows = db.prepare(`SELECT c.id, c.created_ms, c.name, c.data, d.vendor, d.model, d.serial, d.firmware
    FROM calibrations c LEFT JOIN devices d ON d.id = c.device_id ORDER BY c.created_ms DESC, c.id DESC`).iterate() as
    IterableIterator<Row & { vendor: string | null; model: string | null; serial: string | null; firmware: string | null }>;
  for (const row of rows) {
    let found: StoredCalibration;
    try {
      found = fromRow(row, db.name);
    } catch (e) {
      const ours = row.vendor === info.vendor && row.model === info.model && row.serial === info.serial && row.firmware === info.firmware;
      if (ours) throw e;
      continue;
    }
    if (deviceMismatches(found.record, info).length === 0 && (opts.accept?.(found.record) ?? true)) return found;
  }
  return null;
}

/** Throws a CalibrationError listing every way `record` (named `what`) does not fit the device with INFO `info`. */
export function assertCalibrationFits(record: CalibrationRecord, info: Info, what: string): void {
  const m = deviceMismatches(record, info);
  if (m.length) {
    throw new CalibrationError(`${what} was made on another device (${m.join('; ')}); calibrate this device with rhil calibrate, or pass --calibration none`);
  }
}

/** A calibration record from a JSON file (as `rhil calibrate --out` writes), checked like a stored one. */
export function readCalibrationFile(path: string): CalibrationRecord {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CalibrationError(`cannot read calibration ${path}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CalibrationError(`calibration ${path} is not JSON: ${(e as Error).message}`);
  }
  return checkStored(raw, `calibration ${path}`);
}

interface Row { id: number; created_ms: number; name: string; data: string | null }

function hasCalibrations(db: Database.Database): boolean {
  return db.prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'calibrations'`).get() !== undefined;
}

function fromRow(row: Row, dbName: string): StoredCalibration {
  const what = `calibration ${row.id} in ${dbName}`;
  if (row.data === null) throw new CalibrationError(`${what} is corrupted: it has no JSON data`);
  let raw: unknown;
  try {
    raw = JSON.parse(row.data);
  } catch (e) {
    throw new CalibrationError(`${what} is corrupted: its data is not JSON (${(e as Error).message})`);
  }
  return { id: row.id, createdMs: row.created_ms, name: row.name, record: checkStored(raw, what) };
}

const FORMATS: readonly string[] = SAMPLE_FORMATS;

/**
 * checkRecord plus the fields applyCalibration and deviceMismatches read, each named on failure,
 * so a damaged row is refused here rather than producing NaN drives mid-training.
 */
function checkStored(raw: unknown, what: string): CalibrationRecord {
  let r: CalibrationRecord;
  try {
    r = checkRecord(raw);
  } catch (e) {
    throw new CalibrationError(`${what} is corrupted: ${(e as Error).message}`);
  }
  const bad = (field: string, v: unknown, want: string): never => {
    const shown = JSON.stringify(v);
    throw new CalibrationError(`${what} is corrupted: field ${field} is ${shown === undefined ? 'missing' : shown.slice(0, 60)}, expected ${want}`);
  };
  const d = r.device as unknown as Record<string, unknown>;
  for (const k of ['vendor', 'model', 'serial', 'firmware']) if (typeof d[k] !== 'string') bad(`device.${k}`, d[k], 'a string');
  for (const k of ['inChannels', 'outChannels']) {
    if (typeof d[k] !== 'number' || !Number.isInteger(d[k]) || (d[k] as number) < 1) bad(`device.${k}`, d[k], 'a positive integer');
  }
  for (const k of ['inFormat', 'outFormat']) if (!FORMATS.includes(d[k] as string)) bad(`device.${k}`, d[k], `one of ${FORMATS.join(', ')}`);
  for (const k of ['inMin', 'inMax', 'outMin', 'outMax', 'samplePeriodNs']) {
    if (typeof d[k] !== 'number' || !Number.isFinite(d[k])) bad(`device.${k}`, d[k], 'a finite number');
  }
  const plan = r.plan as unknown as Record<string, unknown> | null;
  if (typeof plan !== 'object' || plan === null) bad('plan', plan, 'an object');
  if (typeof plan!.name !== 'string') bad('plan.name', plan!.name, 'a string');
  const numbers = (field: string, v: unknown, n: number): void => {
    if (v === null) return;
    if (!Array.isArray(v) || v.length !== n) bad(field, v, `null or an array of ${n} numbers`);
    (v as unknown[]).forEach((x, i) => { if (typeof x !== 'number' || !Number.isFinite(x)) bad(`${field}[${i}]`, x, 'a finite number'); });
  };
  const ch = r.channels as unknown as Record<string, unknown>;
  const co = d.outChannels as number, ci = d.inChannels as number;
  for (const k of ['offset', 'gain', 'noiseSigma']) numbers(`channels.${k}`, ch[k], co);
  const lin = r.linearization as unknown;
  if (lin !== null && lin !== undefined) {
    if (!Array.isArray(lin) || lin.length !== ci) bad('linearization', lin, `null or ${ci} tables (one per input channel)`);
    (lin as unknown[]).forEach((t, i) => {
      const table = t as Record<string, unknown> | null;
      if (typeof table !== 'object' || table === null) bad(`linearization[${i}]`, t, 'an object');
      const drive = table!.drive, linear = table!.linear;
      if (!Array.isArray(drive) || drive.length < 2) bad(`linearization[${i}].drive`, drive, 'an array of at least 2 numbers');
      numbers(`linearization[${i}].drive`, drive, (drive as unknown[]).length);
      numbers(`linearization[${i}].linear`, linear, (drive as unknown[]).length);
    });
  } else if (lin === undefined) {
    bad('linearization', lin, 'null or an array of tables');
  }
  return r;
}

function describe(d: { vendor: string; model: string; serial: string; firmware: string }): string {
  return `${d.vendor} ${d.model} serial ${d.serial} firmware ${d.firmware}`;
}
