import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  FrameDecoder, FrameEncoder, MESSAGE_TYPE, cobsDecode, cobsEncode, crc32c, frameFromJson, frameToJson,
} from '../../src/protocol/index.js';
import { fromHex, toHex } from '../../src/protocol/json.js';
import { cobsVectors, crcVectors, invalidFrames, validFrames } from './vectors.js';

test('vectors cover every message type and every rejection reason', () => {
  const kinds = new Set(validFrames.map((v) => v.message.kind));
  assert.equal([...kinds].sort(), Object.keys(MESSAGE_TYPE).sort());
  const reasons = new Set(invalidFrames.flatMap((v) => v.rejects));
  assert.equal([...reasons].sort(), ['cobs', 'crc', 'empty', 'length', 'oversize', 'payload', 'short', 'type', 'version']);
});

for (const v of crcVectors) {
  test(`crc32c vector: ${v.name}`, () => {
    assert.is(crc32c(fromHex(v.data)), v.crc);
  });
}

for (const v of cobsVectors) {
  test(`cobs vector: ${v.name}`, () => {
    assert.is(toHex(cobsEncode(fromHex(v.data))), v.encoded);
    const back = cobsDecode(fromHex(v.encoded));
    assert.ok(back);
    assert.is(toHex(back), v.data);
  });
}

const enc = new FrameEncoder();
for (const v of validFrames) {
  test(`valid frame vector: ${v.name}`, () => {
    assert.is(toHex(enc.encode(frameFromJson(v))), v.frame, 'encoding');
    const events = new FrameDecoder().decode(fromHex(v.frame));
    assert.is(events.length, 1);
    const ev = events[0];
    if (!ev.ok) assert.unreachable(`rejected as ${ev.reason}`);
    else assert.equal(frameToJson(ev.frame), { seq: v.seq, flags: v.flags, message: v.message });
  });
}

for (const v of invalidFrames) {
  test(`invalid frame vector: ${v.name}`, () => {
    const dec = new FrameDecoder({ maxFrame: v.maxFrame });
    const events = dec.decode(fromHex(v.bytes));
    assert.equal(events.filter((e) => !e.ok).map((e) => (e.ok ? '' : e.reason)), v.rejects);
    assert.is(events.filter((e) => e.ok).length, v.validAfter);
    assert.is(dec.counts.frames, v.validAfter);
  });
}

test.run();
