/**
 * Device utilisation as the trainers measure it on the host (pat, the chain trainers): the time
 * with at least one measurement outstanding, overlapping measurements counted once, over the wall
 * time from `begin` (the first launch) to the last `mark` (the last step's end).
 *
 * ```ts
 * const clock = new BusyClock();
 * clock.begin(); clock.start(); await measure(…); clock.stop(); step(); clock.mark();
 * result.deviceUtilisation = clock.utilisation();
 * ```
 */
export class BusyClock {
  private outstanding = 0;
  private since = 0;
  private busy = 0;
  private first = NaN;
  private last = NaN;

  /** Starts the wall time, once (later calls keep the first). */
  begin(): void {
    if (Number.isNaN(this.first)) this.first = performance.now();
  }

  /** A measurement is outstanding from now. */
  start(): void {
    if (this.outstanding++ === 0) this.since = performance.now();
  }

  /** A measurement has ended (or failed). */
  stop(): void {
    if (--this.outstanding === 0) this.busy += performance.now() - this.since;
  }

  /** The wall time so far ends now. */
  mark(): void {
    this.last = performance.now();
  }

  /** Busy time over wall time; undefined before a mark after `begin`. */
  utilisation(): number | undefined {
    return this.last > this.first ? this.busy / (this.last - this.first) : undefined;
  }
}
