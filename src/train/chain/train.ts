/**
 * Trainers on a chain (issue 12), minibatch Adam on the softmax cross-entropy, all on the same
 * device-sample budget, every measured sample counted (exploration, training, test evaluation):
 *
 * - pat: forward through the devices, backward through each physical layer's own surrogate. Each
 *   layer first explores `exploreRows` random drives (counted), its surrogate is chosen and fitted
 *   on them (layer-surrogate.ts), then refitted on the layer's newest pairs every `refitEvery`
 *   steps, warm-started.
 * - oracle: forward through the devices, backward through each simulator's exact twin VJP
 *   (TwinGradient over the segment, or RowTwinGradient for a memoryless device: `oracle: 'rows'`).
 * - digital: the same digital layers with every physical layer removed (the digital layer before
 *   it feeds whatever came after), no device: the trainer that shows what the device adds.
 * - classic: the digital layers frozen at their seeded initialisation, only the readout trained,
 *   through the devices (every batch measured, as pat's).
 * - insilico: each layer explores its share of the budget (up to the replay size), its surrogate
 *   is fitted, the whole chain is trained on the surrogates alone, then deployed on the devices.
 *
 * A step measures the batch as one segment per physical layer (responders.ts: from a reset), then
 * takes the gradient of the recorded pass (model.ts), then moves the normalisations after the
 * physical layers toward the pass's response statistics (`normMomentum`; classic: the readout's
 * only). Test accuracy and cross-entropy are measured through the devices.
 *
 * The rising-loss guard (`guard`, as TrainOptions.guard: on unless false; step-guard.ts,
 * guarded-adam.ts) watches the minibatch losses in blocks of 5 steps, over every trainable dense
 * layer's weights at once (classic: the readout's): a block whose mean log loss rises well above
 * the best block's rolls every layer back to the weights the best block started from and steps on
 * with a fresh Adam at half the rate (down to a sixteenth); a loss that is not finite rolls back at
 * once. The normalisations are not rolled back (they follow the responses, not the gradient).
 * Pipelined, a batch launched ahead with weights a rollback has since undone (the one launched
 * before the rolling-back step) has its loss recorded, its pairs kept for pat's refits, but takes
 * no step and does not move the normalisations, nor does a pass whose loss rolled back. Per step, onStep gets the rate and rollbacks.
 *
 * Pipelining (`pipeline`, pat, oracle and classic): the device measures batch b+1 while the host
 * computes batch b's gradient, Adam step and refits. Batch b+1 is launched once step b-1 is taken
 * and batch b's last physical layer's segment is issued (batch 1: once batch 0's pass, which
 * calibrates the normalisations, is recorded), so its first segment is queued on the device
 * behind b's last one and the device does not idle through the result's delivery, the host's
 * hand-over and the reset's round trip. Within a pass the layers stay sequential (layer k+1's
 * drives need layer k's responses); the overlap is across batches. b+1's forward pass runs on a
 * copy of the parameters taken at its launch (two alternating copies, sharing the variables'
 * buffers, which Adam replaces rather than overwrites), so every one of its layers' drives is
 * computed with the parameters before step b: exactly one step stale whatever the timing, as in
 * pat.ts, where the same gate fixes which step each episode follows. Its gradient is taken with
 * the VJP at the drives actually sent (the measured point) and the current digital layers'
 * Jacobian, as pat.ts does. The host starts step b only once b+1's first segment is issued: the
 * step is synchronous, and the reset's answer and the send would otherwise wait behind it with the
 * device idle. Determinism: batches are drawn in step order, each pass's segments are issued whole
 * and in batch order (the device sees the same segments in the same order on every run), and a
 * pass launched ahead is committed to the budget at its nominal cost, so the budget admits the
 * same steps as without the pipeline. classic's digital layers are frozen, so its drives are not
 * stale at all and the pipeline changes only its timing. What one batch measured ahead cannot
 * hide is host work longer than a pass: pat's refits every `refitEvery` steps (synchronous, so a
 * refit waits for the pass measured ahead: no reply is held behind it past the client's timeout),
 * and every step on a device faster than the host (scripts/bench/chain-utilisation.ts measures
 * both).
 *
 * ```ts
 * const r = await trainChain({ trainer: 'pat', spec, data, devices: { 'sim:optical': dev }, seed: 1, epochs: 1 });
 * console.log(r.test.accuracy, r.deviceSamples);
 * r.model.dispose();
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import { optimizerState, restoreOptimizer } from './optimizer-state.js';
import type { Device } from '../../device/device.js';
import { Rng, checkSeed } from '../../core/rng.js';
import type { DeviceSurrogate } from '../../surrogate/narx.js';
import type { DesignName, FittableSurrogate } from '../../surrogate/designs.js';
import type { ClassSet, ClassSplit } from '../../tasks/classes.js';
import { argmaxRows, classAccuracy } from '../../tasks/class-metrics.js';
import { TwinGradient, twinModelFor } from '../twin-grad.js';
import { measure } from '../device-units.js';
import { BusyClock } from '../busy-clock.js';
import { ChainModel, type ChainPass, type LayerSurrogate, type PhysicalStage, type Responder } from './model.js';
import { deviceResponder, surrogateResponder } from './responders.js';
import { RowTwinGradient } from './row-twin.js';
import { PairBuffer, candidateDesigns, chooseSurrogate, refitOptions } from './layer-surrogate.js';
import type { ModelSpec, PhysicalLayerSpec } from './spec-types.js';
import { CHAIN_CHECKPOINT_FORMAT, type ChainCheckpoint } from './checkpoint.js';
import { GuardedAdam, type GuardedEpisode, type GuardedVariables } from '../guarded-adam.js';
import type { GuardOptions } from '../step-guard.js';

/**
 * Default {@link ChainTrainOptions.normMomentum}: a running normalisation averaging about the last
 * ten batches (64 rows each: a per-channel σ from one batch is ±9 % noisy), quick enough to follow
 * the responses as the layers before them train.
 */
