/**
 * Progress of long work (training episodes, calibration samples) on standard error. On a terminal:
 * one line redrawn in place with a bar, done/total, rate and ETA. Elsewhere (CI logs, pipes), where
 * a redrawn line would become thousands of lines: a plain line at most every `plainEveryMs` and at
 * every tenth of the way, so a log shows the work is alive without drowning what matters.
 */

/** Where progress goes: standard error, or a fake in tests. */
export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /**
   * Units of work in all (> 0). Defaults to unknown: the caller then passes the fraction done to
   * update(), and the line shows the units done without a total.
   */
  total?: number;
  /** Plural name of a unit: 'episodes', 'samples', 'batches'. */
  unit: string;
  /** What is being done, first on the line. Defaults to none. */
  label?: string;
  /** Units already done when this reporter starts (a resumed run); they do not count toward the rate. Defaults to 0. */
  start?: number;
  /** Defaults to process.stderr. */
  stream?: ProgressStream;
  /** Redraw one line in place. Defaults to stream.isTTY. */
  tty?: boolean;
  /** Milliseconds clock. Defaults to performance.now. */
  now?: () => number;
  /** Least interval between plain lines, in ms (tenths of the way are always printed). Defaults to 5000. */
  plainEveryMs?: number;
  /** Least interval between redraws on a terminal, in ms. Defaults to 100. */
  redrawEveryMs?: number;
  /**
   * Plain lines at every tenth of the way too (not only every `plainEveryMs`). Defaults to true;
   * commands whose short runs should print nothing but their result turn it off.
   */
  plainTenths?: boolean;
}

const BAR = 24;

/** 42 s -> "0:42", 3725 s -> "1:02:05"; "?" when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** Three significant digits at most, no exponent: 0.0123, 1.85, 42.5, 1234. */
export function formatRate(perSecond: number, unit: string): string {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return `- ${unit}/s`;
  const digits = perSecond >= 100 ? 0 : perSecond >= 10 ? 1 : perSecond >= 1 ? 2 : Math.min(6, 2 - Math.floor(Math.log10(perSecond)));
  return `${perSecond.toFixed(digits)} ${unit}/s`;
}

export class Progress {
  private readonly total: number | undefined;
  private readonly unit: string;
  private label: string;
  private readonly start: number;
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly now: () => number;
  private readonly plainEveryMs: number;
  private readonly redrawEveryMs: number;
  private readonly plainTenths: boolean;
  private readonly t0: number;
  private done: number;
  private given: number | undefined;
  private note = '';
  private lastDraw: number;
  private lastTenth: number;
  private drawn = false;
  private finished = false;

  constructor(opts: ProgressOptions) {
    if (opts.total !== undefined && !(opts.total > 0 && Number.isFinite(opts.total))) throw new RangeError(`progress total must be a positive number, got ${opts.total}`);
    this.total = opts.total;
    this.unit = opts.unit;
    this.label = opts.label ?? '';
    this.start = opts.start ?? 0;
    this.done = this.start;
    this.stream = opts.stream ?? process.stderr;
    this.tty = opts.tty ?? Boolean(this.stream.isTTY);
    this.now = opts.now ?? (() => performance.now());
    this.plainEveryMs = opts.plainEveryMs ?? 5000;
    this.redrawEveryMs = opts.redrawEveryMs ?? 100;
    this.plainTenths = opts.plainTenths ?? true;
    this.t0 = this.now();
    // The first plain line waits like any other: a short job prints only its tenths.
    this.lastDraw = this.t0;
    this.lastTenth = this.tenth();
  }

  /** Share done, in [0, 1]: the caller's fraction when it gives one, else done / total. */
  fraction(): number {
    const f = this.given ?? (this.total ? this.done / this.total : 0);
    return Math.max(0, Math.min(1, f));
  }

  /** Units per second since this reporter started; NaN before any unit was done. */
  rate(): number {
    const s = (this.now() - this.t0) / 1000;
    const n = this.done - this.start;
    return n > 0 && s > 0 ? n / s : NaN;
  }

