/** Runs the built `rhil` command as a child process for the CLI tests: exit code and both outputs, never a throw. */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { openRecordDb, readArtifact } from '../../src/record/index.js';

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

/**
 * Starts `rhil ARGS`, a train command recording run 1 in `db`, sends it SIGINT once run 1 has a
 * checkpoint in the database (polling for up to a minute), and returns its exit code and outputs.
 */
export async function interruptAfterCheckpoint(args: string[], db: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI_MAIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', stderr = '';
  child.stdout!.on('data', (x) => { stdout += x; });
  child.stderr!.on('data', (x) => { stderr += x; });
  const exited = once(child, 'exit');
  const checkpointed = (): boolean => {
    if (!/^recording run 1/m.test(stdout)) return false;
    const d = openRecordDb(db, { readonly: true });
    try { return readArtifact(d, 1, 'checkpoint') !== null; } finally { d.close(); }
  };
  for (let i = 0; i < 600 && !checkpointed(); i++) await new Promise((r) => setTimeout(r, 100));
  child.kill('SIGINT');
  const [code] = await exited as [number | null];
  return { code, stdout, stderr };
}
