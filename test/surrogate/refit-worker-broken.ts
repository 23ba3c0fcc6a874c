/** A refit worker that cannot start, as when tfjs does not load in a worker thread (lagged-refit.test.ts). */
throw new Error('no tfjs in this worker');
