/** reservoir-hil library API. */
export * from './protocol/index.js';
export * from './transport/index.js';
export * from './device/index.js';
export * as sim from './sim/index.js';
