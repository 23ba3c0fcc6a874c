/**
 * Calibration plans: JSON files (`calibration/plans/<name>.json`) listing the measurement steps of
 * a calibration run. Levels are fractions of the device's input range, 0 = inMin and 1 = inMax, so
 * one plan fits any device; durations are in samples of device time.
 *
 * ```json
 * { "format": "rhil-calibration-plan", "version": 1, "name": "analog",
 *   "steps": [ { "type": "sweep", "levels": 17 }, { "type": "noise" } ] }
 * ```
 *
 * `validatePlan` fills every omitted field with its default and throws PlanError naming the field
 * (`steps[1].levels`) and what it allows.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PLAN_FORMAT = 'rhil-calibration-plan';
export const PLAN_VERSION = 1;

/** DC transfer sweep: each input channel in turn (the others at `reference`) through `levels` evenly spaced levels. */
export interface SweepStep {
  type: 'sweep';
  /** Number of drive levels from `from` to `to`, integer in [2, 4096]. Defaults to 17. */
  levels: number;
  /** Lowest level as a fraction of the input range, in [0, 1]. Defaults to 0. */
  from: number;
  /** Highest level, in [0, 1] and above `from`. Defaults to 1. */
  to: number;
  /** Passes over the levels, alternately ascending and descending, integer in [1, 1000]. Defaults to 2. */
  repeats: number;
  /** Samples held at each level before measuring (settling, latency), integer >= 0. Defaults to 200. */
  settleSamples: number;
  /** Samples averaged at each level, integer >= 1. Defaults to 200. */
  holdSamples: number;
  /** Level of the channels not being swept and the point where offsets are taken, in [0, 1]. Defaults to 0.5. */
  reference: number;
}

/** Noise floor: the same constant drive twice from resetState(); per-output sigma of the difference. */
export interface NoiseStep {
  type: 'noise';
  /** Drive level of every input channel, in [0, 1]. Defaults to 0.5. */
  level: number;
  /** Samples before measuring, integer >= 0. Defaults to 500. */
  settleSamples: number;
  /** Samples measured in each of the two runs, integer >= 3. Defaults to 5000. */
  samples: number;
}

/** Step and impulse response: latency and settling time. */
export interface LatencyStep {
  type: 'latency';
  /**
   * Input channels that step: 'even' moves channels 0, 2, 4, ... and holds the others at `from`
   * (a step of every channel can be invisible, e.g. a global phase on an SLM); 'all' moves every
   * channel. One of 'even', 'all'. Defaults to 'even'.
   */
  pattern: 'even' | 'all';
  /** Level before the step and between impulses, in [0, 1]. Defaults to 0.25. */
  from: number;
  /** Level after the step and of the impulse, in [0, 1], not equal to `from`. Defaults to 0.75. */
  to: number;
  /** Samples at `from` before each step or impulse (the baseline; long enough to settle), integer >= 8. Defaults to 500. */
  preSamples: number;
  /** Samples recorded after the step or impulse, integer >= 8. Defaults to 500. */
  postSamples: number;
  /** Step and impulse repetitions averaged, integer in [1, 10000]. Defaults to 8. */
  repeats: number;
  /** A change is significant above this many baseline standard deviations, > 0. Defaults to 6. */
  thresholdSigma: number;
  /** ... and above this fraction of the channel's step amplitude, in (0, 1). Defaults to 0.05. */
  thresholdFraction: number;
  /** Settled: within this fraction of the step amplitude of the final value from then on, in (0, 1). Defaults to 0.02. */
  tolerance: number;
}

/** Crosstalk: one input channel at a time from `base` to `level`; the input -> output gain matrix. */
export interface CrosstalkStep {
  type: 'crosstalk';
  /** Level of every channel at rest, in [0, 1]. Defaults to 0.5. */
  base: number;
  /** Level the driven channel moves to, in [0, 1], not equal to `base`. Defaults to 0.75. */
  level: number;
  /** Samples before measuring, integer >= 0. Defaults to 200. */
  settleSamples: number;
  /** Samples averaged, integer >= 1. Defaults to 200. */
  holdSamples: number;
}

/** Drift: reference measurements spaced in device time; slopes of the mean response per hour. */
export interface DriftStep {
  type: 'drift';
  /** Number of reference measurements, integer in [3, 100000]. Defaults to 8. */
  points: number;
  /** Level whose response drifts as the offset, in [0, 1]. Defaults to 0.5. */
  reference: number;
  /** Two levels of the even input channels (the odd ones stay at `reference`) whose response difference drifts as the gain, each in [0, 1], distinct. Defaults to [0.25, 0.75]. */
  gainLevels: [number, number];
  /** Samples before each measurement, integer >= 0. Defaults to 200. */
  settleSamples: number;
  /** Samples averaged per level and point, integer >= 1. Defaults to 1000. */
  holdSamples: number;
  /** Samples driven at `reference` between points (device time passes), integer >= 0. Defaults to 10000. */
  intervalSamples: number;
  /** Wall time waited between points, in ms (a board's clock runs meanwhile), >= 0. Defaults to 0. */
  waitMs: number;
}

