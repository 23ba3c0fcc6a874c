/**
 * Recording benchmark: streaming through the simulated device served on a pty, with every batch
 * recorded into SQLite (RunRecorder subscribed to DeviceClient.results$) against the same stream
 * not recorded, measured interleaved in one run (the machine is shared: read the ratio).
 *
 *   npm run bench:record -- [--runs N (default 5)] [--secs S per measurement (default 1)]
 *                           [--batches 64,256 (samples per batch)] [--paced]
 *
 * Setup as `bench:link`'s judged row: profile 'analog' (1 -> 50 channels, u16), pacing off (with
 * --paced: the board answers no faster than its declared 100,000 samples/s, as a real one), the
 * device in a child process on a socat pty (its own event loop, as a board has its own CPU), the
 * host opening the pty with serialport and keeping every credit in flight. Rows:
 *   off          no recorder
 *   on           RunRecorder with the defaults: every batch committed (WAL, synchronous=NORMAL)
 *                before recordBatch returns, CRC-32C of the blobs computed
 *   on, 16/commit  batchesPerCommit 16 (a kill -9 may then lose up to 16 batches)
 * Ratio = samples/s recorded / samples/s not recorded (target >= 0.9 for 'on').
 * recordBatch: time spent in it on the host's event loop per batch, and as a share of wall time.
 * Database bytes per recorded sample: the file after the run is closed (WAL checkpointed), over
 * the samples recorded; the floor is 4 bytes x (1 + 50) channels = 204 B of float32 per sample.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DeviceClient } from '../../src/device/index.js';
import { RunRecorder, openRecordDb } from '../../src/record/index.js';
import { Rng } from '../../src/sim/index.js';
import { openSerial } from '../../src/transport/index.js';
import { fmt, machineLine, median, opt, startSimChild } from './harness.js';

const args = process.argv.slice(2);
const RUNS = opt(args, '--runs', 5);
const SECS = opt(args, '--secs', 1);
const BATCHES = args.includes('--batches') ? args[args.indexOf('--batches') + 1].split(',').map(Number) : [64, 256];
const SEED = 20261202;
const PROFILE = 'analog';
const PACED = args.includes('--paced');

const sim = await startSimChild(PROFILE, SEED, PACED ? 'paced' : 'real');
const client = await DeviceClient.connect(await openSerial(sim.path), { processTimeoutMs: 30_000, timeoutMs: 5000 });
const tmp = { dir: mkdtempSync(join(tmpdir(), 'rhil-bench-record-')) };
const rng = new Rng(SEED);

interface Mode { key: string; label: string; perCommit?: number }
const MODES: Mode[] = [
  { key: 'off', label: 'off' },
  { key: 'on', label: 'on (every batch committed)', perCommit: 1 },
  { key: 'on16', label: 'on, 16 batches per commit', perCommit: 16 },
];

interface Result { rate: number; bytesPerSample?: number; maxCommitMs?: number; recorderShare?: number; usPerBatch?: number }

/** Streams `drive` (cycled) for `secs` with every credit in flight, recording when `mode` says; samples/s and db bytes per sample. */
async function stream(mode: Mode, drive: Uint16Array[], secs: number, run: number): Promise<Result> {
  let rec: RunRecorder | undefined;
  let db: ReturnType<typeof openRecordDb> | undefined;
  const path = join(tmp.dir, `${mode.key}-${drive[0].length}-${run}.sqlite`);
  if (mode.perCommit !== undefined) {
    db = openRecordDb(path);
    rec = new RunRecorder(db, { batchesPerCommit: mode.perCommit });
    rec.startRun({ kind: 'bench', config: { profile: PROFILE, batch: drive[0].length }, device: client.info, gitCommit: null });
  }
  let inRecorder = 0;
  const sub = rec ? client.results$.subscribe((r) => {
    const t = performance.now();
    rec!.recordBatch(r);
    inRecorder += performance.now() - t;
  }) : undefined;
  let samples = 0;
  let k = 0;
  const t0 = performance.now();
  const deadline = t0 + secs * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const r = await client.process(drive[k++ % drive.length]);
      samples += r.count;
    }
  };
  await Promise.all(Array.from({ length: client.info.credits }, worker));
  const wall = (performance.now() - t0) / 1000;
  sub?.unsubscribe();
  if (!rec || !db) return { rate: samples / wall };
  rec.finish('completed');
  const recorded = rec.stats.batches;
  if (recorded * drive[0].length !== samples) throw new Error(`recorded ${recorded} batches, streamed ${samples / drive[0].length}`);
  const maxCommitMs = rec.stats.maxCommitMs;
  // Everything into the main file, so its size is the whole database; busy while the checkpoint
  // thread does its last pass.
  for (let i = 0; (db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[])[0].busy !== 0; i++) {
    if (i === 100) throw new Error('the WAL could not be checkpointed in 1 s');
    await new Promise((r) => setTimeout(r, 10));
  }
  db.close();
  return { rate: samples / wall, bytesPerSample: statSync(path).size / samples, maxCommitMs, recorderShare: inRecorder / 1000 / wall, usPerBatch: (inRecorder * 1000) / recorded };
}

console.log(`record benchmark: profile '${PROFILE}' (1 -> 50 channels, u16), pacing ${PACED ? 'at the declared sample rate' : 'off'}, ${client.info.credits} credits in flight, ` +
  `device in a child process on a pty; median of ${RUNS} runs of ${SECS} s per row, modes interleaved`);
console.log(machineLine());
const summary: string[] = [];
try {
  for (const n of BATCHES) {
    const drive = Array.from({ length: 8 }, () => Uint16Array.from({ length: n }, () => rng.nextU32() & 0xfff));
    await stream(MODES[0], drive, 0.3, -1); // warm the JIT and the link
    const res: Record<string, Result[]> = Object.fromEntries(MODES.map((m) => [m.key, []]));
    for (let run = 0; run < RUNS; run++) for (const m of MODES) res[m.key].push(await stream(m, drive, SECS, run));
    const off = median(res.off.map((r) => r.rate));
    console.log(`\nbatch ${n} samples`);
    for (const m of MODES) {
      const rate = median(res[m.key].map((r) => r.rate));
      const extra = m.perCommit === undefined ? ''
        : `  ratio ${(rate / off).toFixed(3)}  db ${fmt(median(res[m.key].map((r) => r.bytesPerSample!)), 1)} B/sample  ` +
          `recordBatch ${fmt(median(res[m.key].map((r) => r.usPerBatch!)))} us/batch (${fmt(100 * median(res[m.key].map((r) => r.recorderShare!)), 1)} % of wall)  ` +
          `longest commit ${fmt(Math.max(...res[m.key].map((r) => r.maxCommitMs!)), 2)} ms`;
      console.log(`  ${m.label.padEnd(28)} ${fmt(rate).padStart(10)} samples/s${extra}`);
      if (m.key === 'on') summary.push(`batch ${n}: ratio ${(rate / off).toFixed(3)} (${rate / off >= 0.9 ? 'meets' : 'MISSES'} >= 0.9), ${fmt(median(res.on.map((r) => r.bytesPerSample!)), 1)} B/sample`);
    }
  }
  console.log(`\nrecording every batch vs not: ${summary.join('; ')}`);
} finally {
  await client.close();
  await sim.close();
  rmSync(tmp.dir, { recursive: true, force: true });
}
