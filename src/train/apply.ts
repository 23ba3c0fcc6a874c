/**
 * Applying a trained model to new input: what `rhil run` does, as a library.
 *
 *     u (task input rows) ─► taps ─► input layer ─► device ─► readout ─► ŷ (one row per input row)
 *
 * The model is what `rhil train --out` saves (a TrainResult plus `backend` and `deviceSpec`),
 * read by {@link loadModel}. A `digital` model has no device: its input layer feeds the readout.
 *
 * Washout. Predictions are made for every input row, but the first ones are not trustworthy:
 * the first `taps - 1` rows lack a full tap history (missing taps read as the training mean, as
 * in training), and the reservoir starts from rest. Training dropped the first `washout` rows of
 * every segment (50 by default) before fitting and scoring, so rows [0, washout) here are the
 * same kind of rows the readout never saw. {@link Applied.washout} and {@link ModelStream.washout}
 * say how many leading rows are washout; `rhil run` flags them (or drops them on request).
 *
 * Streaming. {@link ModelStream} takes the input in chunks of any size and keeps the tap
 * history and the device's state across them: the device is reset once, before the first
 * chunk, and never between chunks, so the predictions are those of one unbroken segment
 * whatever the chunking (the test checks this against one measure() of the whole sequence).
 * A state break (BOOT, lost batch, timeout) destroys the reservoir's state; the stream then
 * resets the device, replays the last `washout` drives it sent (responses discarded) to wash the
 * reservoir in again, and re-sends the chunk the break hit. The rows after a recovery are as good
 * as rows after the initial washout, not identical to an unbroken run; {@link ModelStream.breaks}
 * counts recoveries, and after `maxRetries` breaks in one chunk the break is thrown.
 *
 * ```ts
 * const model = loadModel(JSON.parse(readFileSync('rhil-narma10-pat-seed1.json', 'utf8')));
 * const device = await openDevice(model.deviceSpec ?? 'sim:analog', { seed: model.seed });
 * const { predictions, washout } = await applyModel(model, inputs, { device });
 * // predictions: Float64Array [steps * model.outChannels]; rows < washout are washout
 * ```
 */
import type { AppliedCalibration } from '../calibration/apply.js';
import type { Device } from '../device/device.js';
import { measureSegment } from '../device/segment.js';
import type { Info } from '../protocol/messages.js';
import { type RefittableSurrogate, surrogateFromJSON } from '../surrogate/saved.js';
import type { DeviceSummary, TrainerName } from './common.js';
import { RidgeReadout, TappedDense, driveUnits, scaleResponses } from './hybrid.js';

/** Washout of every measured segment in train() (common.ts resolve): used when a model file does not say. */
export const DEFAULT_WASHOUT = 50;

/** Steps per chunk of {@link applyModel}. */
export const DEFAULT_CHUNK = 1000;

const TRAINERS: readonly TrainerName[] = ['pat', 'classic', 'digital', 'oracle', 'insilico', 'spsa'];

/** A model file that cannot be used, or a device it does not fit. */
export class ModelError extends Error {
  override name = 'ModelError';
}

