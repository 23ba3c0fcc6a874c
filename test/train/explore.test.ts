import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DeviceClient } from '../../src/device/client.js';
import { openSimLink } from '../../src/sim/serve.js';
import { surrogateDesigns } from '../../src/surrogate/designs.js';
import { selectBackend } from '../../src/core/backend.js';
import { type DesignScore, type Exploration, chooseDesign, cosineDifferenceSe, exploreDevice, exploreRecord } from '../../src/train/explore.js';
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
  assert.is(e.scores.length, 4);
  assert.ok(JSON.parse(JSON.stringify(rec)).scores.length === 4);
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

/** A score row for chooseDesign: only score and parameters matter to it. */
function row(name: string, score: number, parameters: number): Omit<DesignScore, 'scoreSe'> {
  return { design: { name } as DesignScore['design'], heldOutNmse: 0, slope: 1, slopeSe: 0, cosine: 1 - score, score, parameters, fitMs: 0 };
}

test('one-standard-error rule: the smaller size of the best family within the noise of the best is chosen, not one clearly worse nor another family', () => {
  // The device's true directional derivatives t, measured with noise as m; 'big' and 'near' both
  // predict t closely (they differ by less than the measurement noise), 'far' does not.
  const t = [1.0, -0.8, 0.5, 0.9, -0.3, 0.2];
  const m = t.map((x, i) => x + [0.3, -0.2, -0.3, 0.1, 0.25, -0.3][i]);
  const big = t.map((x, i) => x + [0.05, -0.05, 0, 0.05, 0, -0.05][i]);
  const near = t.map((x, i) => x + [0.05, 0.05, -0.05, 0, 0, 0.05][i]);
  const far = [0.3, 0.9, -0.7, 0.1, 0.8, -0.6];
  const cos = (p: number[]) => m.reduce((a, x, i) => a + x * p[i], 0) / Math.hypot(...m) / Math.hypot(...p);
  const rows = [row('narx', 1 - cos(big), 1000), row('narx', 1 - cos(near), 100), row('far', 1 - cos(far), 10)];
  const { choice, best, scores } = chooseDesign(rows, m, [big, near, far]);
  assert.is(best.parameters, 1000);
  assert.is(choice.parameters, 100, JSON.stringify(scores.map((s) => [s.score, s.scoreSe])));
  assert.ok(scores[2].score - scores[0].score > scores[2].scoreSe, 'far is more than one SE behind');
  assert.is(scores[0].scoreSe, 0);
  // With 'near' made clearly worse the expensive best is kept.
  const worse = t.map((x, i) => x + [-0.6, 0.5, 0.6, -0.5, -0.4, 0.5][i]);
  const again = chooseDesign([rows[0], row('narx', 1 - cos(worse), 100)], m, [big, worse]);
  assert.is(again.choice.parameters, 1000, JSON.stringify(again.scores.map((s) => [s.score, s.scoreSe])));
  // A cheaper design of another family within the noise does not replace the best one's family.
  const other = chooseDesign([rows[0], row('memoryless', 1 - cos(near), 100)], m, [big, near]);
  assert.is(other.choice.parameters, 1000);
});

test('cosineDifferenceSe: 0 for identical predictions, larger for predictions that disagree on some directions', () => {
  const m = [1, 2, -1, 0.5, -2];
  assert.is(cosineDifferenceSe(m, m, m), 0);
  const a = [1, 2, -1, 0.5, -2], b = [1, 2, 1, 0.5, -2];
  assert.ok(cosineDifferenceSe(m, a, b) > 0.05, String(cosineDifferenceSe(m, a, b)));
  assert.is(cosineDifferenceSe([1, 2], [1, 2], [2, 1]), Infinity);
});

test.run();
