/**
 * A device that follows a script, for testing how the host copes with a misbehaving board:
 * by default it answers like a correct device (outputs = inputs scaled onto outChannels), and
 * each test overrides the one reply it wants to break.
 */
import { type Frame, type Info, type Message, FLAG_RESPONSE, FrameDecoder, FrameEncoder, MESSAGE_TYPE } from '../../src/protocol/index.js';
import { createMemoryPair } from '../../src/transport/memory.js';
import type { Link } from '../../src/transport/link.js';

export const DEFAULT_INFO: Info = {
  kind: 'info', protocolVersion: 1, inFormat: 'u16', outFormat: 'u16', credits: 2, inChannels: 1, outChannels: 2,
  maxBatch: 64, maxFrame: 4096, samplePeriodNs: 1000, capabilities: 0, inMin: 0, inMax: 4095, outMin: 0, outMax: 4095,
  vendor: 'test', model: 'scripted', serial: '1', firmware: '0',
};

/** What the device does with one request: return replies to send (in order), or [] to stay silent. */
export type Responder = (frame: Frame, dev: ScriptedDevice) => Message[] | null;

export class ScriptedDevice {
  readonly host: Link;
  readonly received: Frame[] = [];
  epoch = 5;
  clockUs = 1000;
  inFlightMax = 0;
  private inFlight = 0;
  private readonly enc = new FrameEncoder();
  private readonly dec = new FrameDecoder({ role: 'device' });
  private held: Frame[] = [];

  constructor(readonly link: Link, public info: Info = DEFAULT_INFO, public responder: Responder | null = null, host?: Link) {
    this.host = host!;
    link.setHandlers({ data: (c) => this.dec.push(c, (ev) => ev.ok && this.onFrame(ev.frame)), close: () => {} });
  }

  static pair(info: Partial<Info> = {}, responder: Responder | null = null): ScriptedDevice {
    const [host, dev] = createMemoryPair({ maxChunk: 64 });
    return new ScriptedDevice(dev, { ...DEFAULT_INFO, ...info }, responder, host);
  }

  send(message: Message, seq = 0, flags = FLAG_RESPONSE): void {
    void this.link.write(this.enc.encode({ seq, flags, message }));
  }

  sendRaw(bytes: Uint8Array): void {
    void this.link.write(bytes);
  }

  /** The correct reply to `frame`. */
  reply(frame: Frame): Message | null {
    const m = frame.message;
    switch (m.kind) {
      case 'hello': return this.info;
      case 'resetState': this.epoch++; return { kind: 'ack', ackedType: MESSAGE_TYPE.resetState, epoch: this.epoch };
      case 'getStatus': return { kind: 'status', framesOk: this.received.length, crcErrors: 0, framingErrors: 0, rejected: 0, droppedBatches: 0, epoch: this.epoch, bootCount: 1, uptimeUs: this.clockUs, temperatureC: null };
      case 'ping': return { kind: 'pong', data: m.data };
      case 'configure': return { kind: 'ack', ackedType: MESSAGE_TYPE.configure, epoch: this.epoch };
      case 'process': {
        const out = new Uint16Array(m.count * this.info.outChannels);
        for (let i = 0; i < m.count; i++) for (let c = 0; c < this.info.outChannels; c++) out[i * this.info.outChannels + c] = Math.min(4095, (m.samples[i * m.channels] as number) + c);
        const ts = this.clockUs;
        this.clockUs += m.count;
        return { kind: 'result', batchId: m.batchId, epoch: this.epoch, timestampUs: ts, status: 0, count: m.count, channels: this.info.outChannels, format: 'u16', samples: out };
      }
      default: return null;
    }
  }

  /** Hold PROCESS frames instead of answering, to release later in any order. */
  holdProcess = false;

  release(order: number[]): void {
    const held = this.held;
    this.held = [];
    for (const i of order) this.answer(held[i]);
  }

  get heldCount(): number { return this.held.length; }

  private onFrame(frame: Frame): void {
    this.received.push(frame);
    if (frame.message.kind === 'process') {
      this.inFlight++;
      this.inFlightMax = Math.max(this.inFlightMax, this.inFlight);
      if (this.holdProcess) { this.held.push(frame); return; }
    }
    this.answer(frame);
  }

  private answer(frame: Frame): void {
    if (frame.message.kind === 'process') this.inFlight--;
    const custom = this.responder?.(frame, this);
    const replies = custom ?? [this.reply(frame)].filter((m): m is Message => m !== null);
    for (const m of replies) this.send(m, frame.seq);
  }
}
