import * as net from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Link } from '../../src/transport/link.js';
import { listenTcp, openTcp } from '../../src/transport/tcp.js';
import { linkContract, within } from './contract.js';

linkContract('tcp loopback (listenTcp + openTcp)', async () => {
  let accepted!: (link: Link) => void;
  const served = new Promise<Link>((resolve) => { accepted = resolve; });
  const server = await listenTcp('127.0.0.1', 0, (link) => accepted(link));
  const a = await openTcp('127.0.0.1', server.port);
  const b = await within(served, 'accepted connection');
  return { a, b, cleanup: () => server.close() };
});

/** A port nothing listens on: bind one, note it, close it. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('openTcp to a closed port rejects with an Error naming host:port', async () => {
  const port = await closedPort();
  const err = await openTcp('127.0.0.1', port).then(() => null, (e: unknown) => e);
  assert.instance(err, Error);
  assert.match((err as Error).message, `tcp://127.0.0.1:${port}`);
  assert.match((err as Error).message, /refused/);
});

test('openTcp gives up after connectTimeoutMs with an Error naming host:port', async () => {
  // A listener with a zero backlog that never accepts still completes handshakes on Linux, so
  // use an address that drops SYNs instead: TEST-NET-1 (RFC 5737) is never routed.
  const t0 = Date.now();
  const err = await openTcp('192.0.2.1', 7000, { connectTimeoutMs: 100 }).then(() => null, (e: unknown) => e);
  assert.instance(err, Error);
  assert.match((err as Error).message, 'tcp://192.0.2.1:7000');
  assert.ok(Date.now() - t0 < 2000);
});

test('openTcp and listenTcp check their options before connecting', () => {
  assert.throws(() => openTcp('127.0.0.1', 7000, { connectTimeoutMs: 0 }), (e: Error) => e instanceof RangeError && /connectTimeoutMs/.test(e.message));
  assert.throws(() => openTcp('127.0.0.1', 70000), (e: Error) => e instanceof RangeError && /port/.test(e.message));
  assert.throws(() => listenTcp('127.0.0.1', -1, () => {}), (e: Error) => e instanceof RangeError && /port/.test(e.message));
});

test('listenTcp.close() closes the links it handed out, and the client sees an Error', async () => {
  const served: Link[] = [];
  const server = await listenTcp('127.0.0.1', 0, (l) => served.push(l));
  const a = await openTcp('127.0.0.1', server.port);
  let closeErr: Error | undefined | null = null;
  const closed = new Promise<void>((r) => a.setHandlers({ data() {}, close(e) { closeErr = e; r(); } }));
  while (served.length === 0) await new Promise((r) => setTimeout(r, 5));
  await server.close();
  assert.is(served[0].isOpen, false);
  await within(closed, 'client close');
  assert.instance(closeErr, Error);
  await a.close();
});

test.run();
