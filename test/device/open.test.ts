import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openDevice } from '../../src/device/index.js';
import type { DeviceEvent } from '../../src/device/device.js';

/** Keeps this thread busy for `ms`, as a long refit or a slow database write on a loaded machine does. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* the in-process simulator cannot answer meanwhile */ }
}

test('an in-process simulator is not read as lost when the host thread is busy for longer than a board\'s timeout', async () => {
  const dev = await openDevice('sim:analog', { seed: 1 });
  const breaks: DeviceEvent[] = [];
  const sub = dev.events$.subscribe((e) => { if (e.type === 'break') breaks.push(e); });
  try {
    await dev.resetState();
    const reply = dev.process(new Uint16Array(16 * dev.info.inChannels).fill(32768));
    busy(1500);
    const r = await reply;
    assert.ok(r, 'the batch is answered');
    assert.equal(breaks, [], 'no state break');
  } finally {
    sub.unsubscribe();
    await dev.close();
  }
});

test('a caller\'s own timeout still applies to an in-process simulator', async () => {
  const dev = await openDevice('sim:analog', { seed: 1, processTimeoutMs: 50 });
  const breaks: DeviceEvent[] = [];
  const sub = dev.events$.subscribe((e) => { if (e.type === 'break') breaks.push(e); });
  try {
    await dev.resetState();
    const reply = dev.process(new Uint16Array(16 * dev.info.inChannels).fill(32768)).catch((e: unknown) => e);
    busy(1500);
    await reply;
    assert.is(breaks.length, 1, JSON.stringify(breaks));
    assert.match((breaks[0] as { message: string }).message, /got no reply within/);
  } finally {
    sub.unsubscribe();
    await dev.close();
  }
});

test.run();
