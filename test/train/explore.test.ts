import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DeviceClient } from '../../src/device/client.js';
import { openSimLink } from '../../src/sim/serve.js';
import { surrogateDesigns } from '../../src/surrogate/designs.js';
import { selectBackend } from '../../src/core/backend.js';
import { type Exploration, exploreDevice, exploreRecord } from '../../src/train/explore.js';
import { type Measurer, deviceMeasurer } from '../../src/train/spot-check.js';

test.before(async () => {
  await selectBackend('wasm');
});

const BUDGET = 5000;

/** Explores a small simulator; returns the exploration and the samples the device was asked for. */
async function explore(profile: string, overrides: Record<string, unknown>): Promise<{ e: Exploration; seen: number }> {
  const sim = openSimLink(profile, { seed: 2, overrides });
  const dev = await DeviceClient.connect(sim.link);
  try {
    let seen = 0;
    const base = deviceMeasurer(dev);
    const m: Measurer = async (d) => { const r = await base(d); seen += r.samples; return r; };
    const ci = dev.info.inChannels, co = dev.info.outChannels;
    // fewer epochs than the defaults keep the test in seconds; the ranking does not depend on them
    const designs = surrogateDesigns(ci, co).map((d) => ({ ...d, fit: { ...d.fit, epochs: 10 } }));
    const e = await exploreDevice(m, { inChannels: ci, outChannels: co, seed: 1, budget: BUDGET, segmentSteps: 150, designs });
    return { e, seen };
  } finally {
    await dev.close();
  }
}

test('optical (no memory): a memoryless design is chosen, reach 0, every sample counted and within budget', async () => {
  const { e, seen } = await explore('optical', { inChannels: 16, outChannels: 32 });
  const rec = exploreRecord(e);
  assert.equal([e.choice.design.window, e.choice.design.responseLags], [1, 0], JSON.stringify(rec));
  assert.is(e.memory.reach, 0);
  assert.is(e.suggestedTaps, 20);
  assert.is(e.samples, seen);
  assert.ok(seen <= BUDGET && seen > 0.9 * BUDGET, `${seen}`);
  assert.is(e.scores.length, 3);
  assert.ok(JSON.parse(JSON.stringify(rec)).scores.length === 3);
  const narx = e.scores.find((s) => s.design.name === 'narx')!;
  assert.ok(e.choice.score < narx.score);
});

test('analog-awg (memory of a few steps): a design with history is chosen, reach >= 1, fewer taps suggested', async () => {
  const { e, seen } = await explore('analog-awg', { nodes: 20, inChannels: 20 });
  assert.ok(e.choice.design.window > 1 || e.choice.design.responseLags > 0, JSON.stringify(exploreRecord(e)));
  assert.ok(e.memory.reach >= 1 && e.memory.capacity > 1, `${e.memory.reach} ${e.memory.capacity}`);
  assert.ok(e.suggestedTaps < 20);
  assert.is(e.samples, seen);
  assert.ok(seen <= BUDGET);
  const memoryless = e.scores.find((s) => s.design.name === 'memoryless')!;
  assert.ok(e.choice.heldOutNmse < memoryless.heldOutNmse);
});

test('a budget too small for the probe, the reading and four segments is refused', async () => {
  try {
    await exploreDevice(async () => { throw new Error('must not measure'); }, { inChannels: 1, outChannels: 4, seed: 1, budget: 2000 });
    assert.unreachable();
  } catch (err) {
    assert.ok(err instanceof RangeError && /budget 2000/.test(err.message), String(err));
  }
});

test.run();
