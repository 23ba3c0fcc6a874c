/**
 * The live view's web server: one page (uPlot and the script inlined, nothing fetched from the
 * network) and `/state`, which answers what a run committed since the client's cursor. Binds to
 * 127.0.0.1 only and answers only requests addressed to it (a page elsewhere cannot read a run
 * through DNS rebinding). The server reads the database on a read-only connection of its own, only
 * when a client asks, so a viewer never holds a lock the recorder waits for.
 *
 * ```ts
 * const live = await LiveServer.listen({ port: 0 });   // bind first: a port in use fails before the run
 * console.log(`live view: ${live.url}`);
 * live.attach('rhil.db', runId);                       // once the run has its id
 * ...                                                  // the run records
 * await live.close();                                  // after the run ended: lets a client see its status, then closes
 * ```
 */
import type Database from 'better-sqlite3';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { openRecordDb } from '../record/open.js';
import { livePage } from './page.js';
import { type LiveCursor, type LiveState, START, readLiveState, readRunStatus } from './queries.js';

export interface LiveServerOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one. Defaults to 0. */
  port?: number;
  /** How often the page asks for news, in ms. Defaults to 1000. */
  pollMs?: number;
  /**
   * After close(), how long to wait at most for a client to fetch the final status, in ms.
   * Defaults to 3000. Without any client polling, the server closes at once.
   */
  lingerMs?: number;
  /** Run while the server watches for the run's end by itself (`rhil watch`): how often to look, in ms. Defaults to pollMs. */
  watchMs?: number;
}

/** Thrown when the port cannot be bound; the message names the port and what to do. */
export class LivePortError extends Error {
  override name = 'LivePortError';
}

const HOST = '127.0.0.1';
const TERMINAL = new Set(['completed', 'interrupted', 'failed']);

export class LiveServer {
  private db: Database.Database | null = null;
  private runId: number | null = null;
  private closing = false;
  private finalDelivered = false;
  private lastPollMs = 0;
  private closed: Promise<void> | null = null;
  private watchTimer: NodeJS.Timeout | null = null;
  private readonly page: string;
  private endedResolve!: () => void;
  /** Requests answered and the time spent answering them on this thread (the recorder's, under --live), in ms. */
  readonly stats = { requests: 0, busyMs: 0 };
  /** Resolves when the server has closed. */
  readonly ended: Promise<void>;

  private constructor(private readonly server: Server, readonly port: number, private readonly opts: Required<LiveServerOptions>) {
    this.page = livePage({ pollMs: opts.pollMs });
    this.ended = new Promise((r) => { this.endedResolve = r; });
    server.on('request', (req, res) => {
      const t0 = performance.now();
      this.handle(req, res);
      this.stats.requests++;
      this.stats.busyMs += performance.now() - t0;
    });
  }

