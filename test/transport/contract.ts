import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Link } from '../../src/transport/link.js';

/** Two connected links under test, and what releases everything behind them (sockets, socat). */
export interface Pair {
  a: Link;
  b: Link;
  cleanup(): Promise<void>;
}

/**
 * What closing one end tells the other. A socket or an in-process pair always tells; a UART wire
 * never does, and a pty only does when the side holding the master goes away (socat keeps its
 * own slave fd open, so the master never sees the slave close).
 */
export interface CloseSignals {
  /** a.close() gives b's close handler an Error. Defaults to true. */
  aToB?: boolean;
  /** b.close() gives a's close handler an Error. Defaults to true. */
  bToA?: boolean;
}

const MiB = 1 << 20;
/** Bytes a loopback test lets run ahead of what has come back. */
const LOOPBACK_WINDOW = 2048;
/** Upper bound on any single wait; far above what a loaded CI box needs, so a hang fails instead of stalling the run. */
const WAIT_MS = 5000;

/**
 * Registers the transport contract for one implementation as a uvu suite and runs it. Every test
 * builds a fresh pair and checks afterwards that cleanup left no handle behind.
 */
export function linkContract(name: string, makePair: () => Promise<Pair>, signals: CloseSignals = {}): void {
  const t = suite(`link contract: ${name}`);
  const aToB = signals.aToB ?? true;
  const bToA = signals.bToA ?? true;

  t('bytes arrive intact and in order both ways, 1 B to 1 MiB', () => withPair(makePair, async ({ a, b }) => {
    const ra = collect(a);
    const rb = collect(b);
    const sizes = [1, 2, 255, 4095, 65_537, MiB];
    const toB = sizes.map((n, i) => pattern(n, 1 + i));
    const toA = sizes.map((n, i) => pattern(n, 100 + i));
    // Both directions at once, each in order; write() resolving means the transport took it.
    await Promise.all([
      (async () => { for (const x of toB) await within(a.write(x), `a.write(${x.length})`); })(),
      (async () => { for (const x of toA) await within(b.write(x), `b.write(${x.length})`); })(),
    ]);
    sameBytes(await rb.until(total(toB), 'a -> b'), Buffer.concat(toB), 'a -> b');
    sameBytes(await ra.until(total(toA), 'b -> a'), Buffer.concat(toA), 'b -> a');
  }));

  t('many small writes, interleaved both ways and not awaited one by one, keep their order', () => withPair(makePair, async ({ a, b }) => {
    const ra = collect(a);
    const rb = collect(b);
    const toB: Buffer[] = [];
    const toA: Buffer[] = [];
    const writes: Promise<void>[] = [];
    let s = 7;
    for (let i = 0; i < 2000; i++) {
      s = (s * 1103515245 + 12345) >>> 0;
      const n = 1 + ((s >>> 16) % 48);
      const x = pattern(n, i + 1);
      if (i % 2 === 0) { toB.push(x); writes.push(a.write(x)); }
      else { toA.push(x); writes.push(b.write(x)); }
    }
    await within(Promise.all(writes), 'all writes resolved');
    sameBytes(await rb.until(total(toB), 'a -> b'), Buffer.concat(toB), 'a -> b');
    sameBytes(await ra.until(total(toA), 'b -> a'), Buffer.concat(toA), 'b -> a');
  }));

  t('bytes written before the peer sets its handlers are buffered, not lost', () => withPair(makePair, async ({ a, b }) => {
    const x = pattern(3000, 11);
    const y = pattern(1000, 12);
    await within(a.write(x), 'a.write');
    await within(b.write(y), 'b.write');
    // Give the bytes time to reach the far transport before anyone listens. The assertion holds
    // whatever the timing; the pause only makes sure the early-buffer path is the one exercised.
    await sleep(50);
    const rb = collect(b);
    const ra = collect(a);
    sameBytes(await rb.until(x.length, 'a -> b'), x, 'a -> b');
    sameBytes(await ra.until(y.length, 'b -> a'), y, 'b -> a');
  }));

  t(`a.close(): a reports a clean close, b ${aToB ? 'reports an Error' : 'cannot tell and stays usable'}`, () => withPair(makePair, async ({ a, b }) => {
    const ra = collect(a);
    const rb = collect(b);
    await a.close();
    assert.is(a.isOpen, false);
    assert.is(await ra.closed('a'), undefined, 'a local close() is clean');
    if (aToB) {
      const err = await rb.closed('b');
      assert.instance(err, Error, 'peer close is reported as an Error');
      assert.is(b.isOpen, false);
    } else {
      await sleep(100);
      assert.ok(b.isOpen);
      assert.is(rb.closeCount, 0);
      await within(b.write(pattern(10, 1)), 'b.write');
    }
  }));

  t(`b.close(): a ${bToA ? 'reports an Error' : 'cannot tell and stays usable'}`, () => withPair(makePair, async ({ a, b }) => {
    const ra = collect(a);
    collect(b);
    await b.close();
    if (bToA) {
      assert.instance(await ra.closed('a'), Error);
      assert.is(a.isOpen, false);
    } else {
      await sleep(100);
      assert.ok(a.isOpen);
      await within(a.write(pattern(10, 1)), 'a.write');
    }
  }));

  t('the close handler runs once, even when set after the close', () => withPair(makePair, async ({ a }) => {
    await a.close();
    let n = 0;
    a.setHandlers({ data() {}, close() { n++; } });
    await a.close();
    await sleep(10);
    assert.is(n, 1);
  }));

  t('write after close rejects with an Error naming the link, on both sides', () => withPair(makePair, async ({ a, b }) => {
    collect(a);
    const rb = collect(b);
    await a.close();
    const err = await a.write(Uint8Array.of(1)).then(() => null, (e: unknown) => e);
    assert.instance(err, Error);
    assert.match((err as Error).message, a.name);
    assert.match((err as Error).message, /closed/);
    if (aToB) {
      await rb.closed('b');
      const err2 = await b.write(Uint8Array.of(1)).then(() => null, (e: unknown) => e);
      assert.instance(err2, Error);
      assert.match((err2 as Error).message, /closed/);
    }
  }));

  t('close is idempotent: concurrent and repeated calls all resolve', () => withPair(makePair, async ({ a, b }) => {
    collect(a);
    collect(b);
    await within(Promise.all([a.close(), a.close(), b.close()]), 'first closes');
    await within(Promise.all([a.close(), b.close()]), 'repeated closes');
    assert.is(a.isOpen, false);
    assert.is(b.isOpen, false);
  }));

  t.run();
}

