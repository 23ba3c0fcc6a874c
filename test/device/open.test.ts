import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openDevice } from '../../src/device/index.js';
import { IN_PROCESS_TIMEOUT_MS } from '../../src/device/open.js';
import { DeviceClient } from '../../src/device/client.js';
import { openSimLink } from '../../src/sim/serve.js';
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
  const mine = await openDevice('sim:analog', { seed: 1, processTimeoutMs: 50 });
  const dflt = await openDevice('sim:analog', { seed: 1 });
  try {
    assert.is((mine as DeviceClient).processTimeoutMs, 50);
    assert.is((dflt as DeviceClient).processTimeoutMs, IN_PROCESS_TIMEOUT_MS);
  } finally {
    await mine.close();
    await dflt.close();
  }
});

/** A client with a 50 ms PROCESS timeout on an in-process simulator that answers `answered` batches, then none. */
async function shortTimeout(answered?: number): Promise<{ dev: DeviceClient; breaks: DeviceEvent[]; done(): Promise<void> }> {
  const sim = openSimLink('analog', { seed: 1, device: answered === undefined ? {} : { faults: { hangAfterBatches: answered } } });
  const dev = await DeviceClient.connect(sim.link, { processTimeoutMs: 50 });
  const breaks: DeviceEvent[] = [];
  const sub = dev.events$.subscribe((e) => { if (e.type === 'break') breaks.push(e); });
  return { dev, breaks, done: async () => { sub.unsubscribe(); await dev.close(); } };
}

test('a reply that came while this thread was busy past the timeout is read, not called lost (a pipelined batch behind a long step)', async () => {
  const { dev, breaks, done } = await shortTimeout();
  try {
    await dev.resetState();
    const reply = dev.process(new Uint16Array(16 * dev.info.inChannels).fill(32768));
    busy(300);   // six timeouts long: the timer is due before the simulator could answer
    const r = await reply;
    assert.ok(r, 'the batch is answered');
    assert.equal(breaks, [], 'no state break');
  } finally {
    await done();
  }
});

test('a device that stops answering is still caught after a busy spell, at most one timeout later', async () => {
  const { dev, breaks, done } = await shortTimeout(1);
  try {
    await dev.resetState();
    await dev.process(new Uint16Array(16 * dev.info.inChannels).fill(32768));
    const t0 = performance.now();
    const reply = dev.process(new Uint16Array(16 * dev.info.inChannels).fill(32768)).then(() => 'answered', (e: unknown) => e);
    busy(300);
    const r = await reply;
    assert.ok(r instanceof Error, String(r));
    assert.is(breaks.length, 1, JSON.stringify(breaks));
    assert.match((breaks[0] as { message: string }).message, /got no reply within/);
    assert.ok(performance.now() - t0 < 300 + 50 + 50 + 500, `caught after ${(performance.now() - t0).toFixed(0)} ms`);
  } finally {
    await done();
  }
});

test.run();
