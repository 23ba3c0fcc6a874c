/**
 * JSON form of frames, as used by firmware-protocol/vectors and `--json` output: samples as
 * plain number arrays, byte strings as hex, NaN temperature as null.
 */
import { type Frame, type Message, type SampleFormat, createSamples } from './messages.js';

export interface JsonFrame {
  seq: number;
  flags: number;
  message: Record<string, unknown> & { kind: string };
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function fromHex(s: string): Uint8Array {
  if (!/^([0-9a-fA-F]{2})*$/.test(s)) throw new Error(`not a hex byte string: ${s.slice(0, 40)}`);
  return new Uint8Array(Buffer.from(s, 'hex'));
}

export function frameToJson(frame: Frame): JsonFrame {
  const m = frame.message;
  let message: JsonFrame['message'];
  if (m.kind === 'process' || m.kind === 'result') message = { ...m, samples: Array.from(m.samples) };
  else if (m.kind === 'ping' || m.kind === 'pong') message = { kind: m.kind, data: toHex(m.data) };
  else message = { ...m };
  return { seq: frame.seq, flags: frame.flags, message };
}

/** Inverse of frameToJson; field checking is left to the encoder, which validates everything. */
export function frameFromJson(j: JsonFrame): Frame {
  const m = j.message as Record<string, unknown>;
  let message: Message;
  if (m.kind === 'process' || m.kind === 'result') {
    const values = m.samples as number[];
    const samples = createSamples(m.format as SampleFormat, values.length);
    samples.set(values);
    message = { ...m, samples } as unknown as Message;
  } else if (m.kind === 'ping' || m.kind === 'pong') {
    message = { kind: m.kind, data: fromHex(String(m.data)) };
  } else {
    message = { ...m } as unknown as Message;
  }
  return { seq: j.seq, flags: j.flags, message };
}
