/**
 * One check for every command: an option that takes a value gets one. yargs reads `--episodes
 * --no-record` as "--episodes with no value" and runs with the default, and `--seed abc` as NaN;
 * both are refused here, before the command runs, with the option named.
 */
import type { Argv } from 'yargs';
import { UsageError } from './util.js';

/** Options whose value may be left out on purpose (`--reconnect` alone means its default attempts, `--live` alone a free port). */
const OPTIONAL_VALUE = new Set(['reconnect', 'live']);

/** A token that is another option rather than a value (`-` alone and negative numbers are values). */
const isFlag = (t: string): boolean => /^--?[A-Za-z]/.test(t);

/** A yargs middleware (run before validation) that checks the raw `argv` against the command's option types. */
export function requireValues(argv: readonly string[]): (args: unknown) => void {
  // yargs passes its instance (with the command's options) as a second argument @types/yargs does not declare.
  return ((_args: unknown, y: Argv) => {
    const o = (y as unknown as { getOptions(): { number: string[]; string: string[] } }).getOptions();
    const numbers = new Set(o.number);
    const valued = new Set([...o.number, ...o.string]);
    for (let i = 0; i < argv.length; i++) {
      const t = argv[i];
      if (t === '--') break;
      const m = /^--([^=]+)(=(.*))?$/.exec(t);
      if (!m || !valued.has(m[1]) || OPTIONAL_VALUE.has(m[1])) continue;
      let value = m[3];
      if (value === undefined) {
        const next = argv[i + 1];
        if (next === undefined || isFlag(next)) throw new UsageError(`--${m[1]} needs a value`);
        value = next;
        i++;
      }
      if (numbers.has(m[1]) && (value.trim() === '' || Number.isNaN(Number(value)))) {
        throw new UsageError(`--${m[1]} must be a number, got ${JSON.stringify(value)}`);
      }
    }
  }) as (args: unknown) => void;
}
