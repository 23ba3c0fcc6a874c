/**
 * The device client against firmware-protocol/vectors/host.json: for each scripted exchange the
 * host must reach the stated verdict (ok, or the named break).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DeviceClient, StateBreakError } from '../../src/device/index.js';
import { type Frame, type Info, type Message, frameFromJson } from '../../src/protocol/index.js';
import { type HostVectorFrame, hostVectors } from '../protocol/vectors.js';
import { ScriptedDevice } from './scripted-device.js';

/** The vector frame with "request" placeholders filled in from the request it answers. */
function fill(f: HostVectorFrame, req: Frame): Message & { seq: number; flags: number } {
  const batchId = req.message.kind === 'process' ? req.message.batchId : 0;
  const m = { ...f.message };
  if (m.refSeq === 'request') m.refSeq = req.seq;
  if (m.batchId === 'request') m.batchId = batchId;
  const frame = frameFromJson({ seq: f.seq === 'request' ? req.seq : f.seq, flags: f.flags, message: m as HostVectorFrame['message'] });
  return { ...frame.message, seq: frame.seq, flags: frame.flags };
}

for (const c of hostVectors.cases) {
  test(`host vector: ${c.name}`, async () => {
    let step = 0;
    const dev = ScriptedDevice.pair({ ...(hostVectors.info as Partial<Info>) }, (req, d) => {
      if (req.message.kind === 'hello' || req.message.kind === 'ping') return null;
      for (const f of c.steps[step].device) {
        const { seq, flags, ...message } = fill(f, req);
        d.send(message as Message, seq, flags);
      }
      return [];
    });
    const client = await DeviceClient.connect(dev.host, { timeoutMs: 2000, processTimeoutMs: 2000 });
    for (; step < c.steps.length; step++) {
      const s = c.steps[step];
      let err: unknown = null;
      try {
        if (s.call === 'resetState') await client.resetState();
        else await client.process([1]);
      } catch (e) { err = e; }
      // Frames the device sent after the reply (a duplicate, a BOOT) are in before a PONG sent after them.
      // (A BOOT among them fails the PING itself: the device rebooted before answering it.)
      await client.ping().catch((e: unknown) => { if (!(e instanceof StateBreakError && e.reason === 'boot')) throw e; });
      const brk = err instanceof StateBreakError ? err : client.pendingBreak;
      if (s.expect === 'ok') {
        assert.is(err, null, `step ${step}: ${String(err)}`);
        assert.is(brk, null, `step ${step}: ${brk?.message}`);
      } else {
        assert.ok(brk, `step ${step}: expected a ${s.expect.break} break, got none`);
        assert.is(brk!.reason, s.expect.break, `step ${step}: ${brk!.message}`);
      }
    }
    await client.close();
  });
}

test.run();