export const NORM_MOMENTUM = 0.9;

export type ChainTrainerName = 'pat' | 'oracle' | 'digital' | 'classic' | 'insilico';
export const CHAIN_TRAINERS: readonly ChainTrainerName[] = ['pat', 'oracle', 'digital', 'classic', 'insilico'];

/** Options of {@link trainChain}. */
export interface ChainTrainOptions {
  trainer: ChainTrainerName;
  spec: ModelSpec;
  data: ClassSet;
  /** Opened devices keyed by the spec's device strings. Not used by 'digital'. */
  devices: Readonly<Record<string, Device>>;
  /** Seed of the initialisation, shuffling, exploration and surrogate fits. */
  seed: number;
  /** Passes over the training split. Defaults to 1. */
  epochs?: number;
  /** Examples per step (one segment per physical layer). Defaults to 64. */
  batchSize?: number;
  /** Adam learning rate. Defaults to 2e-3. */
  learningRate?: number;
  /** Device samples of the whole run, test evaluation included; training stops before the step that would leave too few. Defaults to none (epochs decide). */
  budget?: number;
  /** Random drive rows each physical layer explores before pat's first fit. Defaults to 4000. */
  exploreRows?: number;
  /** Steps between pat's refits. Defaults to 50. */
  refitEvery?: number;
  /** Epochs of each refit. Defaults to 2. */
  refitEpochs?: number;
  /** Pairs each layer keeps for refits (newest). Defaults to 8192. */
  replay?: number;
  /** Oracle VJP: 'segment' (TwinGradient, any simulator) or 'rows' (RowTwinGradient, memoryless only, 3x faster on optical). Defaults to 'segment'. */
  oracle?: 'segment' | 'rows';
  /** Examples per measured segment when evaluating. Defaults to 1000. */
  evalRows?: number;
  /** pat only: these VJP sources instead of exploring and fitting (one per physical layer; tests give twins). Defaults to none. */
  surrogates?: readonly LayerSurrogate[];
  /** Measure batch b+1 (one step stale) while the host steps on batch b: pat, oracle, classic (module comment). Defaults to true. */
  pipeline?: boolean;
  /** Continue from this checkpoint (checkpoint.ts: what comes back and what does not): its model, surrogates, Adam state, steps and samples; the shuffle is replayed from the seed. */
  resume?: ChainCheckpoint;
  /** Steps between checkpoints handed to `onCheckpoint`. Defaults to 50. */
  checkpointEvery?: number;
  /** Called with a checkpoint every `checkpointEvery` steps (after the step and any refit). */
  onCheckpoint?: (c: ChainCheckpoint) => void;
  /**
   * The rising-loss guard on the minibatch losses (module comment), as TrainOptions.guard: false is
   * plain Adam at `learningRate`; true or absent the guard at its defaults; an object its options.
   * A resumed run goes on with its checkpoint's guard (and at its rate) unless false.
   */
  guard?: boolean | Omit<GuardOptions, 'learningRate'>;
  /**
   * Momentum of the normalisations after physical layers: after every step each moves toward its
   * batch's response statistics (ChainModel.track); 1 freezes them at calibration. Defaults to
   * {@link NORM_MOMENTUM}.
   */
  normMomentum?: number;
  /** RMS of the pre-activations driving a physical layer at calibration (ChainBuildOptions.driveRms). Defaults to model.ts's DRIVE_RMS. */
  driveRms?: number;
  /** Called after every step. */
  onStep?: (s: ChainStep) => void;
}

