/**
 * Copies what can still be read from a damaged run database into a new one, run by run, keeping
 * run, device and calibration ids so that "run 12" still means run 12.
 *
 * ```ts
 * const report = salvageRuns('damaged.db', 'rescued.db');   // then: rhil runs verify 12 --db rescued.db
 * ```
 *
 * Rows are read in bulk and, where a damaged page stops the bulk read, one key at a time, so a
 * bad page costs the rows on it and not the rest of the run. A run that lost anything gets a
 * 'salvaged' event naming what, and `rhil runs verify` on the copy shows its gaps as missing rows;
 * nothing lost is ever papered over.
 */
import Database from 'better-sqlite3';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { openRecordDb } from './open.js';

export interface SalvagedRun {
  id: number;
  /** False when even the run's own row could not be read (nothing of it was copied). */
  copied: boolean;
  batches: number;
  /** What could not be read: 'batch seq 120', 'metrics', ... (empty when the run is whole). */
  lost: string[];
}

export interface SalvageResult {
  runs: SalvagedRun[];
  calibrations: number;
  /** Calibration ids that could not be read. */
  lostCalibrations: number[];
}

const TABLE_COLUMNS = {
  devices: ['id', 'vendor', 'model', 'serial', 'firmware', 'info', 'first_seen_ms'],
  calibrations: ['id', 'device_id', 'created_ms', 'name', 'data', 'blob'],
  runs: ['id', 'kind', 'status', 'started_ms', 'ended_ms', 'config', 'seed', 'git_commit', 'host', 'pid', 'heartbeat_ms', 'backend', 'device_id', 'calibration_id', 'error'],
  batches: ['run_id', 'seq', 'batch_id', 'epoch', 'timestamp_us', 'status', 'count', 'recorded_ms', 'input_format', 'input_shape', 'input',
    'output_format', 'output_shape', 'output', 'checksum'],
  events: ['id', 'run_id', 'seq_after', 't_ms', 'kind', 'detail'],
  metrics: ['id', 'run_id', 'name', 'step', 'value', 't_ms'],
  artifacts: ['id', 'run_id', 'name', 'kind', 'created_ms', 'json', 'blob'],
} as const;
type Table = keyof typeof TABLE_COLUMNS;

/**
 * Copies every readable run of the database at `srcPath` (opened read-only) into a new database at
 * `outPath` (refused if it exists; written under a temporary name and renamed when complete).
 */
export function salvageRuns(srcPath: string, outPath: string): SalvageResult {
  if (existsSync(outPath)) throw new Error(`${outPath} exists; salvage writes a new file and never replaces one`);
  const src = new Database(srcPath, { readonly: true, fileMustExist: true });
  const tmp = `${outPath}.partial-${process.pid}`;
  try {
    // A truncated file claims more pages than it has, which SQLite refuses unless told to read what
    // is there (writable_schema, which better-sqlite3's defensive mode would ignore); nothing is written.
    src.unsafeMode(true);
    src.pragma('writable_schema = ON');
    const result = copyAll(src, tmp);
    renameSync(tmp, outPath);
    return result;
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  } finally {
    src.close();
    for (const x of ['-wal', '-shm']) rmSync(tmp + x, { force: true });
  }
}

