/** Loads the shared JSON vectors in firmware-protocol/vectors (the same files the C tests read). */
import { readFileSync } from 'node:fs';
import type { JsonFrame } from '../../src/protocol/index.js';

const dir = new URL('../../../firmware-protocol/vectors/', import.meta.url);
const load = (name: string) => JSON.parse(readFileSync(new URL(name, dir), 'utf8'));

export const crcVectors: { name: string; data: string; crc: number }[] = load('crc32c.json').vectors;
export const cobsVectors: { name: string; data: string; encoded: string }[] = load('cobs.json').vectors;
const frames = load('frames.json');
export const validFrames: ({ name: string; frame: string } & JsonFrame)[] = frames.valid;
export const invalidFrames: { name: string; maxFrame: number; bytes: string; rejects: string[]; validAfter: number }[] = frames.invalid;

export interface DeviceVectors {
  device: { inFormat: string; outFormat: string; inChannels: number; outChannels: number; credits: number; maxBatch: number; maxFrame: number; capabilities: number };
  cases: { name: string; requests: string; replies: { seq: number; flags: number; message: Record<string, unknown> & { kind: string } }[] }[];
}
export const deviceVectors: DeviceVectors = load('device.json');

export type HostVectorFrame = { seq: number | 'request'; flags: number; message: Record<string, unknown> & { kind: string } };
export interface HostVectors {
  info: Record<string, unknown>;
  cases: { name: string; steps: { call: 'resetState' | 'process'; device: HostVectorFrame[]; expect: 'ok' | { break: string } }[] }[];
}
export const hostVectors: HostVectors = load('host.json');
