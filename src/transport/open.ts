import type { Link } from './link.js';
import { openSerial, type SerialOptions } from './serial.js';
import { openTcp, type TcpOptions } from './tcp.js';

/** A parsed link spec: where to connect, before anything is opened. */
export type LinkSpec =
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'serial'; path: string; baudRate?: number };

export type OpenLinkOptions = TcpOptions & SerialOptions;

const FORMS = 'tcp://host:port, serial:/dev/ttyX[?baud=N] (or any absolute path after serial:, such as a pty link), serial:COMn[?baud=N], a bare /dev/... path or COMn';

/**
 * Parses a link spec as the CLI's --device takes it. Accepted forms:
 * - `tcp://host:port` (IPv6 as `tcp://[::1]:7000`)
 * - `serial:/dev/ttyACM0?baud=921600` or `serial:COM3?baud=115200` (`baud` optional); after
 *   `serial:` any absolute path is taken, such as the fixed link of `rhil sim --pty --link`
 * - a bare `/dev/...` path or `COMn`
 *
 * `sim:<profile>` is not a transport: the caller (cli/device layer) must handle it before
 * calling this, and it is rejected here like any other unknown form.
 */
export function parseLinkSpec(spec: string): LinkSpec {
  const bad = (why: string) => new RangeError(`unrecognised link "${spec}": ${why}; accepted forms: ${FORMS} (sim:<profile> is handled by the caller)`);
  if (spec.startsWith('tcp://')) {
    const m = /^tcp:\/\/(\[[^\]]+\]|[^:/?#\[\]]+):(\d+)\/?$/.exec(spec);
    if (!m) throw bad('expected tcp://host:port');
    const port = Number(m[2]);
    if (port < 1 || port > 65535) throw bad(`port ${m[2]} is out of range 1..65535`);
    return { kind: 'tcp', host: m[1].replace(/^\[(.*)\]$/, '$1'), port };
  }
  if (spec.startsWith('serial:')) {
    const rest = spec.slice('serial:'.length);
    const q = rest.indexOf('?');
    const path = q < 0 ? rest : rest.slice(0, q);
    // The explicit prefix says it is a port, so a link outside /dev (a simulator's fixed pty link) is taken too.
    if (!isDevicePath(path) && !/^\/\S+$/.test(path)) throw bad(`"${path}" is not an absolute path or COMn`);
    if (q < 0) return { kind: 'serial', path };
    const params = new URLSearchParams(rest.slice(q + 1));
    let baudRate: number | undefined;
    for (const [key, value] of params) {
      if (key !== 'baud') throw bad(`unknown parameter "${key}" (only baud=N)`);
      if (!/^\d+$/.test(value) || Number(value) < 1) throw bad(`baud must be a positive integer, got "${value}"`);
      baudRate = Number(value);
    }
    return baudRate === undefined ? { kind: 'serial', path } : { kind: 'serial', path, baudRate };
  }
  if (isDevicePath(spec)) return { kind: 'serial', path: spec };
  throw bad('unknown form');
}

/**
 * Opens the link a spec names (see parseLinkSpec). A `baud` in the spec wins over opts.baudRate.
 * The caller handles `sim:<profile>` itself before calling this. Every failure (bad spec, bad
 * option, refused connection) is a rejection.
 */
export async function openLink(spec: string, opts: OpenLinkOptions = {}): Promise<Link> {
  const parsed = parseLinkSpec(spec);
  if (parsed.kind === 'tcp') return openTcp(parsed.host, parsed.port, { connectTimeoutMs: opts.connectTimeoutMs });
  return openSerial(parsed.path, { baudRate: parsed.baudRate ?? opts.baudRate, lowLatency: opts.lowLatency });
}

function isDevicePath(path: string): boolean {
  return /^\/dev\/\S+$/.test(path) || /^COM\d+$/i.test(path);
}