function copyAll(src: Database.Database, outPath: string): SalvageResult {
  const v2 = tryRead(() => src.prepare(`SELECT 1 FROM sqlite_schema WHERE name = 'events'`).get() !== undefined) ?? false;
  const out = openRecordDb(outPath);
  // Ids are kept as they were; a foreign key to a row that was lost must not refuse the rest.
  out.pragma('foreign_keys = OFF');
  try {
    const insert = (t: Table) => {
      const cols = TABLE_COLUMNS[t].filter((c) => v2 || c !== 'checksum');
      return out.prepare(`INSERT INTO ${t} (${cols.join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})`);
    };
    const cols = (t: Table) => TABLE_COLUMNS[t].filter((c) => v2 || c !== 'checksum').join(', ');
    // Table scans only: a damaged index can hide rows without an error, a damaged table page cannot.
    const from = (t: Table) => `FROM ${t} NOT INDEXED`;
    const result: SalvageResult = { runs: [], calibrations: 0, lostCalibrations: [] };

    const devices = insert('devices');
    copyRows(src, `SELECT ${cols('devices')} ${from('devices')} WHERE 1`, 'id', 'devices', (r) => { devices.run(r); }, () => undefined);
    const calibrations = insert('calibrations');
    copyRows(src, `SELECT ${cols('calibrations')} ${from('calibrations')} WHERE 1`, 'id', 'calibrations',
      (r) => { calibrations.run(r); result.calibrations++; }, (id) => { result.lostCalibrations.push(id); });

    const ids = runIds(src);
    const runs = insert('runs');
    const batches = insert('batches');
    const events = v2 ? insert('events') : null;
    const metrics = insert('metrics');
    const artifacts = insert('artifacts');
    const notes: [number, number, string][] = [];
    for (const id of ids) {
      const s: SalvagedRun = { id, copied: false, batches: 0, lost: [] };
      result.runs.push(s);
      const row = tryRead(() => src.prepare(`SELECT ${cols('runs')} ${from('runs')} WHERE id = ?`).get(id) as Record<string, unknown> | undefined);
      if (!row) continue;
      out.transaction(() => {
        runs.run(row);
        s.copied = true;
        copyRows(src, `SELECT ${cols('batches')} ${from('batches')} WHERE run_id = ${id}`, 'seq', 'batches',
          (r) => { batches.run(r); s.batches++; }, (seq) => s.lost.push(`batch seq ${seq}`), `run_id = ${id}`);
        if (events) copyRows(src, `SELECT ${cols('events')} ${from('events')} WHERE run_id = ${id}`, 'id', 'events', (r) => { events.run(r); }, (k) => s.lost.push(`event ${k}`), `run_id = ${id}`);
        copyRows(src, `SELECT ${cols('metrics')} ${from('metrics')} WHERE run_id = ${id}`, 'id', 'metrics', (r) => { metrics.run(r); }, (k) => s.lost.push(`metric row ${k}`), `run_id = ${id}`);
        copyRows(src, `SELECT ${cols('artifacts')} ${from('artifacts')} WHERE run_id = ${id}`, 'id', 'artifacts', (r) => { artifacts.run(r); }, (k) => s.lost.push(`artifact row ${k}`), `run_id = ${id}`);
        if (s.lost.length > 0) {
          const seqAfter = out.prepare('SELECT count(*) FROM batches WHERE run_id = ?').pluck().get(id) as number;
          notes.push([id, seqAfter, JSON.stringify({ from: src.name, lost: s.lost.slice(0, 1000), lostCount: s.lost.length })]);
        }
      })();
    }
    // After every copied row, so that a new event id never takes the id of one still to be copied.
    const note = out.prepare(`INSERT INTO events (run_id, seq_after, t_ms, kind, detail) VALUES (?, ?, ?, 'salvaged', ?)`);
    for (const [id, seqAfter, detail] of notes) note.run(id, seqAfter, Date.now(), detail);
    return result;
  } finally {
    out.close();
  }
}

/** Run ids: from the runs table if it reads, else by probing ids up to the largest readable one. */
function runIds(src: Database.Database): number[] {
  const all = tryRead(() => src.prepare('SELECT id FROM runs ORDER BY id').pluck().all() as number[]);
  if (all) return all;
  const max = tryRead(() => src.prepare('SELECT max(id) FROM runs').pluck().get() as number | null) ?? 0;
  const ids: number[] = [];
  for (let id = 1; id <= max; id++) ids.push(id);
  return ids;
}

/**
 * Copies the rows of `sql` (a SELECT ending in a WHERE clause, ordered here by `key`); where a damaged page stops the bulk read, goes on
 * one key at a time from the last copied one to the largest key it can find, reporting each key it
 * cannot read. A row that was never there is not reported (keys need not be dense, except seq).
 */
function copyRows(src: Database.Database, sql: string, key: string, table: string, put: (r: Record<string, unknown>) => void,
  lost: (k: number) => void, where = '1'): void {
  let last = -1;
  try {
    for (const r of src.prepare(`${sql} ORDER BY ${key}`).iterate() as Iterable<Record<string, unknown>>) {
      put(r);
      last = r[key] as number;
    }
    return;
  } catch (e) {
    if (!isDamage(e)) throw e;
  }
  const max = tryRead(() => src.prepare(`SELECT max(${key}) FROM ${table} WHERE ${where}`).pluck().get() as number | null)
    ?? tryRead(() => src.prepare(`SELECT ${key} FROM ${table} WHERE ${where} ORDER BY ${key} DESC LIMIT 1`).pluck().get() as number | undefined)
    ?? last + 1;
  const one = src.prepare(`${sql} AND ${key} = ?`);
  // Ids of metrics, events and artifacts are shared by all runs, so a gap there is another run's row.
  const dense = key === 'seq';
  for (let k = last + 1; k <= max; k++) {
    let r: Record<string, unknown> | undefined;
    try {
      r = one.get(k) as Record<string, unknown> | undefined;
    } catch (e) {
      if (!isDamage(e)) throw e;
      lost(k);
      continue;
    }
    if (r) put(r);
    else if (dense) lost(k);
  }
}

function isDamage(e: unknown): boolean {
  const code = String((e as { code?: unknown }).code ?? '');
  return code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_IOERR') || code === 'SQLITE_ERROR';
}

function tryRead<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (e) {
    if (!isDamage(e)) throw e;
    return undefined;
  }
}