/** What onStep is told after every step. */
export interface ChainStep extends GuardedEpisode {
  step: number;
  steps: number;
  /** The batch's loss (not finite when it ran away: the guard then rolls back). */
  loss: number;
  samples: number;
  /** Pipelined: the batch was launched with weights a rollback has since undone, so it took no step. */
  stale?: boolean;
}

export interface ChainTrainResult {
  trainer: ChainTrainerName;
  /** The trained chain (the caller disposes it). */
  model: ChainModel;
  /** Through the devices; `probabilities` [test count * classes], row-major. */
  test: { accuracy: number; crossEntropy: number; probabilities: Float32Array };
  steps: number;
  /** Every device sample measured. */
  deviceSamples: number;
  samples: { explore: number; train: number; evaluate: number };
  /** Per physical layer: the surrogate design fitted and its held-out NMSE at the first fit. */
  surrogates: { layer: number; design: DesignName; heldOutNmse: number; scores: { design: DesignName; heldOutNmse: number }[] }[];
  /** Mean training loss of each tenth of the steps (its finite losses: a non-finite one rolled back under the guard). */
  lossCurve: number[];
  /** The rising-loss guard at the end (absent with guard: false): its rate, rollbacks, and the steps whose loss rolled back (0-based, resumed runs' included). */
  guard?: { learningRate: number; rollbacks: number; rollbackSteps: number[] };
  /** Whether training passes were pipelined across batches. */
  pipelined: boolean;
  /** Training steps only: time at least one training measurement was outstanding / wall time from the first training pass to the last step's end (undefined without device passes). */
  deviceUtilisation?: number;
  seconds: number;
}

/** The spec with every physical layer removed (the digital trainer's chain). */
export function withoutPhysical(spec: ModelSpec): ModelSpec {
  return { ...spec, layers: spec.layers.filter((l) => l.kind !== 'physical') };
}

/** The VJP source of each physical layer for `trainer`: its own surrogate (pat, insilico), its twin (oracle), none (classic, digital). */
export function vjpSources(trainer: ChainTrainerName, model: ChainModel, devices: Readonly<Record<string, Device>>, oracle: 'segment' | 'rows' = 'segment'): DeviceSurrogate[] {
  switch (trainer) {
    case 'pat': case 'insilico': return model.surrogates();
    case 'oracle': return model.physical.map((p) => {
      const dev = devices[p.device];
      const opts = { model: twinModelFor(dev), scaling: dev.info };
      return oracle === 'rows' ? new RowTwinGradient(opts) : new TwinGradient(opts);
    });
    default: return model.physical.map(() => ({ vjpSeq: (d: tf.Tensor2D) => tf.zerosLike(d) }));
  }
}

/**
 * dL/dθ of the mean cross-entropy over a recorded pass, one Float32Array per variable of
 * `model.trainable(which)`, with the loss: the gradient pat's and oracle's steps apply.
 */