/** A trained model, checked and ready to apply. Call dispose() when done (tfjs weights). */
export interface LoadedModel {
  trainer: TrainerName;
  task: string;
  /** Task input channels per row. */
  inChannels: number;
  /** Predicted channels per row. */
  outChannels: number;
  taps: number;
  /** Leading rows that are washout (see the module comment). */
  washout: number;
  /** True for a `digital` model: no device. */
  digital: boolean;
  /** The device the model was trained on (null for digital). */
  device: DeviceSummary | null;
  /** How the device was named at training (`sim:analog`, `/dev/ttyACM0`), if saved. */
  deviceSpec: string | null;
  /** Training seed (also the seed of a simulated device), if saved. */
  seed: number | null;
  /**
   * Whether training measured through a calibration: the file's `calibration` field (null: no;
   * an object: yes). Null when the file has no such field.
   */
  calibrated: boolean | null;
  /** The test metric of training, if saved. */
  test: { metric: string; value: number } | null;
  inputLayer: TappedDense;
  readout: RidgeReadout;
  dispose(): void;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const posInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1;

/**
 * Checks a saved model (parsed JSON) and rebuilds its layers. Every problem is a ModelError
 * naming the field (`model.readout: W must hold 50 numbers, got 49`).
 */
export function loadModel(json: unknown): LoadedModel {
  const fail = (msg: string): never => { throw new ModelError(msg); };
  if (!isObject(json)) return fail('a model file must be a JSON object (what rhil train --out writes)');
  const j = json;
  if (!TRAINERS.includes(j.trainer as TrainerName)) fail(`trainer must be one of ${TRAINERS.join(', ')}, got ${JSON.stringify(j.trainer)}`);
  const trainer = j.trainer as TrainerName;
  const digital = trainer === 'digital';
  if (!isObject(j.task) || typeof j.task.name !== 'string') fail('task must be an object with a name');
  const task = j.task as Record<string, unknown>;
  const washout = task.washout ?? DEFAULT_WASHOUT;
  if (!Number.isInteger(washout) || (washout as number) < 0) fail(`task.washout must be an integer >= 0, got ${JSON.stringify(task.washout)}`);
  if (!isObject(j.model)) fail('model must be an object { inputLayer, readout, surrogate? }');
  const m = j.model as Record<string, unknown>;
  let device: DeviceSummary | null = null;
  if (digital) {
    if (j.device !== null && j.device !== undefined) fail(`device must be null for a digital model, got ${JSON.stringify(j.device).slice(0, 60)}`);
  } else {
    if (!isObject(j.device)) fail(`device must be an object (the device a ${trainer} model was trained on), got ${JSON.stringify(j.device)}`);
    for (const k of ['inChannels', 'outChannels']) if (!posInt((j.device as Record<string, unknown>)[k])) fail(`device.${k} must be a positive integer`);
    device = j.device as unknown as DeviceSummary;
  }
  if (j.deviceSpec !== undefined && j.deviceSpec !== null && typeof j.deviceSpec !== 'string') fail('deviceSpec must be a string or null');
  if (j.seed !== undefined && !(Number.isInteger(j.seed) && (j.seed as number) >= 0)) fail(`seed must be an integer >= 0, got ${JSON.stringify(j.seed)}`);
  let test: LoadedModel['test'] = null;
  if (j.test !== undefined) {
    if (!isObject(j.test) || typeof j.test.metric !== 'string' || typeof j.test.value !== 'number') fail('test must be { metric, value }');
    test = { metric: (j.test as { metric: string }).metric, value: (j.test as { value: number }).value };
  }

  let inputLayer: TappedDense | undefined;
  try {
    inputLayer = TappedDense.fromJSON(m.inputLayer);
  } catch (e) {
    fail(`model.inputLayer: ${(e as Error).message}`);
  }
  const layer = inputLayer!;
  try {
    let readout: RidgeReadout | undefined;
    try {
      readout = RidgeReadout.fromJSON(m.readout);
    } catch (e) {
      fail(`model.readout: ${(e as Error).message}`);
    }
    const r = readout!;
    if (digital) {
      if (r.features !== layer.units) fail(`model.readout.features (${r.features}) must equal model.inputLayer.units (${layer.units}) in a digital model`);
    } else {
      if (layer.units !== device!.inChannels) fail(`model.inputLayer.units (${layer.units}) must equal device.inChannels (${device!.inChannels})`);
      if (r.features !== device!.outChannels) fail(`model.readout.features (${r.features}) must equal device.outChannels (${device!.outChannels})`);
    }
    if (m.surrogate !== undefined) {
      // Not needed to apply the model, but a damaged surrogate means a damaged file.
      let s: RefittableSurrogate | undefined;
      try {
        s = surrogateFromJSON(m.surrogate);
      } catch (e) {
        fail(`model.surrogate: ${(e as Error).message}`);
      }
      s!.dispose();
    }
    return {
      trainer, task: task.name as string, inChannels: layer.inChannels, outChannels: r.outputs, taps: layer.taps, washout: washout as number,
      digital, device, deviceSpec: (j.deviceSpec as string | null | undefined) ?? null, seed: (j.seed as number | undefined) ?? null,
      calibrated: j.calibration === undefined ? null : j.calibration !== null, test, inputLayer: layer, readout: r,
      dispose: () => layer.dispose(),
    };
  } catch (e) {
    layer.dispose();
    throw e;
  }
}

/**
 * Checks that `info` can run `model`: the device's channel counts must be the model's, else a
 * ModelError. Returns warnings for a device of the same shape but another identity (another
 * board of the same kind responds differently, so the readout may not carry over).
 */
export function checkModelDevice(model: LoadedModel, info: Info): string[] {
  const d = model.device;
  if (!d) return [];
  const what = `${d.vendor ?? '?'} ${d.model ?? '?'}`;
  if (info.inChannels !== d.inChannels || info.outChannels !== d.outChannels) {
    throw new ModelError(`the model needs a device with ${d.inChannels} input and ${d.outChannels} output channels (trained on ${what}); `
      + `${info.vendor} ${info.model} has ${info.inChannels} and ${info.outChannels}`);
  }
  const keys = ['vendor', 'model', 'serial', 'firmware', 'inFormat', 'outFormat', 'inMin', 'inMax', 'outMin', 'outMax'] as const;
  return keys.filter((k) => d[k] !== undefined && d[k] !== info[k])
    .map((k) => `device ${k} is ${JSON.stringify(info[k])}, the model was trained on ${JSON.stringify(d[k])}`);
}

/** Options of {@link applyModel} and {@link ModelStream.open}. */
export interface ApplyOptions {
  /** The device (required unless the model is digital; ignored then). */
  device?: Device;
  /** Calibration of this device, applied to drives and responses as in training. Defaults to none. */
  calibration?: AppliedCalibration;
  /** Stops before the next chunk is sent. */
  signal?: AbortSignal;
  /** State breaks recovered from within one chunk before giving up. Defaults to 3. */
  maxRetries?: number;
  /** Leading rows counted as washout. Defaults to the model's washout. */
  washout?: number;
}

/** What {@link applyModel} returns. */
export interface Applied {
  /** [steps * outChannels], row-major, one row per input row. */
  predictions: Float64Array;
  steps: number;
  /** Leading rows that are washout. */
  washout: number;
  /** Device samples sent (replays after breaks included). */
  samples: number;
  /** State breaks recovered from. */
  breaks: number;
}

/**
 * Applies a model to a whole input sequence (row-major, steps x model.inChannels), in chunks of
 * `chunk` steps through one {@link ModelStream}.
 */
export async function applyModel(model: LoadedModel, inputs: ArrayLike<number>, opts: ApplyOptions & { chunk?: number } = {}): Promise<Applied> {
  const chunk = opts.chunk ?? DEFAULT_CHUNK;
  if (!posInt(chunk)) throw new RangeError(`chunk must be a positive integer, got ${String(opts.chunk)}`);
  const ci = model.inChannels;
  if (inputs.length % ci !== 0) throw new RangeError(`inputs hold ${inputs.length} values, not a multiple of ${ci} (the model's input channels)`);
  const steps = inputs.length / ci;
  const stream = await ModelStream.open(model, opts);
  const predictions = new Float64Array(steps * model.outChannels);
  for (let s = 0; s < steps; s += chunk) {
    const n = Math.min(chunk, steps - s);
    const rows = Array.prototype.slice.call(inputs, s * ci, (s + n) * ci) as number[];
    predictions.set(await stream.push(rows), s * model.outChannels);
  }
  return { predictions, steps, washout: stream.washout, samples: stream.samples, breaks: stream.breaks };
}

/** A model applied to input arriving in chunks, one unbroken device segment; see the module comment. */
export class ModelStream {
  /** Input rows pushed so far. */
  steps = 0;
  /** Device samples sent so far (replays after breaks included). */
  samples = 0;
  /** State breaks recovered from so far. */
  breaks = 0;
  /** Leading rows that are washout. */
  readonly washout: number;
  /** The last taps-1 input rows, for the next chunk's tapped features. */
  private history: Float64Array;
  /** The last `washout` drives sent, in device units, replayed after a break. */
  private recent = new Float64Array(0);
  /** The open segment's epoch; none before the first chunk. */
  private epoch: number | undefined;

