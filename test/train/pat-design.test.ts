import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DeviceClient } from '../../src/device/client.js';
import { openSimLink } from '../../src/sim/serve.js';
import { selectBackend } from '../../src/core/backend.js';
import { narxWidth, memorylessWidth, stateWidth } from '../../src/surrogate/designs.js';
import { type TrainCheckpoint, type TrainOptions, TrainingInterrupted } from '../../src/train/common.js';
import { train } from '../../src/train/train.js';

test.before(async () => {
  await selectBackend('wasm');
});

// Tiny runs: 4 episodes of 20 + 100 steps; the exploration is given segments of 150 steps (its
// designs fit for their default 30 epochs: 10 left optical undecided) and a budget it spends
// exactly: a memory probe of 1000 steps, 13 segments, the fidelity reading's 13 segments.
const EXPLORE = { budget: 4900, segmentSteps: 150 };
const SMALL: Omit<TrainOptions, 'trainer' | 'seed'> = {
  task: 'narma10', episodes: 4, steps: 100, washout: 20, trainSteps: 1000, fitSteps: 300, testSteps: 200,
  surrogate: { fitExamples: 256, firstEpochs: 5, design: 'auto', explore: EXPLORE }, fidelityEvery: 0,
};
const OPTICAL = { profile: 'optical', overrides: { inChannels: 16, outChannels: 32 } };
const AWG = { profile: 'analog-awg', overrides: { nodes: 20, inChannels: 20 } };

/** Runs `f` on a small simulator, counting every vector the device processed (its results$ tap). */
async function onSim<T>(sim: { profile: string; overrides: Record<string, unknown> }, f: (d: DeviceClient) => Promise<T>): Promise<{ value: T; processed: number }> {
  const s = openSimLink(sim.profile, { seed: 2, overrides: sim.overrides });
  const device = await DeviceClient.connect(s.link, { twin: s.model });
  let processed = 0;
  const sub = device.results$.subscribe((b) => { processed += b.count; });
  try {
    return { value: await f(device), processed };
  } finally {
    sub.unsubscribe();
    await device.close();
  }
}

test('auto on a scattering simulator (optical) trains with the transmission-matrix design and records the choice; exploration samples are counted', async () => {
  const { value: res, processed } = await onSim(OPTICAL, (device) => train({ ...SMALL, trainer: 'pat', seed: 1, device }));
  const c = res.surrogateChoice!;
  assert.ok(c, 'the result carries the choice');
  assert.equal([c.requested, c.design, c.window, c.responseLags, c.hidden], ['auto', 'transmission', 1, 0, []], JSON.stringify(c));
  const ex = c.exploration as { scores: { design: string }[]; memory: { reach: number }; suggestedTaps: number; samples: number };
  assert.equal(ex.scores.map((s) => s.design), ['narx', 'state', 'memoryless', 'transmission'], 'every design is scored');
  assert.is(ex.memory.reach, 0);
  assert.is(ex.suggestedTaps, 20, 'recorded, not applied');
  assert.is(res.model.inputLayer.taps, 20);
  // The model trained is the chosen one.
  assert.is(res.model.surrogate!.format, 'transmission-surrogate/1');
  // deviceSamples = exploration + 4 training episodes + final fit and test, and every one was sent.
  assert.is(c.samples, EXPLORE.budget);
  assert.is(res.deviceSamples, c.samples + 4 * 120 + (2 * 20 + 300 + 200));
  assert.is(res.deviceSamples, processed);
  // (episode 1 is measured while episode 0 is learnt from: its record can count it too)
  assert.ok(res.episodes[0].deviceSamples >= c.samples + 120, 'episode records count the exploration');
  assert.ok(Number.isFinite(res.test.value));
});

test('auto on a simulator with memory (analog-awg) trains with a design with history, the best scored one', async () => {
  const { value: res } = await onSim(AWG, (device) => train({ ...SMALL, trainer: 'pat', seed: 1, device }));
  const c = res.surrogateChoice!;
  assert.ok(c.responseLags > 0 || c.window > 1, JSON.stringify(c));
  const scores = (c.exploration as { scores: { design: string; hidden: number[]; score: number }[] }).scores;
  assert.equal(scores.filter((s) => s.design === 'narx').map((s) => s.hidden), [[64], [narxWidth(20, 20, 4, 1)]], 'NARX offered at two widths');
  const best = scores.reduce((a, b) => (b.score < a.score ? b : a));
  // The state design has one size, so the one-standard-error rule cannot trade it for a smaller one.
  if (best.design === 'state') assert.equal([c.design, c.hidden], ['state', best.hidden]);
  else assert.is(c.design, best.design);
  assert.ok((c.exploration as { memory: { reach: number } }).memory.reach >= 1);
});

