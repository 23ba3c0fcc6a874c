import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CLI_MAIN, rhil } from '../cli/rhil.js';
import { LiveServer } from '../../src/live/index.js';
import { withRecordedRun } from '../../src/session/index.js';


const dir = mkdtempSync(join(tmpdir(), 'rhil-live-cli-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('--live needs recording, and a port number', async () => {
  let r = await rhil(['train', '--no-record', '--live', '--episodes', '1']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /--live shows what the run records, so it needs recording; drop --no-record/);
  r = await rhil(['calibrate', '--live', 'http', '--db', join(dir, 'x.db')]);
  assert.is(r.code, 2);
  assert.match(r.stderr, /--live must be a port number in 0\.\.65535 \(or nothing for a free port\), got 'http'/);
});

test('--live on a port in use is one line naming the port, before any device is opened', async () => {
  const busy = await LiveServer.listen({ port: 0 });
  try {
    const r = await rhil(['train', '--live', String(busy.port), '--episodes', '1', '--db', join(dir, 'busy.db')]);
    assert.is(r.code, 2);
    // One line (a test runner's environment may add Node's own warnings on other lines).
    assert.match(r.stderr, new RegExp(`^rhil: --live ${busy.port}: port ${busy.port} on 127\\.0\\.0\\.1 is in use; pass another port, or 0 for a free one$`, 'm'));
    assert.not.match(r.stderr, /^(?!rhil: |\(node:|\(Use `node).+$/m);
    assert.not.match(r.stdout, /device/);
  } finally {
    await busy.close();
  }
});

test('rhil watch refuses a run that is not running, and names what to do', async () => {
  const db = join(dir, 'done.db');
  await withRecordedRun({ db, kind: 'run', config: {}, handleSignals: false }, async (ctx) => { ctx.metric('steps', 1, 1); });
  const r = await rhil(['watch', '1', '--db', db]);
  assert.is(r.code, 2);
  assert.match(r.stderr, /run 1 is completed, not running; rhil report 1 draws it/);
});

test('rhil watch serves a run another process records, and exits when it ends', async () => {
  const db = join(dir, 'watched.db');
  let child: ReturnType<typeof spawn> | null = null;
  let err = '';
  await withRecordedRun({ db, kind: 'run', config: {}, handleSignals: false }, async (ctx) => {
    ctx.metric('steps', 0, 0);
    child = spawn(process.execPath, [CLI_MAIN, 'watch', 'last', '--db', db], { stdio: ['ignore', 'pipe', 'pipe'] });
    const url = await new Promise<string>((resolve, reject) => {
      child!.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /live view of run 1: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(err);
        if (m) resolve(m[1]);
      });
      child!.once('exit', (code) => reject(new Error(`watch exited ${code}: ${err}`)));
    });
    const s = await (await fetch(`${url}state`)).json() as { run: { status: string }; metrics: unknown[] };
    assert.is(s.run.status, 'running');
    assert.equal(s.metrics, [['steps', 0, 0]]);
  });
  const [code] = await once(child!, 'exit');
  assert.is(code, 0, err);
  assert.match(err, /run 1 completed\n$/);
});

test('rhil train --live serves the run while it trains, reports its end, and the process exits', async () => {
  const db = join(dir, 'train.db');
  const child = spawn(process.execPath, [CLI_MAIN, 'train', '--trainer', 'pat', '--episodes', '3', '--live', '--db', db, '--out', join(dir, 'm.json')],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /live view: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(err);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`exited ${code} before printing the live address: ${err}`)));
  });
  const page = await (await fetch(url)).text();
  assert.match(page, /<title>rhil live<\/title>/);
  assert.not.match(page, /src="http|href="http/);
  // Poll as the page does, until the run has ended.
  const seen: string[] = [];
  let cursor = { metricId: 0, eventId: 0, seq: -1 };
  let metrics = 0;
  for (;;) {
    const s = await (await fetch(`${url}state?m=${cursor.metricId}&e=${cursor.eventId}&s=${cursor.seq}`)).json() as
      { waiting?: boolean; run?: { status: string }; metrics?: unknown[]; cursor?: typeof cursor };
    if (s.run) {
      if (seen[seen.length - 1] !== s.run.status) seen.push(s.run.status);
      metrics += s.metrics!.length;
      cursor = s.cursor!;
      if (s.run.status !== 'running') break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const [code] = await once(child, 'exit');
  assert.is(code, 0, err);
  assert.is(seen[seen.length - 1], 'completed');
  assert.ok(metrics >= 3 * 4, `metric points served: ${metrics}`);
});

test.run();