  private constructor(private readonly model: LoadedModel, private readonly device: Device | undefined, private readonly opts: ApplyOptions) {
    this.washout = opts.washout ?? model.washout;
    const hist = model.taps - 1;
    // Taps before the first row read as the training mean (ũ = 0), as in training: a row equal
    // to the normalisation's shift normalises to exactly 0.
    this.history = new Float64Array(hist * model.inChannels);
    for (let t = 0; t < hist; t++) for (let c = 0; c < model.inChannels; c++) this.history[t * model.inChannels + c] = model.inputLayer.norm.shift[c];
  }

  /** Checks the device against the model (ModelError on a shape mismatch); the device is reset at the first push. */
  static async open(model: LoadedModel, opts: ApplyOptions = {}): Promise<ModelStream> {
    if (opts.washout !== undefined && !(Number.isInteger(opts.washout) && opts.washout >= 0)) throw new RangeError(`washout must be an integer >= 0, got ${opts.washout}`);
    if (opts.maxRetries !== undefined && !(Number.isInteger(opts.maxRetries) && opts.maxRetries >= 0)) throw new RangeError(`maxRetries must be an integer >= 0, got ${opts.maxRetries}`);
    if (model.digital) return new ModelStream(model, undefined, opts);
    if (!opts.device) throw new ModelError(`a ${model.trainer} model is applied through a device: pass one`);
    checkModelDevice(model, opts.device.info);
    return new ModelStream(model, opts.device, opts);
  }