export function chainGradients(model: ChainModel, x: Float32Array, labels: Uint8Array, pass: ChainPass, vjps: readonly DeviceSurrogate[], which: 'all' | 'readout' = 'all'): { loss: number; grads: Float32Array[] } {
  const vars = model.trainable(which);
  return tf.tidy(() => {
    const { value, grads } = gradsOf(model, x, labels, pass, vjps, vars);
    return { loss: value.dataSync()[0], grads: vars.map((v) => grads[v.name].dataSync() as Float32Array) };
  });
}

function gradsOf(model: ChainModel, x: Float32Array, labels: Uint8Array, pass: ChainPass, vjps: readonly DeviceSurrogate[], vars: tf.Variable[]): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  return tf.variableGrads(() => lossOf(model, x, labels, pass, vjps), vars);
}

/** The loss gradsOf steps on, without the gradient (call inside a tidy). */
function lossOf(model: ChainModel, x: Float32Array, labels: Uint8Array, pass: ChainPass, vjps: readonly DeviceSurrogate[]): tf.Scalar {
  return model.loss(tf.tensor2d(x, [pass.rows, model.features]), tf.tensor1d(Int32Array.from(labels), 'int32'), pass, vjps);
}

/**
 * The variables the guard keeps, named by layer (`layers[i].w`, `layers[i].b`, i the spec's layer
 * index), in model.trainable(which)'s order: a checkpoint's guard weights are keyed by these.
 */
export function guardVariables(model: ChainModel, which: 'all' | 'readout'): GuardedVariables {
  const vars: Record<string, tf.Variable> = {};
  for (const s of model.stages) {
    if (s.kind === 'readout' || (s.kind === 'digital' && which === 'all')) {
      vars[`layers[${s.index}].w`] = s.dense.w;
      vars[`layers[${s.index}].b`] = s.dense.b;
    }
  }
  return vars;
}

