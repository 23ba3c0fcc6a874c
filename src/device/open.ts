/**
 * Device specs as users type them: `sim:<profile>` for the built-in simulator (in process),
 * `tcp://host:port`, `serial:/dev/ttyACM0?baud=N`, or a bare serial path: under /dev, COMn, or
 * any absolute path to a character device (such as the link `rhil sim --pty --link` keeps).
 */
import { statSync } from 'node:fs';
import { profiles } from '../sim/profiles.js';
import { openSimLink } from '../sim/serve.js';
import { openLink } from '../transport/open.js';
import type { Link } from '../transport/link.js';
import { type ConnectOptions, DeviceClient } from './client.js';
import { type ReconnectOptions, ReconnectingDevice } from './reconnect.js';

/**
 * The device used when the user names none: the analog delay reservoir driven per virtual node,
 * the built-in simulator on which physics-aware training does best (README, Training).
 */
export const DEFAULT_DEVICE = 'sim:analog-awg';

export interface OpenDeviceOptions extends ConnectOptions {
  /** Seed of an in-process simulator (ignored for real devices). Defaults to 1. */
  seed?: number;
}

/** Opens the byte link for `spec` (no handshake). */
export async function openDeviceLink(spec: string, opts: OpenDeviceOptions = {}): Promise<Link> {
  return spec.startsWith('sim:') ? openSim(spec, opts).link : openLink(bareSerialPath(spec) ?? spec);
}

/**
 * `serial:<spec>` for an absolute path outside /dev that names a character device (symlinks
 * followed), so the path `rhil sim --pty --link` prints is accepted as typed; undefined for every
 * other spec, which the transport parses. A missing path, or one that is no port, is refused by name.
 */
function bareSerialPath(spec: string): string | undefined {
  if (!spec.startsWith('/') || spec.startsWith('/dev/')) return undefined;
  let isPort: boolean;
  try {
    isPort = statSync(spec).isCharacterDevice();
  } catch (e) {
    throw new RangeError(`no device at '${spec}' (${(e as NodeJS.ErrnoException).code ?? 'cannot stat'}): is the board plugged in, or the simulator serving that link?`);
  }
  if (!isPort) throw new RangeError(`device '${spec}' is a file, not a serial port or pseudo-terminal (a character device)`);
  return `serial:${spec}`;
}

function openSim(spec: string, opts: OpenDeviceOptions): ReturnType<typeof openSimLink> {
  const profile = spec.slice(4);
  if (!(profile in profiles)) {
    throw new RangeError(`unknown simulator profile '${profile}' in device '${spec}'; profiles: ${Object.keys(profiles).join(', ')}`);
  }
  return openSimLink(profile, { seed: opts.seed ?? 1 });
}

/** Reply timeout (control requests, and allowance per batch) of an in-process simulator (`sim:<profile>`), unless the caller sets one. */
export const IN_PROCESS_TIMEOUT_MS = 10_000;

/** Opens and handshakes the device named by `spec` (default: the analog simulator); a simulator comes with its model as `twin`. */
export async function openDevice(spec: string = DEFAULT_DEVICE, opts: OpenDeviceOptions = {}): Promise<DeviceClient> {
  if (spec.startsWith('sim:')) {
    const sim = openSim(spec, opts);
    // The simulator answers on this thread: a late reply means the host was busy (a refit, a
    // database write on a loaded machine), never a reply lost on a wire, so it gets more time
    // before being read as a state break.
    return DeviceClient.connect(sim.link, { timeoutMs: IN_PROCESS_TIMEOUT_MS, processTimeoutMs: IN_PROCESS_TIMEOUT_MS, ...opts, twin: sim.model });
  }
  return DeviceClient.connect(await openLink(bareSerialPath(spec) ?? spec), opts);
}

export interface OpenReconnectingOptions extends OpenDeviceOptions {
  /** How to reconnect after an unplug or a hang; `{ attempts: 0 }` detects and stops with a DeviceLostError. Defaults to ReconnectOptions' defaults. */
  reconnect?: ReconnectOptions;
}

/**
 * Opens `spec` as a ReconnectingDevice: every session, the first included, comes from
 * openDevice(spec, opts), so each is checked against `requires` and then against the first
 * session's identity. The device name in messages is `spec` unless `reconnect.name` says otherwise.
 */
export async function openReconnectingDevice(spec: string = DEFAULT_DEVICE, opts: OpenReconnectingOptions = {}): Promise<ReconnectingDevice> {
  const { reconnect, ...open } = opts;
  return ReconnectingDevice.open(() => openDevice(spec, open), { name: spec, ...reconnect });
}
