import type { LinkHandlers } from './link.js';

/**
 * The receiving half every Link shares: bytes that arrive before setHandlers are kept, not
 * lost, and the close is reported exactly once, even to handlers set after it.
 */
export abstract class LinkEndpoint {
  private handlers: LinkHandlers | null = null;
  private early: Uint8Array[] = [];
  private closeReported = false;
  private open = true;
  /** Why the link closed; undefined for a clean local close. */
  protected closeError: Error | undefined;

  get isOpen(): boolean {
    return this.open;
  }

  setHandlers(handlers: LinkHandlers): void {
    this.handlers = handlers;
    const early = this.early;
    this.early = [];
    for (const chunk of early) handlers.data(chunk);
    if (!this.open) this.reportClose();
  }

  /** Hands arriving bytes to the handler, or keeps them until there is one. Dropped once closed. */
  protected deliver(chunk: Uint8Array): void {
    if (!this.open) return;
    if (this.handlers) this.handlers.data(chunk);
    else this.early.push(chunk);
  }

  /**
   * Marks the link closed and reports it; `beforeReport` runs in between (e.g. to fail pending
   * writes). Returns false, doing nothing, when the link was already closed.
   */
  protected markClosed(err: Error | undefined, beforeReport?: () => void): boolean {
    if (!this.open) return false;
    this.open = false;
    this.closeError = err;
    beforeReport?.();
    if (this.handlers) this.reportClose();
    return true;
  }

  private reportClose(): void {
    if (this.closeReported) return;
    this.closeReported = true;
    this.handlers?.close(this.closeError);
  }
}
