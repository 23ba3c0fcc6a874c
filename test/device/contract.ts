/**
 * One device-client contract, run against every device implementation we have (the TypeScript
 * simulator in-process, over a pty and over TCP; the C reference firmware over a pty), so the
 * host is tested against device code written independently of it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DeviceClient } from '../../src/device/index.js';
import type { Link } from '../../src/transport/link.js';

export interface DeviceUnderTest {
  link: Link;
  /** Same drive after a reset gives the same response (no noise). */
  deterministic: boolean;
  cleanup(): Promise<void>;
}

export function deviceContract(name: string, open: () => Promise<DeviceUnderTest>): void {
  const withDevice = (title: string, body: (c: DeviceClient, dut: DeviceUnderTest) => Promise<void>) =>
    test(`device contract [${name}]: ${title}`, async () => {
      const dut = await open();
      const c = await DeviceClient.connect(dut.link, { timeoutMs: 2000, processTimeoutMs: 5000 });
      try {
        await body(c, dut);
      } finally {
        await c.close();
        await dut.cleanup();
      }
    });

  const drive = (c: DeviceClient, count: number, phase = 0) => {
    const { inChannels, inFormat, inMin, inMax } = c.info;
    const values = Array.from({ length: count * inChannels }, (_, i) => {
      const x = inMin + ((Math.sin(0.37 * (i + phase)) + 1) / 2) * (inMax - inMin);
      return inFormat === 'f32' ? x : Math.round(x);
    });
    return values;
  };

  withDevice('INFO is sane and complete', async (c) => {
    const i = c.info;
    assert.is(i.protocolVersion, 1);
    assert.ok(i.inChannels >= 1 && i.outChannels >= 1 && i.credits >= 1 && i.maxBatch >= 1);
    assert.ok(i.inMin < i.inMax && i.outMin < i.outMax);
    assert.ok(c.maxBatch >= 1 && c.maxBatch <= i.maxBatch);
    assert.type(i.vendor, 'string');
  });

  withDevice('a batch comes back with one output vector per input vector, in range', async (c) => {
    await c.resetState();
    const r = await c.process(drive(c, 8));
    assert.is(r.count, 8);
    assert.is(r.output.length, 8 * c.info.outChannels);
    for (const v of r.output) assert.ok(v >= c.info.outMin && v <= c.info.outMax, `output ${v} outside ${c.info.outMin}..${c.info.outMax}`);
  });

  withDevice('resetState opens a new epoch; results inside a segment share it and time moves forward', async (c) => {
    const e1 = await c.resetState();
    const a = await c.process(drive(c, 4));
    const b = await c.process(drive(c, 4, 4));
    assert.is(a.epoch, e1);
    assert.is(b.epoch, e1);
    assert.ok(b.timestampUs >= a.timestampUs);
    const e2 = await c.resetState();
    assert.is.not(e2, e1);
    assert.is((await c.process(drive(c, 1))).epoch, e2);
  });

  withDevice('many batches pipelined up to the credits stay in order', async (c) => {
    await c.resetState();
    const n = Math.min(4, c.maxBatch);
    const results = await Promise.all(Array.from({ length: 24 }, (_, k) => c.process(drive(c, n, k * n))));
    assert.equal(results.map((r) => r.batchId), results.map((_, k) => results[0].batchId + k));
    assert.ok(results.every((r) => r.epoch === results[0].epoch));
  });

  withDevice('the same drive after a reset gives the same response when the device has no noise', async (c, dut) => {
    if (!dut.deterministic) {
      // A noisy device still gives responses of the right shape; determinism is not promised.
      await c.resetState();
      assert.is((await c.process(drive(c, 16))).output.length, 16 * c.info.outChannels);
      return;
    }
    await c.resetState();
    const a = await c.process(drive(c, 16));
    await c.resetState();
    const b = await c.process(drive(c, 16));
    assert.equal(Array.from(b.output), Array.from(a.output));
  });

  withDevice('ping echoes arbitrary bytes, zeros included', async (c) => {
    const data = Uint8Array.from({ length: 40 }, (_, i) => (i * 37) & 0xff);
    assert.equal(Array.from(await c.ping(data)), Array.from(data));
  });

  withDevice('garbage on the line is counted by the device and the session goes on', async (c, dut) => {
    const before = await c.getStatus();
    await dut.link.write(Uint8Array.of(0x05, 0x11, 0x00, 0x03, 0x99, 0x98, 0x97, 0x00));
    await c.resetState();
    const r = await c.process(drive(c, 2));
    assert.is(r.count, 2);
    const after = await c.getStatus();
    assert.ok(after.framingErrors + after.crcErrors > before.framingErrors + before.crcErrors, 'device counted the garbage');
  });
}
