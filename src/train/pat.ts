/**
 * Physics-aware training (Wright et al., Nature 601, 2022): the forward pass runs on the device,
 * the backward pass through the vector-Jacobian product of a surrogate fitted on the device's
 * own (drive, response) pairs. With `surrogate.design` 'auto' the device is first explored to
 * choose the surrogate's design (surrogate-setup.chooseSurrogate; its samples count). The training
 * loop is one RxJS pipeline (trainPat's `training$`):
 *
 *     range(episodes) ─► gate ─► launch$ ─► measured ─► (wait for e+1 sent) ─► learn ─► stepped
 *
 * - gate: episode e is launched once e-1's batches are out and e-2 is stepped (pipeline on; e-1
 *   stepped when off), and only while the device-sample budget allows;
 * - launch$: drives a = inputLayer(taps of u) for a window of washout + T steps of the training
 *   sequence, with the weights as they are now, measured on the device as one segment (reset,
 *   batches of maxBatch, re-measured from a reset on a state break: device/segment.ts);
 * - learn (host work on e, started once e+1's batches are out, on a later macrotask):
 *   1. observe (a, r) through the refit scheduler (surrogate/lagged-refit.ts): it publishes the
 *      refit episode e-1 started, measures that surrogate's NMSE on the newest pairs, holds the
 *      tail `refit.holdOut` of the episode out of the replay buffer, raises the drift alarm when
 *      the newest NMSE exceeds `refit.driftFactor` x the held-out baseline, and starts the next
 *      refit on the pairs up to e (`firstEpochs` after episode 0, then `refitEpochs` on
 *      `fitExamples` replay samples every `refitEvery` episodes' worth of pairs and at once on a
 *      drift alarm), on this thread in slices or in a worker thread (`refitWorker`);
 *   2. training readout W from the summed ridge statistics of the last `readoutEpisodes`
 *      episodes (common.episodeReadout), held constant;
 *   3. the step (pat-step.ts): L = MSE(r[washout:] W + b, y); dL/dr pulled back to a by the
 *      surrogate VJP at the drives sent, then into the input layer by autodiff; one Adam step;
 *   4. every `fidelityEvery` episodes the fidelity check, then the checkpoint.
 *
 * Which surrogate a step uses is fixed by the episode index, never by how long a refit took or
 * where it ran. With `surrogate.lag` 0 (the default) the step of episode e waits for the refit on
 * the pairs up to e, which runs while the device measures episode e+1. With lag 1 the step uses
 * the surrogate of the previous refit point ("one refit stale": with `refitEvery` k, the refit
 * started at episode e is published at episode e+k), so a refit runs across the episodes until
 * then, in slices, and never holds up a step on a fast device. The first fit is the exception: it
 * is published at episode 1 (measuring more episodes with the initial weights meanwhile cost
 * accuracy), and episode 0's step, which has no surrogate before it, is taken then, just before
 * episode 1's. Episode 0's record carries its loss (the loss does not depend on the surrogate).
 * A run resumed with a fitted surrogate steps with it from its first episode.
 *
 * Pipelining (`pipeline`, default true): episode e+1's drives are computed and sent to the device
 * as soon as episode e's batches are out and e-1 is stepped, so the device finds e+1 queued behind
 * e (no idle gap for the result's delivery, the host's hand-over and the reset's round trip) and
 * measures it while the host refits and steps on e. Episode e+1's drives are therefore one step
 * stale: computed with the weights before step e. Its gradient is taken at the drives actually
 * sent (a straight-through term a_sent + (a(θ) - stop(a(θ))) carries the value a_sent and the
 * Jacobian of the current layer), so the surrogate's VJP is at the measured point. The host
 * starts its work on episode e only once episode e+1's batches are on their way: that work is
 * synchronous, and the reset's answer and the send would otherwise wait behind it with the
 * device idle. Determinism is kept: the
 * gate fixes which step each episode's drives follow, episode windows are drawn in episode
 * order, segments are issued whole and in episode order (device/segment.ts; the device sees the
 * same batches in the same order), and refits are published at fixed points. With
 * `pipeline: false` the next episode is measured after the step (the drives are current;
 * a_sent = a(θ) exactly).
 *
 * Checkpoints carry the surrogate in use (fitted up to the episode before the checkpoint's last);
 * the result's model carries the last refit's (fitted on every episode), which runs while the
 * device measures the final fit and test segments.
 *
 * Device utilisation (TrainResult.deviceUtilisation) is the time a measurement was outstanding
 * divided by the wall time of the training episodes, both measured on the host.
 *
 * ```ts
 * const res = await trainPat({ task: 'narma10', device: await openDevice('sim:analog'), trainer: 'pat', seed: 1, episodes: 30 });
 * res.test.value;   // test NMSE
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import {
  BehaviorSubject, type Observable, asyncScheduler, combineLatest, concatMap, defer, finalize, first, firstValueFrom, from, lastValueFrom, map, observeOn,
  of, range, takeWhile, tap,
} from 'rxjs';
import { variance } from '../core/metrics.js';
import { checkInt } from '../core/validate.js';
import type { DeviceSurrogate } from '../surrogate/narx.js';
import type { LaggedRefitter } from '../surrogate/lagged-refit.js';
import {
  type TrainOptions, type TrainResult, type EpisodeRecord, type TrainCheckpoint, TrainingInterrupted, dropRows, taskName, episodeReadout, finalCost, resolve,
  targetRows, finishOnDevice, inputLayer, type Resolved,
} from './common.js';
import { DEFAULT_FIDELITY_DIRECTIONS, episodeFidelity, readingSegments, readoutUpstream } from './fidelity.js';
import { type Measurement, RidgeReadout, TappedDense, measure, tapFeatures } from './hybrid.js';
import { BusyClock } from './busy-clock.js';
import { GuardedAdam } from './guarded-adam.js';
import { type StepEpisode, patGradients } from './pat-step.js';
import type { RidgeAccumulator } from './ridge.js';
import { chooseSurrogate, surrogateDesign, surrogateRefitter, vjpPath } from './surrogate-setup.js';
import { TwinGradient, twinModelFor } from './twin-grad.js';

export async function trainPat(o: TrainOptions): Promise<TrainResult> {
  const t0 = performance.now();
  const device = o.device;
  if (!device) throw new TypeError('pat needs a device');
  const r = resolve(o);
  const info = device.info;
  if (info.inChannels < 1 || info.outChannels < 1) throw new RangeError('device has no channels');
  const ci = info.inChannels, co = info.outChannels;
  const lag = o.surrogate?.lag ?? 0;
  if (lag !== 0 && lag !== 1) throw new RangeError(`surrogate.lag must be 0 or 1, got ${String(lag)}`);
  const L = r.washout + r.steps;
  const resume = o.resume ? checkCheckpoint(o.resume, o, ci) : undefined;
  const layer = resume ? resumedLayer(resume, r, ci) : inputLayer(r, ci);
  let refitter: LaggedRefitter | undefined;
  let optimizer: GuardedAdam | undefined;
  let inFlight: Promise<unknown> = Promise.resolve();
  try {
    // Design 'auto' explores the device here, before the first episode; its samples count below.
    const chosen = await chooseSurrogate(o, r, device, ci, co, L);
    refitter = surrogateRefitter(o, r, chosen.so, ci, co, L, resume?.surrogate);
    const vjp = vjpPath(chosen.so);
    const readout = new RidgeReadout(co, r.train.outChannels, r.readout);
    const penalty = r.drivePenalty * variance(r.train.targets);
    const adam = optimizer = new GuardedAdam(layer, r.learningRate, o.guard, resume?.guard);
    // A resumed run draws fresh windows (not the ones its first part already trained on).
    const windows = r.rng.fork(resume ? `episodes-after-${resume.episode}` : 'episodes');
    const ring: RidgeAccumulator[] = [];
    const episodes: EpisodeRecord[] = resume ? resume.episodes.map((x) => ({ ...x })) : [];
    const firstEpisode = episodes.length;
    let samples = (resume?.deviceSamples ?? 0) + chosen.samples;
    const fidelityEvery = checkInt(o.fidelityEvery ?? 25, 'fidelityEvery', 0);
    const checkpointEvery = checkInt(o.checkpointEvery ?? 1, 'checkpointEvery', 1);
    const fidelityDirections = checkInt(o.fidelityDirections ?? DEFAULT_FIDELITY_DIRECTIONS, 'fidelityDirections', 2);
    const fidelityCost = readingSegments({ directions: fidelityDirections }) * L;
    const twin = fidelityEvery > 0 ? simulatorTwin(device) : undefined;
    const spotRng = r.rng.fork(resume ? `fidelity-after-${resume.episode}` : 'fidelity');
    // `samples` counts up to the episode learned last (so a record's count never depends on timing);
    // the budget also counts episodes measured ahead, and those still measuring as L each.
    let launchedUnmeasured = 0, measuredAhead = 0;
    const committed = (): number => samples + measuredAhead + launchedUnmeasured * L;
    const more = (e: number): boolean => e < r.episodes && committed() + L + finalCost(r) <= r.budget && !r.signal?.aborted;
    const interrupted = () => new TrainingInterrupted(episodes, samples + measuredAhead);

    // Progress marks the stages publish (the last episode stepped, sent, measured) and the end of launches.
    const stepped = new BehaviorSubject(firstEpisode - 1), sent = new BehaviorSubject(firstEpisode - 1), measured = new BehaviorSubject(firstEpisode - 1);
    const launchesEnded = new BehaviorSubject(false);
    const reached = (mark: BehaviorSubject<number>, e: number) => combineLatest([mark, launchesEnded]).pipe(first(([m, end]) => m >= e || end));
    // With the pipeline on, episode e+1 is launched once e's batches are out and e-1 is stepped: its
    // drives are exactly one step stale, whatever the timing, and the device finds e+1 queued behind
    // e. Off: once e is stepped.
    const lead = r.pipeline ? 1 : 0;
    const gate = (e: number) => combineLatest([stepped, sent]).pipe(first(([s, x]) => s >= e - 1 - lead && x >= e - 1), map(() => e));
    // Time with at least one measurement outstanding (they overlap when pipelined).
    const clock = new BusyClock();

    /** Episode e: its window (drawn in episode order), its drives with the weights as they are now, sent to the device; emits once its batches are out. */
    const launch$ = (e: number): Observable<Launched> => defer(() => {
      const start = windows.int(r.trainSteps - L + 1);
      const x = tapFeatures(r.train.inputs, r.train.inChannels, r.taps, layer.norm, start, L);
      const a = layer.runFeatures(x);
      clock.begin();
      clock.start();
      launchedUnmeasured++;
      let out!: () => void;
      const isOut = new Promise<void>((res) => { out = res; });
      // A re-measured episode signals sent again: the mark never goes back.
      const settled = () => { clock.stop(); launchedUnmeasured--; };
      const m = measure(device, a, { ...r.measure, onSent: () => { sent.next(Math.max(sent.value, e)); out(); } }).then(
        (mm) => { settled(); measuredAhead += mm.samples; measured.next(Math.max(measured.value, e)); return mm; },
        (err: unknown) => { settled(); throw err; },
      );
      inFlight = Promise.all([inFlight, m.catch(() => undefined)]);
      const gen = adam.generation;
      return from(Promise.race([isOut, m])).pipe(map((): Launched => ({ e, start, x, a, m, gen })));
    });

    // Episode 0's step needs the first fit, which needs episode 0's pairs: with lag 1 it waits for episode 1.
    let deferred: StepEpisode | undefined;
    /** Host work on one measured episode: observe the pairs (replay, refit, drift alarm), readout, step, fidelity, checkpoint. */
    const learn = async ({ e, start, a, x, m, gen }: Episode): Promise<EpisodeRecord> => {
      samples += m.samples;
      measuredAhead -= m.samples;
      // Publishes the refit episode e-1 started (waiting for it if need be), then starts one on pairs up to e.
      const seen = await refitter!.observe({ drives: m.drives, responses: m.responses, epoch: m.epoch });
      // Lag 0: the step waits for the refit on this episode's own pairs.
      if (lag === 0) await refitter!.settle();
      const surrogate = refitter!.surrogate;
      const X = dropRows(m.responses, r.washout, co), Y = targetRows(r.train, start + r.washout, r.steps);
      // Measured ahead with weights a rollback has since undone: its pairs go to the surrogate (they
      // are the device's), its loss is recorded, but it neither steps nor enters the training readout.
      const stale = gen !== adam.generation;
      const readoutNmse = stale ? undefined : episodeReadout(r, readout, ring, X, Y);
      const { W, b } = readout.current;
      const ep: StepEpisode = { x, sent: a, measured: m.responses, target: Float32Array.from(Y), W: Float32Array.from(W), b: Float32Array.from(b), washout: r.washout, penalty };
      const step = (p: StepEpisode, s?: DeviceSurrogate): number => {
        const { loss, grads } = patGradients(layer, p, s, vjp);
        if (grads) {
          adam.optimizer.applyGradients(grads);
          tf.dispose(grads);
        }
        return loss;
      };
      let loss: number;
      if (stale) {
        loss = step(ep);
      } else if (refitter!.fitted) {
        if (deferred) step(deferred, surrogate);
        deferred = undefined;
        loss = step(ep, surrogate);
      } else {
        loss = step(ep);
        deferred = ep;
      }
      const st = refitter!.stats;
      const rec: EpisodeRecord = { loss, deviceSamples: samples, breaks: m.breaks, refits: st.refits, driftAlarms: st.driftAlarms, saturation: saturation(a) };
      // The training readout's statistics came from the responses to weights a rollback undoes.
      if (adam.recordEpisode(rec, loss, !stale)) ring.length = 0;
      if (readoutNmse !== undefined) rec.readoutNmse = readoutNmse;
      if (seen.newestNmse !== undefined) rec.surrogateNmse = seen.newestNmse;
      if (st.heldOutNmse !== undefined) rec.surrogateHeldOutNmse = st.heldOutNmse;
      if (fidelityEvery > 0 && (e + 1) % fidelityEvery === 0 && refitter!.fitted && !r.signal?.aborted) {
        const dy = readoutUpstream(readout.current, m.responses, r.washout, Y, co, r.train.outChannels);
        // The twin's exact VJP is host work (about as long as a refit): done while the device still measures the next episode.
        const exact = twin?.vjp(m.drives, dy);
        const oracle = twin && exact && { vjpSeq: twin.vjpSeq.bind(twin), vjp: () => exact };
        // The reading measures on the device: a pipelined next episode must be in first, so the device sees whole segments in a fixed order.
        if (lead) await firstValueFrom(reached(measured, e + 1));
        // A reading the budget has no room for is skipped, not cut short (the twin's cosine costs no samples).
        const fits = committed() + fidelityCost + finalCost(r) <= r.budget;
        const f = await episodeFidelity({
          surrogate, oracle, device, inChannels: ci, outChannels: co, drives: m.drives, measured: m.responses, dy, rng: spotRng,
          vjp,
          reading: fits ? { ...r.measure, directions: fidelityDirections } : undefined,
        });
        samples += f.samples;
        rec.deviceSamples = samples;
        rec.breaks = (rec.breaks ?? 0) + f.breaks;
        if (f.record.vjpCosine !== undefined) rec.fidelityCosine = f.record.vjpCosine;
        const rd = f.record.reading;
        if (rd) {
          rec.fidelityDirections = rd.directions;
          rec.fidelitySamples = rd.samples;
          if (Number.isFinite(rd.slope)) {
            rec.fidelitySlope = rd.slope;
            rec.fidelitySlopeSe = rd.slopeSe;
            if (rd.twinSlope !== undefined && Number.isFinite(rd.twinSlope)) rec.fidelityTwinSlope = rd.twinSlope;
          }
        }
      }
      episodes.push(rec);
      r.onEpisode?.(rec, e);
      if (o.onCheckpoint && ((e + 1) % checkpointEvery === 0 || !more(e + 1))) {
        o.onCheckpoint({
          format: 'rhil-checkpoint/1', trainer: 'pat', task: r.task, seed: r.seed, episode: e + 1, deviceSamples: samples,
          episodes: episodes.map((x) => ({ ...x })), inputLayer: layer.toJSON(), surrogate: surrogate.toJSON(),
          ...(adam.guarded ? { guard: adam.toJSON() } : {}),
          ...(chosen.record ? { surrogateChoice: chosen.record } : {}),
        });
      }
      if (r.signal?.aborted) throw interrupted();
      clock.mark();
      return rec;
    };

    // The training loop: episodes → measure on the device → observe, refit, step. Pipelining is the
    // overlap of e+1's measurement with learn for e; host work on e starts once e+1's batches are out
    // (on a later macrotask, after the link's I/O), so the device is not left waiting behind it.
    const training$ = range(firstEpisode, Math.max(0, r.episodes - firstEpisode)).pipe(
      concatMap((e) => gate(e)),
      takeWhile((e) => more(e)),
      concatMap((e) => launch$(e)),
      finalize(() => launchesEnded.next(true)),
      concatMap(({ m, ...ep }: Launched) => from(m).pipe(map((mm): Episode => ({ ...ep, m: mm })))),
      concatMap((ep: Episode) => (lead ? reached(sent, ep.e + 1).pipe(map(() => ep)) : of(ep))),
      observeOn(asyncScheduler),
      concatMap((ep: Episode) => from(learn(ep)).pipe(tap(() => stepped.next(ep.e)))),
    );
    await lastValueFrom(training$, { defaultValue: undefined }).catch((err: unknown) => {
      throw r.signal?.aborted && !(err instanceof TrainingInterrupted) ? interrupted() : err;
    });
    if (r.signal?.aborted) throw interrupted();
    // The final measurements and the last refit (on every episode's pairs) run side by side.
    const last = refitter.settle();
    last.catch(() => undefined);
    const result = await finishOnDevice(o, r, 'pat', t0, device, layer, samples, episodes);
    await last;
    result.model.surrogate = refitter.surrogate.toJSON();
    if (chosen.record) result.surrogateChoice = chosen.record;
    const utilisation = clock.utilisation();
    if (utilisation !== undefined) result.deviceUtilisation = utilisation;
    return result;
  } finally {
    const closing = refitter?.close();
    await inFlight;
    optimizer?.dispose();
    layer.dispose();
    await closing;
  }
}

