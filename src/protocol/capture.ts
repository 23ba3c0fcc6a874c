/**
 * Text <-> wire helpers for bring-up and debugging of device firmware: turn a byte capture into
 * JSON lines, and JSON lines into wire bytes. Pure functions; the CLI does the I/O.
 */
import { FrameDecoder, type DecoderCounts } from './decoder.js';
import { FrameEncoder } from './encoder.js';
import { type JsonFrame, frameFromJson, frameToJson } from './json.js';
import { MAX_FRAME } from './messages.js';

export type CaptureLine = JsonFrame | { reject: string; seq?: number; type?: number; why?: string };

/** Decodes a whole capture; rejections appear in place, in stream order. */
export function decodeCapture(bytes: Uint8Array, maxFrame = MAX_FRAME): { lines: CaptureLine[]; counts: DecoderCounts } {
  const dec = new FrameDecoder({ maxFrame });
  const lines: CaptureLine[] = [];
  dec.push(bytes, (ev) => {
    if (ev.ok) lines.push(frameToJson(ev.frame));
    else lines.push(ev.seq === undefined ? { reject: ev.reason } : { reject: ev.reason, seq: ev.seq, type: ev.type, ...(ev.why ? { why: ev.why } : {}) });
  });
  return { lines, counts: dec.counts };
}

/**
 * Encodes JSON lines (one frame per line, blank lines and lines starting with # ignored).
 * Throws an Error naming the line number and the problem; nothing is returned partially.
 */
export function encodeJsonLines(text: string): Uint8Array {
  const enc = new FrameEncoder();
  const parts: Uint8Array[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    try {
      const j = JSON.parse(line) as JsonFrame;
      if (typeof j !== 'object' || j === null || typeof j.message !== 'object' || j.message === null) {
        throw new Error('expected {"seq": N, "flags": N, "message": {"kind": ...}}');
      }
      parts.push(enc.encode(frameFromJson({ seq: j.seq ?? 0, flags: j.flags ?? 0, message: j.message })));
    } catch (e) {
      throw new Error(`line ${i + 1}: ${(e as Error).message}`);
    }
  });
  return Buffer.concat(parts);
}