  /** Predictions for the next rows (row-major, n x inChannels): Float64Array [n * outChannels]. */
  async push(rows: ArrayLike<number>): Promise<Float64Array> {
    const { model } = this;
    const ci = model.inChannels;
    if (rows.length % ci !== 0) throw new RangeError(`a chunk holds ${rows.length} values, not a multiple of ${ci} (the model's input channels)`);
    for (let i = 0; i < rows.length; i++) {
      if (!Number.isFinite(rows[i])) throw new RangeError(`row ${this.steps + Math.floor(i / ci)}, channel ${i % ci} is ${String(rows[i])}, not a finite number`);
    }
    const n = rows.length / ci;
    if (n === 0) return new Float64Array(0);
    this.opts.signal?.throwIfAborted();
    const hist = this.history.length / ci;
    const buf = new Float64Array(this.history.length + rows.length);
    buf.set(this.history);
    buf.set(Array.from(rows), this.history.length);
    const a = model.inputLayer.run(buf, hist, n);
    const features = this.device ? await this.measureChunk(a) : a;
    this.history = buf.slice(buf.length - this.history.length);
    this.steps += n;
    return model.readout.predict(features);
  }

  /** Scaled responses to drives `a` ([n * inChannels] in [-1, 1]), continuing the segment (after a break: reset, wash in the recent drives, measure again). */
  private async measureChunk(a: Float32Array): Promise<Float32Array> {
    const device = this.device!;
    const info = device.info, cal = this.opts.calibration;
    const units = driveUnits(a, info, cal);
    const seg = await measureSegment(device, units, { epoch: this.epoch, washIn: this.recent, maxRetries: this.opts.maxRetries, signal: this.opts.signal });
    this.epoch = seg.epoch;
    this.samples += seg.samples;
    this.breaks += seg.breaks;
    this.remember(units);
    return scaleResponses(seg.raw, info, cal);
  }

  /** Keeps the last `washout` drive rows sent. */
  private remember(units: Float64Array): void {
    const keep = Math.max(this.washout, this.model.washout) * this.device!.info.inChannels;
    const all = new Float64Array(this.recent.length + units.length);
    all.set(this.recent);
    all.set(units, this.recent.length);
    this.recent = all.slice(Math.max(0, all.length - keep));
  }
}
