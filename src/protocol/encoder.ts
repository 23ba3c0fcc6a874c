import { cobsEncodeInto, cobsMaxEncodedLength } from './cobs.js';
import { crc32c } from './crc32c.js';
import { type Frame, FRAME_OVERHEAD, HEADER_SIZE, MAX_FRAME, MESSAGE_TYPE, PROTOCOL_VERSION } from './messages.js';
import { payloadSize, writePayload } from './payload.js';

/**
 * Turns frames into wire bytes: header + payload + CRC-32C, COBS-stuffed, then 0x00.
 * Keeps one scratch buffer of `maxFrame` bytes so encoding a stream allocates only its output.
 *
 * @example
 * const enc = new FrameEncoder();
 * port.write(enc.encode({ seq: 1, flags: 0, message: { kind: 'ping', data: new Uint8Array(0) } }));
 */
export class FrameEncoder {
  private readonly scratch: Uint8Array;
  private readonly view: DataView;

  /** @param maxFrame largest unstuffed frame this encoder may produce. Defaults to MAX_FRAME (65547). */
  constructor(readonly maxFrame: number = MAX_FRAME) {
    if (!Number.isInteger(maxFrame) || maxFrame < FRAME_OVERHEAD || maxFrame > MAX_FRAME) {
      throw new RangeError(`maxFrame must be an integer in ${FRAME_OVERHEAD}..${MAX_FRAME}, got ${maxFrame}`);
    }
    this.scratch = new Uint8Array(maxFrame);
    this.view = new DataView(this.scratch.buffer);
  }

  /** Wire bytes of `frame`, including the trailing 0x00. Throws RangeError on an invalid frame. */
  encode(frame: Frame): Uint8Array {
    const n = this.stage(frame);
    const out = new Uint8Array(cobsMaxEncodedLength(n) + 1);
    const end = cobsEncodeInto(this.scratch, 0, n, out, 0);
    out[end] = 0;
    return out.subarray(0, end + 1);
  }

  /**
   * Encodes into `dst` at `at` and returns the index after the delimiter. `dst` needs
   * `cobsMaxEncodedLength(frameSize) + 1` bytes free; use it to batch frames into one write.
   */
  encodeInto(frame: Frame, dst: Uint8Array, at = 0): number {
    const n = this.stage(frame);
    if (dst.length - at < cobsMaxEncodedLength(n) + 1) throw new RangeError(`destination too small for a ${n}-byte frame`);
    const end = cobsEncodeInto(this.scratch, 0, n, dst, at);
    dst[end] = 0;
    return end + 1;
  }

  /** Writes the unstuffed frame into scratch; returns its length. */
  private stage(frame: Frame): number {
    const { seq, flags, message } = frame;
    if (!Number.isInteger(seq) || seq < 0 || seq > 0xffff) throw new RangeError(`cannot encode seq: ${seq} is not in 0..65535`);
    if (!Number.isInteger(flags) || flags < 0 || flags > 0xff) throw new RangeError(`cannot encode flags: ${flags} is not in 0..255`);
    if (MESSAGE_TYPE[message?.kind] === undefined) throw new RangeError(`cannot encode: unknown message kind ${JSON.stringify(message?.kind)}`);
    const len = payloadSize(message);
    const total = FRAME_OVERHEAD + len;
    if (total > this.maxFrame) throw new RangeError(`cannot encode ${message.kind}: frame of ${total} bytes exceeds maxFrame ${this.maxFrame}`);
    const s = this.scratch;
    s[0] = PROTOCOL_VERSION;
    s[1] = MESSAGE_TYPE[message.kind];
    s[2] = flags;
    s[3] = 0;
    this.view.setUint16(4, seq, true);
    this.view.setUint16(6, len, true);
    const end = writePayload(message, s, this.view, HEADER_SIZE);
    this.view.setUint32(end, crc32c(s, 0, end), true);
    return total;
  }
}

const shared = new FrameEncoder();

/** One-off encode with a shared encoder of the protocol's maximum size. */
export function encodeFrame(frame: Frame): Uint8Array {
  return shared.encode(frame).slice();
}
