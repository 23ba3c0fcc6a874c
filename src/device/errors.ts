/** Typed failures of a device session, so callers can tell a timeout from a reset from a bug. */

/** Why continuity broke; 'reconnect' when the session itself was lost (unplug, hang) and is being replaced. */
export type BreakReason = 'boot' | 'epoch' | 'error' | 'timeout' | 'order' | 'clock' | 'closed' | 'unresolved' | 'reconnect';

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

/** How a device session was lost: the link closed under us, or the device stopped answering. */
export type LossKind = 'unplug' | 'hang';

/**
 * The device session was lost (`kind`) and could not be replaced: reconnecting is off, or every
 * attempt failed (`attempts` made). The message names the fault and the last attempt's error.
 */
export class DeviceLostError extends DeviceError {
  constructor(message: string, readonly kind: LossKind, readonly attempts: number) {
    super(message);
  }
}

/**
 * After a reconnect a different device answered (vendor, model, serial, firmware, shape or batch
 * size differ): results from it must never be joined to the run, so the session stops.
 */
export class DeviceChangedError extends IncompatibleDeviceError {}
