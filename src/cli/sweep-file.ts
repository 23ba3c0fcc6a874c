/**
 * The sweep file of `rhil sweep FILE` (YAML, or JSON for `.json`):
 *
 * ```yaml
 * name: lr-scan                                   # names the runs' tag and the output files
 * base: { task: narma10, episodes: 30, device: sim:analog-awg }
 * grid: { seed: [1, 2, 3], trainer: [pat, digital], learningRate: [0.01, 0.03] }
 * # or, instead of grid, a list: points: [ { seed: 1, trainer: pat }, { seed: 2, trainer: classic } ]
 * parallel: 2                                     # simulators only
 * ```
 *
 * Keys of `base`, `grid` and `points` are `rhil train` options (flag or camelCase spelling), checked
 * by the same code that checks a `--config` file's `train:` section, so types and choices are
 * declared once, on the train command. Every error is one line naming the field.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_DEVICE } from '../device/index.js';
import { SWEEP_SET_OPTIONS, type SweepPoint, type SweepValue } from '../sweep/index.js';
import { type CommandTable, checkConfig } from './config.js';
import { UsageError } from './util.js';

export interface SweepPlan {
  name: string;
  parallel: number;
  points: SweepPoint[];
}

const KEYS = ['name', 'base', 'grid', 'points', 'parallel'];

const isMapping = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Reads, parses and checks sweep file `path` against the train command's options (`table` holds `train`). */
export function readSweepFile(path: string, table: CommandTable): SweepPlan {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read sweep file ${path}: ${(e as Error).message}`);
  }
  const json = extname(path).toLowerCase() === '.json';
  let doc: unknown;
  try {
    doc = json ? JSON.parse(text) : parseYaml(text, { uniqueKeys: true });
  } catch (e) {
    throw new UsageError(`${path}: not valid ${json ? 'JSON' : 'YAML'}: ${(e as Error).message.split('\n')[0]}`);
  }
  return checkSweepDoc(doc, table, path);
}

/** Checks a parsed sweep document; see the module comment for its layout. */
export function checkSweepDoc(doc: unknown, table: CommandTable, path: string): SweepPlan {
  const fail = (msg: string): never => { throw new UsageError(`${path}: ${msg}`); };
  if (!isMapping(doc)) return fail('a sweep file must be a mapping with name and grid or points');
  for (const k of Object.keys(doc)) if (!KEYS.includes(k)) fail(`${k} is not a sweep key; known: ${KEYS.join(', ')}`);
  const { name, base, grid, points, parallel } = doc;
  if (typeof name !== 'string') fail(`name must be a string naming the sweep, got ${name === undefined ? 'nothing' : JSON.stringify(name)}`);
  if (parallel !== undefined && !(Number.isInteger(parallel) && (parallel as number) >= 1)) fail(`parallel must be a positive integer, got ${JSON.stringify(parallel)}`);
  if ((grid === undefined) === (points === undefined)) fail('give either grid (values to combine) or points (a list of settings), not both or neither');

  /** One train option's value, checked as `config.train.<key>` would be; returns its canonical flag name. */
  const option = (key: string, value: unknown, field: string): string => {
    let checked;
    try {
      checked = checkConfig({ train: { [key]: value } }, table, path);
    } catch (e) {
      throw new UsageError((e as Error).message.replace(`config.train.${key}`, field));
    }
    const canonical = [...checked.sections.get('train')!.keys()][0];
    if (SWEEP_SET_OPTIONS.includes(canonical)) fail(`${field}: the sweep sets --${canonical} itself (models go to its directory, runs to its --db, output is its own)`);
    return canonical;
  };
  const settings = (m: unknown, field: string): Map<string, SweepValue> => {
    if (m === undefined || m === null) return new Map();
    if (!isMapping(m)) return fail(`${field} must be a mapping of train options, got ${Array.isArray(m) ? 'a list' : JSON.stringify(m)}`);
    const out = new Map<string, SweepValue>();
    for (const [k, v] of Object.entries(m)) {
      const name = option(k, v, `${field}.${k}`);
      if (out.has(name)) fail(`${field}.${k} sets --${name} a second time`);
      out.set(name, v as SweepValue);
    }
    return out;
  };

  const shared = settings(base, 'base');
  const each: { own: Map<string, SweepValue>; field: string }[] = [];
  let varying: string[];
  if (grid !== undefined) {
    if (!isMapping(grid) || Object.keys(grid).length === 0) fail('grid must be a mapping of train options to lists of values');
    let combos: { own: Map<string, SweepValue>; field: string }[] = [{ own: new Map(), field: 'grid' }];
    varying = [];
    for (const [k, list] of Object.entries(grid as Record<string, unknown>)) {
      if (!Array.isArray(list) || list.length === 0) fail(`grid.${k} must be a non-empty list of values, got ${JSON.stringify(list)}`);
      const names = (list as unknown[]).map((v, i) => option(k, v, `grid.${k}[${i}]`));
      const dup = (list as unknown[]).findIndex((v, i) => (list as unknown[]).indexOf(v) !== i);
      if (dup >= 0) fail(`grid.${k}[${dup}] repeats grid.${k}[${(list as unknown[]).indexOf((list as unknown[])[dup])}]`);
      if (varying.includes(names[0])) fail(`grid.${k} sets --${names[0]} a second time`);
      varying.push(names[0]);
      // The last key varies fastest, as nested loops written in the file's order would.
      combos = combos.flatMap((c) => (list as SweepValue[]).map((v) => ({ own: new Map([...c.own, [names[0], v]]), field: 'grid' })));
    }
    each.push(...combos);
  } else {
    if (!Array.isArray(points) || points.length === 0) fail('points must be a non-empty list of mappings of train options');
    (points as unknown[]).forEach((p, i) => each.push({ own: settings(p, `points[${i}]`), field: `points[${i}]` }));
    varying = [...new Set(each.flatMap((e) => [...e.own.keys()]))];
  }

  const plan: SweepPlan = { name: name as string, parallel: (parallel as number | undefined) ?? 1, points: [] };
  const seen = new Map<string, string>();
  for (const { own, field } of each) {
    const params = Object.fromEntries([...shared, ...own]);
    const id = JSON.stringify(Object.keys(params).sort().map((k) => [k, params[k]]));
    if (field !== 'grid' && seen.has(id)) fail(`${field} repeats ${seen.get(id)}`);
    seen.set(id, field);
    const device = params.trainer === 'digital' ? null : String(params.device ?? DEFAULT_DEVICE);
    plan.points.push({ params, varying, device });
  }
  return plan;
}
