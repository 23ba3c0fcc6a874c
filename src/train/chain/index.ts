/** Chains of digital and physical layers: static classification, and series chains on a time series (series.ts) (issue 12). */
export * from './spec-types.js';
export * from './model.js';
export * from './responders.js';
export * from './row-twin.js';
export * from './layer-surrogate.js';
export * from './train.js';
export * from './series.js';
export * from './series-model.js';
