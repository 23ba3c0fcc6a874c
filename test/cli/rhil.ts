/** Runs the built `rhil` command as a child process for the CLI tests: exit code and both outputs, never a throw. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

export const CLI_MAIN = new URL('../../src/cli/main.js', import.meta.url).pathname;

export async function rhil(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI_MAIN, ...args], { encoding: 'utf8', ...opts });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}
