/**
 * What differs between recorded runs: identity fields, the config keys whose values differ, the
 * last value of every metric. Read-only; used by `rhil runs compare` and the comparison report.
 */
import type Database from 'better-sqlite3';
import { getRun, lastMetrics } from '../record/read.js';

/** A metric value for JSON: a finite number, else its text ('NaN', 'Infinity'); null when absent. */
export const jsonNumber = (v: number | undefined): number | string | null => (v === undefined ? null : Number.isFinite(v) ? v : String(v));

export interface Comparison {
  runs: number[];
  fields: Record<string, (string | number | null)[]>;
  /** Flattened config keys (a.b.c) whose values differ between the runs; values as JSON text, null where absent. */
  config: Record<string, (string | null)[]>;
  /** Last value of each metric present in any run; null where a run lacks it; NaN as 'NaN'. */
  metrics: Record<string, (number | string | null)[]>;
}

export function compareRuns(db: Database.Database, ids: number[]): Comparison {
  const runs = ids.map((id) => getRun(db, id)!);
  const fields: Comparison['fields'] = {
    kind: runs.map((r) => r.kind),
    status: runs.map((r) => r.status),
    seed: runs.map((r) => r.seed),
    backend: runs.map((r) => r.backend),
    device: runs.map((r) => (r.device ? `${r.device.model} ${r.device.serial}` : null)),
    calibration: runs.map((r) => r.calibrationId),
    batches: runs.map((r) => r.batches),
  };
  const flat = runs.map((r) => flatten(r.config));
  const keys = [...new Set(flat.flatMap((f) => [...f.keys()]))].sort();
  const config: Comparison['config'] = {};
  for (const k of keys) {
    const vs = flat.map((f) => f.get(k) ?? null);
    if (vs.some((v) => v !== vs[0])) config[k] = vs;
  }
  const lasts = ids.map((id) => new Map(lastMetrics(db, id).map((m) => [m.name, m.value])));
  const names = [...new Set(lasts.flatMap((l) => [...l.keys()]))].sort();
  const metrics: Comparison['metrics'] = {};
  for (const n of names) metrics[n] = lasts.map((l) => (l.has(n) ? jsonNumber(l.get(n)) : null));
  return { runs: ids, fields, config, metrics };
}

/** Leaves of a JSON value by dotted path, each as JSON text (arrays are leaves: one value, one cell). */
export function flatten(v: unknown, prefix = '', out = new Map<string, string>()): Map<string, string> {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length === 0 && prefix) out.set(prefix, '{}');
    for (const [k, x] of entries) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out.set(prefix, JSON.stringify(v));
  }
  return out;
}

