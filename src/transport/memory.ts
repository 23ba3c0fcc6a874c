import { LinkEndpoint } from './endpoint.js';
import type { Link } from './link.js';

export interface MemoryPairOptions {
  /** Largest chunk a read delivers; writes are split into chunks of 1..maxChunk bytes. Defaults to 4096. */
  maxChunk?: number;
  /** Seed for the chunk sizes, so a test that splits reads is reproducible. Defaults to 1. */
  seed?: number;
  /** Names of the two ends, for messages. Defaults to ['memory:a', 'memory:b']. */
  names?: [string, string];
}

/**
 * Two connected in-memory links, for tests and the in-process simulator. Honest about timing:
 * bytes arrive on a later tick, never inside write(), and split into random chunk sizes, as a
 * serial port delivers them.
 */
export function createMemoryPair(opts: MemoryPairOptions = {}): [Link, Link] {
  const maxChunk = opts.maxChunk ?? 4096;
  if (!Number.isInteger(maxChunk) || maxChunk < 1) throw new RangeError(`maxChunk must be a positive integer, got ${maxChunk}`);
  let s = (opts.seed ?? 1) >>> 0 || 1;
  const chunkSize = () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return 1 + (s % maxChunk);
  };
  const [nameA, nameB] = opts.names ?? ['memory:a', 'memory:b'];
  const a = new MemoryLink(nameA, chunkSize);
  const b = new MemoryLink(nameB, chunkSize);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

class MemoryLink extends LinkEndpoint implements Link {
  peer!: MemoryLink;

  constructor(readonly name: string, private readonly chunkSize: () => number) {
    super();
  }

  write(bytes: Uint8Array): Promise<void> {
    if (!this.isOpen) return Promise.reject(new Error(`${this.name}: write on a closed link`));
    const copy = Uint8Array.from(bytes);
    const peer = this.peer;
    setImmediate(() => {
      for (let at = 0; at < copy.length;) {
        const n = Math.min(this.chunkSize(), copy.length - at);
        peer.deliver(copy.subarray(at, at + n));
        at += n;
      }
    });
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.markClosed(undefined);
    if (this.peer.isOpen) setImmediate(() => this.peer.markClosed(new Error(`${this.peer.name}: peer ${this.name} closed the link`)));
    return Promise.resolve();
  }
}