/**
 * For a single device with TX wired to RX: what the link writes comes back to it. Smaller than
 * the pair contract (a UART at 115200 baud moves ~11 KB/s), same leak check.
 */
export function loopbackContract(name: string, open: () => Promise<{ link: Link; cleanup(): Promise<void> }>, bytes = 4096): void {
  const t = suite(`loopback contract: ${name}`);
  const makePair = async (): Promise<Pair> => {
    const { link, cleanup } = await open();
    return { a: link, b: link, cleanup };
  };
  t(`${bytes} bytes written in mixed sizes come back intact and in order`, () => withPair(makePair, async ({ a }) => {
    const r = collect(a);
    const sent: Buffer[] = [];
    for (let n = 1, i = 0; total(sent) < bytes; n = (n * 3) % 257 || 1, i++) sent.push(pattern(Math.min(n, bytes - total(sent)), i));
    // At most WINDOW bytes in flight, as a host would pace a device: an echo has finite buffers
    // (a UART FIFO, socat's pipe) and can stall if flooded faster than it drains.
    let inFlight = 0;
    for (const x of sent) {
      if (inFlight - r.length > LOOPBACK_WINDOW) await r.until(inFlight - LOOPBACK_WINDOW, 'loopback window');
      await within(a.write(x), 'write');
      inFlight += x.length;
    }
    sameBytes(await r.until(bytes, 'loopback'), Buffer.concat(sent), 'loopback');
  }));
  t('write after close rejects; close is idempotent', () => withPair(makePair, async ({ a }) => {
    collect(a);
    await Promise.all([a.close(), a.close()]);
    const err = await a.write(Uint8Array.of(1)).then(() => null, (e: unknown) => e);
    assert.instance(err, Error);
    assert.match((err as Error).message, /closed/);
  }));
  t.run();
}

