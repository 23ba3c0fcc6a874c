export * from './errors.js';
export { DeviceClient, type Device, type BatchResult, type ConnectOptions, type DeviceEvent, type DeviceRequirements, type DiscardCause } from './client.js';
export { measureSegment, segment$, type Segment, type SegmentEvent, type SegmentOptions } from './segment.js';
export type { SegmentDevice } from './device.js';
export { DEFAULT_DEVICE, openDevice, openDeviceLink, openReconnectingDevice, type OpenDeviceOptions, type OpenReconnectingOptions } from './open.js';
export { ReconnectingDevice, resolveReconnectOptions, type FaultKind, type ReconnectOptions, type ReconnectStats } from './reconnect.js';
export { probeDevice, type ProbeReport } from './probe.js';
export { deviceIdentity, type DeviceIdentity } from './identity.js';
