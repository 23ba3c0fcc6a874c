/** The live view of a recorded run (`rhil train|calibrate|run --live`, `rhil watch`). */
export { LivePortError, LiveServer, type LiveServerOptions } from './server.js';
export { type LiveCursor, type LiveReadOptions, type LiveRun, type LiveState, type LiveWindow, START, readLiveState, readRunStatus } from './queries.js';