/** Trains a chain with `opts.trainer` (module comment) and measures it on the test split. */
export async function trainChain(opts: ChainTrainOptions): Promise<ChainTrainResult> {
  const t0 = performance.now();
  const { trainer, data } = opts;
  if (!CHAIN_TRAINERS.includes(trainer)) throw new RangeError(`trainer: unknown chain trainer '${String(trainer)}' (${CHAIN_TRAINERS.join(', ')})`);
  const seed = checkSeed(opts.seed);
  const epochs = num(opts.epochs ?? 1, 'epochs', 0);
  const batch = int(opts.batchSize ?? 64, 'batchSize', 1);
  const lr = num(opts.learningRate ?? 2e-3, 'learningRate', 0);
  const exploreRows = int(opts.exploreRows ?? 4000, 'exploreRows', 5);
  const refitEvery = int(opts.refitEvery ?? 50, 'refitEvery', 1);
  const refitEpochs = int(opts.refitEpochs ?? 2, 'refitEpochs', 0);
  const replay = int(opts.replay ?? 8192, 'replay', 2);
  const evalRows = int(opts.evalRows ?? 1000, 'evalRows', 1);
  const checkpointEvery = int(opts.checkpointEvery ?? 50, 'checkpointEvery', 1);
  const resume = opts.resume;
  if (resume && (resume.trainer !== trainer || resume.format !== CHAIN_CHECKPOINT_FORMAT)) throw new RangeError(`resume: a ${String(resume.format)} checkpoint of trainer '${resume.trainer}' cannot resume trainer '${trainer}'`);
  const normMomentum = opts.normMomentum ?? NORM_MOMENTUM;
  if (!(normMomentum >= 0 && normMomentum <= 1)) throw new RangeError(`normMomentum must be in [0, 1], got ${String(opts.normMomentum)}`);
  checkSplit(data, 'train');
  checkSplit(data, 'test');
  const spec = trainer === 'digital' ? withoutPhysical(opts.spec) : opts.spec;
  const devices = trainer === 'digital' ? {} : opts.devices;
  const model = resume ? resumedModel(resume, data) : ChainModel.build(spec, { features: data.features, classes: data.classes, devices: channelsOf(spec, devices), seed, driveRms: opts.driveRms });
  const rng = new Rng(seed);
  const phys = model.physical;
  const onDevice = deviceResponder(devices);
  const counts = { explore: resume?.samples.explore ?? 0, train: resume?.samples.train ?? 0, evaluate: 0 };
  const used = (): number => counts.explore + counts.train + counts.evaluate;
  const testCost = data.test.count * phys.length;
  if (opts.budget !== undefined && int(opts.budget, 'budget', 0) < testCost) throw new RangeError(`budget ${opts.budget} is below the ${testCost} samples the test evaluation takes`);
  const surrogates: ChainTrainResult['surrogates'] = resume ? structuredClone(resume.surrogates) : [];
  const buffers = phys.map((p) => new PairBuffer(p.inChannels, p.outChannels, replay));
  const designs: DesignName[] = [];
  const fittable: FittableSurrogate[] = [];
  let guarded: GuardedAdam | undefined;
  const ahead: ChainModel[] = [];
  try {
    if (resume) {
      if (trainer === 'pat' || trainer === 'insilico') {
        phys.forEach((p, k) => {
          if (!p.surrogate || !p.design) throw new RangeError(`resume: physical layer ${p.index + 1} has no saved surrogate`);
          fittable[k] = p.surrogate as FittableSurrogate;
          designs[k] = p.design as DesignName;
        });
      }
    } else if (trainer === 'pat' && opts.surrogates) {
      if (opts.surrogates.length !== phys.length) throw new RangeError(`surrogates: need one per physical layer (${phys.length}), got ${opts.surrogates.length}`);
      phys.forEach((p, k) => { p.surrogate = opts.surrogates![k]; });
    } else if (trainer === 'pat' || trainer === 'insilico') {
      phys.forEach((p) => candidateDesigns(layerSpec(spec, p).surrogate));
      const rows = trainer === 'insilico' && opts.budget !== undefined
        ? Math.max(5, Math.min(replay, Math.floor((opts.budget - testCost) / Math.max(1, phys.length))))
        : exploreRows;
      for (const [k, p] of phys.entries()) {
        counts.explore += await explore(devices, p, buffers[k], rows, evalRows, rng.fork(`explore${k}`));
        const c = chooseSurrogate(layerSpec(spec, p).surrogate, buffers[k], { seed: rng.fork(`surrogate${k}`).seed });
        p.surrogate = c.surrogate;
        p.design = c.design;
        fittable[k] = c.surrogate;
        designs[k] = c.design;
        surrogates.push({ layer: p.index, design: c.design, heldOutNmse: c.heldOutNmse, scores: c.scores });
      }
    }
    const vjps = phys.length ? vjpSources(trainer, model, devices, opts.oracle) : [];
    const which = trainer === 'classic' ? 'readout' : 'all';
    const vars = model.trainable(which);
    // Adam with the rising-loss guard over every trainable layer (module comment).
    guarded = new GuardedAdam(guardVariables(model, which), lr, opts.guard, opts.guard === false ? undefined : resume?.guard);
    const adam = guarded;
    if (resume) await restoreOptimizer(adam.optimizer, resume.optimizer, vars);
    const rollbackSteps: number[] = resume?.rollbackSteps ? [...resume.rollbackSteps] : [];
    const pipelined = (opts.pipeline ?? true) && phys.length > 0 && (trainer === 'pat' || trainer === 'oracle' || trainer === 'classic');
    // Two parameter snapshots: a pass may still be finishing on one while the next is launched on the other.
    if (pipelined) for (let i = 0; i < 2; i++) ahead.push(ChainModel.build(spec, { features: data.features, classes: data.classes, devices: channelsOf(spec, devices), seed }));
    const n = data.train.count, f = data.features;
    const planned = Math.floor((epochs * n) / batch);
    const order = Int32Array.from({ length: n }, (_, i) => i);
    const shuffle = rng.fork('shuffle');
    const stepCost = trainer === 'insilico' ? 0 : batch * phys.length;
    // A pass launched but not yet counted is committed at its nominal cost, so the budget admits the
    // same steps pipelined or not (they differ only if a state break made a pass re-measure).
    let pending = 0;
    const canStep = (s: number): boolean => s < planned && !(opts.budget !== undefined && used() + (pending + 1) * stepCost + testCost > opts.budget);
    // Time with at least one training measurement outstanding.
    const clock = new BusyClock();
    const launch = (s: number): Launched => {
      // Batches are drawn in step order (launches are), so the shuffle does not depend on the pipeline.
      const at = (s * batch) % n;
      if (at < batch) shuffleInPlace(order, shuffle);
      const xb = new Float32Array(batch * f), lb = new Uint8Array(batch);
      for (let i = 0; i < batch; i++) {
        const e = order[(at + i) % n];
        xb.set(data.train.x.subarray(e * f, (e + 1) * f), i * f);
        lb[i] = data.train.labels[e];
      }
      // Step 0's pass calibrates the model's normalisations; later pipelined passes run on the snapshot.
      const runner = pipelined && s > 0 ? snapshot(ahead[s % 2], model) : model;
      pending++;
      const gen = adam.generation;
      if (trainer === 'insilico') return { xb, lb, gen, sent: Promise.resolve(), lastSent: Promise.resolve(), settled: Promise.resolve(), pass: runner.run(xb, batch, surrogateResponder(), { calibrate: true }) };
      clock.begin();
      let firstOut!: () => void, lastOut!: () => void;
      const sent = new Promise<void>((res) => { firstOut = res; });
      const lastSent = new Promise<void>((res) => { lastOut = res; });
      const last = phys[phys.length - 1]?.index;
      const respond: Responder = async (stage, drives) => {
        const device = devices[stage.device];
        clock.start();
        try {
          const m = await measure(device, drives, { onSent: () => { firstOut(); if (stage.index === last) lastOut(); } });
          return { drives: m.drives, responses: m.responses, samples: m.samples };
        } finally {
          clock.stop();
        }
      };
      const pass = runner.run(xb, batch, respond, { calibrate: true });
      const settled = pass.then(() => undefined, () => undefined);
      return { xb, lb, gen, sent: Promise.race([sent, settled]), lastSent: Promise.race([lastSent, settled]), settled, pass };
    };
    const start = resume?.steps ?? 0;
    // The batches the first part drew, drawn again: the shuffle continues where it was.
    for (let s = 0; s < start; s++) if ((s * batch) % n < batch) shuffleInPlace(order, shuffle);
    // A checkpoint keeps a non-finite loss as null (JSON has no NaN).
    const losses: number[] = resume ? resume.losses.map((v) => v ?? NaN) : [];
    let steps = start;
    let cur = canStep(start) ? launch(start) : undefined;
    let next: Launched | undefined;
    try {
      while (cur) {
        const pass = await cur.pass;
        pending--;
        counts.train += pass.samples;
        // Batch 1 waits for batch 0's pass, which calibrates the normalisations every later pass uses.
        if (pipelined && steps === start && canStep(start + 1)) next = launch(start + 1);
        if (next) await next.sent;
        // Pipelined, the graph's drives are the current parameters' and the pass's one step older: the VJP is taken where the device was measured.
        const at = pipelined ? atSent(vjps, pass) : () => vjps;
        // Launched with weights a rollback has since undone: its loss is recorded, it takes no step.
        const stale = cur.gen !== adam.generation;
        const loss = tf.tidy(() => {
          if (stale) return lossOf(model, cur!.xb, cur!.lb, pass, at()).dataSync()[0];
          const { value, grads } = gradsOf(model, cur!.xb, cur!.lb, pass, at(), vars);
          adam.optimizer.applyGradients(grads);
          return value.dataSync()[0];
        });
        losses.push(loss);
        const rec: GuardedEpisode = {};
        const rolledBack = adam.recordEpisode(rec, loss, !stale);
        if (rolledBack) rollbackSteps.push(steps);
        // After the step: the pass measured ahead was launched with the normalisation before it, as with the weights.
        // Not after a stale batch or a rollback: that pass's responses came from weights now undone (a NaN pass's would poison the statistics).
        if (!stale && !rolledBack) model.track(pass, normMomentum, which);
        if (trainer === 'pat') {
          pass.layers.forEach((l, k) => buffers[k].add(l.drives, l.responses));
          if (!opts.surrogates && refitEpochs > 0 && (steps + 1) % refitEvery === 0) {
            // A refit is seconds of synchronous work: a reply held behind it past the client's process
            // timeout would be a spurious state break, re-measured (extra samples, and a result that
            // depends on timing). So the pass measured ahead is in first.
            if (next) await next.settled;
            fittable.forEach((sg, k) => sg.fit(buffers[k].examples(), refitOptions(designs[k], refitEpochs, seed + steps)));
          }
        }
        steps++;
        clock.mark();
        opts.onStep?.({ step: steps - 1, steps: planned, loss, samples: used(), ...rec, ...(stale ? { stale } : {}) });
        if (opts.onCheckpoint && steps % checkpointEvery === 0 && steps < planned) {
          opts.onCheckpoint({
            format: CHAIN_CHECKPOINT_FORMAT, trainer, seed, steps, samples: { explore: counts.explore, train: counts.train },
            losses: losses.map((v) => (Number.isFinite(v) ? v : null)), surrogates: structuredClone(surrogates), model: model.toJSON(), optimizer: await optimizerState(adam.optimizer),
            ...(adam.guarded ? { guard: adam.toJSON(), rollbackSteps: [...rollbackSteps] } : {}),
          });
        }
        if (pipelined) {
          // Batch steps+1, with the parameters of the step just taken, is queued behind batch steps' last
          // segment (waiting for it to be issued keeps the device's order fixed): the device finds it
          // there instead of idling through the result's delivery, the host's hand-over and a reset.
          if (next) await next.lastSent;
          cur = next;
          next = cur && canStep(steps + 1) ? launch(steps + 1) : undefined;
        } else {
          cur = canStep(steps) ? launch(steps) : undefined;
        }
      }
    } catch (e) {
      // Passes launched ahead still finish on the device; their rejections are not this error.
      await Promise.all([cur?.pass.catch(() => undefined), next?.pass.catch(() => undefined)]);
      throw e;
    }
    const { probabilities, samples } = await model.predict(data.test.x, data.test.count, onDevice, evalRows);
    counts.evaluate += samples;
    const test = classMetrics(probabilities, data.test.labels, data.classes);
    const tenth = Math.max(1, Math.ceil(losses.length / 10));
    const lossCurve = Array.from({ length: Math.ceil(losses.length / tenth) }, (_, i) => mean(losses.slice(i * tenth, (i + 1) * tenth).filter(Number.isFinite)));
    const deviceUtilisation = trainer === 'insilico' || trainer === 'digital' ? undefined : clock.utilisation();
    const guard = adam.guarded ? { learningRate: adam.rate!, rollbacks: adam.rollbacks, rollbackSteps } : undefined;
    return { trainer, model, test: { ...test, probabilities }, steps, deviceSamples: used(), samples: counts, surrogates, lossCurve, ...(guard ? { guard } : {}), pipelined, deviceUtilisation, seconds: (performance.now() - t0) / 1000 };
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    guarded?.dispose();
    for (const a of ahead) a.dispose();
  }
}

