/**
 * Surrogate cost per tfjs backend (`node dist/scripts/bench/surrogate.js [--runs N]`): pat's
 * default NARX surrogate (train/surrogate-setup.ts defaults: window 1, responseLags 1,
 * hidden [64]) on sim:analog's shape (1 drive channel, 50 response channels), so
 * F = W*in + R*out = 1 + 50 = 51 features, H = 64, O = 50.
 *
 * FLOP counts (a multiply-add = 2 FLOP; bias, tanh, normalisation and the optimiser's
 * elementwise work are not counted):
 *   forward per example       f = 2*F*H + 2*H*O = 2*51*64 + 2*64*50 = 12,928 FLOP
 *   Adam step, batch B        3*f*B   (forward + grads w.r.t. activations and weights ~ 2x forward)
 *   vjpSeq, T steps           2*f*T   (forward, then g*Wo^T and g*W1^T by hand; no weight grads)
 *
 * Rows per backend (cpu, wasm; tensorflow when @tensorflow/tfjs-node loads):
 *   - one Adam step at batch 256: NarxSurrogate.fit on 256 examples with batchSize 256 and
 *     STEP_EPOCHS epochs (one step per epoch), time / STEP_EPOCHS (includes 1/STEP_EPOCHS of fit's
 *     setup: feature tensors, optimiser creation);
 *   - a refit of 2,048 replay examples x 4 epochs at batch 64 (the refitter's default batch),
 *     through NarxSurrogate.fit, the one fit path (NarxAdam, surrogate/adam-step.ts: the backward
 *     pass written out, Adam on plain arrays); samples/s = examples x epochs / time;
 *   - one vjpSeq over an episode of 400 steps (ctx.measured given, as physicalLayer does), result
 *     read back with dataSync; samples/s = 400 / time;
 *   - baseline, same backend, same run: tf.matMul [256 x 128] x [128 x 128] (8.4 MFLOP, about the
 *     size of the Adam step's 9.9 MFLOP and the VJP's 10.3 MFLOP), result read back. The last column
 *     is the row's GFLOP/s over the baseline's.
 * Median and best of RUNS after warm-up.
 */
import { cpus } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendChoice } from '../../src/core/backend.js';
import { NarxSurrogate } from '../../src/surrogate/narx.js';
import type { Examples } from '../../src/surrogate/windows.js';
import { Rng } from '../../src/core/rng.js';
import { timeCalls } from './harness.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : dflt; };
const RUNS = opt('--runs', 9);
const WARMUP = 2;
const F = 51, H = 64, O = 50;
const FWD = 2 * F * H + 2 * H * O;
const B = 256, T = 400, STEP_EPOCHS = 20;
const REFIT_EXAMPLES = 2048, REFIT_EPOCHS = 4, REFIT_BATCH = 64;
const MM = { m: 256, k: 128, n: 128 };

const time = (fn: () => void, runs = RUNS): [number, number] => timeCalls(fn, runs, WARMUP);

function examples(n: number, rng: Rng): Examples {
  const ex = { count: n, drives: new Float32Array(n), history: new Float32Array(n * O), targets: new Float32Array(n * O) };
  for (let i = 0; i < n; i++) ex.drives[i] = rng.range(0, 1);
  for (let i = 0; i < n * O; i++) { ex.history[i] = rng.range(0, 4095); ex.targets[i] = rng.range(0, 4095); }
  return ex;
}

interface Row { backend: string; op: string; med: number; best: number; flop: number; samples: number }
const rows: Row[] = [];
const skipped: string[] = [];
let sink = 0;