export type PlanStep = SweepStep | NoiseStep | LatencyStep | CrosstalkStep | DriftStep;
export type StepType = PlanStep['type'];

/** A validated plan, every default filled in. */
export interface CalibrationPlan {
  format: typeof PLAN_FORMAT;
  version: typeof PLAN_VERSION;
  /** Name, [A-Za-z0-9._-]{1,64}. */
  name: string;
  /** Free text. Defaults to ''. */
  description: string;
  /** At least one step; each type at most once. */
  steps: PlanStep[];
}

/** A plan that does not validate; `field` is the path of the offending field (`steps[2].levels`). */
export class PlanError extends Error {
  constructor(message: string, readonly field: string) {
    super(message);
    this.name = 'PlanError';
  }
}

type Spec =
  | { kind: 'int' | 'num'; def: number; min: number; max: number; open?: 'lo' | 'both' }
  | { kind: 'pair'; def: [number, number] }
  | { kind: 'enum'; def: string; values: string[] };

const frac = (def: number): Spec => ({ kind: 'num', def, min: 0, max: 1 });
const count = (def: number, min = 0, max = 1e9): Spec => ({ kind: 'int', def, min, max });

const STEP_FIELDS: Record<StepType, Record<string, Spec>> = {
  sweep: { levels: count(17, 2, 4096), from: frac(0), to: frac(1), repeats: count(2, 1, 1000), settleSamples: count(200), holdSamples: count(200, 1), reference: frac(0.5) },
  noise: { level: frac(0.5), settleSamples: count(500), samples: count(5000, 3) },
  latency: {
    pattern: { kind: 'enum', def: 'even', values: ['even', 'all'] },
    from: frac(0.25), to: frac(0.75), preSamples: count(500, 8), postSamples: count(500, 8), repeats: count(8, 1, 10000),
    thresholdSigma: { kind: 'num', def: 6, min: 0, max: 1e6, open: 'lo' },
    thresholdFraction: { kind: 'num', def: 0.05, min: 0, max: 1, open: 'both' },
    tolerance: { kind: 'num', def: 0.02, min: 0, max: 1, open: 'both' },
  },
  crosstalk: { base: frac(0.5), level: frac(0.75), settleSamples: count(200), holdSamples: count(200, 1) },
  drift: {
    points: count(8, 3, 100000), reference: frac(0.5), gainLevels: { kind: 'pair', def: [0.25, 0.75] },
    settleSamples: count(200), holdSamples: count(1000, 1), intervalSamples: count(10000), waitMs: { kind: 'num', def: 0, min: 0, max: 86400000 },
  },
};

export const STEP_TYPES = Object.keys(STEP_FIELDS) as StepType[];

