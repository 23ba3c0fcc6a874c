export * from './schema.js';
export * from './blob.js';
export * from './open.js';
export * from './recorder.js';
export { gitCommit } from './git-commit.js';
export * from './read.js';
export * from './verify.js';
export * from './export.js';
export * from './salvage.js';