  /** Seconds left at the current rate (of units, or of the caller's fraction); NaN when unknown. */
  eta(): number {
    if (this.given === undefined && this.total !== undefined) {
      const r = this.rate();
      return Number.isFinite(r) ? (this.total - this.done) / r : NaN;
    }
    const f = this.fraction(), s = (this.now() - this.t0) / 1000;
    return f > 0 && s > 0 ? (s * (1 - f)) / f : NaN;
  }

  /** The line as it would be drawn now (without terminal control characters). */
  line(): string {
    const f = this.fraction();
    const pct = Math.floor(100 * f);
    const head = this.label ? `${this.label} ` : '';
    const count = this.total === undefined ? `${this.done} ${this.unit}` : `${this.done}/${this.total} ${this.unit}`;
    const rate = formatRate(this.rate(), this.unit);
    const eta = f >= 1 ? `took ${formatDuration((this.now() - this.t0) / 1000)}` : `ETA ${formatDuration(this.eta())}`;
    const note = this.note ? `  ${this.note}` : '';
    if (!this.tty) return `${head.trimEnd()}${head ? ': ' : ''}${count} (${pct}%), ${rate}, ${eta}${note.replace(/^ {2}/, ', ')}`;
    const fill = Math.min(BAR, Math.floor(BAR * f));
    return `${head}[${'#'.repeat(fill)}${'-'.repeat(BAR - fill)}] ${count} ${String(pct).padStart(3)}%  ${rate}  ${eta}${note}`;
  }

  /**
   * `done` units finished so far (cumulative); `note` is shown after the ETA until the next update;
   * `fraction` (in [0, 1]) is the share done when the total is not known in units.
   */
  update(done: number, note?: string, fraction?: number): void {
    if (this.finished) return;
    this.done = Math.max(0, this.total === undefined ? done : Math.min(this.total, done));
    if (fraction !== undefined) this.given = fraction;
    if (note !== undefined) this.note = note;
    const t = this.now();
    if (this.tty) {
      if (t - this.lastDraw >= this.redrawEveryMs || this.fraction() >= 1) this.draw(t);
      return;
    }
    const tenth = this.tenth();
    if ((this.plainTenths && tenth > this.lastTenth) || t - this.lastDraw >= this.plainEveryMs) {
      this.lastTenth = tenth;
      this.lastDraw = t;
      this.stream.write(`${this.line()}\n`);
    }
  }

  /** Changes the label (a new calibration step, say) and redraws. */
  relabel(label: string): void {
    this.label = label;
    if (this.tty && this.drawn && !this.finished) this.draw(this.now());
  }

  /**
   * Prints `text` (a whole line) above the bar through `write` (standard output, say), so
   * interleaved lines never land in the middle of a redrawn one.
   */
  log(text: string, write: (s: string) => unknown = (s) => process.stdout.write(s)): void {
    if (this.tty && this.drawn && !this.finished) {
      this.stream.write('\r\x1b[K');
      write(`${text}\n`);
      this.draw(this.now());
    } else {
      write(`${text}\n`);
    }
  }

  /** Draws the last state and ends the line (terminal), or prints the last line (plain) unless the 100% line was printed already. */
  finish(note?: string): void {
    if (this.finished) return;
    if (note !== undefined) this.note = note;
    if (this.tty) {
      this.draw(this.now());
      this.stream.write('\n');
    } else if (this.plainTenths ? this.lastTenth < 10 : this.lastDraw > this.t0) {
      // Without tenths, a job short enough to print no periodic line prints no last one either.
      this.stream.write(`${this.line()}\n`);
    }
    this.finished = true;
  }

  /** Erases the bar (terminal) without a final line: for an error message that should stand alone. */
  clear(): void {
    if (this.tty && this.drawn && !this.finished) this.stream.write('\r\x1b[K');
    this.finished = true;
  }

  private tenth(): number {
    return Math.floor(10 * this.fraction());
  }

  private draw(t: number): void {
    let s = this.line();
    const cols = this.stream.columns;
    if (cols && s.length > cols - 1) s = s.slice(0, cols - 1);
    this.stream.write(`\r${s}\x1b[K`);
    this.lastDraw = t;
    this.drawn = true;
  }
}
