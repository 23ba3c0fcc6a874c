/**
 * The simulator against firmware-protocol/vectors/device.json, the device-behaviour vectors the C
 * dispatcher is also tested against: both must send exactly the listed replies.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FrameDecoder, type Message } from '../../src/protocol/index.js';
import { fromHex } from '../../src/protocol/json.js';
import { createMemoryPair } from '../../src/transport/memory.js';
import { type ReservoirModel, SimDevice } from '../../src/sim/index.js';
import { deviceVectors } from '../protocol/vectors.js';

/** A one-channel u16 echo board shaped like the vectors' reference device. */
function echoModel(): ReservoirModel {
  return {
    name: 'analog', inChannels: 1, outChannels: 1, inRange: [0, 4095], outRange: [0, 4095], samplePeriodNs: 1000,
    reset() {},
    step(input, output) { output[0] = input[0]; return 0; },
    twin() { throw new Error('not needed'); },
  };
}

for (const c of deviceVectors.cases) {
  test(`device vector: ${c.name}`, async () => {
    const d = deviceVectors.device;
    const device = new SimDevice(echoModel(), { credits: d.credits, maxBatch: d.maxBatch, maxFrame: d.maxFrame });
    assert.is(device.info.capabilities & 4, d.capabilities & 4, 'the reference device has no CONFIGURE capability');
    const [host, board] = createMemoryPair();
    const got: { seq: number; flags: number; message: Message }[] = [];
    const dec = new FrameDecoder({ role: 'host' });
    const want = c.replies.length + 1;
    const done = new Promise<void>((resolve) => {
      host.setHandlers({
        data: (chunk) => dec.push(chunk, (ev) => { if (ev.ok) got.push(ev.frame); if (got.length >= want) resolve(); }),
        close: () => resolve(),
      });
    });
    device.attach(board);
    await host.write(fromHex(c.requests));
    await done;
    const boot = got.shift()!;
    assert.is(boot.message.kind, 'boot');
    const bootEpoch = (boot.message as { epoch: number }).epoch;
    assert.is(got.length, c.replies.length);
    c.replies.forEach((r, i) => {
      const m = got[i].message as unknown as Record<string, unknown>;
      assert.is(got[i].seq, r.seq, `reply ${i} seq`);
      assert.is(got[i].flags, r.flags, `reply ${i} flags`);
      for (const [k, v] of Object.entries(r.message)) {
        if (k === 'epochChange') assert.is(((m.epoch as number) - bootEpoch) >>> 0, v, `reply ${i} epoch change`);
        else assert.is(m[k], v, `reply ${i} ${k}`);
      }
    });
    await device.detach();
  });
}

test.run();
