import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/core/rng.js';
import { NarxSurrogate, type SeqContext } from '../../src/surrogate/narx.js';
import { cutWindows } from '../../src/surrogate/windows.js';
import { diff, finiteDiffVjp, randn, randomExamples } from './helpers.js';

test.before(async () => {
  await tf.setBackend('cpu');
});

interface Case { window: number; responseLags: number; hidden: number[]; history: boolean }
const cases: Case[] = [];
for (const window of [1, 5]) for (const responseLags of [0, 2]) for (const hidden of [[16], [12, 10]]) for (const history of [false, true]) {
  cases.push({ window, responseLags, hidden, history });
}

/** A surrogate of `c` with a non-trivial normalisation, drives, dy and context, all seeded. */
function setup(c: Case, seed: number, t = 9) {
  const shape = { inChannels: 2, outChannels: 3, window: c.window, responseLags: c.responseLags };
  const s = new NarxSurrogate({ ...shape, hidden: c.hidden, seed });
  const rng = new Rng(seed).fork('data');
  s.fit(randomExamples(shape, 200, rng), { epochs: 0 }); // sets μ, σ only
  const drives = randn(rng, t, 2, 0.3, 0.7), dy = randn(rng, t, 3);
  const ctx: SeqContext = {};
  if (c.responseLags > 0) ctx.measured = randn(rng, t, 3, -0.5, 2);
  if (c.history) {
    ctx.drives = randn(rng, c.window - 1, 2, 0.3, 0.7);
    if (c.responseLags > 0) ctx.responses = randn(rng, c.responseLags, 3, -0.5, 2);
  }
  const dispose = () => { s.dispose(); tf.dispose([drives, dy, ctx.drives, ctx.measured, ctx.responses].filter((x): x is tf.Tensor2D => !!x)); };
  return { s, drives, dy, ctx, dispose };
}

const label = (c: Case) => `W=${c.window} R=${c.responseLags} hidden=[${c.hidden}] ${c.history ? 'with' : 'without'} history`;

test('vjpSeq equals tf.grad of sum(predictSeq(d) * dy) (16 configurations), shape and dtype', () => {
  let worst = 0;
  cases.forEach((c, i) => {
    const { s, drives, dy, ctx, dispose } = setup(c, 10 + i);
    const vjp = s.vjpSeq(drives, dy, ctx);
    const auto = tf.grad((d: tf.Tensor) => tf.sum(tf.mul(s.predictSeq(d as tf.Tensor2D, ctx), dy)))(drives);
    assert.equal(vjp.shape, [9, 2], label(c));
    assert.is(vjp.dtype, 'float32');
    const { maxAbs, scale } = diff(vjp, auto);
    assert.ok(scale > 1e-2, `${label(c)}: gradient is not trivially zero`);
    assert.ok(maxAbs <= 1e-5 * scale, `${label(c)}: max |vjp - tf.grad| ${maxAbs} vs scale ${scale}`);
    worst = Math.max(worst, maxAbs / scale);
    tf.dispose([vjp, auto]);
    dispose();
  });
  if (process.env.SURROGATE_REPORT === '1') console.log('worst |vjp - tf.grad| / max|tf.grad|', worst);
});

test('vjpSeq equals central finite differences of predictSeq (eps 1e-2, relative error < 1e-3, measured 4e-5)', () => {
  let worst = 0;
  cases.forEach((c, i) => {
    const { s, drives, dy, ctx, dispose } = setup(c, 40 + i, 7);
    const vjp = s.vjpSeq(drives, dy, ctx);
    const fd = finiteDiffVjp((d) => s.predictSeq(d, ctx), drives, dy, 1e-2);
    const { relNorm } = diff(vjp, fd);
    worst = Math.max(worst, relNorm);
    assert.ok(relNorm < 1e-3, `${label(c)}: ‖vjp - fd‖/‖fd‖ = ${relNorm}`);
    tf.dispose([vjp, fd]);
    dispose();
  });
  assert.ok(worst > 0); // the comparison ran
  if (process.env.SURROGATE_REPORT === '1') console.log('worst FD relative error', worst);
});

