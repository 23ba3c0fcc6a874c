/**
 * Calibrate a device, then train through that calibration: the library API end to end, no CLI.
 *
 *     node dist/scripts/examples/calibrate-then-train.js [--device sim:analog] [--db rhil.db] [--full]
 *
 * 1. open the device (default: the built-in analog simulator);
 * 2. run the analog calibration plan (DC sweep, noise, latency, crosstalk, drift) as a recorded
 *    'calibrate' run, and keep the record in the run database next to it;
 * 3. train pat on NARMA10 with drives linearised and responses normalised by that calibration,
 *    as a recorded 'train' run that names the calibration it used, its model saved as an artifact;
 * 4. print the test NMSE.
 *
 * By default it trains 5 short episodes (about 10 s, what CI runs); --full trains the 100
 * episodes of `rhil train`.
 */
import { applyCalibration, loadPlan, runCalibration } from '../../src/calibration/index.js';
import { openDevice } from '../../src/device/index.js';
import { openRecordDb } from '../../src/record/index.js';
import { saveCalibration, withRecordedRun } from '../../src/session/index.js';
import { DEFAULT_EPISODES, selectBackend, train } from '../../src/train/index.js';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const spec = flag('device') ?? 'sim:analog';
const dbPath = flag('db') ?? process.env.RHIL_DB ?? 'rhil.db';
const full = process.argv.includes('--full');
const seed = 1;

const backend = await selectBackend('auto');
const device = await openDevice(spec, { seed });
try {
  const plan = await loadPlan('analog');
  const { record, calibrationId } = await withRecordedRun(
    { db: dbPath, kind: 'calibrate', config: { plan: plan.name, device: spec, seed }, seed, device },
    async (ctx) => {
      const rec = await runCalibration(device, plan, { seed });
      ctx.artifact('calibration', 'calibration', rec);
      // saveCalibration ties the record to this run's device row, so training can find it by device.
      const db = openRecordDb(dbPath);
      try {
        return { record: rec, calibrationId: saveCalibration(db, rec, { runId: ctx.runId! }) };
      } finally {
        db.close();
      }
    },
  );
  console.log(`calibration ${calibrationId}: noise sigma ${record.channels.noiseSigma?.[0]?.toPrecision(3)}, `
    + `latency ${record.latency?.latencySamples} samples, settling ${record.latency?.settlingSamples} samples`);

  const calibration = applyCalibration(record);
  const episodes = full ? DEFAULT_EPISODES : 5;
  const short = full ? {} : { steps: 200, fitSteps: 1000, testSteps: 500 };
  const result = await withRecordedRun(
    { db: dbPath, kind: 'train', config: { task: 'narma10', trainer: 'pat', seed, episodes, ...short, calibrationId }, seed, backend: backend.name, device, calibrationId },
    async (ctx) => {
      const r = await train({
        task: 'narma10', trainer: 'pat', seed, episodes, ...short, device, calibration, signal: ctx.signal,
        onEpisode: (e, i) => ctx.metric('loss', i, e.loss),
      });
      ctx.metric('test_nmse', r.episodes.length, r.test.value);
      ctx.artifact('model', 'model', { ...r, backend: backend.detail, deviceSpec: spec, calibration: { id: calibrationId } });
      return { ...r, runId: ctx.runId };
    },
  );
  console.log(`test nmse ${result.test.value.toFixed(4)} (narma10, pat, ${result.episodes.length} episodes, ${result.deviceSamples} device samples, `
    + `calibration ${calibrationId}, train run ${result.runId} in ${dbPath})`);
} finally {
  await device.close();
}
