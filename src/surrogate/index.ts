export { NarxSurrogate, type NarxOptions, type NarxJSON, type SeqContext, type FitOptions, type DeviceSurrogate } from './narx.js';
export { physicalLayer } from './physical-layer.js';
export { ReplayBuffer, type ReplayOptions } from './replay.js';
export { cutWindows, checkWindowShape, warmup, type Examples, type WindowShape } from './windows.js';
export { fitJSONInSlices, SliceCancel, type ObservedSegment, type RefitEvent, type RefitOptions, type SegmentReport } from './refit.js';
export { LaggedRefitter, RefitterClosed, liveRefitWorkers, type LaggedRefitOptions } from './lagged-refit.js';
export { NarxAdam } from './adam-step.js';
