/**
 * Protocol v1 messages as plain data. Field names match the SPEC.md tables and the JSON test
 * vectors, so a vector's `message` is (after sample/byte conversion) one of these objects.
 */

export const PROTOCOL_VERSION = 1;
/** Header (8) + CRC (4). */
export const FRAME_OVERHEAD = 12;
export const HEADER_SIZE = 8;
/** Largest unstuffed frame: 12 + u16 payload length. */
export const MAX_FRAME = FRAME_OVERHEAD + 0xffff;
/** Smallest maxFrame a device may advertise. */
export const MIN_MAX_FRAME = 64;

export const FLAG_RESPONSE = 0x01;

export const LIMITS = {
  infoString: 64,
  errorText: 128,
  configParams: 16,
  paramName: 32,
  paramString: 64,
} as const;

export type SampleFormat = 'u16' | 'i16' | 'f32';
export const SAMPLE_FORMATS: readonly SampleFormat[] = ['u16', 'i16', 'f32'];
export const SAMPLE_SIZE: Record<SampleFormat, number> = { u16: 2, i16: 2, f32: 4 };
export type Samples = Uint16Array | Int16Array | Float32Array;

export const CAPABILITY = {
  TEMPERATURE: 1 << 0,
  HW_TIMESTAMP: 1 << 1,
  CONFIGURE: 1 << 2,
  PERSISTENT_BOOT_COUNT: 1 << 3,
} as const;

export const RESULT_STATUS = {
  INPUT_CLIPPED: 1 << 0,
  OUTPUT_SATURATED: 1 << 1,
  OVERRUN: 1 << 2,
} as const;

export const ERROR_CODE = {
  UNSUPPORTED_VERSION: 1,
  UNKNOWN_TYPE: 2,
  BAD_PAYLOAD: 3,
  TOO_LARGE: 4,
  BAD_SHAPE: 5,
  NO_CREDIT: 6,
  BAD_PARAM: 7,
  DEVICE_FAULT: 8,
  NOT_SUPPORTED: 9,
} as const;

export const BOOT_REASON = {
  POWER_ON: 0,
  WATCHDOG: 1,
  BROWN_OUT: 2,
  REQUESTED: 3,
  FAULT_RECOVERY: 4,
  UNKNOWN: 255,
} as const;

export interface Hello { kind: 'hello'; minVersion: number; maxVersion: number }
export interface Info {
  kind: 'info';
  protocolVersion: number;
  inFormat: SampleFormat;
  outFormat: SampleFormat;
  credits: number;
  inChannels: number;
  outChannels: number;
  maxBatch: number;
  maxFrame: number;
  samplePeriodNs: number;
  capabilities: number;
  inMin: number;
  inMax: number;
  outMin: number;
  outMax: number;
  vendor: string;
  model: string;
  serial: string;
  firmware: string;
}
export type ParamValue =
  | { type: 'bool'; value: boolean }
  | { type: 'i32'; value: number }
  | { type: 'f64'; value: number }
  | { type: 'string'; value: string };
export type ConfigParam = { name: string } & ParamValue;
export interface Configure { kind: 'configure'; params: ConfigParam[] }
export interface Ack { kind: 'ack'; ackedType: number; epoch: number }
export interface Process {
  kind: 'process';
  batchId: number;
  count: number;
  channels: number;
  format: SampleFormat;
  /** count x channels, row-major; the typed array must match `format`. */
  samples: Samples;
}
export interface Result {
  kind: 'result';
  batchId: number;
  epoch: number;
  timestampUs: number;
  status: number;
  count: number;
  channels: number;
  format: SampleFormat;
  samples: Samples;
}
export interface ResetState { kind: 'resetState' }
export interface GetStatus { kind: 'getStatus' }
export interface Status {
  kind: 'status';
  framesOk: number;
  crcErrors: number;
  framingErrors: number;
  rejected: number;
  droppedBatches: number;
  epoch: number;
  bootCount: number;
  uptimeUs: number;
  /** null when the board has no sensor (NaN on the wire). */
  temperatureC: number | null;
}
export interface Ping { kind: 'ping'; data: Uint8Array }
export interface Pong { kind: 'pong'; data: Uint8Array }
export interface Boot { kind: 'boot'; bootCount: number; epoch: number; reason: number }
export interface ErrorMessage {
  kind: 'error';
  code: number;
  refSeq: number;
  refType: number;
  detail: number;
  text: string;
}

export type Message =
  | Hello | Configure | Process | ResetState | GetStatus | Ping
  | Boot | Info | Ack | Result | Status | Pong | ErrorMessage;
export type MessageKind = Message['kind'];

/** A decoded or to-be-encoded frame: header fields plus the message. */
export interface Frame<M extends Message = Message> {
  seq: number;
  flags: number;
  message: M;
}

export const MESSAGE_TYPE: Record<MessageKind, number> = {
  hello: 0x01,
  configure: 0x02,
  process: 0x03,
  resetState: 0x04,
  getStatus: 0x05,
  ping: 0x06,
  boot: 0x80,
  info: 0x81,
  ack: 0x82,
  result: 0x83,
  status: 0x85,
  pong: 0x86,
  error: 0x8f,
};

export const KIND_OF_TYPE: ReadonlyMap<number, MessageKind> = new Map(
  (Object.entries(MESSAGE_TYPE) as [MessageKind, number][]).map(([k, t]) => [t, k]),
);

/** Types at or above 0x80 flow from device to host. */
export function isDeviceToHost(type: number): boolean {
  return type >= 0x80;
}

export function createSamples(format: SampleFormat, length: number): Samples {
  if (format === 'u16') return new Uint16Array(length);
  if (format === 'i16') return new Int16Array(length);
  return new Float32Array(length);
}

export function formatOfSamples(samples: Samples): SampleFormat {
  if (samples instanceof Uint16Array) return 'u16';
  if (samples instanceof Int16Array) return 'i16';
  return 'f32';
}