test('throughResponses: the VJP equals tf.grad of the closed loop (each response fed back as the next steps\' history), 8 configurations', () => {
  cases.filter((c) => c.responseLags > 0).forEach((c, i) => {
    const t = 8;
    const { s, drives, dy, ctx, dispose } = setup(c, 70 + i, t);
    // The closed loop: row k of the history is the surrogate's own prediction of step k.
    const closed = (d: tf.Tensor2D): tf.Tensor2D => {
      let m = tf.zeros([t, 3]) as tf.Tensor2D, p = m;
      for (let k = 0; k < t; k++) {
        p = s.predictSeq(d, { ...ctx, measured: m });
        m = tf.concat([p.slice([0, 0], [k + 1, 3]), tf.zeros([t - k - 1, 3])], 0) as tf.Tensor2D;
      }
      return p;
    };
    const loop = closed(drives);
    const vjp = s.vjpSeq(drives, dy, { ...ctx, measured: loop, throughResponses: true });
    const auto = tf.grad((d: tf.Tensor) => tf.sum(tf.mul(closed(d as tf.Tensor2D), dy)))(drives);
    const windowOnly = s.vjpSeq(drives, dy, { ...ctx, measured: loop });
    const { maxAbs, scale } = diff(vjp, auto);
    assert.ok(maxAbs <= 1e-4 * scale, `${label(c)}: max |vjp - tf.grad| ${maxAbs} vs scale ${scale}`);
    assert.ok(diff(windowOnly, auto).maxAbs > 1e-3 * scale, `${label(c)}: the window-only VJP misses the response path`);
    tf.dispose([loop, vjp, auto, windowOnly]);
    dispose();
  });
});

test('responseDecay ρ: 0 is the window-only VJP, 1 the whole adjoint, ρ the closed loop whose fed-back responses pass ρ of their gradient (one lag)', () => {
  /** x forward, ρ·dy backward. */
  const scaleGrad = (x: tf.Tensor2D, rho: number): tf.Tensor2D => tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const v = args[0] as tf.Tensor;
    return { value: v.clone(), gradFunc: (dy: tf.Tensor) => tf.mul(dy, rho) };
  })(x) as tf.Tensor2D;
  const oneLag = cases.filter((c) => c.responseLags > 0).map((c) => ({ ...c, responseLags: 1 }));
  assert.ok(oneLag.length > 0);
  oneLag.forEach((c, i) => {
    const t = 8;
    const { s, drives, dy, ctx, dispose } = setup(c, 90 + i, t);
    const closed = (d: tf.Tensor2D, rho: number): tf.Tensor2D => {
      let m = tf.zeros([t, 3]) as tf.Tensor2D, p = m;
      for (let k = 0; k < t; k++) {
        p = s.predictSeq(d, { ...ctx, measured: m });
        m = tf.concat([scaleGrad(p.slice([0, 0], [k + 1, 3]) as tf.Tensor2D, rho), tf.zeros([t - k - 1, 3])], 0) as tf.Tensor2D;
      }
      return p;
    };
    const loop = closed(drives, 1);
    const at = (rho: number): tf.Tensor2D => s.vjpSeq(drives, dy, { ...ctx, measured: loop, throughResponses: true, responseDecay: rho });
    const windowOnly = s.vjpSeq(drives, dy, { ...ctx, measured: loop });
    const [g0, g1, gHalf] = [at(0), at(1), at(0.5)];
    const whole = s.vjpSeq(drives, dy, { ...ctx, measured: loop, throughResponses: true });
    const auto = tf.grad((d: tf.Tensor) => tf.sum(tf.mul(closed(d as tf.Tensor2D, 0.5), dy)))(drives);
    const { maxAbs, scale } = diff(gHalf, auto);
    // the window-only VJP is tfjs's batched matmuls, the sweep plain loops: equal up to float32 rounding
    assert.ok(diff(g0, windowOnly).maxAbs <= 1e-5 * scale, `${label(c)}: ρ 0 is the window only`);
    assert.ok(diff(g1, whole).maxAbs === 0, `${label(c)}: ρ 1 is the default`);
    assert.ok(maxAbs <= 1e-4 * scale, `${label(c)}: max |vjp(ρ 0.5) - tf.grad| ${maxAbs} vs scale ${scale}`);
    assert.ok(diff(gHalf, g1).maxAbs > 1e-3 * scale && diff(gHalf, g0).maxAbs > 1e-3 * scale, `${label(c)}: ρ 0.5 is neither end`);
    assert.throws(() => at(1.5), /responseDecay must be in \[0, 1\]/);
    tf.dispose([loop, windowOnly, g0, g1, gHalf, whole, auto]);
    dispose();
  });
});

