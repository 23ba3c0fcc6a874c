import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPty, createPtyEcho } from '../../src/transport/pty.js';
import { openSerial } from '../../src/transport/serial.js';
import { linkContract, loopbackContract } from './contract.js';

// a: the socat side of one pty, b: a program that opened the pty as a serial port. When a closes,
// socat exits and the pty hangs up, which b sees. When b closes, socat still holds its own
// slave fd, so a cannot tell (as with a real UART).
linkContract('socat pty (createPty link <-> openSerial(path))', async () => {
  const pty = await createPty();
  const b = await openSerial(pty.path).catch(async (e) => { await pty.close(); throw e; });
  return { a: pty.link, b, cleanup: () => pty.close() };
}, { aToB: true, bToA: false });

// The loopback suite that runs against real hardware with RHIL_TEST_SERIAL, here against a pty
// that echoes (socat PTY PIPE), so the suite itself is always exercised.
loopbackContract('socat echo pty (stand-in for TX wired to RX)', async () => {
  const echo = await createPtyEcho();
  const link = await openSerial(echo.path).catch(async (e) => { await echo.close(); throw e; });
  return { link, cleanup: () => echo.close() };
}, 256 * 1024);

test('createPty with a missing socat says how to install it, and leaves nothing running', async () => {
  const before = process.getActiveResourcesInfo().length;
  const err = await createPty({ socatPath: '/nonexistent/socat' }).then(() => null, (e: unknown) => e);
  assert.instance(err, Error);
  assert.match((err as Error).message, 'socat not found: install it (apt-get install socat)');
  await new Promise((r) => setTimeout(r, 20));
  assert.is(process.getActiveResourcesInfo().length, before);
});

test('createPty reports the pty path and moves bytes both ways', async () => {
  const pty = await createPty();
  assert.match(pty.path, /^\/dev\/pts\/\d+$/);
  assert.match(pty.link.name, pty.path);
  await pty.close();
  await pty.close();
  assert.is(pty.link.isOpen, false);
});

test.run();