for (const choice of ['cpu', 'wasm', 'tensorflow'] as BackendChoice[]) {
  let detail: string;
  try {
    detail = (await selectBackend(choice)).detail;
  } catch (e) {
    skipped.push(`${choice}: ${(e as Error).message}`);
    continue;
  }
  const rng = new Rng(7);
  const s = new NarxSurrogate({ inChannels: 1, outChannels: O, window: 1, responseLags: 1, hidden: [H], seed: 1 });
  if (s.features !== F) throw new Error(`expected ${F} features, got ${s.features}`);
  const batch = examples(B, rng), refit = examples(REFIT_EXAMPLES, rng);
  s.fit(refit, { epochs: 1 });   // sets the normalisation (first fit), warms the kernels
  const drives = tf.tensor2d(Float32Array.from({ length: T }, () => rng.range(0, 1)), [T, 1]);
  const measured = tf.tensor2d(Float32Array.from({ length: T * O }, () => rng.range(0, 4095)), [T, O]);
  const dy = tf.tensor2d(Float32Array.from({ length: T * O }, () => rng.range(-1, 1)), [T, O]);
  const a = tf.randomUniform([MM.m, MM.k]) as tf.Tensor2D, b = tf.randomUniform([MM.k, MM.n]) as tf.Tensor2D;
  const before = tf.memory().numTensors;
  const add = (op: string, [med, best]: [number, number], flop: number, samples: number) => rows.push({ backend: detail, op, med, best, flop, samples });

  const runsFor = choice === 'cpu' ? Math.max(3, Math.ceil(RUNS / 3)) : RUNS;   // plain JS is ~10-50x slower
  add(`tf.matMul ${MM.m}x${MM.k} * ${MM.k}x${MM.n} (baseline)`, time(() => {
    const p = tf.matMul(a, b);
    sink += p.dataSync()[0];
    p.dispose();
  }, runsFor * 3), 2 * MM.m * MM.k * MM.n, 0);
  const [sm, sb] = time(() => { sink += s.fit(batch, { epochs: STEP_EPOCHS, batchSize: B, learningRate: 1e-4 }); }, runsFor);
  add(`Adam step, batch ${B} (fit/${STEP_EPOCHS})`, [sm / STEP_EPOCHS, sb / STEP_EPOCHS], 3 * FWD * B, B);
  add(`refit ${REFIT_EXAMPLES} ex x ${REFIT_EPOCHS} ep, batch ${REFIT_BATCH}`, time(() => {
    sink += s.fit(refit, { epochs: REFIT_EPOCHS, batchSize: REFIT_BATCH, learningRate: 1e-4 });
  }, choice === 'cpu' ? 3 : runsFor), 3 * FWD * REFIT_EXAMPLES * REFIT_EPOCHS, REFIT_EXAMPLES * REFIT_EPOCHS);
  add(`vjpSeq, ${T} steps`, time(() => {
    const g = s.vjpSeq(drives, dy, { measured });
    sink += g.dataSync()[0];
    g.dispose();
  }, runsFor * 3), 2 * FWD * T, T);
  add(`predictSeq, ${T} steps`, time(() => {
    const y = s.predictSeq(drives, { measured });
    sink += y.dataSync()[0];
    y.dispose();
  }, runsFor * 3), FWD * T, T);
  const leaked = tf.memory().numTensors - before;
  if (leaked !== 0) skipped.push(`${choice}: ${leaked} tensors left by the timed calls`);
  tf.dispose([drives, measured, dy, a, b]);
  s.dispose();
}

const ms = (x: number) => (x * 1e3).toFixed(x < 0.01 ? 3 : 2);
console.log(`surrogate cost, pat defaults (F=${F}, H=${H}, O=${O}; forward ${FWD.toLocaleString('en-US')} FLOP/example; Adam step = 3x, VJP = 2x forward), median and best of N runs after ${WARMUP} warm-up`);
let last = '';
for (const r of rows) {
  if (r.backend !== last) {
    console.log(`\n${r.backend}`);
    console.log(`  ${'operation'.padEnd(40)} ${'ms med'.padStart(9)} ${'ms best'.padStart(9)} ${'MFLOP'.padStart(7)} ${'GFLOP/s'.padStart(8)} ${'samples/s'.padStart(10)} ${'x matMul'.padStart(9)}`);
    last = r.backend;
  }
  const base = rows.find((x) => x.backend === r.backend && x.op.endsWith('(baseline)'))!;
  const gf = r.flop / r.med / 1e9, gfBase = base.flop / base.med / 1e9;
  console.log(`  ${r.op.padEnd(40)} ${ms(r.med).padStart(9)} ${ms(r.best).padStart(9)} ${(r.flop / 1e6).toFixed(2).padStart(7)} ${gf.toFixed(3).padStart(8)} ${(r.samples ? Math.round(r.samples / r.med).toLocaleString('en-US') : '-').padStart(10)} ${(gf / gfBase).toFixed(3).padStart(9)}`);
}
for (const s of skipped) console.log(`\nnot measured / note: ${s}`);
console.log(`\n${new Date().toISOString()}  ${cpus()[0]?.model ?? 'unknown cpu'} x${cpus().length}  node ${process.version}  (checksum ${Number.isFinite(sink) ? Math.round(Math.abs(sink)) % 1000 : 'nan'})`);
