/**
 * A trained series chain (series.ts) as data, and its forward pass through the devices: what
 * `trainSeriesChain` returns and saves, and what `rhil run --model` measures again. The forward
 * pass is this module's {@link measureChain} in both, so a saved chain applied to the same drives
 * on a deterministic device gives the training's own test numbers.
 *
 * A model comes back from a file or a database: {@link loadSeriesChainModel} checks every field and
 * names the one at fault (`model.between[0]: W must hold 2500 finite numbers`).
 */
import type { Device } from '../../device/client.js';
import type { SurrogateJSON } from '../../surrogate/saved.js';
import { surrogateFromJSON } from '../../surrogate/saved.js';
import type { TaskData } from '../../tasks/index.js';
import { type Resolved, dropRows, targetRows } from '../common.js';
import { measure, type Measurement, type MeasureOptions } from '../device-units.js';
import { TappedDense, type TappedDenseJSON, tapFeatures } from '../input-layer.js';
import { RidgeReadout, type ReadoutJSON } from '../readout.js';

export const SERIES_MODEL_FORMAT = 'series-chain/1';

/** The trained chain: every digital layer (weights and input normalisation), the readout, each layer's surrogate. */
export interface SeriesChainModelJSON {
  format: typeof SERIES_MODEL_FORMAT;
  /** The input layer over the task's tapped inputs. */
  first: TappedDenseJSON;
  /** Between physical layers k and k+1: over the tapped responses of layer k. */
  between: TappedDenseJSON[];
  /** The final ridge readout over the last physical layer's responses. */
  readout: ReadoutJSON;
  /** pat: each physical layer's surrogate after its last refit; oracle: null (the twins are the simulators'). */
  surrogates: (SurrogateJSON | null)[];
}

/** The chain's digital layers and readout, rebuilt. The caller disposes it. */
export interface SeriesChainModel {
  first: TappedDense;
  between: TappedDense[];
  readout: RidgeReadout;
  dispose(): void;
}

/** The physical layers' widths in order: what a model must fit. */
export interface SeriesChainWidths {
  /** Task input channels. */
  inputs: number;
  /** Task target channels. */
  outputs: number;
  /** Per physical layer: drive channels in, response channels out. */
  devices: { inChannels: number; outChannels: number }[];
}

/** Per-segment callbacks of {@link measureChain}: when physical layer k's segment starts, has its batches out, and ends (m undefined on failure). */
export interface ChainSegmentHooks {
  start?(k: number): void;
  sent?(k: number): void;
  end?(k: number, m?: Measurement): void;
}

/**
 * The chain forward on the devices: the input layer's drives for the tapped features `x` of `rows`
 * steps measured on device 1 as one segment from a reset, then each between layer's drives from
 * the previous device's responses, measured on the next. `between(k, responses)` gives the layer
 * after device k (the trainer makes it on the first responses it sees). `hooks` follow each
 * segment (the trainer's pipeline gate and device-utilisation clock).
 */
export async function measureChain(
  devices: readonly Device[], first: TappedDense, between: (k: number, responses: Float32Array) => TappedDense, x: Float32Array, rows: number, mo: MeasureOptions,
  hooks: ChainSegmentHooks = {},
): Promise<{ sent: Float32Array[]; ms: Measurement[] }> {
  const sent: Float32Array[] = [], ms: Measurement[] = [];
  let a = first.runFeatures(x);
  for (let k = 0; k < devices.length; k++) {
    hooks.start?.(k);
    let m: Measurement;
    try {
      m = await measure(devices[k], a, { ...mo, onSent: () => hooks.sent?.(k) });
    } catch (e) {
      hooks.end?.(k);
      throw e;
    }
    hooks.end?.(k, m);
    sent.push(a);
    ms.push(m);
    if (k + 1 < devices.length) {
      const l = between(k, m.responses);
      a = l.runFeatures(tapFeatures(m.responses, l.inChannels, l.taps, l.norm, 0, rows));
    }
  }
  return { sent, ms };
}

