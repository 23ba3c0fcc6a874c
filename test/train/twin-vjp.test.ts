import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createModel, type ModelOptions, type ProfileName } from '../../src/sim/profiles.js';
import type { ReservoirModel, ReservoirTwin } from '../../src/core/reservoir.js';
import { Rng } from '../../src/core/rng.js';
import { TwinGradient } from '../../src/train/twin-grad.js';

type Case = [ProfileName, Partial<ModelOptions[keyof ModelOptions]>, string];

// Every twin option stepVjp has to honour: mask width (analog-awg), read-out clip at the rails
// (analog fullScale 0.1, optical exposure 0.8), Mackey-Glass exponents other than 2, dense and
// grouped fpga wiring, optical feedback (incl. a saturated previous frame: feedback clip at r = 1),
// and latency (handled by the sweep).
const cases: Case[] = [
  ['analog', {}, 'analog'],
  ['analog-awg', {}, 'analog-awg (50 channels, gamma 0.05, theta 0.5)'],
  ['analog', { fullScale: 0.1, p: 1.5 }, 'analog, outputs at the rails, p 1.5'],
  ['analog', { p: 1, latencySamples: 3 }, 'analog, p 1, latency 3'],
  ['fpga', {}, 'fpga dense'],
  ['fpga-awg', {}, 'fpga-awg grouped'],
  ['fpga', { latencySamples: 2, inChannels: 3 }, 'fpga dense, 3 channels, latency 2'],
  ['optical', {}, 'optical'],
  ['optical-feedback', {}, 'optical feedback'],
  ['optical-feedback', { exposure: 0.8, cameraBits: 8 }, 'optical feedback, saturated camera'],
];

/** Drives in [-1, 1] with about a fifth exactly at ±1 and a few beyond (clipped by the twin). */
function drives(rng: Rng, n: number): Float64Array {
  return Float64Array.from({ length: n }, () => {
    const r = rng.uniform();
    if (r < 0.1) return 1;
    if (r < 0.2) return -1;
    if (r < 0.25) return rng.range(1, 1.5) * (rng.uniform() < 0.5 ? -1 : 1);
    return Math.tanh(rng.normal());
  });
}

function maxAbs(v: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]));
  return m;
}

test('analytic twin VJP (stepVjp) equals the finite-difference twin VJP, with clipped drives and saturated outputs', () => {
  const rng = new Rng(11);
  for (const [profile, opts, name] of cases) {
    const model = createModel(profile, opts as never, 4);
    const an = new TwinGradient({ model });
    const fd = new TwinGradient({ model, method: 'fd' });
    assert.is(an.method, 'analytic', name);
    assert.is(fd.method, 'fd', name);
    const T = 30, ci = an.inChannels, co = an.outChannels;
    const a = drives(rng, T * ci);
    const dy = Float64Array.from({ length: T * co }, () => rng.normal());
    const ga = an.vjp(a, dy), gf = fd.vjp(a, dy);
    const scale = maxAbs(gf);
    assert.ok(scale > 1e-3, `${name}: degenerate gradient ${scale}`);
    let worst = 0;
    for (let i = 0; i < ga.length; i++) worst = Math.max(worst, Math.abs(ga[i] - gf[i]));
    assert.ok(worst <= 1e-6 * scale, `${name}: max |analytic - fd| ${worst} > 1e-6 × ${scale}`);
    // Drives beyond ±1 are clipped by the twin: no gradient, in both methods.
    for (let i = 0; i < a.length; i++) if (Math.abs(a[i]) > 1 && i < (T - an.latency) * ci) assert.is(ga[i], 0, `${name} [${i}]`);
    const L = an.latency;
    for (let i = (T - L) * ci; i < T * ci; i++) assert.is(ga[i], 0, `${name}: tail row under latency`);
  }
});

