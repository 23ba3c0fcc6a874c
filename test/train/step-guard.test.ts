import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng } from '../../src/core/rng.js';
import { blockStat, guardNoise, guardStep, initGuard, type GuardAction, type GuardState } from '../../src/train/step-guard.js';

function feed(s: GuardState, losses: readonly number[]): { state: GuardState; actions: GuardAction[] } {
  const actions: GuardAction[] = [];
  for (const l of losses) {
    const d = guardStep(s, l);
    s = d.state;
    actions.push(d.action);
  }
  return { state: s, actions };
}

test('losses that vary by their window (log spread 0.4 around a slow fall) seldom roll back', () => {
  const rng = new Rng(3);
  let runs = 0;
  for (let k = 0; k < 200; k++) {
    const losses = Array.from({ length: 200 }, (_, i) => (1 - i / 400) * Math.exp(0.4 * rng.normal()));
    const { state, actions } = feed(initGuard({ learningRate: 0.03 }), losses);
    if (actions.includes('rollback')) runs++;
    else assert.is(state.rate, 0.03);
    assert.ok(Math.abs(guardNoise(state) - 0.4) < 0.1, `pooled noise ${guardNoise(state)}`);
  }
  // About 1 % expected (module comment).
  assert.ok(runs <= 6, `${runs} of 200 runs rolled back`);
});

test('a loss that turns up rolls back once per block it stays up, halving the rate down to the floor', () => {
  const s0 = initGuard({ learningRate: 0.04, block: 5 });
  // Two good blocks, then losses three times the best.
  let r = feed(s0, [1, 1.1, 0.9, 1, 1, 0.8, 0.9, 0.8, 0.85, 0.8]);
  assert.equal(r.actions, ['hold', 'hold', 'hold', 'hold', 'best', 'hold', 'hold', 'hold', 'hold', 'best']);
  const best = r.state.best!;
  assert.ok(Math.abs(best - blockStat([0.8, 0.9, 0.8, 0.85, 0.8].map(Math.log)).mean) < 1e-12);
  r = feed(r.state, [2.4, 2.6, 2.5, 2.4, 2.5]);
  assert.equal(r.actions, ['hold', 'hold', 'hold', 'hold', 'rollback']);
  assert.is(r.state.rate, 0.02);
  assert.is(r.state.rollbacks, 1);
  assert.equal(r.state.best, best, 'the best block stays the reference');
  for (const rate of [0.01, 0.005, 0.0025]) {
    r = feed(r.state, [2.4, 2.6, 2.5, 2.4, 2.5]);
    assert.is(r.state.rate, rate);
  }
  // At the floor (a sixteenth) the guard only watches.
  r = feed(r.state, [2.4, 2.6, 2.5, 2.4, 2.5]);
  assert.is(r.actions[4], 'hold');
  assert.is(r.state.rate, 0.0025);
  assert.is(r.state.rollbacks, 4);
});

test('a rise within the losses\' own noise, or below the smallest relative rise, holds', () => {
  const quiet = feed(initGuard({ learningRate: 0.01 }), [1, 1, 1, 1, 1]).state;
  // +40 % on noise-free losses: under the 50 % floor; +70 %: over it.
  assert.is(feed(quiet, [1.4, 1.4, 1.4, 1.4, 1.4]).actions[4], 'hold');
  assert.is(feed(quiet, [1.7, 1.7, 1.7, 1.7, 1.7]).actions[4], 'rollback');
  // Losses that spread over a factor 10: the same +70 % is not told apart from the windows.
  const noisy = feed(initGuard({ learningRate: 0.01 }), [0.3, 3, 0.5, 4, 1, 0.2, 2, 0.6, 3, 1]).state;
  assert.ok(guardNoise(noisy) > 0.8, `noise ${guardNoise(noisy)}`);
  assert.is(feed(noisy, [1.7, 1.7, 1.7, 1.7, 1.7]).actions[4], 'hold');
  assert.is(feed(noisy, [20, 20, 20, 20, 20]).actions[4], 'rollback');
});

test('a loss that is not finite rolls back at once; options are checked by name', () => {
  const s = feed(initGuard({ learningRate: 0.01 }), [1, 1]).state;
  const d = guardStep(s, Number.NaN);
  assert.is(d.action, 'rollback');
  assert.is(d.state.pending.length, 0);
  assert.is(guardStep(s, Infinity).action, 'rollback');
  assert.throws(() => initGuard({ learningRate: 0.01, backoff: 1 }), /'backoff'/);
  assert.throws(() => initGuard({ learningRate: -1 }), /'learningRate'/);
  assert.throws(() => initGuard({ learningRate: 0.01, block: 2 }), /'block'/);
  assert.throws(() => initGuard({ learningRate: 0.01, minRate: 0.1 }), /'minRate'/);
});

// L(w) = ½ Σ λ_i (w_i - c_i)², λ_i in [1, 10], plain gradient descent with per-step noise on the
// loss the guard sees (a trainer's windows): stable for lr < 0.2.
function descend(lr0: number, steps: number, guarded: boolean): { final: number; worst: number; rollbacks: number } {
  const D = 10, rng = new Rng(7);
  const lambda = Float64Array.from({ length: D }, (_, i) => 1 + i);
  const centre = Float64Array.from({ length: D }, () => rng.normal());
  const loss = (w: Float64Array): number => w.reduce((s, v, i) => s + 0.5 * lambda[i] * (v - centre[i]) ** 2, 0);
  let w = new Float64Array(D), saved = w, guard = initGuard({ learningRate: lr0, minRate: lr0 / 64 });
  let worst = loss(w);
  for (let k = 0; k < steps; k++) {
    w = w.map((v, i) => v - guard.rate * lambda[i] * (v - centre[i]));
    const seen = loss(w) * Math.exp(0.2 * rng.normal()) + 1e-3;
    worst = Math.max(worst, loss(w));
    if (!guarded) continue;
    const d = guardStep(guard, seen);
    guard = d.state;
    if (d.action === 'best') saved = w;
    if (d.action === 'rollback') w = saved;
  }
  return { final: loss(w), worst, rollbacks: guard.rollbacks };
}

test('gradient descent at 10x a good rate diverges unguarded; guarded it backs off and converges', () => {
  const start = descend(0.1, 0, false).final;
  const plain = descend(1.0, 200, false);
  assert.ok(!(plain.final < 1e6 * start), `unguarded ${plain.final}`);
  const g = descend(1.0, 200, true);
  assert.ok(g.rollbacks >= 1);
  assert.ok(g.final < 0.01 * start, `guarded final ${g.final} from ${start}`);
  // At a good rate the guard never fires, so it costs nothing.
  const good = descend(0.1, 200, true);
  assert.is(good.rollbacks, 0);
  assert.is(good.final, descend(0.1, 200, false).final);
});

test.run();
