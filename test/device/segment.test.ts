import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { BatchResult } from '../../src/device/client.js';
import type { SegmentDevice } from '../../src/device/device.js';
import { StateBreakError } from '../../src/device/errors.js';
import { measureSegment, segment$, type SegmentEvent } from '../../src/device/segment.js';
import type { Info } from '../../src/protocol/index.js';

/** A device that answers y = (x, 2x) per row, batch by batch, on a later tick; `fail(call)` may throw instead. */
class FakeDevice implements SegmentDevice {
  readonly info = { inChannels: 1, outChannels: 2, samplePeriodNs: 1000 } as Info;
  readonly maxBatch = 4;
  epoch = 10;
  clockUs = 0;
  readonly log: string[] = [];
  private calls = 0;
  constructor(private readonly fail: (call: number) => Error | undefined = () => undefined, private readonly epochOf: (call: number) => number | undefined = () => undefined) {}

  async resetState(): Promise<number> {
    this.log.push('reset');
    return ++this.epoch;
  }

  async process(input: ArrayLike<number>): Promise<BatchResult> {
    const call = this.calls++, epoch = this.epoch;   // the device runs requests in arrival order: a later reset does not reach this batch
    this.log.push(`process ${Array.from(input).join(',')}`);
    await new Promise((r) => setImmediate(r));
    const err = this.fail(call);
    if (err) throw err;
    const count = input.length, t = this.clockUs;
    this.clockUs += count;
    const output = Float32Array.from({ length: 2 * count }, (_, i) => (i % 2 ? 2 : 1) * input[i >> 1]);
    return { batchId: call + 1, epoch: this.epochOf(call) ?? epoch, timestampUs: t, status: 0, count, input: Float32Array.from(input), output };
  }
}

const units = (n: number, from = 0) => Float64Array.from({ length: n }, (_, i) => from + i);

test('a fresh segment: reset, batches of maxBatch all issued before any answer, joined in order with device times', async () => {
  const dev = new FakeDevice();
  let sentAt = -1;
  const seg = await measureSegment(dev, units(10), { onSent: () => { sentAt = dev.log.length; } });
  assert.equal(dev.log, ['reset', 'process 0,1,2,3', 'process 4,5,6,7', 'process 8,9']);
  assert.is(sentAt, 4, '"sent" once every batch is issued');
  assert.equal(Array.from(seg.raw), Array.from(units(10)).flatMap((x) => [x, 2 * x]));
  assert.equal(Array.from(seg.sent), Array.from(units(10)));
  assert.equal(Array.from(seg.timeUs), Array.from(units(10)).map((t) => t + 0.5));
  assert.equal({ epoch: seg.epoch, samples: seg.samples, breaks: seg.breaks }, { epoch: 11, samples: 10, breaks: 0 });
});

test('a break throws the partial segment away and measures it again from a reset, with the wash-in first; the samples count every pass', async () => {
  const dev = new FakeDevice((call) => (call === 1 ? new StateBreakError('lost', 'timeout') : undefined));
  const seg = await measureSegment(dev, units(6, 100), { washIn: units(2, 50) });
  assert.equal(dev.log, ['reset', 'process 50,51', 'process 100,101,102,103', 'process 104,105', 'reset', 'process 50,51', 'process 100,101,102,103', 'process 104,105']);
  assert.equal(Array.from(seg.sent), Array.from(units(6, 100)), 'the wash-in is not part of the segment');
  assert.equal({ epoch: seg.epoch, samples: seg.samples, breaks: seg.breaks }, { epoch: 12, samples: 2 * (2 + 6), breaks: 1 });
});

