/**
 * The run database schema, versioned with SQLite's `PRAGMA user_version`.
 *
 * `MIGRATIONS[i]` takes a database from version i to version i + 1; {@link migrate} applies the
 * missing ones in one transaction, so a database is always at a whole version. Plain SQL types
 * only, so Python's standard `sqlite3` module and any SQLite tool read every table:
 *
 * - `devices`: one row per device identity (vendor, model, serial, firmware), `info` the last INFO as JSON.
 * - `calibrations`: a calibration of a device (JSON and/or blob), referenced by `runs.calibration_id`.
 * - `runs`: one row per calibrate/train/run/bench run. `status` is running, completed, interrupted
 *   or failed; `pid`, `host` and `heartbeat_ms` identify the live writer of a running run.
 * - `batches`: every (drive, response) batch in acquisition order (`seq` 0, 1, 2, ... per run),
 *   the arrays as little-endian float32 blobs with their shape as a JSON array (`[count, channels]`)
 *   and the device's sample format before conversion (`u16`, `i16`, `f32`, or `f64` for host data).
 *   `checksum` (v2) is the CRC-32C of the input blob followed by the output blob, computed when the
 *   batch was recorded, so a reader can prove a blob is the one acquired; NULL on rows written by v1.
 * - `events` (v2): what happened between batches (a state break, a reset, a reconnect, ...):
 *   `seq_after` is how many batches of the run were recorded before it, `kind` a short tag (at most
 *   64 characters), `detail` optional JSON. A reader uses them to tell a legitimate change of state
 *   epoch from a hidden one.
 * - `metrics`: (name, step, value, time) series; NaN is stored as NULL.
 * - `artifacts`: named JSON or blob values of a run (trained model, surrogate).
 *
 * Times are Unix milliseconds (INTEGER); JSON columns are TEXT checked with `json_valid`.
 */
import type Database from 'better-sqlite3';

export const SCHEMA_VERSION = 2;

export const RUN_KINDS = ['calibrate', 'train', 'run', 'bench'] as const;
export type RunKind = (typeof RUN_KINDS)[number];
export const RUN_STATUSES = ['running', 'completed', 'interrupted', 'failed'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

const V1 = `
CREATE TABLE devices (
  id INTEGER PRIMARY KEY,
  vendor TEXT NOT NULL,
  model TEXT NOT NULL,
  serial TEXT NOT NULL,
  firmware TEXT NOT NULL,
  info TEXT CHECK (info IS NULL OR json_valid(info)),
  first_seen_ms INTEGER NOT NULL,
  UNIQUE (vendor, model, serial, firmware)
);
CREATE TABLE calibrations (
  id INTEGER PRIMARY KEY,
  device_id INTEGER REFERENCES devices(id),
  created_ms INTEGER NOT NULL,
  name TEXT NOT NULL,
  data TEXT CHECK (data IS NULL OR json_valid(data)),
  blob BLOB
);
CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('calibrate', 'train', 'run', 'bench')),
  status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'interrupted', 'failed')),
  started_ms INTEGER NOT NULL,
  ended_ms INTEGER,
  config TEXT NOT NULL CHECK (json_valid(config)),
  seed INTEGER,
  git_commit TEXT,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  heartbeat_ms INTEGER NOT NULL,
  backend TEXT,
  device_id INTEGER REFERENCES devices(id),
  calibration_id INTEGER REFERENCES calibrations(id),
  error TEXT
);
CREATE INDEX runs_status ON runs(status);
CREATE TABLE batches (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  seq INTEGER NOT NULL,
  batch_id INTEGER NOT NULL,
  epoch INTEGER NOT NULL,
  timestamp_us INTEGER NOT NULL,
  status INTEGER NOT NULL,
  count INTEGER NOT NULL,
  recorded_ms INTEGER NOT NULL,
  input_format TEXT NOT NULL,
  input_shape TEXT NOT NULL CHECK (json_valid(input_shape)),
  input BLOB NOT NULL,
  output_format TEXT NOT NULL,
  output_shape TEXT NOT NULL CHECK (json_valid(output_shape)),
  output BLOB NOT NULL,
  PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE TABLE metrics (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  name TEXT NOT NULL,
  step INTEGER NOT NULL,
  value REAL,
  t_ms INTEGER NOT NULL
);
CREATE INDEX metrics_run_name ON metrics(run_id, name, step);
CREATE TABLE artifacts (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  json TEXT CHECK (json IS NULL OR json_valid(json)),
  blob BLOB,
  CHECK ((json IS NULL) <> (blob IS NULL)),
  UNIQUE (run_id, name)
);
`;

// ALTER TABLE ... ADD COLUMN rewrites nothing: v1 rows read the new column as NULL, which is what
// lets a v1 database upgrade in place however many batches it holds.
const V2 = `
CREATE TABLE events (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  seq_after INTEGER NOT NULL CHECK (seq_after >= 0),
  t_ms INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (length(kind) BETWEEN 1 AND 64),
  detail TEXT CHECK (detail IS NULL OR json_valid(detail))
);
CREATE INDEX events_run ON events(run_id, seq_after, id);
ALTER TABLE batches ADD COLUMN checksum INTEGER;
`;

/** `MIGRATIONS[i]` upgrades version i to i + 1. Append only; never edit a released entry. */
export const MIGRATIONS: readonly string[] = [V1, V2];

/** Event kinds the library's callers record; any other tag of 1..64 characters is allowed too. */
export const EVENT_KINDS = ['boot', 'break', 'reject', 'deviceError', 'discarded', 'reset', 'reconnect', 'closed'] as const;
/** Kinds after which the device's state epoch may legitimately change. */
export const EPOCH_CHANGE_EVENTS: readonly string[] = ['reset', 'boot', 'reconnect'];
/** Longest event kind. */
export const MAX_EVENT_KIND = 64;

/** Thrown when a database was written by a newer program, or is not a run database. */
export class SchemaError extends Error {
  override name = 'SchemaError';
}

/** The schema version of an open database (0 for a new, empty one). */
export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings `db` to {@link SCHEMA_VERSION}: applies the missing migrations and sets user_version, all
 * in one IMMEDIATE transaction (two processes opening a new file at once cannot both migrate).
 * Refuses a database from a newer version rather than guess at it. Returns the version found.
 */
export function migrate(db: Database.Database): number {
  const run = db.transaction((): number => {
    const found = schemaVersion(db);
    if (found > SCHEMA_VERSION) {
      throw new SchemaError(`${db.name}: run database schema v${found} is newer than this program's v${SCHEMA_VERSION}`);
    }
    if (found === 0) {
      const n = (db.prepare(`SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table'`).get() as { n: number }).n;
      if (n > 0) throw new SchemaError(`${db.name}: has tables but no schema version; not a run database`);
    }
    for (let v = found; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]);
    if (found !== SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
    return found;
  });
  return run.immediate();
}
