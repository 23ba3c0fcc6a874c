/** Training around the device: backend selection, ridge readout, gradient checks. */
export * from './backend.js';
export * from './ridge.js';
export * from './vjp-check.js';