test('the window adjoint: with W=5, dy on the last step only reaches the last 5 drives', () => {
  const { s, drives, ctx, dispose } = setup({ window: 5, responseLags: 0, hidden: [8], history: true }, 3, 9);
  const dy = tf.tensor2d(Float32Array.from({ length: 27 }, (_, i) => (i >= 24 ? 1 : 0)), [9, 3]);
  const g = s.vjpSeq(drives, dy, ctx).dataSync();
  for (let t = 0; t < 9; t++) {
    const nz = Math.abs(g[2 * t]) + Math.abs(g[2 * t + 1]) > 0;
    assert.is(nz, t >= 4, `step ${t}`);
  }
  dy.dispose();
  dispose();
});

test('predictSeq builds the same windows as cutWindows (given history = the segment before)', () => {
  const shape = { inChannels: 2, outChannels: 3, window: 4, responseLags: 2 };
  const s = new NarxSurrogate({ ...shape, hidden: [8], seed: 5 });
  const rng = new Rng(5);
  const t = 20;
  const d = Float32Array.from({ length: t * 2 }, () => rng.normal());
  const y = Float32Array.from({ length: t * 3 }, () => rng.normal());
  const ex = cutWindows(shape, d, y); // examples for steps 3..19
  const byExample = s.predictExamples(ex);
  // The same steps as a sequence 3..19 with the 3 drives and 2 responses before it as history.
  const seq = tf.tensor2d(d.subarray(6), [17, 2]);
  const ctx = { drives: tf.tensor2d(d.subarray(0, 6), [3, 2]), responses: tf.tensor2d(y.subarray(3, 9), [2, 3]), measured: tf.tensor2d(y.subarray(9), [17, 3]) };
  const bySeq = s.predictSeq(seq, ctx);
  assert.ok(diff(bySeq, byExample).maxAbs < 1e-6);
  tf.dispose([byExample, seq, bySeq, ctx.drives, ctx.responses, ctx.measured]);
  s.dispose();
});

test('missing history is zero padding', () => {
  const s = new NarxSurrogate({ inChannels: 1, outChannels: 1, window: 3, responseLags: 1, hidden: [4], seed: 2 });
  const d = tf.tensor2d([[0.5], [-1], [2]]), m = tf.tensor2d([[1], [2], [3]]);
  const z = { drives: tf.zeros([2, 1]) as tf.Tensor2D, responses: tf.zeros([1, 1]) as tf.Tensor2D, measured: m };
  const a = s.predictSeq(d, { measured: m }), b = s.predictSeq(d, z);
  assert.equal(Array.from(a.dataSync()), Array.from(b.dataSync()));
  tf.dispose([d, m, z.drives, z.responses, a, b]);
  s.dispose();
});

