import * as net from 'node:net';
import type { Link } from './link.js';
import { StreamLink } from './stream-link.js';

export interface TcpOptions {
  /** Give up connecting after this many milliseconds. Defaults to 5000. */
  connectTimeoutMs?: number;
}

export interface TcpServer {
  /** The port actually listened on (the free one picked when 0 was asked for). */
  readonly port: number;
  /** Stops accepting, closes every link it handed out that is still open; resolves when all are released. */
  close(): Promise<void>;
}

/** How long a local close() waits for written bytes to reach the peer before it cuts the socket. */
const FLUSH_MS = 1000;

/**
 * Connects to a board behind an Ethernet bridge (or the simulator's listenTcp) and returns a Link
 * over the socket, with Nagle off so small command frames leave at once.
 *
 * @example
 * const link = await openTcp('192.168.1.50', 7000);
 * link.setHandlers({ data: (b) => console.log(b), close: (e) => console.log('closed', e) });
 * await link.write(Uint8Array.of(0));
 */
export function openTcp(host: string, port: number, opts: TcpOptions = {}): Promise<Link> {
  const timeoutMs = opts.connectTimeoutMs ?? 5000;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new RangeError(`connectTimeoutMs must be a positive number of milliseconds, got ${timeoutMs}`);
  if (!(Number.isInteger(port) && port >= 1 && port <= 65535)) throw new RangeError(`port must be an integer 1..65535, got ${port}`);
  const name = `tcp://${formatHost(host)}:${port}`;
  return new Promise<Link>((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${name}: no connection after ${timeoutMs} ms`));
    }, timeoutMs);
    const onError = (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      const why = err.code === 'ECONNREFUSED' ? 'connection refused' : err.message;
      reject(new Error(`${name}: cannot connect: ${why}${err.code ? ` (${err.code})` : ''}`, { cause: err }));
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socketLink(name, socket));
    });
  });
}

/**
 * Serves links on host:port: each accepted connection becomes a Link handed to `onLink`
 * (the simulator uses this to stand in for a board behind an Ethernet bridge). Port 0 picks a
 * free port, reported in the result.
 */
export function listenTcp(host: string, port: number, onLink: (link: Link) => void): Promise<TcpServer> {
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) throw new RangeError(`port must be an integer 0..65535, got ${port}`);
  const links = new Set<Link>();
  const server = net.createServer((socket) => {
    const link = socketLink(`tcp://${formatHost(socket.remoteAddress ?? '?')}:${socket.remotePort ?? 0}`, socket);
    links.add(link);
    socket.once('close', () => links.delete(link));
    onLink(link);
  });
  return new Promise<TcpServer>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`tcp://${formatHost(host)}:${port}: cannot listen: ${err.message}`, { cause: err })));
    server.listen(port, host, () => {
      const address = server.address() as net.AddressInfo;
      let closing: Promise<void> | null = null;
      resolve({
        port: address.port,
        close() {
          closing ??= Promise.all([
            new Promise<void>((done) => server.close(() => done())),
            ...[...links].map((l) => l.close()),
          ]).then(() => undefined);
          return closing;
        },
      });
    });
  });
}

function socketLink(name: string, socket: net.Socket): Link {
  socket.setNoDelay(true);
  return new StreamLink(name, socket, socket, (graceful) => new Promise<void>((resolve) => {
    if (socket.closed) return resolve();
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    // Graceful: send what is queued and a FIN, then let go; cut it if the peer will not read.
    const timer = graceful ? setTimeout(() => socket.destroy(), FLUSH_MS) : undefined;
    if (graceful) socket.end(() => socket.destroy());
    else socket.destroy();
  }));
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