test('the saturation cases do saturate (otherwise the clip paths above go untested)', () => {
  const rng = new Rng(12);
  for (const [profile, opts] of [['analog', { fullScale: 0.1, p: 1.5 }], ['optical-feedback', { exposure: 0.8, cameraBits: 8 }]] as const) {
    const o = new TwinGradient({ model: createModel(profile, opts as never, 4) });
    const r = o.respond(drives(rng, 30 * o.inChannels));
    const railed = Array.from(r).filter((v) => v === 0 || v === 1).length;
    assert.ok(railed > r.length / 50, `${profile}: ${railed} of ${r.length} responses at a rail`);
  }
});

/**
 * Central difference of λ·state' + dy·output along the coordinate `bump` moves, Richardson-extrapolated
 * (2 D(eps/2) - D(eps)): across a clip edge the central difference is half a one-sided difference,
 * whose O(eps) error would otherwise swamp the comparison at the edge points.
 */
function fdContraction(twin: ReservoirTwin, state: Float64Array, input: Float64Array, lambda: Float64Array, dy: Float64Array, bump: (s: Float64Array, u: Float64Array, e: number) => void, eps: number): number {
  const f = (e: number): number => {
    const s = Float64Array.from(state), u = Float64Array.from(input);
    bump(s, u, e);
    const r = twin.step(s, u);
    let v = 0;
    for (let i = 0; i < r.state.length; i++) v += lambda[i] * r.state[i];
    for (let i = 0; i < r.output.length; i++) v += dy[i] * r.output[i];
    return v;
  };
  const d = (e: number): number => (f(e) - f(-e)) / (2 * e);
  return 2 * d(eps / 2) - d(eps);
}

test('stepVjp of every twin equals central differences of one twin step in device units (inputs inside, at and beyond the range ends)', () => {
  const rng = new Rng(13);
  for (const [profile, opts, name] of cases) {
    const model: ReservoirModel = createModel(profile, opts as never, 5);
    const twin = model.twin();
    const [lo, hi] = model.inRange;
    const span = hi - lo;
    // A state reached by driving (saturated where the case saturates), then one more input to test.
    let state = twin.init();
    const u = new Float64Array(twin.inChannels);
    const fill = (): void => { for (let c = 0; c < u.length; c++) u[c] = lo + rng.uniform() * span; };
    for (let k = 0; k < 5; k++) { fill(); state = twin.step(state, u).state; }
    fill();
    u[0] = lo; u[u.length - 1] = hi; // exactly at the ends: the mean of the one-sided slopes
    if (u.length > 3) { u[1] = lo - 0.2 * span; u[2] = hi + 0.2 * span; } // beyond: slope 0
    const lambda = Float64Array.from({ length: twin.stateSize }, () => rng.normal());
    const dy = Float64Array.from({ length: twin.outChannels }, () => rng.normal() / span);
    const r = twin.stepVjp!(state, u, lambda, dy);
    assert.is(r.dState.length, twin.stateSize);
    assert.is(r.dInput.length, twin.inChannels);
    const scaleIn = maxAbs(r.dInput) || 1, scaleSt = maxAbs(r.dState) || 1;
    for (let c = 0; c < twin.inChannels; c++) {
      const eps = 1e-6 * span;
      const want = fdContraction(twin, state, u, lambda, dy, (_s, uu, e) => { uu[c] += e; }, eps);
      assert.ok(Math.abs(r.dInput[c] - want) <= 1e-5 * scaleIn, `${name} dInput[${c}] (u ${u[c]}): ${r.dInput[c]} vs ${want}`);
    }
    if (u.length > 3) { assert.is(r.dInput[1], 0, `${name}: below range`); assert.is(r.dInput[2], 0, `${name}: above range`); }
    for (let j = 0; j < twin.stateSize; j++) {
      const eps = 1e-6 * Math.max(1, Math.abs(state[j]));
      const want = fdContraction(twin, state, u, lambda, dy, (s, _u, e) => { s[j] += e; }, eps);
      assert.ok(Math.abs(r.dState[j] - want) <= 1e-5 * scaleSt, `${name} dState[${j}] (x ${state[j]}): ${r.dState[j]} vs ${want}`);
    }
    // null is a zero cotangent, and stepVjp leaves its arguments alone.
    const s0 = Float64Array.from(state), u0 = Float64Array.from(u);
    const a = twin.stepVjp!(state, u, null, dy), b = twin.stepVjp!(state, u, new Float64Array(twin.stateSize), dy);
    const c = twin.stepVjp!(state, u, lambda, null), d = twin.stepVjp!(state, u, lambda, new Float64Array(twin.outChannels));
    assert.equal(Array.from(a.dInput), Array.from(b.dInput), name);
    assert.equal(Array.from(a.dState), Array.from(b.dState), name);
    assert.equal(Array.from(c.dInput), Array.from(d.dInput), name);
    assert.equal(Array.from(c.dState), Array.from(d.dState), name);
    assert.equal(Array.from(state), Array.from(s0), name);
    assert.equal(Array.from(u), Array.from(u0), name);
  }
});

