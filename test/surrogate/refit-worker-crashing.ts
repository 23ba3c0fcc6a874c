/** The real refit worker, except that the thread dies on its third refit (lagged-refit.test.ts). */
import { parentPort } from 'node:worker_threads';

let fits = 0;
// Registered before the real worker's listener, so it sees the job first and the job is never answered.
parentPort!.on('message', () => {
  if (++fits === 3) process.exit(3);
});
await import('../../src/surrogate/refit-worker.js');