/** The model a checkpoint holds, checked against the task it resumes on. */
function resumedModel(c: ChainCheckpoint, data: ClassSet): ChainModel {
  const m = ChainModel.fromJSON(c.model);
  if (m.features !== data.features || m.classes !== data.classes) {
    m.dispose();
    throw new RangeError(`resume: the checkpoint's chain takes ${m.features} features to ${m.classes} classes; the task has ${data.features} and ${data.classes}`);
  }
  return m;
}

/** One training batch and its pass under way; `sent` and `lastSent` settle once its first and its last physical layer's segment is issued (or the pass ended), `settled` once the pass ended. */
interface Launched {
  xb: Float32Array; lb: Uint8Array; sent: Promise<void>; lastSent: Promise<void>; settled: Promise<void>; pass: Promise<ChainPass>;
  /** GuardedAdam.generation at its launch: another at its step means its weights were undone. */
  gen: number;
}

/**
 * `ahead` given `model`'s parameters and normalisations as they are now. Variable.assign shares the
 * buffer, and Adam assigns new tensors to the model's variables rather than writing into theirs,
 * so `ahead` keeps these values while the model steps.
 */
function snapshot(ahead: ChainModel, model: ChainModel): ChainModel {
  model.stages.forEach((s, i) => {
    const a = ahead.stages[i];
    if (s.kind === 'physical' || a.kind === 'physical') return;
    a.dense.w.assign(s.dense.w);
    a.dense.b.assign(s.dense.b);
    a.dense.shift = s.dense.shift;
    a.dense.scale = s.dense.scale;
    a.dense.calibrated = s.dense.calibrated;
    a.dense.gainSet = s.dense.gainSet;
  });
  return ahead;
}