test('optical feedback from a frame at the rails: the feedback clip gives half the slope at r = 0 and r = 1, as a central difference does', () => {
  const model = createModel('optical-feedback', { inChannels: 8, outChannels: 6 }, 2);
  const twin = model.twin(), camMax = model.outRange[1];
  const state = Float64Array.from({ length: 6 }, (_, m) => (m % 3 === 0 ? camMax : m % 3 === 1 ? 0 : 0.4 * camMax));
  const u = Float64Array.from({ length: 8 }, (_, j) => 30 * j);
  const lambda = Float64Array.from({ length: 6 }, (_, m) => Math.cos(m));
  const r = twin.stepVjp!(state, u, lambda, null);
  for (let j = 0; j < 6; j++) {
    const eps = 1e-5 * camMax; // not relative to x: at x = 0 that would drown in rounding
    const want = fdContraction(twin, state, u, lambda, new Float64Array(6), (s, _u, e) => { s[j] += e; }, eps);
    assert.ok(Math.abs(r.dState[j] - want) <= 1e-6 * Math.max(1e-3, Math.abs(want)), `dState[${j}] (x ${state[j]}): ${r.dState[j]} vs ${want}`);
  }
  assert.ok(maxAbs(r.dState) > 0, 'no feedback gradient at all');
});

test('method: analytic is the default for the simulator twins, fd for a twin without stepVjp; analytic without stepVjp is refused', () => {
  const model = createModel('analog', { nodes: 5 }, 1);
  const bare: ReservoirModel = Object.assign(Object.create(Object.getPrototypeOf(model) as object) as ReservoirModel, model, {
    twin: (): ReservoirTwin => {
      const t = model.twin();
      return { stateSize: t.stateSize, inChannels: t.inChannels, outChannels: t.outChannels, init: t.init, step: t.step };
    },
  });
  assert.is(new TwinGradient({ model }).method, 'analytic');
  assert.is(new TwinGradient({ model: bare }).method, 'fd');
  assert.throws(() => new TwinGradient({ model: bare, method: 'analytic' }), /needs a twin with stepVjp/);
  assert.throws(() => new TwinGradient({ model, method: 'exact' as never }), /method must be/);
  // The fallback still gives the same gradient as the analytic path.
  const rng = new Rng(3);
  const a = drives(rng, 20), dy = Float64Array.from({ length: 100 }, () => rng.normal());
  const g1 = new TwinGradient({ model }).vjp(a, dy), g2 = new TwinGradient({ model: bare }).vjp(a, dy);
  const scale = maxAbs(g2);
  for (let i = 0; i < g1.length; i++) assert.ok(Math.abs(g1[i] - g2[i]) <= 1e-6 * scale, `[${i}] ${g1[i]} vs ${g2[i]}`);
});

test.run();