/** The checkpoint, checked against this run: same trainer, task, seed, device shape and layer shape. */
function checkCheckpoint(c: TrainCheckpoint, o: TrainOptions, ci: number): TrainCheckpoint {
  if (c === null || typeof c !== 'object' || c.format !== 'rhil-checkpoint/1') throw new TypeError(`resume: not a rhil-checkpoint/1 checkpoint`);
  const differs = [
    c.trainer !== 'pat' && `trainer ${c.trainer}`,
    c.task !== taskName(o.task) && `task ${c.task} (this run: ${taskName(o.task)})`,
    c.seed !== o.seed && `seed ${c.seed} (this run: ${o.seed})`,
    c.inputLayer?.units !== ci && `an input layer of ${c.inputLayer?.units} units for a device of ${ci} input channels`,
    (c.surrogateChoice?.requested ?? 'narx') !== surrogateDesign(o) && `surrogate design ${c.surrogateChoice?.requested ?? 'narx'} (this run: ${surrogateDesign(o)})`,
  ].filter(Boolean);
  if (differs.length) throw new RangeError(`resume: the checkpoint is of another run: ${differs.join('; ')}`);
  if (!Number.isInteger(c.episode) || c.episode < 0 || !Array.isArray(c.episodes) || c.episodes.length !== c.episode) {
    throw new TypeError(`resume: checkpoint episode ${String(c.episode)} does not match its ${String(c.episodes?.length)} episode records`);
  }
  if (!(Number.isSafeInteger(c.deviceSamples) && c.deviceSamples >= 0)) throw new TypeError(`resume: checkpoint deviceSamples ${String(c.deviceSamples)} is not a count`);
  return c;
}