test('a continued segment sends without a reset; an epoch change inside it is a break, never spliced; retries run out with the break', async () => {
  const dev = new FakeDevice(undefined, (call) => (call === 1 ? 99 : undefined));
  const seg = await measureSegment(dev, units(8), { epoch: 10, washIn: units(1, 7) });
  assert.equal(dev.log.slice(0, 3), ['process 0,1,2,3', 'process 4,5,6,7', 'reset'], 'continued, then re-measured from a reset with the wash-in');
  assert.is(seg.epoch, 11);
  assert.is(seg.breaks, 1);
  const always = new FakeDevice(() => new StateBreakError('gone', 'boot'));
  await measureSegment(always, units(3), { maxRetries: 2 }).then(() => assert.unreachable(), (e: unknown) => assert.instance(e, StateBreakError));
  assert.is(always.log.filter((l) => l === 'reset').length, 3);
});

test('a result that does not match its batch is refused; other errors are not retried', async () => {
  const short = new FakeDevice();
  const orig = short.process.bind(short);
  short.process = async (input) => ({ ...(await orig(input)), output: new Float32Array(1) });
  await measureSegment(short, units(3)).then(() => assert.unreachable(), (e: unknown) => assert.match(String(e), /does not match its batch/));
  const dev = new FakeDevice((call) => (call === 0 ? new RangeError('bad batch') : undefined));
  await measureSegment(dev, units(3)).then(() => assert.unreachable(), (e: unknown) => assert.match(String(e), /bad batch/));
  assert.is(dev.log.filter((l) => l === 'reset').length, 1);
  await measureSegment(new FakeDevice(), units(3), { washIn: units(1) }).then((s) => assert.is(s.samples, 4));
  await measureSegment(new FakeDevice(), new Float64Array(0)).then(() => assert.unreachable(), (e: unknown) => assert.match(String(e), /positive multiple of 1/));
});

test('segment$: sent then measured then complete; unsubscribing before the end emits nothing more and starts no further pass', async () => {
  const events: SegmentEvent['type'][] = [];
  await new Promise<void>((resolve, reject) => {
    segment$(new FakeDevice(), units(5)).subscribe({ next: (e) => events.push(e.type), error: reject, complete: resolve });
  });
  assert.equal(events, ['sent', 'measured']);

  const dev = new FakeDevice((call) => (call === 0 ? new StateBreakError('lost', 'timeout') : undefined));
  const seen: SegmentEvent['type'][] = [];
  const sub = segment$(dev, units(2)).subscribe((e) => seen.push(e.type));
  await new Promise((r) => setImmediate(r));   // the reset is answered and the first pass issued
  sub.unsubscribe();
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  assert.equal(seen, ['sent'], 'the first pass was issued; nothing after unsubscribe');
  assert.equal(dev.log, ['reset', 'process 0,1'], 'no re-measurement after unsubscribe');
});

test('a segment started while another is measured is issued whole behind it; a re-measurement after a break waits for the segment issued meanwhile', async () => {
  const dev = new FakeDevice();
  const [a, b] = await Promise.all([measureSegment(dev, units(6, 100)), measureSegment(dev, units(3, 200))]);
  assert.equal(dev.log, ['reset', 'process 100,101,102,103', 'process 104,105', 'reset', 'process 200,201,202']);
  assert.equal({ a: a.epoch, b: b.epoch }, { a: 11, b: 12 });
  assert.equal(Array.from(b.sent), [200, 201, 202]);

  // The first segment's second batch breaks after the second segment is issued: it is measured again after that one, never interleaved.
  const broken = new FakeDevice((call) => (call === 1 ? new StateBreakError('lost', 'timeout') : undefined));
  const [c, d] = await Promise.all([measureSegment(broken, units(6, 100)), measureSegment(broken, units(3, 200))]);
  assert.equal(broken.log, ['reset', 'process 100,101,102,103', 'process 104,105', 'reset', 'process 200,201,202', 'reset', 'process 100,101,102,103', 'process 104,105']);
  assert.equal({ c: c.epoch, cBreaks: c.breaks, d: d.epoch }, { c: 13, cBreaks: 1, d: 12 });
  assert.equal(Array.from(c.sent), Array.from(units(6, 100)));
});

test.run();
