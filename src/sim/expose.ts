/**
 * A simulated device made reachable like real hardware: on a pseudo-terminal that programs open
 * as a serial port, or on a TCP port (a board behind an Ethernet bridge). One device persists
 * across host connections, as a board stays powered while the host reopens its port.
 */
import { createPty } from '../transport/pty.js';
import { listenTcp } from '../transport/tcp.js';
import { type SimLinkOptions, type SimServed, createSim } from './serve.js';

export interface ExposedSim extends SimServed {
  /** Where the host connects: a pty path, or tcp://host:port. */
  readonly address: string;
  close(): Promise<void>;
}

/**
 * Serves a simulated `profile` on a new pty (needs socat); with `link`, also at that fixed path
 * (the address then), so a restarted simulator comes back where the host looks for it.
 */
export async function serveSimOnPty(profile: string, opts: SimLinkOptions & { link?: string } = {}): Promise<ExposedSim> {
  const { link, ...simOpts } = opts;
  const served = createSim(profile, simOpts);
  const pty = await createPty(link === undefined ? {} : { link });
  served.device.attach(pty.link);
  return { ...served, address: pty.path, close: () => pty.close() };
}

/**
 * Serves a simulated `profile` on host:port (port 0 picks one). A new connection takes the device
 * over from the previous one, which is closed: the board reboots (BOOT) for its new host.
 */
export async function serveSimOnTcp(host: string, port: number, profile: string, opts: SimLinkOptions = {}): Promise<ExposedSim> {
  const served = createSim(profile, opts);
  let takeover = Promise.resolve();
  const server = await listenTcp(host, port, (link) => {
    takeover = takeover.then(async () => {
      if (served.device.attached) await served.device.detach();
      if (link.isOpen) served.device.attach(link);
    });
  });
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    ...served,
    address: `tcp://${shownHost}:${server.port}`,
    close: async () => {
      await takeover;
      if (served.device.attached) await served.device.detach();
      await server.close();
    },
  };
}
