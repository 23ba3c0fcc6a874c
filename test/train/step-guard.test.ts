import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng } from '../../src/core/rng.js';
import { fidelityTrust, guardStep, initGuard } from '../../src/train/step-guard.js';

// L(w) = ½ Σ λ_i (w_i - c_i)², λ_i in [1, 10]: gradient descent is stable for lr < 2/10, best near 0.1.
const D = 10;
const rng = new Rng(7);
const lambda = Float64Array.from({ length: D }, (_, i) => 1 + i);
const centre = Float64Array.from({ length: D }, () => rng.normal());
const loss = (w: Float64Array): number => w.reduce((s, v, i) => s + 0.5 * lambda[i] * (v - centre[i]) ** 2, 0);
const grad = (w: Float64Array): Float64Array => w.map((v, i) => lambda[i] * (v - centre[i]));

function descend(lr0: number, steps: number, guarded: boolean): { final: number; accepted: number[]; rollbacks: number } {
  let w = new Float64Array(D);
  let guard = initGuard({ learningRate: lr0 });
  let lr = lr0;
  const accepted: number[] = [loss(w)];
  guard = guardStep(guard, loss(w)).state; // the starting point is the first reference
  for (let k = 0; k < steps; k++) {
    const before = w;
    const g = grad(w);
    w = w.map((v, i) => v - lr * g[i]);
    if (!guarded) continue;
    const d = guardStep(guard, loss(w));
    guard = d.state;
    if (d.action === 'rollback') w = before; else accepted.push(loss(w));
    lr = d.learningRate;
  }
  return { final: loss(w), accepted, rollbacks: guard.rollbacks };
}

test('a 10x too-large learning rate diverges unguarded and converges guarded', () => {
  const start = loss(new Float64Array(D));
  const plain = descend(1.0, 100, false);
  assert.ok(!(plain.final < 1e6 * start), `unguarded ${plain.final}`);
  const g = descend(1.0, 100, true);
  assert.ok(g.final < 1e-6 * start, `guarded final ${g.final} from ${start}`);
  assert.ok(g.accepted.every((l) => l <= 1.5 * start), `accepted losses ${Math.max(...g.accepted)}`);
  assert.ok(g.rollbacks >= 1);
  // a well-chosen rate is not slowed down by the guard
  assert.ok(descend(0.1, 100, true).final <= 1.001 * descend(0.1, 100, false).final + 1e-12);
});

test('actions: accept grows, a small rise backs off, a jump or NaN rolls back; rates stay in bounds', () => {
  let s = initGuard({ learningRate: 0.01, tolerance: 0.05, rollbackRise: 0.5 });
  let d = guardStep(s, 1.0);
  assert.is(d.action, 'accept');
  assert.ok(Math.abs(d.learningRate - 0.011) < 1e-12);
  s = d.state;
  d = guardStep(s, 1.2);
  assert.is(d.action, 'backoff');
  assert.ok(Math.abs(d.learningRate - 0.0055) < 1e-12);
  d = guardStep(d.state, 2.0);
  assert.is(d.action, 'rollback');
  assert.is(d.state.reference, 1.2);
  assert.is(guardStep(d.state, NaN).action, 'rollback');
  let t = initGuard({ learningRate: 0.01 });
  for (let k = 0; k < 200; k++) t = guardStep(t, Number.NaN).state;
  assert.is(t.rate, 0.01 / 1000);
  for (let k = 0; k < 200; k++) t = guardStep(t, 1 / (k + 1)).state;
  assert.is(t.rate, 0.1);
  assert.throws(() => initGuard({ learningRate: 0.01, backoff: 1 }), /'backoff'/);
  assert.throws(() => initGuard({ learningRate: -1 }), /'learningRate'/);
});

test('losses that vary by their data (±30 % around a slow fall) neither roll back after the first few nor wear the rate down', () => {
  const rng = new Rng(3);
  let s = initGuard({ learningRate: 0.01 });
  const actions: string[] = [];
  for (let k = 0; k < 200; k++) {
    const d = guardStep(s, (1 - k / 400) * Math.exp(0.3 * rng.normal()));
    s = d.state;
    actions.push(d.action);
  }
  assert.ok(actions.slice(20).filter((a) => a === 'rollback').length <= 2, `rollbacks after 20: ${actions.slice(20).filter((a) => a === 'rollback').length}`);
  assert.ok(s.rate >= 0.005, `rate ${s.rate}`);
  assert.ok(Math.sqrt(2 * s.noise) > 0.15, `noise learnt: σ ${Math.sqrt(2 * s.noise)}`);
});

test('fidelity: a confident slope of 1 keeps the rate, a wrong-signed or uncertain gradient gets the smallest trust', () => {
  assert.is(fidelityTrust(undefined, 0.1), 1);
  assert.ok(Math.abs(fidelityTrust({ slope: 1, slopeSe: 0.02 }, 0.1) - 0.96) < 1e-12);
  assert.is(fidelityTrust({ slope: 2, slopeSe: 0.1 }, 0.1), 1);
  assert.is(fidelityTrust({ slope: -0.5, slopeSe: 0.1 }, 0.1), 0.1);
  assert.is(fidelityTrust({ slope: 0.8, slopeSe: 0.6 }, 0.1), 0.1);
  assert.is(fidelityTrust({ slope: NaN, slopeSe: NaN }, 0.1), 0.1);
  const d = guardStep(initGuard({ learningRate: 0.01 }), 1, { slope: -1, slopeSe: 0.1 });
  assert.ok(Math.abs(d.learningRate - 0.011 * 0.1) < 1e-12);
});

test.run();