test('renormalize on refit leaves the function unchanged; toJSON/fromJSON round-trips exactly', () => {
  const c: Case = { window: 3, responseLags: 1, hidden: [10, 6], history: true };
  const { s, drives, ctx, dispose } = setup(c, 77);
  const shape = { inChannels: 2, outChannels: 3, window: 3, responseLags: 1 };
  s.fit(randomExamples(shape, 100, new Rng(1)), { epochs: 2, batchSize: 16 }); // move the weights off their init
  const before = s.predictSeq(drives, ctx);
  const other = randomExamples(shape, 100, new Rng(2));
  const shifted = { ...other, drives: other.drives.map((x) => 3 * x + 1), targets: other.targets.map((x) => 0.1 * x - 4) };
  s.fit(shifted, { epochs: 0, renormalize: true });
  const after = s.predictSeq(drives, ctx);
  assert.ok(diff(after, before).maxAbs < 1e-4 * diff(after, before).scale, 'function preserved');
  const json = JSON.parse(JSON.stringify(s.toJSON()));
  const copy = NarxSurrogate.fromJSON(json);
  const again = copy.predictSeq(drives, ctx);
  assert.equal(Array.from(again.dataSync()), Array.from(after.dataSync()));
  assert.throws(() => NarxSurrogate.fromJSON({ ...json, xStd: json.xStd.slice(1) }), /xStd must be/);
  assert.throws(() => NarxSurrogate.fromJSON({ ...json, format: 'x' }), /not a narx-surrogate/);
  tf.dispose([before, after, again]);
  copy.dispose();
  dispose();
});

test('bad options and shapes throw with the name in the message', () => {
  assert.throws(() => new NarxSurrogate({ inChannels: 1, outChannels: 1, hidden: [4, 4, 4] }), /hidden/);
  assert.throws(() => new NarxSurrogate({ inChannels: 0, outChannels: 1 }), /inChannels/);
  const s = new NarxSurrogate({ inChannels: 2, outChannels: 1, window: 2, responseLags: 1, hidden: [4] });
  const d = tf.zeros([5, 2]) as tf.Tensor2D;
  assert.throws(() => s.predictSeq(d), /ctx.measured/);
  assert.throws(() => s.predictSeq(tf.zeros([5, 3]) as tf.Tensor2D, { measured: tf.zeros([5, 1]) as tf.Tensor2D }), /drives must be \[T, 2\]/);
  assert.throws(() => s.vjpSeq(d, tf.zeros([4, 1]) as tf.Tensor2D, { measured: tf.zeros([5, 1]) as tf.Tensor2D }), /dy must be/);
  assert.throws(() => s.fit({ count: 1, drives: new Float32Array(3), history: new Float32Array(1), targets: new Float32Array(1) }), /examples do not match/);
  s.dispose();
  assert.throws(() => s.predictSeq(d), /disposed/);
  d.dispose();
});

test('tf.memory().numTensors stays flat over 20 predict/vjp/fit rounds', () => {
  const c: Case = { window: 4, responseLags: 2, hidden: [8, 8], history: true };
  const { s, drives, dy, ctx, dispose } = setup(c, 9);
  const ex = randomExamples(s.shape, 64, new Rng(9));
  const round = () => {
    tf.dispose([s.predictSeq(drives, ctx), s.vjpSeq(drives, dy, ctx)]);
    s.fit(ex, { epochs: 1, batchSize: 32 });
    s.evaluate(ex);
  };
  round();
  const n0 = tf.memory().numTensors;
  for (let i = 0; i < 20; i++) round();
  assert.is(tf.memory().numTensors, n0);
  dispose();
  assert.ok(tf.memory().numTensors < n0);
});

test('a surrogate built, saved, restored and disposed leaves no tensor behind', () => {
  const n0 = tf.memory().numTensors;
  const s = new NarxSurrogate({ inChannels: 1, outChannels: 4, window: 3, hidden: [8] });
  const back = NarxSurrogate.fromJSON(JSON.parse(JSON.stringify(s.toJSON())));
  s.dispose();
  back.dispose();
  assert.is(tf.memory().numTensors, n0);
});

test.run();
