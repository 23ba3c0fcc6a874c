/** Chains of digital and physical layers for static classification (issue 12). */
export * from './spec-types.js';
export * from './model.js';
export * from './responders.js';
export * from './row-twin.js';
export * from './layer-surrogate.js';
export * from './train.js';
