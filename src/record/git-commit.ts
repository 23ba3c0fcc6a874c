/** Which commit of the code recorded a run, read from .git without running git (a lab PC may have no git). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The commit checked out in `dir` (or a parent), read from .git without running git; null when unknown. */
export function gitCommit(dir: string): string | null {
  for (let d = dir, i = 0; i < 64; i++) {
    try {
      let gitDir = join(d, '.git');
      let head: string;
      try {
        head = readFileSync(join(gitDir, 'HEAD'), 'utf8').trim();
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOTDIR') throw e;
        const link = /^gitdir: (.+)$/m.exec(readFileSync(gitDir, 'utf8'));
        if (!link) return null;
        gitDir = link[1].startsWith('/') ? link[1] : join(d, link[1]);
        head = readFileSync(join(gitDir, 'HEAD'), 'utf8').trim();
      }
      if (/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(head)) return head;
      const ref = /^ref: (refs\/[^\s]+)$/.exec(head);
      if (!ref) return null;
      const commonDir = (() => { try { return join(gitDir, readFileSync(join(gitDir, 'commondir'), 'utf8').trim()); } catch { return gitDir; } })();
      for (const g of [gitDir, commonDir]) {
        try {
          const c = readFileSync(join(g, ref[1]), 'utf8').trim();
          if (/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(c)) return c;
        } catch { /* try packed-refs */ }
      }
      try {
        const packed = readFileSync(join(commonDir, 'packed-refs'), 'utf8');
        for (const line of packed.split('\n')) {
          const [sha, name] = line.split(' ');
          if (name === ref[1] && /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(sha)) return sha;
        }
      } catch { /* none */ }
      return null; // unborn branch
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return null;
      const up = join(d, '..');
      if (up === d) return null;
      d = up;
    }
  }
  return null;
}