function show(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : JSON.stringify(v) ?? String(v);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function rejectUnknownKeys(where: string, o: Record<string, unknown>, known: string[], prefix: string): void {
  for (const k of Object.keys(o)) {
    if (!known.includes(k)) throw new PlanError(`${where}: unknown field '${prefix}${k}'; allowed: ${known.join(', ')}`, prefix + k);
  }
}

function checkNumber(where: string, field: string, v: unknown, s: Extract<Spec, { kind: 'int' | 'num' }>): number {
  const lo = s.open ? v as number > s.min : v as number >= s.min;
  const hi = s.open === 'both' ? v as number < s.max : v as number <= s.max;
  const ok = typeof v === 'number' && Number.isFinite(v) && (s.kind === 'num' || Number.isInteger(v)) && lo && hi;
  if (!ok) {
    const range = `${s.open ? '(' : '['}${s.min}, ${s.max}${s.open === 'both' ? ')' : ']'}`;
    throw new PlanError(`${where}: ${field} must be ${s.kind === 'int' ? 'an integer' : 'a number'} in ${range}, got ${show(v)}`, field);
  }
  return v as number;
}

function validateStep(where: string, raw: unknown, i: number): PlanStep {
  const path = `steps[${i}]`;
  if (!isObject(raw)) throw new PlanError(`${where}: ${path} must be an object with a 'type', got ${show(raw)}`, path);
  if (typeof raw.type !== 'string' || !(STEP_TYPES as string[]).includes(raw.type)) {
    throw new PlanError(`${where}: ${path}.type must be one of ${STEP_TYPES.join(', ')}, got ${show(raw.type)}`, `${path}.type`);
  }
  const type = raw.type as StepType;
  const fields = STEP_FIELDS[type];
  rejectUnknownKeys(where, raw, ['type', ...Object.keys(fields)], `${path}.`);
  const out: Record<string, unknown> = { type };
  for (const [k, s] of Object.entries(fields)) {
    const field = `${path}.${k}`;
    const v = raw[k];
    if (s.kind === 'enum') {
      if (v !== undefined && !s.values.includes(v as string)) throw new PlanError(`${where}: ${field} must be one of ${s.values.map((x) => `'${x}'`).join(', ')}, got ${show(v)}`, field);
      out[k] = v ?? s.def;
      continue;
    }
    if (s.kind === 'pair') {
      if (v === undefined) { out[k] = [...s.def]; continue; }
      if (!Array.isArray(v) || v.length !== 2) throw new PlanError(`${where}: ${field} must be two levels in [0, 1], got ${show(v)}`, field);
      out[k] = v.map((x, j) => checkNumber(where, `${field}[${j}]`, x, frac(0) as Extract<Spec, { kind: 'num' }>));
      continue;
    }
    out[k] = v === undefined ? s.def : checkNumber(where, field, v, s);
  }
  const step = out as unknown as PlanStep;
  const distinct = (a: string, b: string, x: number, y: number, rel: string) => {
    if (!(rel === '<' ? x < y : x !== y)) throw new PlanError(`${where}: ${path}.${b} must be ${rel === '<' ? 'above' : 'different from'} ${path}.${a} (${x}), got ${y}`, `${path}.${b}`);
  };
  if (step.type === 'sweep') distinct('from', 'to', step.from, step.to, '<');
  if (step.type === 'latency') distinct('from', 'to', step.from, step.to, '!=');
  if (step.type === 'crosstalk') distinct('base', 'level', step.base, step.level, '!=');
  if (step.type === 'drift') distinct('gainLevels[0]', 'gainLevels[1]', step.gainLevels[0], step.gainLevels[1], '!=');
  return step;
}

/**
 * Validates a parsed plan and fills its defaults. Throws PlanError naming the field and the allowed
 * values. `source` (a file name) only goes into messages.
 */
export function validatePlan(raw: unknown, source = 'plan'): CalibrationPlan {
  if (!isObject(raw)) throw new PlanError(`${source}: a plan must be a JSON object, got ${show(raw)}`, '');
  const where = typeof raw.name === 'string' ? `${source} '${raw.name}'` : source;
  rejectUnknownKeys(where, raw, ['format', 'version', 'name', 'description', 'steps'], '');
  if (raw.format !== PLAN_FORMAT) throw new PlanError(`${where}: format must be '${PLAN_FORMAT}', got ${show(raw.format)}`, 'format');
  if (raw.version !== PLAN_VERSION) throw new PlanError(`${where}: version must be ${PLAN_VERSION}, got ${show(raw.version)}`, 'version');
  if (typeof raw.name !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(raw.name)) {
    throw new PlanError(`${where}: name must be 1 to 64 characters of A-Z a-z 0-9 . _ -, got ${show(raw.name)}`, 'name');
  }
  if (raw.description !== undefined && typeof raw.description !== 'string') throw new PlanError(`${where}: description must be a string, got ${show(raw.description)}`, 'description');
  if (!Array.isArray(raw.steps) || raw.steps.length === 0) {
    throw new PlanError(`${where}: steps must be a non-empty array of steps of type ${STEP_TYPES.join(', ')}, got ${show(raw.steps)}`, 'steps');
  }
  const steps = raw.steps.map((s, i) => validateStep(where, s, i));
  const seen = new Set<string>();
  steps.forEach((s, i) => {
    if (seen.has(s.type)) throw new PlanError(`${where}: steps[${i}].type '${s.type}' appears twice; each step type at most once`, `steps[${i}].type`);
    seen.add(s.type);
  });
  return { format: PLAN_FORMAT, version: PLAN_VERSION, name: raw.name, description: (raw.description as string | undefined) ?? '', steps };
}

/** Stable JSON: object keys sorted, so equal plans hash equal whatever their key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObject(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

/** `sha256:<hex>` of the validated plan's canonical JSON (defaults filled, so an explicit default hashes as an omitted one). */
export function planHash(plan: CalibrationPlan): string {
  return `sha256:${createHash('sha256').update(canonical(plan)).digest('hex')}`;
}

/** The folder of the shipped plans (`calibration/plans` at the package root). */
export const PLANS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../calibration/plans');

/**
 * Loads and validates a plan: a bare name (`analog`) from PLANS_DIR, or a path (anything with a
 * slash or ending in .json). Throws PlanError for an invalid plan, Error for an unreadable file.
 */
export async function loadPlan(nameOrPath: string): Promise<CalibrationPlan> {
  const isPath = nameOrPath.includes('/') || nameOrPath.includes('\\') || nameOrPath.endsWith('.json');
  const file = isPath ? (isAbsolute(nameOrPath) ? nameOrPath : resolve(nameOrPath)) : join(PLANS_DIR, `${nameOrPath}.json`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read calibration plan '${nameOrPath}' (${file}): ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new PlanError(`${file}: not valid JSON: ${(e as Error).message}`, '');
  }
  return validatePlan(raw, file);
}