/** Runs `body` on a fresh pair, always cleans up, then checks no handle or request was left behind. */
async function withPair(makePair: () => Promise<Pair>, body: (p: Pair) => Promise<void>): Promise<void> {
  const before = resources();
  const pair = await within(makePair(), 'makePair');
  try {
    await body(pair);
  } finally {
    await within(Promise.all([pair.a.close(), pair.b.close()]), 'closing both links');
    await within(pair.cleanup(), 'cleanup');
  }
  await noLeaks(before);
}

/**
 * Active libuv handles and requests by type, as Node lists them. Handles close asynchronously
 * (uv_close calls back on a later loop turn), so the check polls for a short while before
 * failing. The poll's own setTimeout has fired by the time we look, so no timer allowance is
 * needed; anything still active is a leak.
 */
async function noLeaks(before: Map<string, number>): Promise<void> {
  let extra: string[] = [];
  for (let i = 0; i < 50; i++) {
    const now = resources();
    extra = [...now].filter(([k, n]) => n > (before.get(k) ?? 0)).map(([k, n]) => `${k} x${n - (before.get(k) ?? 0)}`);
    if (extra.length === 0) return;
    await sleep(10);
  }
  assert.unreachable(`handles left after cleanup: ${extra.join(', ')}`);
}

function resources(): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) m.set(r, (m.get(r) ?? 0) + 1);
  return m;
}

interface Collector {
  /** Resolves with everything received once at least n bytes are in. */
  until(n: number, what: string): Promise<Buffer>;
  /** Resolves with the close handler's argument. */
  closed(what: string): Promise<Error | undefined>;
  readonly closeCount: number;
  /** Bytes received so far. */
  readonly length: number;
}

function collect(link: Link): Collector {
  const chunks: Buffer[] = [];
  let length = 0;
  let closeCount = 0;
  let closeArg: Error | undefined;
  let wake: () => void = () => {};
  link.setHandlers({
    data(chunk) { chunks.push(Buffer.from(chunk)); length += chunk.length; wake(); },
    close(err) { closeCount++; closeArg = err; wake(); },
  });
  const waitFor = (ready: () => boolean, what: string) => within(new Promise<void>((resolve) => {
    wake = () => { if (ready()) resolve(); };
    wake();
  }), what, () => `${length} bytes received, closeCount ${closeCount}${closeArg ? ` (${closeArg.message})` : ''}`);
  return {
    async until(n, what) {
      await waitFor(() => length >= n || closeCount > 0, `${what}: ${n} bytes`);
      const all = Buffer.concat(chunks);
      assert.ok(all.length >= n, `${what}: link closed after ${all.length} of ${n} bytes: ${closeArg?.message ?? 'clean close'}`);
      return all;
    },
    async closed(what) {
      await waitFor(() => closeCount > 0, `${what}: close handler`);
      assert.is(closeCount, 1, `${what}: close handler called once`);
      return closeArg;
    },
    get closeCount() { return closeCount; },
    get length() { return length; },
  };
}

function sameBytes(got: Buffer, want: Buffer, what: string): void {
  if (got.equals(want)) return;
  let i = 0;
  while (i < Math.min(got.length, want.length) && got[i] === want[i]) i++;
  assert.unreachable(`${what}: got ${got.length} bytes, want ${want.length}; first difference at byte ${i} (got ${got[i]}, want ${want[i]})`);
}

/** Deterministic bytes (all 256 values, zeros included) so a reorder or a dropped chunk shows. */
function pattern(n: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    out[i] = s & 0xff;
  }
  return out;
}

const total = (xs: Uint8Array[]) => xs.reduce((s, x) => s + x.length, 0);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Fails instead of hanging when `p` does not settle within WAIT_MS; clears its timer either way. */
export function within<T>(p: Promise<T>, what: string, state?: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${WAIT_MS} ms waiting for ${what}${state ? `: ${state()}` : ''}`)), WAIT_MS);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
