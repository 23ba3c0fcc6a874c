/**
 * The refit worker of {@link LaggedRefitter} (lagged-refit.ts): a thread with its own tfjs, on the
 * backend the parent named, that runs refits so the parent's event loop stays free for the
 * device. Jobs are stateless: each carries the weights it starts from, and the fitted weights
 * go back as transferred Float32Arrays. It runs {@link fitJSONInSlices}, the very function the
 * parent's own fallback runs, without yielding (nothing else shares this thread), so a job gives
 * the same weights here as there on the same backend.
 *
 * Messages in: {@link ToWorker}; out: {@link FromWorker} ('ready' or 'failed' once, then one
 * 'done' or 'error' per job, in order).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { selectBackend, type BackendChoice } from '../core/backend.js';
import { packWeights, type FromWorker, type ToWorker } from './lagged-refit.js';
import { fitJSONInSlices } from './refit.js';
import { isTransmissionJSON } from './saved.js';

const port = parentPort;
if (!port) throw new Error('refit-worker.js runs as a worker thread (see LaggedRefitter)');
const send = (m: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);

const queue: ToWorker[] = [];
let ready = false, draining = false;
// Jobs can arrive while tfjs is still starting: they wait in order.
port.on('message', (m: ToWorker) => {
  queue.push(m);
  if (ready) void drain();
});

async function drain(): Promise<void> {
  if (draining) return;
  draining = true;
  try {
    for (let m = queue.shift(); m; m = queue.shift()) await run(m);
  } finally {
    draining = false;
  }
}

async function run(m: ToWorker): Promise<void> {
  try {
    const fitted = (await fitJSONInSlices(m.start, m.examples, { ...m.opts, sliceMs: Infinity }))!;
    if (isTransmissionJSON(fitted)) return send({ type: 'done', id: m.id, json: fitted });
    const weights = packWeights(fitted);
    send({ type: 'done', id: m.id, weights }, [weights.xMean, weights.xStd, weights.yMean, weights.yStd, ...weights.layers.flatMap((l) => [l.w, l.b])].map((a) => a.buffer as ArrayBuffer));
  } catch (e) {
    send({ type: 'error', id: m.id, name: (e as Error)?.name ?? 'Error', message: (e as Error)?.message ?? String(e) });
  }
}

try {
  const backend = await selectBackend((workerData as { backend: BackendChoice }).backend);
  ready = true;
  send({ type: 'ready', backend: backend.detail });
  await drain();
} catch (e) {
  send({ type: 'failed', message: (e as Error)?.message ?? String(e) });
}
