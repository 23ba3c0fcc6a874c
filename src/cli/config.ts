/**
 * `--config FILE` (JSON or YAML) for every command. Layout:
 *
 * ```yaml
 * device: /dev/ttyACM0      # shared keys (device, db, seed, backend) apply to every command that
 * seed: 3                   # has that option
 * train:                    # one section per command, keyed by the command's option names
 *   episodes: 200
 *   trainer: pat
 * calibrate:
 *   plan: analog
 * ```
 *
 * Precedence: a flag on the command line, then the command's section, then the shared key, then
 * the option's default. The allowed keys, their types and choices are read from each command's
 * own yargs option definitions (its builder run on an empty parser), so a new option is
 * configurable without being listed twice. The whole file is checked, not only the section of
 * the command being run, so a typo in `calibrate:` surfaces on the next `rhil train` too.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import yargs, { type Argv } from 'yargs';
import { UsageError } from './util.js';

/** What each src/cli/commands/*.ts exports: adds one command to a parser. */
export type CommandAdder = (y: Argv) => Argv;

/** One configurable option of a command, as its yargs definition declares it. */
export interface OptionSpec {
  name: string;
  type: 'string' | 'number' | 'boolean' | 'array' | 'count' | 'any';
  choices?: readonly unknown[];
  /** Every spelling the command line accepts: the name, its aliases and their camelCase forms. */
  spellings: string[];
}

/** Options of each command by command name, and the keys of each by canonical name. */
export type CommandTable = Map<string, Map<string, OptionSpec>>;

/** Top-level keys of a config file that apply to every command defining that option. */
export const SHARED_KEYS: readonly string[] = Object.freeze(['device', 'db', 'seed', 'backend']);

/** Parser-wide options that make no sense in a file. */
const NOT_CONFIGURABLE = new Set(['help', 'version', 'config']);

const camel = (s: string): string => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

interface YargsOptions {
  key: Record<string, boolean>;
  alias: Record<string, string[]>;
  string: string[];
  number: string[];
  boolean: string[];
  array: string[];
  count: string[];
  choices: Record<string, unknown[]>;
}

/** The configurable options a builder declares (positionals named in `command` excluded: they are inputs, not settings). */
export function optionSpecs(builder: (y: Argv) => Argv, command = ''): Map<string, OptionSpec> {
  // getOptions() is public in yargs 18 but missing from @types/yargs 17.
  const o = (builder(yargs([])) as unknown as { getOptions(): YargsOptions }).getOptions();
  const positional = new Set([...command.matchAll(/[[<]([\w-]+)(?:\.\.)?[\]>]/g)].map((m) => m[1]));
  const aliasOf = new Set(Object.values(o.alias).flat());
  const specs = new Map<string, OptionSpec>();
  for (const name of Object.keys(o.key)) {
    if (aliasOf.has(name) || NOT_CONFIGURABLE.has(name) || positional.has(name)) continue;
    const type = o.boolean.includes(name) ? 'boolean' : o.number.includes(name) ? 'number' : o.string.includes(name) ? 'string'
      : o.array.includes(name) ? 'array' : o.count.includes(name) ? 'count' : 'any';
    const names = [name, ...(o.alias[name] ?? [])];
    specs.set(name, { name, type, choices: o.choices[name], spellings: [...new Set([...names, ...names.map(camel)])] });
  }
  return specs;
}

/**
 * Runs each adder against a stand-in parser that only notes the commands it registers, then
 * reads each command's options from its builder (see {@link optionSpecs}).
 */
export function commandTable(adders: readonly CommandAdder[]): CommandTable {
  const table: CommandTable = new Map();
  type Builder = ((y: Argv) => Argv) | Record<string, unknown> | undefined;
  const note = (cmd: string, builder: Builder) => {
    const name = cmd.trim().split(/\s+/)[0];
    const build = typeof builder === 'function' ? builder : (y: Argv) => y.options((builder ?? {}) as Record<string, object>);
    table.set(name, optionSpecs(build, cmd));
  };
  const shim = {
    command(cmd: string | { command: string; builder?: Builder }, _describe?: unknown, builder?: Builder) {
      if (typeof cmd === 'string') note(cmd, builder);
      else note(cmd.command, cmd.builder);
      return shim;
    },
  };
  for (const add of adders) add(shim as unknown as Argv);
  return table;
}

/** A config file, checked: shared values and each command's section, keyed by canonical option name. */
export interface ConfigFile {
  path: string;
  shared: Map<string, unknown>;
  sections: Map<string, Map<string, unknown>>;
}

const show = (v: unknown): string => {
  if (typeof v === 'string') return `'${v}'`;
  if (v === null || typeof v !== 'object') return String(v);
  return Array.isArray(v) ? 'a list' : 'a mapping';
};

/** Why `value` does not fit `spec`, or null when it does. */
function mismatch(spec: OptionSpec, value: unknown): string | null {
  const ok = ((): boolean => {
    switch (spec.type) {
      case 'string': return typeof value === 'string';
      case 'number': case 'count': return typeof value === 'number' && Number.isFinite(value);
      case 'boolean': return typeof value === 'boolean';
      case 'array': return Array.isArray(value) && value.every((x) => x === null || typeof x !== 'object');
      case 'any': return value === null || typeof value !== 'object';
    }
  })();
  const want = { string: 'a string', number: 'a finite number', count: 'a finite number', boolean: 'true or false', array: 'a list of plain values', any: 'a plain value' }[spec.type];
  if (!ok) return `must be ${want}, got ${show(value)}`;
  if (spec.choices?.length) {
    const bad = (Array.isArray(value) ? value : [value]).find((v) => !spec.choices!.includes(v));
    if (bad !== undefined) return `must be one of ${spec.choices.join(', ')}, got ${show(bad)}`;
  }
  return null;
}

