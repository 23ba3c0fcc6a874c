/**
 * The report's reads of a run database, apart from the page building: every SQL statement of
 * `rhil report` is here, and each returns plain data.
 */
import type Database from 'better-sqlite3';
import { readBatches } from '../record/read.js';

/** One metric series as two number arrays (no row objects: a million points stay small). */
export function readSeries(db: Database.Database, runId: number, name: string): { name: string; step: number[]; value: number[] } {
  const step: number[] = [];
  const value: number[] = [];
  // One series at a time and no row objects: a million-point metric stays a pair of number arrays.
  const rows = db.prepare('SELECT step, value FROM metrics WHERE run_id = ? AND name = ? ORDER BY step, id').raw(true).iterate(runId, name);
  for (const r of rows as Iterable<[number, number | null]>) {
    step.push(r[0]);
    value.push(r[1] ?? NaN);
  }
  return { name, step, value };
}

/**
 * Metric series in min/max buckets of equal step width, computed by SQLite: reading a million rows
 * into JavaScript costs seconds, letting SQLite scan them a fraction of that (one range of the
 * (run_id, name, step) index per bucket, no sorting). All series of the chart share the buckets, so
 * they stay aligned: each bucket gives two rows, at the first and last step any series has in it,
 * where each series puts its minimum and maximum in the order they occurred.
 */
export function bucketedMetrics(db: Database.Database, runId: number, names: string[], buckets: number): { x: number[]; ys: (number | null)[][]; counts: number[] } {
  const range = db.prepare(`SELECT min(step) AS lo, max(step) AS hi FROM metrics WHERE run_id = ? AND name IN (${names.map(() => '?').join(', ')})`)
    .get(runId, ...names) as { lo: number; hi: number };
  const span = range.hi - range.lo + 1;
  const edge = (b: number) => range.lo + Math.floor((b * span) / buckets);
  const where = 'WHERE run_id = @run AND name = @name AND step >= @from AND step < @to';
  // SQLite takes a bare column from the row that gave the single min() or max(): the step of the extreme.
  const low = db.prepare(`SELECT min(value) AS v, step FROM metrics ${where} AND value IS NOT NULL`);
  const high = db.prepare(`SELECT max(value) AS v, step FROM metrics ${where} AND value IS NOT NULL`);
  const extent = db.prepare(`SELECT min(step) AS s0, max(step) AS s1, count(*) AS n FROM metrics ${where}`);
  const x: number[] = [];
  const ys: (number | null)[][] = names.map(() => []);
  const counts = names.map(() => 0);
  for (let b = 0; b < buckets; b++) {
    const found = names.map((name, i) => {
      const q = { run: runId, name, from: edge(b), to: edge(b + 1) };
      const e = extent.get(q) as { s0: number | null; s1: number | null; n: number };
      counts[i] += e.n;
      if (e.n === 0) return null;
      return { e, lo: low.get(q) as { v: number | null; step: number | null }, hi: high.get(q) as { v: number | null; step: number | null } };
    });
    const present = found.filter((f) => f !== null);
    if (!present.length) continue;
    const s0 = Math.min(...present.map((f) => f.e.s0 as number));
    const s1 = Math.max(...present.map((f) => f.e.s1 as number));
    const two = s1 > s0;
    if (two) x.push(s0, s1); else x.push(s0);
    found.forEach((f, i) => {
      if (!f || f.lo.v === null || f.hi.v === null) ys[i].push(...(two ? [null, null] : [null]));
      else if (!two) ys[i].push(f.hi.v);
      else if ((f.lo.step as number) <= (f.hi.step as number)) ys[i].push(f.lo.v, f.hi.v);
      else ys[i].push(f.hi.v, f.lo.v);
    });
  }
  return { x, ys, counts };
}


/** Distinct steps over the metric series `names`. */
export function distinctSteps(db: Database.Database, runId: number, names: string[]): number {
  return (db.prepare(`SELECT count(DISTINCT step) AS n FROM metrics WHERE run_id = ? AND name IN (${names.map(() => '?').join(', ')})`)
    .get(runId, ...names) as { n: number }).n;
}

