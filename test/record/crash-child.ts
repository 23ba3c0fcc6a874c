/**
 * Child process of crash.test: records batches of the deterministic stream (helpers.makeBatch)
 * into argv[2] as fast as it can, printing `run <id>` once and `ack <seq>` after each
 * recordBatch returns, until it is killed. Not a test file (uvu runs *.test.js only).
 */
import { RunRecorder, openRecordDb } from '../../src/record/index.js';
import { makeBatch } from './helpers.js';

const db = openRecordDb(process.argv[2]);
const rec = new RunRecorder(db);
const id = rec.startRun({ kind: 'run', config: { child: true }, seed: 1, gitCommit: null });
process.stdout.write(`run ${id}\n`); // pipes are synchronous on Linux: written before the next line runs
let k = 0;
const chunk = (): void => {
  for (let i = 0; i < 20; i++, k++) {
    rec.recordBatch(makeBatch(k, 64, 1, 50));
    if (k % 10 === 0) rec.recordMetric('k', k, k / 10);
    process.stdout.write(`ack ${k}\n`);
  }
  setImmediate(chunk); // let the flush timer run too
};
chunk();
