import type { Info, SampleFormat } from '../protocol/index.js';

/** Who produced a result: the INFO fields that identify a device and fix the shape of its data. */
export interface DeviceIdentity {
  vendor: string;
  model: string;
  serial: string;
  firmware: string;
  inChannels: number;
  outChannels: number;
  inFormat: SampleFormat;
  outFormat: SampleFormat;
  inMin: number;
  inMax: number;
  outMin: number;
  outMax: number;
  samplePeriodNs: number;
}

/** The identity part of a device's INFO, for run metadata and calibration records. */
export function deviceIdentity(i: Info): DeviceIdentity {
  return {
    vendor: i.vendor, model: i.model, serial: i.serial, firmware: i.firmware, inChannels: i.inChannels, outChannels: i.outChannels,
    inFormat: i.inFormat, outFormat: i.outFormat, inMin: i.inMin, inMax: i.inMax, outMin: i.outMin, outMax: i.outMax,
    samplePeriodNs: i.samplePeriodNs,
  };
}
