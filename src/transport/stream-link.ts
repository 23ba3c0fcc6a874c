import type { Readable, Writable } from 'node:stream';
import { LinkEndpoint } from './endpoint.js';
import type { Link } from './link.js';

/**
 * Releases the OS resource behind a stream link. `graceful` is true for a local close()
 * (flush what was written, then let go) and false after the peer closed or the stream failed.
 * Resolves once the socket, port or child process is gone.
 */
export type Release = (graceful: boolean) => Promise<void>;

interface PendingWrite {
  written: boolean;
  drained: boolean;
  resolve(): void;
  reject(err: Error): void;
}

/**
 * The glue every OS-backed transport shares: a Link over a readable and a writable Node stream
 * (the two sides of one socket or serial port, or a child's stdout and stdin). Buffers bytes
 * that arrive before setHandlers, turns a peer close or stream error into one close(err), and
 * makes write() honour backpressure.
 */
export class StreamLink extends LinkEndpoint implements Link {
  private released: Promise<void> | null = null;
  /** Writes not yet resolved: waiting for their callback, or for 'drain' after write() said false. */
  private readonly pending = new Set<PendingWrite>();

  constructor(
    readonly name: string,
    readable: Readable,
    private readonly writable: Writable,
    private readonly release: Release,
  ) {
    super();
    readable.on('data', (chunk: Buffer) => this.deliver(chunk));
    const peerClosed = () => this.fail(new Error(`${name}: peer closed the link`));
    readable.on('end', peerClosed);
    readable.on('close', peerClosed);
    readable.on('error', (err: Error) => this.fail(new Error(`${name}: ${err.message}`, { cause: err })));
    // One listener for all writes (not one per write, which trips MaxListeners under load).
    writable.on('drain', () => {
      for (const w of this.pending) {
        w.drained = true;
        if (w.written) this.settle(w);
      }
    });
    if (writable !== (readable as unknown)) {
      writable.on('close', peerClosed);
      writable.on('error', (err: Error) => this.fail(new Error(`${name}: ${err.message}`, { cause: err })));
    }
  }

  write(bytes: Uint8Array): Promise<void> {
    if (!this.isOpen) return Promise.reject(this.closedError());
    // Copy: the caller may reuse its buffer as soon as write() returns, and the stream may hold
    // the chunk until the OS takes it.
    const chunk = Buffer.from(bytes);
    return new Promise<void>((resolve, reject) => {
      const w: PendingWrite = { written: false, drained: true, resolve, reject };
      this.pending.add(w);
      // Over the high-water mark: the stream took the chunk but asks us to wait for 'drain'.
      w.drained = this.writable.write(chunk, (err) => {
        w.written = true;
        if (err) this.settle(w, new Error(`${this.name}: write failed: ${err.message}`, { cause: err }));
        else if (w.drained) this.settle(w);
      });
    });
  }

  close(): Promise<void> {
    this.shut(undefined);
    this.released ??= this.release(true);
    return this.released;
  }

  /** The peer went away or the stream failed: report it once and let the resource go. */
  private fail(err: Error): void {
    if (!this.isOpen) return;
    this.shut(err);
    this.released ??= this.release(false);
    // Nobody awaits this promise; its failure is already reported through close(err).
    this.released.catch(() => {});
  }

  private shut(err: Error | undefined): void {
    this.markClosed(err, () => {
      for (const w of this.pending) this.settle(w, this.closedError());
    });
  }

  private settle(w: PendingWrite, err?: Error): void {
    if (!this.pending.delete(w)) return;
    if (err) w.reject(err);
    else w.resolve();
  }

  private closedError(): Error {
    return new Error(`${this.name}: write on a closed link${this.closeError ? ` (${this.closeError.message})` : ''}`);
  }
}