test('state is forced without exploring: window 1, the responses as the state, one unit per channel, and the step goes through the responses', async () => {
  const state = { ...SMALL, surrogate: { ...SMALL.surrogate, design: 'state' as const } };
  const { value: res } = await onSim(AWG, (device) => train({ ...state, trainer: 'pat', seed: 1, device }));
  assert.equal(res.surrogateChoice, { requested: 'state', design: 'state', window: 1, responseLags: 1, hidden: [stateWidth(20)], samples: 0 });
  assert.is(res.deviceSamples, 4 * 120 + (2 * 20 + 300 + 200), 'no exploration');
  // Its step goes back along the state, half the adjoint per step: asking for that explicitly is
  // the same run; the gradient stopped at the drive window (which is 1 here, so it misses the
  // device's memory) or the whole adjoint step differently.
  const explicit = await onSim(AWG, (device) => train({ ...state, surrogate: { ...state.surrogate, throughResponses: true, responseDecay: 0.5 }, trainer: 'pat', seed: 1, device }));
  assert.equal(explicit.value.episodes.map((e) => e.loss), res.episodes.map((e) => e.loss));
  assert.is(explicit.value.test.value, res.test.value);
  for (const other of [{ throughResponses: false }, { responseDecay: 1 }]) {
    const r = await onSim(AWG, (device) => train({ ...state, surrogate: { ...state.surrogate, ...other }, trainer: 'pat', seed: 1, device }));
    assert.is.not(r.value.test.value, res.test.value, JSON.stringify(other));
    assert.equal(r.value.episodes[0].loss, res.episodes[0].loss, 'the same run up to the first step with a fitted surrogate');
  }
  const bad = await onSim(AWG, (device) => train({ ...state, surrogate: { ...state.surrogate, responseDecay: 2 }, trainer: 'pat', seed: 1, device }).then(() => null, (e: unknown) => e));
  assert.match(String(bad.value), /surrogate\.responseDecay must be in \[0, 1\], got 2/);
  assert.is(bad.processed, 0, 'refused before measuring');
});

test('a budget counts the exploration: training stops earlier and the run never exceeds it', async () => {
  // Room for the exploration, two episodes and the final fit and test, not three episodes.
  const budget = EXPLORE.budget + 2 * 120 + (2 * 20 + 300 + 200) + 60;
  const { value: res, processed } = await onSim(OPTICAL, (device) => train({ ...SMALL, trainer: 'pat', seed: 1, device, budget }));
  const c = res.surrogateChoice!;
  assert.is(res.episodes.length, 2);
  assert.ok(res.deviceSamples <= budget, `${res.deviceSamples} > ${budget}`);
  assert.is(res.deviceSamples, processed);
  assert.is(res.deviceSamples, c.samples + 2 * 120 + (2 * 20 + 300 + 200));
});