  /** Binds the server. A port in use, or one that may not be bound, is a LivePortError. */
  static async listen(opts: LiveServerOptions = {}): Promise<LiveServer> {
    const o: Required<LiveServerOptions> = {
      port: opts.port ?? 0, pollMs: opts.pollMs ?? 1000, lingerMs: opts.lingerMs ?? 3000, watchMs: opts.watchMs ?? opts.pollMs ?? 1000,
    };
    if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new RangeError(`live port must be an integer in 0..65535, got ${o.port}`);
    if (!(o.pollMs >= 10)) throw new RangeError(`live pollMs must be >= 10, got ${o.pollMs}`);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      const fail = (e: NodeJS.ErrnoException) => {
        server.off('listening', ok);
        reject(new LivePortError(e.code === 'EADDRINUSE'
          ? `port ${o.port} on ${HOST} is in use; pass another port, or 0 for a free one`
          : `cannot listen on ${HOST}:${o.port}: ${e.message}`));
      };
      const ok = () => { server.off('error', fail); resolve(); };
      server.once('error', fail);
      server.once('listening', ok);
      server.listen(o.port, HOST);
    });
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : o.port;
    return new LiveServer(server, port, o);
  }

  get url(): string {
    return `http://${HOST}:${this.port}/`;
  }

  /** Shows run `runId` of the database at `dbPath` (opened read-only). */
  attach(dbPath: string, runId: number): void {
    if (this.db) throw new Error('LiveServer.attach: already attached to a run');
    this.db = openRecordDb(dbPath, { readonly: true, busyTimeoutMs: 1000 });
    this.runId = runId;
  }

  /**
   * Closes by itself once the run is no longer running (as `rhil watch` does); the check reads one
   * row every `watchMs`.
   */
  closeWhenRunEnds(): void {
    if (!this.db || this.runId === null) throw new Error('LiveServer.closeWhenRunEnds: attach a run first');
    const check = () => {
      let status: string | null;
      try {
        status = readRunStatus(this.db!, this.runId!);
      } catch {
        status = null;
      }
      if (status === null || TERMINAL.has(status)) void this.close();
      else this.watchTimer = setTimeout(check, this.opts.watchMs);
    };
    check();
  }

  /**
   * Stops once a client has fetched the run's final state (or no client has polled lately, or
   * `lingerMs` passed): call it after the run has ended, so the page can say how it ended.
   */
  close(): Promise<void> {
    if (this.closed) return this.closed;
    this.closing = true;
    if (this.watchTimer) clearTimeout(this.watchTimer);
    this.closed = (async () => {
      const t0 = Date.now();
      const step = Math.min(50, this.opts.pollMs);
      // A page polls every pollMs, but a busy machine or a background tab stretches that: a second of slack.
      const clientActive = () => this.lastPollMs > 0 && Date.now() - this.lastPollMs < 3 * this.opts.pollMs + 1000;
      while (!this.finalDelivered && clientActive() && Date.now() - t0 < this.opts.lingerMs) {
        await new Promise((r) => setTimeout(r, step));
      }
      await new Promise<void>((resolve) => {
        this.server.close(() => resolve());
        this.server.closeAllConnections();
      });
      try { this.db?.close(); } catch { /* read-only: nothing to save */ }
      this.endedResolve();
    })();
    return this.closed;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const host = req.headers.host ?? '';
    if (host !== `${HOST}:${this.port}` && host !== `localhost:${this.port}`) {
      res.writeHead(421, { 'content-type': 'text/plain' }).end('this server answers only http://127.0.0.1 requests\n');
      return;
    }
    const url = new URL(req.url ?? '/', this.url);
    if (req.method !== 'GET') {
      res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET' }).end('GET only\n');
    } else if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(this.page);
    } else if (url.pathname === '/state') {
      this.lastPollMs = Date.now();
      const body = this.state(url.searchParams);
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  }

  private state(q: URLSearchParams): (LiveState & { closing: boolean; trace: unknown }) | { waiting: true; closing: boolean } | { error: string; closing: boolean } {
    // Read before deciding "final": a close() that lands after the read must not mark this answer final.
    const closing = this.closing;
    if (!this.db || this.runId === null) return { waiting: true, closing };
    const int = (k: string, d: number) => {
      const v = Number(q.get(k));
      return q.has(k) && Number.isSafeInteger(v) ? v : d;
    };
    const cursor: LiveCursor = { metricId: int('m', START.metricId), eventId: int('e', START.eventId), seq: int('s', START.seq) };
    try {
      const s = readLiveState(this.db, this.runId, cursor);
      const final = TERMINAL.has(s.run.status);
      // The test segment's trace exists once training has tested; send it once, when the run has ended.
      const trace = final && q.get('t') !== '1' ? this.trace() : null;
      // The page stops polling once it has a final status (or the server said it is closing) and every point.
      if ((final || closing) && !s.moreMetrics) this.finalDelivered = true;
      return { ...s, closing, trace };
    } catch (e) {
      return { error: (e as Error).message, closing };
    }
  }

  private trace(): unknown {
    const row = this.db!.prepare("SELECT json FROM artifacts WHERE run_id = ? AND name = 'test_trace' AND json IS NOT NULL").get(this.runId) as { json: string } | undefined;
    if (!row) return null;
    const t = JSON.parse(row.json) as { target?: unknown; prediction?: unknown };
    const first = (v: unknown) => (Array.isArray(v) && Array.isArray(v[0]) ? (v[0] as unknown[]).slice(0, 1000) : null);
    return { target: first(t.target), prediction: first(t.prediction) };
  }
}