/** The checkpoint's input layer (weights and the normalisation they were trained under), checked to fit this run. */
function resumedLayer(c: TrainCheckpoint, r: Resolved, units: number): TappedDense {
  const j = c.inputLayer;
  if (j.format !== 'tapped-dense/1' || j.taps !== r.taps || j.inChannels !== r.train.inChannels || j.units !== units) {
    throw new RangeError(`resume: the checkpoint's input layer (${j.taps} taps x ${j.inChannels} channels -> ${j.units}) does not fit this run (${r.taps} x ${r.train.inChannels} -> ${units})`);
  }
  try {
    return TappedDense.fromJSON(j);
  } catch (e) {
    throw new TypeError(`resume: the checkpoint's input-layer weights are missing, of the wrong size or not finite (${(e as Error).message})`);
  }
}

/** The exact-gradient twin of a built-in simulator, for the fidelity cosine; undefined on any other device. */
function simulatorTwin(device: TrainOptions['device']): TwinGradient | undefined {
  try {
    return new TwinGradient({ model: twinModelFor(device, {}), scaling: device!.info });
  } catch {
    return undefined;   // a real device (or an unknown simulator) has no twin: the device reading only
  }
}

/** Share of drives with |a| > 0.95. */
export function saturation(a: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i]) > 0.95) n++;
  return a.length ? n / a.length : 0;
}

/** One episode, its batches sent and its measurement under way. */
type Launched = Omit<Episode, 'm'> & { m: Promise<Measurement> };

/** One episode, measured. */
interface Episode {
  e: number;
  /** GuardedAdam.generation when it was launched. */
  gen: number;
  /** First row of the episode's window in the training sequence. */
  start: number;
  /** Its tapped features [L, taps * inChannels], row-major. */
  x: Float32Array;
  /** The drives computed for it, [L * inChannels] (the measurement holds them as the device took them). */
  a: Float32Array;
  m: Measurement;
}
