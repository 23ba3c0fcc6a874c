import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openLink, parseLinkSpec } from '../../src/transport/open.js';

test('parseLinkSpec accepts every documented form', () => {
  assert.equal(parseLinkSpec('tcp://127.0.0.1:7000'), { kind: 'tcp', host: '127.0.0.1', port: 7000 });
  assert.equal(parseLinkSpec('tcp://board.local:1'), { kind: 'tcp', host: 'board.local', port: 1 });
  assert.equal(parseLinkSpec('tcp://[::1]:7000'), { kind: 'tcp', host: '::1', port: 7000 });
  assert.equal(parseLinkSpec('serial:/dev/ttyACM0'), { kind: 'serial', path: '/dev/ttyACM0' });
  assert.equal(parseLinkSpec('serial:/dev/ttyUSB1?baud=921600'), { kind: 'serial', path: '/dev/ttyUSB1', baudRate: 921600 });
  assert.equal(parseLinkSpec('serial:COM3?baud=115200'), { kind: 'serial', path: 'COM3', baudRate: 115200 });
  assert.equal(parseLinkSpec('/dev/serial/by-id/usb-FTDI_X-if00-port0'), { kind: 'serial', path: '/dev/serial/by-id/usb-FTDI_X-if00-port0' });
  assert.equal(parseLinkSpec('COM12'), { kind: 'serial', path: 'COM12' });
  assert.equal(parseLinkSpec('com4'), { kind: 'serial', path: 'com4' });
});

test('parseLinkSpec rejects anything else, naming the spec and the accepted forms', () => {
  for (const spec of ['sim:analog', 'tcp://host', 'tcp://host:0', 'tcp://host:99999', 'tcp://:7000', 'serial:ttyS0', 'serial:/dev/ttyS0?baud=fast',
    'serial:/dev/ttyS0?parity=even', 'udp://1.2.3.4:5', 'ttyUSB0', '', 'COM', '/dev/']) {
    assert.throws(() => parseLinkSpec(spec), (e: Error) => e.message.includes(`"${spec}"`) && e.message.includes('tcp://host:port')
      && e.message.includes('serial:/dev/ttyX') && e.message.includes('sim:<profile>'), spec);
  }
});

test('openLink rejects (never throws) on a bad spec or option, and opens what it parses', async () => {
  const bad = await openLink('nope').then(() => null, (e: unknown) => e);
  assert.match((bad as Error).message, /"nope"/);
  const opt = await openLink('tcp://127.0.0.1:7000', { connectTimeoutMs: -1 }).then(() => null, (e: unknown) => e);
  assert.instance(opt, RangeError);
  const missing = await openLink('serial:/dev/rhil-no-such-port?baud=9600').then(() => null, (e: unknown) => e);
  assert.match((missing as Error).message, 'serial:/dev/rhil-no-such-port');
});

test.run();