/** The last point (highest step, latest written) of metric `name`; NaN for a NULL value. */
export function lastPoint(db: Database.Database, runId: number, name: string): { step: number; value: number } {
  const r = db.prepare('SELECT step, value FROM metrics WHERE run_id = ? AND name = ? ORDER BY step DESC, id DESC LIMIT 1').get(runId, name) as { step: number; value: number | null };
  return { step: r.step, value: r.value ?? NaN };
}

/** The JSON of calibration `id` (null when there is no such row or it has no JSON). */
export function calibrationData(db: Database.Database, id: number): unknown {
  const row = db.prepare('SELECT data FROM calibrations WHERE id = ?').get(id) as { data: string | null } | undefined;
  return !row || row.data === null ? null : JSON.parse(row.data) as unknown;
}

/** The first `want` samples of the recorded batches, channel-major. */
export function firstSamples(db: Database.Database, runId: number, want: number) {
  const drive: number[][] = [];
  const response: number[][] = [];
  const epochs: number[] = [];
  let samples = 0, batchesRead = 0, inputFormat = '', outputFormat = '';
  const put = (dst: number[][], data: Float32Array, shape: number[], rows: number) => {
    const width = shape.length > 1 ? shape.slice(1).reduce((a, b) => a * b, 1) : 1;
    for (let c = 0; c < width; c++) {
      dst[c] ??= new Array<number>(samples).fill(NaN);
      for (let t = 0; t < rows; t++) dst[c].push(data[t * width + c]);
    }
    for (let c = width; c < dst.length; c++) for (let t = 0; t < rows; t++) dst[c].push(NaN);
  };
  for (const b of readBatches(db, runId)) {
    if (samples >= want) break;
    batchesRead++;
    inputFormat ||= b.inputFormat;
    outputFormat ||= b.outputFormat;
    if (!epochs.includes(b.epoch)) epochs.push(b.epoch);
    const rows = Math.min(b.inputShape[0] ?? 0, b.outputShape[0] ?? 0, want - samples);
    put(drive, b.input, b.inputShape, rows);
    put(response, b.output, b.outputShape, rows);
    samples += rows;
  }
  return { drive, response, samples, batchesRead, epochs, inputFormat, outputFormat };
}

/**
 * The run's events as a table: null without an events table, 'no-run-id' for a table this cannot
 * read, else its columns (read, not assumed), counts per kind and the first `limit` rows.
 */
export function eventTable(db: Database.Database, runId: number, limit: number):
  null | 'no-run-id' | { total: number; typeCol: string | undefined; counts: { t: unknown; n: number }[]; shown: string[]; rows: Record<string, unknown>[] } {
  const has = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'events'").get();
  if (!has) return null;
  const cols = (db.prepare("SELECT name FROM pragma_table_info('events')").all() as { name: string }[]).map((c) => c.name);
  if (!cols.includes('run_id')) return 'no-run-id';
  const q = (name: string) => `"${name.replace(/"/g, '""')}"`;
  const total = (db.prepare('SELECT count(*) AS n FROM events WHERE run_id = ?').get(runId) as { n: number }).n;
  const typeCol = ['type', 'kind', 'event', 'name'].find((c) => cols.includes(c));
  const counts = typeCol && total > 0
    ? db.prepare(`SELECT ${q(typeCol)} AS t, count(*) AS n FROM events WHERE run_id = ? GROUP BY 1 ORDER BY 2 DESC, 1`).all(runId) as { t: unknown; n: number }[] : [];
  const shown = cols.filter((c) => c !== 'run_id');
  const rows = total > 0 ? db.prepare(`SELECT ${shown.map(q).join(', ')} FROM events WHERE run_id = ? ORDER BY rowid LIMIT ?`).all(runId, limit) as Record<string, unknown>[] : [];
  return { total, typeCol, counts, shown, rows };
}
