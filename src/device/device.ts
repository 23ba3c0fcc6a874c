/**
 * The narrow surface every consumer of a device takes (trainers, `rhil run`, calibration, the
 * benchmark, the probe, the recorder): a DeviceClient over any link, or a ReconnectingDevice that
 * keeps one alive across an unplug. Segments are measured through it by segment.ts only.
 */
import type { Observable } from 'rxjs';
import type { ReservoirModel } from '../core/reservoir.js';
import type { ConfigParam, Info, MessageKind, RejectReason, Samples, Status } from '../protocol/index.js';
import type { BreakReason } from './errors.js';

export type DeviceEvent =
  | { type: 'boot'; bootCount: number; epoch: number; reason: number }
  | { type: 'break'; reason: BreakReason; message: string }
  | { type: 'reject'; reason: RejectReason; seq?: number; why?: string }
  | { type: 'deviceError'; code: number; text: string }
  /**
   * A reply that answers nothing outstanding. `cause`: 'abandoned' (a batch given up after a
   * break, expected), 'duplicate' (its request was answered or given up), 'unmatched' (no such
   * request was sent), 'unsolicited' (RESPONSE flag clear on a reply type); `count` is how many
   * of that cause this session has seen.
   */
  | { type: 'discarded'; seq: number; kind: MessageKind; why: string; cause: DiscardCause; count: number }
  | { type: 'reset'; epoch: number }
  /** A reconnect attempt (ReconnectingDevice): `ok` once the same device answers again. */
  | { type: 'reconnect'; attempt: number; ok: boolean; message: string }
  | { type: 'closed'; error?: Error };

export type DiscardCause = 'abandoned' | 'duplicate' | 'unmatched' | 'unsolicited';

/** One processed batch: the drive that was sent and the response the device measured for it. */
export interface BatchResult {
  batchId: number;
  epoch: number;
  timestampUs: number;
  status: number;
  count: number;
  input: Samples;
  output: Samples;
}

export interface Device {
  /** The device's INFO from the handshake. */
  readonly info: Info;
  /** Largest batch that fits both PROCESS and RESULT into the device's maxFrame. */
  readonly maxBatch: number;
  /**
   * The exact model behind a simulated device, handed over by whoever opened the simulator
   * (openDevice for `sim:<profile>`); undefined on a real board, which has no twin.
   */
  readonly twin?: ReservoirModel;
  /** Decoder rejection counts on the link (bytes from the device). */
  readonly rejects: Readonly<Record<string, number>>;
  /** Boots, breaks, rejections, discarded replies, resets, reconnects, close. Completes on close. */
  readonly events$: Observable<DeviceEvent>;
  /** Every batch accepted, in device order: the tap a recorder subscribes to. Completes on close. */
  readonly results$: Observable<BatchResult>;
  /** One batch (count x inChannels, device units); rejects with StateBreakError when continuity breaks. */
  process(input: Samples | ArrayLike<number>): Promise<BatchResult>;
  /** Returns the reservoir to rest and opens a new segment; resolves with its epoch. */
  resetState(): Promise<number>;
  /** Applies parameters (all or none); resolves with the epoch after it. */
  configure(params: ConfigParam[]): Promise<number>;
  getStatus(): Promise<Status>;
  ping(data?: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** What measuring a segment needs of a device. */
export type SegmentDevice = Pick<Device, 'info' | 'maxBatch' | 'process' | 'resetState'>;
