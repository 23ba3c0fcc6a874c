export * from './schema.js';
export * from './blob.js';
export * from './recorder.js';
export * from './read.js';
export * from './verify.js';
export * from './export.js';