/**
 * The test sequence of `r` measured through the chain and scored by its readout: the same
 * segment, drives and readout as the training's final test (common.finalEvaluation).
 */
export async function testSeriesChain(model: SeriesChainModel, devices: readonly Device[], r: Resolved): Promise<{ metric: string; value: number; samples: number }> {
  const task: TaskData = r.test, length = r.washout + r.testSteps;
  const x = tapFeatures(task.inputs, task.inChannels, model.first.taps, model.first.norm, 0, length);
  const { ms } = await measureChain(devices, model.first, (k) => model.between[k], x, length, r.measure);
  const last = ms[ms.length - 1];
  const prediction = model.readout.predict(dropRows(last.responses, r.washout, model.readout.features));
  const value = task.score(prediction, targetRows(task, r.washout, r.testSteps));
  return { metric: task.metric, value, samples: ms.reduce((s, m) => s + m.samples, 0) };
}

/** A model's JSON checked against the chain it must fit and rebuilt; a RangeError names the field at fault. */
export function loadSeriesChainModel(json: unknown, widths: SeriesChainWidths): SeriesChainModel {
  const j = json as Partial<SeriesChainModelJSON> | null;
  const bad = (what: string): never => { throw new RangeError(`model.${what}`); };
  if (j === null || typeof j !== 'object' || j.format !== SERIES_MODEL_FORMAT) throw new RangeError(`model: not a ${SERIES_MODEL_FORMAT} object (format ${JSON.stringify((j as { format?: unknown } | null)?.format)})`);
  const K = widths.devices.length;
  if (!Array.isArray(j.between) || j.between.length !== K - 1) bad(`between must hold ${K - 1} layers for ${K} physical layers`);
  if (!Array.isArray(j.surrogates) || j.surrogates.length !== K) bad(`surrogates must hold ${K} entries (null for none)`);
  j.surrogates!.forEach((s, k) => {
    if (s === null) return;
    let sh;
    try {
      const built = surrogateFromJSON(s);
      sh = built.shape;
      built.dispose();
    } catch (e) {
      return bad(`surrogates[${k}]: ${(e as Error).message}`);
    }
    const d = widths.devices[k];
    if (sh.inChannels !== d.inChannels || sh.outChannels !== d.outChannels) bad(`surrogates[${k}]: ${sh.inChannels} in / ${sh.outChannels} out, the device ${d.inChannels} / ${d.outChannels}`);
  });
  const made: TappedDense[] = [];
  const layer = (v: unknown, name: string, want: { inChannels: number; units: number }): TappedDense => {
    let l: TappedDense;
    try {
      l = TappedDense.fromJSON(v);
    } catch (e) {
      return bad(`${name}: ${(e as Error).message}`);
    }
    made.push(l);
    if (l.inChannels !== want.inChannels || l.units !== want.units) bad(`${name}: takes ${l.inChannels} channels to ${l.units} units; the chain needs ${want.inChannels} to ${want.units}`);
    return l;
  };
  try {
    const first = layer(j.first, 'first', { inChannels: widths.inputs, units: widths.devices[0].inChannels });
    const between = j.between!.map((b, k) => layer(b, `between[${k}]`, { inChannels: widths.devices[k].outChannels, units: widths.devices[k + 1].inChannels }));
    let readout: RidgeReadout;
    try {
      readout = RidgeReadout.fromJSON(j.readout);
    } catch (e) {
      return bad(`readout: ${(e as Error).message}`);
    }
    const co = widths.devices[K - 1].outChannels;
    if (readout.features !== co || readout.outputs !== widths.outputs) bad(`readout: ${readout.features} features to ${readout.outputs} outputs; the chain gives ${co} and the task has ${widths.outputs}`);
    return { first, between, readout, dispose: () => { for (const l of made) l.dispose(); } };
  } catch (e) {
    for (const l of made) l.dispose();
    throw e;
  }
}
