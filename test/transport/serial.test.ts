import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPtyEcho, createPtyPair } from '../../src/transport/pty.js';
import { openSerial, validateSerialOptions } from '../../src/transport/serial.js';
import { listSerialPorts } from '../../src/transport/serial-list.js';
import { linkContract, loopbackContract } from './contract.js';

// Two serial ports joined by socat: a UART has no wire that says "closed", and socat keeps its
// own slave fds open, so neither side can see the other close. The contract asserts exactly that.
linkContract('serial over a socat pty pair (openSerial on both ends)', async () => {
  const pair = await createPtyPair();
  try {
    const a = await openSerial(pair.paths[0]);
    const b = await openSerial(pair.paths[1]).catch(async (e) => { await a.close(); throw e; });
    return { a, b, cleanup: () => pair.close() };
  } catch (e) {
    await pair.close();
    throw e;
  }
}, { aToB: false, bToA: false });

const real = process.env.RHIL_TEST_SERIAL;
if (real) {
  loopbackContract(`real serial ${real} (TX wired to RX)`, async () => {
    const link = await openSerial(real, { baudRate: Number(process.env.RHIL_TEST_BAUD ?? 115200) });
    return { link, cleanup: async () => {} };
  });
} else {
  console.log('transport contract: real serial not run (set RHIL_TEST_SERIAL=/dev/ttyUSB0 with TX->RX loopback)');
}

test('openSerial checks options before opening anything, naming the bad one', () => {
  for (const [opts, name] of [[{ baudRate: 0 }, 'baudRate'], [{ baudRate: 9600.5 }, 'baudRate'], [{ baudRate: NaN }, 'baudRate'],
    [{ lowLatency: 'yes' }, 'lowLatency']] as const) {
    assert.throws(() => openSerial('/dev/rhil-no-such-port', opts as never), (e: Error) => e instanceof RangeError && e.message.startsWith(name), name);
  }
  assert.throws(() => openSerial(''), (e: Error) => e instanceof RangeError && /path/.test(e.message));
  assert.equal(validateSerialOptions({}), { baudRate: 115200, lowLatency: true });
});

test('openSerial on a missing device rejects naming the path', async () => {
  const err = await openSerial('/dev/rhil-no-such-port').then(() => null, (e: unknown) => e);
  assert.instance(err, Error);
  assert.match((err as Error).message, 'serial:/dev/rhil-no-such-port');
  assert.match((err as Error).message, /no such port: is the board plugged in\? `rhil devices` lists the serial ports/);
});

test('a port another program holds is reported busy, and the holder keeps working', async () => {
  const echo = await createPtyEcho();
  const first = await openSerial(echo.path);
  try {
    const err = await openSerial(echo.path).then(() => null, (e: unknown) => e as Error);
    assert.ok(err, 'a second open of a locked port must fail');
    assert.match(err!.message, /the port is busy: another program has it open/);
    const got = new Promise<Uint8Array>((resolve) => first.setHandlers({ data: resolve, close: () => undefined }));
    await first.write(Uint8Array.of(1, 2, 3));
    assert.ok((await got).length > 0, 'the first holder still reads its echo');
  } finally {
    await first.close();
    await echo.close();
  }
});

test('openSerial on a pty: low latency asked for but not in effect (a pty has no serial_struct)', async () => {
  const pair = await createPtyPair();
  const link = await openSerial(pair.paths[0]);
  assert.is(link.lowLatency, false);
  await link.close();
  await pair.close();
});

/** Builds a sysfs-like tree: class/tty/<name> dirs with `device` symlinks into devices/. */
async function fakeSysfs(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'rhil-sysfs-'));
  const file = async (p: string, text: string) => { await mkdir(dirname(join(root, p)), { recursive: true }); await writeFile(join(root, p), text); };
  const tty = async (name: string, device: string | null, type?: string) => {
    await mkdir(join(root, 'class/tty', name), { recursive: true });
    if (type !== undefined) await file(`class/tty/${name}/type`, `${type}\n`);
    if (device) { await mkdir(join(root, device), { recursive: true }); await symlink(join(root, device), join(root, 'class/tty', name, 'device')); }
  };
  // FTDI adapter: ttyUSB0's device dir sits under the interface, under the USB device.
  const ftdi = 'devices/pci0000:00/0000:00:14.0/usb1/1-2';
  await file(`${ftdi}/idVendor`, '0403\n');
  await file(`${ftdi}/idProduct`, '6001\n');
  await file(`${ftdi}/manufacturer`, 'FTDI\n');
  await file(`${ftdi}/serial`, 'A50285BI\n');
  await tty('ttyUSB0', `${ftdi}/1-2:1.0/ttyUSB0`);
  // CDC-ACM board: the tty's device is the interface itself; no serial string.
  const acm = 'devices/pci0000:00/0000:00:14.0/usb1/1-3';
  await file(`${acm}/idVendor`, '2E8A\n');
  await file(`${acm}/idProduct`, '000a\n');
  await file(`${acm}/manufacturer`, 'Raspberry Pi\n');
  await tty('ttyACM10', `${acm}/1-3:1.0`);
  await tty('ttyACM2', `${acm}/1-3:1.2`);
  // A real 16550 UART, and a placeholder ttyS1 with type 0 (no hardware), both on the platform bus.
  await tty('ttyS0', 'devices/platform/serial8250/00:01', '4');
  await tty('ttyS1', 'devices/platform/serial8250/serial8250', '0');
  // Virtual ttys: no device link.
  await tty('tty0', null);
  await tty('ttyUSB9', null);
  await mkdir(join(root, 'class/tty/ptmx'), { recursive: true });
  return root;
}

test('listSerialPorts falls back to sysfs when udevadm is missing', async () => {
  const root = await fakeSysfs();
  try {
    const noUdevadm = async () => { throw Object.assign(new Error('spawn udevadm ENOENT'), { code: 'ENOENT' }); };
    const ports = await listSerialPorts({ sysfsRoot: root, list: noUdevadm });
    assert.equal(ports, [
      { path: '/dev/ttyACM2', manufacturer: 'Raspberry Pi', vendorId: '2e8a', productId: '000a' },
      { path: '/dev/ttyACM10', manufacturer: 'Raspberry Pi', vendorId: '2e8a', productId: '000a' },
      { path: '/dev/ttyS0' },
      { path: '/dev/ttyUSB0', manufacturer: 'FTDI', serialNumber: 'A50285BI', vendorId: '0403', productId: '6001' },
    ]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('listSerialPorts passes other lister errors through and keeps only the documented fields', async () => {
  const boom = async () => { throw new Error('permission denied'); };
  const err = await listSerialPorts({ list: boom }).then(() => null, (e: unknown) => e);
  assert.match((err as Error).message, 'permission denied');
  const ports = await listSerialPorts({ list: async () => [{ path: 'COM3', vendorId: '0403', pnpId: 'x', locationId: 'y' } as never] });
  assert.equal(ports, [{ path: 'COM3', vendorId: '0403' }]);
});

test('listSerialPorts on this machine resolves to an array (udevadm or sysfs)', async () => {
  const ports = await listSerialPorts();
  assert.ok(Array.isArray(ports));
  for (const p of ports) assert.type(p.path, 'string');
});

test.run();