/** Finds the option a key names (its canonical name, an alias, or a camelCase form). */
function lookup(options: Map<string, OptionSpec>, key: string): OptionSpec | undefined {
  for (const s of options.values()) if (s.spellings.includes(key)) return s;
  return undefined;
}

const isMapping = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Checks a parsed config document against the commands' options: every key known, every value
 * of its option's type and among its choices. Errors are UsageErrors naming the field
 * (`config.train.episodes`) and what is allowed.
 */
export function checkConfig(doc: unknown, table: CommandTable, path = 'config'): ConfigFile {
  const fail = (msg: string): never => { throw new UsageError(`${path}: ${msg}`); };
  // An empty YAML file parses to null: a config that sets nothing.
  if (doc === null || doc === undefined) return { path, shared: new Map(), sections: new Map() };
  if (!isMapping(doc)) fail(`config must be a mapping of keys to values, got ${show(doc)}`);
  const sharedKnown = SHARED_KEYS.filter((k) => [...table.values()].some((o) => o.has(k)));
  const known = [...sharedKnown, ...table.keys()];
  const file: ConfigFile = { path, shared: new Map(), sections: new Map() };
  for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
    const options = table.get(key);
    if (options) {
      if (value === null) continue;
      if (!isMapping(value)) fail(`config.${key} must be a mapping of ${key} options, got ${show(value)}`);
      const section = new Map<string, unknown>();
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        const spec = lookup(options, k);
        if (!spec) fail(`config.${key}.${k} is not an option of ${key}; known: ${[...options.keys()].join(', ')}`);
        const why = mismatch(spec!, v);
        if (why) fail(`config.${key}.${k} ${why}`);
        section.set(spec!.name, v);
      }
      file.sections.set(key, section);
    } else if (sharedKnown.includes(key)) {
      // A shared key must fit every command that takes it, or it would break one of them.
      for (const [cmd, options] of table) {
        const spec = options.get(key);
        const why = spec && mismatch(spec, value);
        if (why) fail(`config.${key} ${why}${table.size > 1 ? ` (as ${cmd} --${key})` : ''}`);
      }
      file.shared.set(key, value);
    } else {
      fail(`config.${key} is not a known key; known: ${known.join(', ')}`);
    }
  }
  return file;
}

/** Reads and parses a config file: `.json` as JSON, anything else as YAML (which also reads JSON). */
export function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`--config: cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    if (extname(path).toLowerCase() === '.json') return JSON.parse(text) as unknown;
    return parseYaml(text, { uniqueKeys: true }) as unknown;
  } catch (e) {
    throw new UsageError(`${path}: not valid ${extname(path).toLowerCase() === '.json' ? 'JSON' : 'YAML'}: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** The command-line spellings given explicitly in `tokens` (flags before a `--`). */
export function givenFlags(tokens: readonly string[]): Set<string> {
  const given = new Set<string>();
  for (const t of tokens) {
    if (t === '--') break;
    const long = /^--(?:no-)?([^=]+)/.exec(t);
    if (long) { given.add(long[1]); continue; }
    const short = /^-([A-Za-z]+)/.exec(t);
    if (short) for (const c of short[1]) given.add(c);
  }
  return given;
}

/**
 * The values a config file gives the command `command`: its section over the shared keys it
 * takes, as (canonical option name, value, field name in the file).
 */
export function valuesFor(file: ConfigFile, table: CommandTable, command: string): { name: string; value: unknown; field: string }[] {
  const options = table.get(command);
  if (!options) return [];
  const out = new Map<string, { name: string; value: unknown; field: string }>();
  for (const [k, v] of file.shared) if (options.has(k)) out.set(k, { name: k, value: v, field: `config.${k}` });
  for (const [k, v] of file.sections.get(command) ?? []) out.set(k, { name: k, value: v, field: `config.${command}.${k}` });
  return [...out.values()];
}

/**
 * Wires `--config` into a parser: returns the yargs middleware that loads, checks and applies the
 * file (flags given in `tokens` win), and `explain`, which renames a handler's complaint about
 * `--name` to the config field the value came from (a range check in a command only knows the
 * flag; the user needs to know which line of which file to fix).
 */
export function configSupport(adders: readonly CommandAdder[], tokens: readonly string[]): {
  middleware: (argv: Record<string, unknown>) => void;
  explain: (message: string) => string;
} {
  const origin = new Map<string, string>();
  let path = '';
  return {
    middleware(argv) {
      if (typeof argv.config !== 'string') return;
      path = argv.config;
      const table = commandTable(adders);
      const file = checkConfig(readConfigFile(path), table, path);
      const command = String((argv._ as unknown[])[0] ?? '');
      const given = givenFlags(tokens);
      const options = table.get(command);
      for (const { name, value, field } of valuesFor(file, table, command)) {
        const spec = options!.get(name)!;
        if (spec.spellings.some((s) => given.has(s))) continue;
        for (const s of spec.spellings) argv[s] = value;
        origin.set(name, field);
      }
    },
    explain(message) {
      return message.replace(/^--([\w-]+)(?=[\s:])/, (flag, name: string) => {
        const field = origin.get(name);
        return field ? `${path}: ${field}` : flag;
      });
    },
  };
}
