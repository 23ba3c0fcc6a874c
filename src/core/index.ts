/** What every layer uses: the seeded Rng, metrics, option validators and the tfjs backend choice. */
export * from './rng.js';
export * from './metrics.js';
export * from './validate.js';
export * from './backend.js';
export type * from './reservoir.js';
