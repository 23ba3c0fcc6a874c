/**
 * Device specs as users type them: `sim:<profile>` for the built-in simulator (in process),
 * `tcp://host:port`, `serial:/dev/ttyACM0?baud=N`, or a bare serial path.
 */
import { profiles } from '../sim/profiles.js';
import { openSimLink } from '../sim/serve.js';
import { openLink } from '../transport/open.js';
import type { Link } from '../transport/link.js';
import { type ConnectOptions, DeviceClient } from './client.js';

/** The device used when the user names none. */
export const DEFAULT_DEVICE = 'sim:analog';

export interface OpenDeviceOptions extends ConnectOptions {
  /** Seed of an in-process simulator (ignored for real devices). Defaults to 1. */
  seed?: number;
}

/** Opens the byte link for `spec` (no handshake). */
export async function openDeviceLink(spec: string, opts: OpenDeviceOptions = {}): Promise<Link> {
  if (spec.startsWith('sim:')) {
    const profile = spec.slice(4);
    if (!(profile in profiles)) {
      throw new RangeError(`unknown simulator profile '${profile}' in device '${spec}'; profiles: ${Object.keys(profiles).join(', ')}`);
    }
    return openSimLink(profile, { seed: opts.seed ?? 1 }).link;
  }
  return openLink(spec);
}

/** Opens and handshakes the device named by `spec` (default: the analog simulator). */
export async function openDevice(spec: string = DEFAULT_DEVICE, opts: OpenDeviceOptions = {}): Promise<DeviceClient> {
  return DeviceClient.connect(await openDeviceLink(spec, opts), opts);
}