/** Each VJP source evaluated at the drives the pass sent, whatever drives the graph hands it (call inside a tidy). */
function atSent(vjps: readonly DeviceSurrogate[], pass: ChainPass): () => DeviceSurrogate[] {
  return () => vjps.map((v, k) => {
    const l = pass.layers[k];
    const sent = tf.tensor2d(l.drives, [pass.rows, l.drives.length / pass.rows]);
    return { vjpSeq: (_d: tf.Tensor2D, dy: tf.Tensor2D, ctx?: Parameters<DeviceSurrogate['vjpSeq']>[2]) => v.vjpSeq(sent, dy, ctx) };
  });
}

/** Measures `rows` uniform random drive rows on the layer's device into its buffer, in segments of `segmentRows`. @returns samples spent */
async function explore(devices: Readonly<Record<string, Device>>, p: PhysicalStage, buf: PairBuffer, rows: number, segmentRows: number, rng: Rng): Promise<number> {
  const device = devices[p.device];
  let samples = 0;
  for (let i = 0; i < rows; i += segmentRows) {
    const r = Math.min(segmentRows, rows - i);
    const m = await measure(device, Float32Array.from({ length: r * p.inChannels }, () => rng.range(-1, 1)));
    buf.add(m.drives, m.responses);
    samples += m.samples;
  }
  return samples;
}

