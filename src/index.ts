/** reservoir-hil library API. */
export * from './protocol/index.js';