test('the default exploration is 15 % of the planned samples, at least 8 segments; one beyond the budget is refused before measuring', async () => {
  const { explore: _, ...surrogate } = SMALL.surrogate!;
  // A tiny run: 15 % of it is below the minimum, a memory probe, the reading and 8 segments of 200.
  const tiny = await onSim(OPTICAL, (device) => train({ ...SMALL, surrogate, trainer: 'pat', seed: 1, device, episodes: 1 }));
  assert.is(tiny.value.surrogateChoice!.samples, 1000 + 13 * 200 + 8 * 200);
  // A budget of 60,000 (stopped after the first episode): the share, 9,000, less what does not fill a segment.
  const ctl = new AbortController();
  let first: TrainCheckpoint | undefined;
  await onSim(OPTICAL, (device) => train({
    ...SMALL, surrogate, trainer: 'pat', seed: 1, device, episodes: 1000, budget: 60_000, signal: ctl.signal,
    onCheckpoint: (c) => { first ??= c; ctl.abort(); },
  }).catch((e: unknown) => assert.instance(e, TrainingInterrupted)));
  assert.is(first!.surrogateChoice!.samples, 1000 + 13 * 200 + Math.floor((9000 - 3600) / 200) * 200);
  const over = await onSim(OPTICAL, (device) => train({ ...SMALL, trainer: 'pat', seed: 1, device, budget: 5100 }).then(() => null, (e: unknown) => e));
  assert.match(String(over.value), /surrogate design auto: the exploration's 4900 samples and the final fit and test leave nothing of budget 5100/);
  assert.is(over.processed, 0);
});

test('memoryless is forced without exploring; a resume from it with another design is refused by name', async () => {
  const checkpoints: TrainCheckpoint[] = [];
  const ctl = new AbortController();
  const memoryless = { ...SMALL, surrogate: { ...SMALL.surrogate, design: 'memoryless' as const } };
  const first = await onSim(AWG, (device) => train({
    ...memoryless, trainer: 'pat', seed: 1, device, signal: ctl.signal,
    onCheckpoint: (c) => { checkpoints.push(JSON.parse(JSON.stringify(c))); if (c.episode === 2) ctl.abort(); },
  }).then(() => null, (e: unknown) => e));
  assert.instance(first.value, TrainingInterrupted);
  const last = checkpoints.at(-1)!;
  assert.equal(last.surrogateChoice, { requested: 'memoryless', design: 'memoryless', window: 1, responseLags: 0, hidden: [memorylessWidth(20, 20)], samples: 0 });
  assert.ok(last.episodes[0].deviceSamples <= 2 * 120, 'no exploration before the first episode');
  for (const design of ['narx', 'auto'] as const) {
    const r = await onSim(AWG, (device) => train({ ...SMALL, surrogate: { ...SMALL.surrogate, design }, trainer: 'pat', seed: 1, device, resume: last }).then(() => null, (e: unknown) => e));
    assert.instance(r.value, RangeError);
    assert.match((r.value as Error).message, new RegExp(`surrogate design memoryless \\(this run: ${design}\\)`));
    assert.is(r.processed, 0);
  }
  const ok = await onSim(AWG, (device) => train({ ...memoryless, trainer: 'pat', seed: 1, device, resume: last }));
  assert.is(ok.value.episodes.length, 4);
  assert.equal(ok.value.surrogateChoice, last.surrogateChoice);
});

test('a resumed auto run does not explore again and keeps the recorded choice', async () => {
  const checkpoints: TrainCheckpoint[] = [];
  const ctl = new AbortController();
  await onSim(OPTICAL, (device) => train({
    ...SMALL, trainer: 'pat', seed: 1, device, signal: ctl.signal,
    onCheckpoint: (c) => { checkpoints.push(JSON.parse(JSON.stringify(c))); if (c.episode === 2) ctl.abort(); },
  }).then(() => assert.unreachable('should be interrupted'), (e: unknown) => assert.instance(e, TrainingInterrupted)));
  const last = checkpoints.at(-1)!;
  assert.is(last.surrogateChoice!.design, 'transmission');
  assert.is(last.surrogate!.format, 'transmission-surrogate/1');
  const { value: res, processed } = await onSim(OPTICAL, (device) => train({ ...SMALL, trainer: 'pat', seed: 1, device, resume: last }));
  assert.equal(res.surrogateChoice, last.surrogateChoice);
  // Only the two remaining episodes and the final fit and test were measured in the second part.
  assert.is(processed, 2 * 120 + (2 * 20 + 300 + 200));
  assert.is(res.deviceSamples, last.deviceSamples + processed);
});

test('oracle with auto: its fidelity companion uses the chosen design and the exploration counts', async () => {
  const { value: res, processed } = await onSim(OPTICAL, (device) => train({ ...SMALL, trainer: 'oracle', seed: 1, device, fidelity: { every: 2 } }));
  assert.is(res.surrogateChoice!.design, 'transmission');
  assert.is(res.model.surrogate!.format, 'transmission-surrogate/1');
  assert.is(res.deviceSamples, processed);
  assert.is(res.deviceSamples, res.surrogateChoice!.samples + 4 * 120 + (2 * 20 + 300 + 200));
});

test('a design is refused by trainers that would ignore it, and an unknown design by name', async () => {
  for (const trainer of ['classic', 'digital', 'insilico', 'spsa'] as const) {
    const err = await train({ ...SMALL, trainer, seed: 1 }).then(() => null, (e: unknown) => e);
    assert.match(String(err), new RegExp(`surrogate design auto is for pat and oracle; ${trainer} does not use it`));
  }
  const bogus = await onSim(OPTICAL, (device) => train({ ...SMALL, surrogate: { design: 'bogus' as 'auto' }, trainer: 'pat', seed: 1, device }).then(() => null, (e: unknown) => e));
  assert.match(String(bogus.value), /surrogate\.design must be auto, narx, state, memoryless, transmission, got bogus/);
});

test.run();