function layerSpec(spec: ModelSpec, p: PhysicalStage): PhysicalLayerSpec {
  return spec.layers[p.index] as PhysicalLayerSpec;
}

function channelsOf(spec: ModelSpec, devices: Readonly<Record<string, Device>>): Record<string, { inChannels: number; outChannels: number }> {
  const out: Record<string, { inChannels: number; outChannels: number }> = {};
  spec.layers.forEach((l, i) => {
    if (l.kind !== 'physical') return;
    const d = devices[l.device];
    if (!d) throw new RangeError(`layers[${i}].device: no device '${String(l.device)}' was opened`);
    out[l.device] = { inChannels: d.info.inChannels, outChannels: d.info.outChannels };
  });
  return out;
}

function checkSplit(data: ClassSet, which: 'train' | 'test'): void {
  const s: ClassSplit = data[which];
  if (!s || !Number.isInteger(s.count) || s.count < 1 || s.x.length !== s.count * data.features || s.labels.length !== s.count) {
    throw new RangeError(`data.${which}: needs count >= 1 rows of ${data.features} features and one label each`);
  }
  for (let i = 0; i < s.count; i++) if (s.labels[i] >= data.classes) throw new RangeError(`data.${which}.labels[${i}] = ${s.labels[i]} is not below classes ${data.classes}`);
}

/** Test accuracy and mean cross-entropy of predicted class probabilities [n * classes] (the softmax already applied). */
export function classMetrics(p: Float32Array, labels: Uint8Array, classes: number): { accuracy: number; crossEntropy: number } {
  let ce = 0;
  for (let i = 0; i < labels.length; i++) ce -= Math.log(Math.max(p[i * classes + labels[i]], 1e-12));
  return { accuracy: classAccuracy(argmaxRows(p, classes), labels), crossEntropy: ce / labels.length };
}

function shuffleInPlace(a: Int32Array, rng: Rng): void {
  for (let i = a.length - 1; i > 0; i--) { const j = rng.int(i + 1); const t = a[i]; a[i] = a[j]; a[j] = t; }
}

function mean(v: number[]): number {
  return v.reduce((s, x) => s + x, 0) / v.length;
}

function int(v: number, name: string, min: number): number {
  if (!Number.isInteger(v) || v < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${String(v)}`);
  return v;
}

function num(v: number, name: string, above: number): number {
  if (!(Number.isFinite(v) && v > above)) throw new RangeError(`${name} must be a number > ${above}, got ${String(v)}`);
  return v;
}
