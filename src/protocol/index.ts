/** Protocol v1: pure bytes <-> messages, no I/O. See firmware-protocol/SPEC.md. */
export * from './messages.js';
export { crc32c } from './crc32c.js';
export { cobsEncode, cobsDecode, cobsEncodeInto, cobsDecodeInto, cobsMaxEncodedLength } from './cobs.js';
export { FrameEncoder, encodeFrame } from './encoder.js';
export { FrameDecoder, REJECT_REASONS, type DecodeEvent, type DecoderOptions, type DecoderCounts, type RejectReason } from './decoder.js';
export { frameToJson, frameFromJson, type JsonFrame } from './json.js';
export { decodeCapture, encodeJsonLines, type CaptureLine } from './capture.js';
