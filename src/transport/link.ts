/**
 * The one narrow interface every byte transport implements (serial port, TCP socket, in-memory
 * pair). Everything above it is plain stream code and never knows which one it talks to.
 */

export interface LinkHandlers {
  /** Bytes as they arrive, in any chunking. Called synchronously from the transport's event loop turn. */
  data(chunk: Uint8Array): void;
  /** The link closed: `err` when it failed (unplugged, reset by peer), undefined on a clean close(). Called once. */
  close(err?: Error): void;
}

/** An open, bidirectional byte stream to one device. */
export interface Link {
  /** Human-readable identity for messages and run metadata, e.g. `serial:/dev/ttyACM0`, `tcp://127.0.0.1:7000`, `memory:a`. */
  readonly name: string;
  /** False once closed (by either side). */
  readonly isOpen: boolean;
  /**
   * Queues bytes for sending; resolves once the transport has accepted them (drained to the OS
   * for serial and TCP). Rejects with a clear Error if the link is closed.
   */
  write(bytes: Uint8Array): Promise<void>;
  /** Sets the receivers of incoming bytes and of the close event (replaces earlier ones). Bytes that arrive before this is called are buffered, not lost. */
  setHandlers(handlers: LinkHandlers): void;
  /** Closes the link and releases the port or socket; idempotent. Resolves when released. */
  close(): Promise<void>;
}
