/** Typed failures of a device session, so callers can tell a timeout from a reset from a bug. */

export type BreakReason = 'boot' | 'epoch' | 'error' | 'timeout' | 'order' | 'clock' | 'closed' | 'unresolved';

export class DeviceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The link closed or failed; nothing more will arrive. */
export class LinkClosedError extends DeviceError {}

/** A control request got no reply in time. */
export class DeviceTimeoutError extends DeviceError {}

/** The device answered with ERROR. `code` is the SPEC.md error code. */
export class DeviceRequestError extends DeviceError {
  constructor(message: string, readonly code: number, readonly detail: number) {
    super(message);
  }
}

/** The device does not meet what the caller needs (channels, formats, version, capabilities). */
export class IncompatibleDeviceError extends DeviceError {}

/** The device sent something that breaks the protocol (a reply that matches no request, a wrong shape). */
export class ProtocolViolationError extends DeviceError {}

/**
 * The reservoir's state continuity broke (SPEC.md section 6): results after this point must not
 * be joined to results before it. The session refuses PROCESS until resetState() is called.
 */
export class StateBreakError extends DeviceError {
  constructor(message: string, readonly reason: BreakReason, readonly batchId?: number) {
    super(message);
  }
}
