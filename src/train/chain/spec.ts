/**
 * Reads and checks a model-spec file (`rhil train --model-spec FILE`, issue 12): a chain of
 * digital, physical and readout layers (spec-types.ts). Every problem is a ModelSpecError whose
 * message is one line naming the file, the layer (counted from 1, as a reader counts the list
 * in the file) with its kind, and the field:
 *
 * ```text
 * model.yaml: layer 2 (physical): device 'sim:nope' does not exist (simulator profiles: analog, ...)
 * model.yaml: layer 1 (digital): units 32 does not match the next layer's drive channels 64 (sim:optical)
 * model.yaml: layer 3: unknown kind 'conv' (expected digital, physical or readout)
 * ```
 *
 * Rules: the last layer, and only the last, is the readout; a digital layer directly before a
 * physical one has as many units as the device has drive channels; two physical layers in a row
 * connect only when the first's response channels equal the second's drive channels; a physical
 * first layer has as many drive channels as the task has inputs (when that width is known); a
 * softmax readout needs a classification task (or none), a ridge readout a time-series task (or
 * none); tapped delays (taps > 1) need a time series. A chain without physical layers is valid:
 * it is the digital-only model the trainers compare against.
 *
 * ```ts
 * const spec = parseModelSpec(readFileSync(path, 'utf8'), path);
 * describeChain(spec, { inputWidth: 784, outputWidth: 10 });
 * // 'digital 784->64 tanh | physical sim:optical 64->128 | readout softmax 128->10'
 * ```
 */
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { createModel, profiles, type ProfileName } from '../../sim/profiles.js';
import { generateTask, isTaskName, MNIST_PIXELS, taskNames } from '../../tasks/index.js';
import type { DigitalLayerSpec, LayerSpec, ModelSpec, PhysicalLayerSpec, ReadoutLayerSpec } from './spec-types.js';
import { CLASS_TASK_NAMES } from '../../tasks/class-tasks.js';

/** A model spec that cannot be read or does not describe a valid chain; the CLI exits 2 on it. */
export class ModelSpecError extends Error {
  override name = 'ModelSpecError';
  constructor(
    message: string,
    /** The file, when the spec came from one. */
    readonly file?: string,
    /** Index of the offending layer in `layers` (0-based; the message counts from 1). */
    readonly layer?: number,
    /** The field at fault (`units`, `device`, `kind`, ... or a top-level key). */
    readonly field?: string,
  ) {
    super(message);
  }
}

/** Channel counts of a device: drives in, responses out. */
export interface DeviceWidths {
  inChannels: number;
  outChannels: number;
}

/** Looks a device up by the name a physical layer gives; undefined when there is no such device. */
export type DeviceLookup = (name: string) => DeviceWidths | undefined;

export interface CheckModelSpecOptions {
  /** Named at the start of every message. */
  file?: string;
  /**
   * Width of the task's inputs: checked against a physical first layer's drive channels. Defaults
   * to {@link taskInputWidth} of the spec's task (unknown for synthetic-classes, whose width is an
   * option of the task: pass it).
   */
  inputWidth?: number;
}

/** The values a layer takes when a field is left out (as documented in spec-types.ts). */
export const layerDefaults = Object.freeze({
  activation: 'tanh' as const,
  taps: 1,
  surrogate: 'auto' as const,
});

const KINDS = ['digital', 'physical', 'readout'] as const;
const ACTIVATIONS: readonly NonNullable<DigitalLayerSpec['activation']>[] = ['tanh', 'relu', 'linear', 'sigmoid'];
const SURROGATES: readonly NonNullable<PhysicalLayerSpec['surrogate']>[] = ['auto', 'narx', 'state', 'memoryless', 'transmission'];
const READOUTS: readonly ReadoutLayerSpec['type'][] = ['ridge', 'softmax'];
const KEYS = {
  model: ['name', 'task', 'layers'],
  digital: ['kind', 'units', 'activation', 'taps'],
  physical: ['kind', 'device', 'surrogate'],
  readout: ['kind', 'type'],
} as const;

/** Static classification tasks (no time axis): their readout is softmax, their layers untapped. */
export const CLASSIFICATION_TASKS: readonly string[] = CLASS_TASK_NAMES;

/** 'classification', 'time-series', or undefined for a name that is neither. */
export function taskKind(task: string): 'classification' | 'time-series' | undefined {
  if (CLASSIFICATION_TASKS.includes(task)) return 'classification';
  return isTaskName(task) ? 'time-series' : undefined;
}

/**
 * The input width a task always has: 784 pixels for mnist, the registry's inChannels for a
 * time-series task (read from a small generated instance, so it cannot drift from the generator);
 * undefined for synthetic-classes (its width is an option) and unknown names.
 */
export function taskInputWidth(task: string): number | undefined {
  if (task === 'mnist') return MNIST_PIXELS;
  return isTaskName(task) ? generateTask(task, 200, {}, { seed: 1 }).inChannels : undefined;
}

/** The target channels of a time-series task (read from a small generated instance, as taskInputWidth); undefined for any other name. */
export function taskOutputWidth(task: string): number | undefined {
  return isTaskName(task) ? generateTask(task, 200, {}, { seed: 1 }).outChannels : undefined;
}

const simWidths = new Map<string, DeviceWidths>();

/**
 * Widths of a built-in simulator `sim:<profile>`, read from the model the profile builds (so they
 * follow the profile's options and the model's defaults); undefined for an unknown profile or a
 * name that is not `sim:`. Cached: a profile's widths do not depend on the seed.
 */
export function simDeviceWidths(name: string): DeviceWidths | undefined {
  if (!name.startsWith('sim:')) return undefined;
  const profile = name.slice(4);
  if (!Object.prototype.hasOwnProperty.call(profiles, profile)) return undefined;
  let w = simWidths.get(profile);
  if (!w) {
    const model = createModel(profile as ProfileName, {}, 1);
    w = { inChannels: model.inChannels, outChannels: model.outChannels };
    simWidths.set(profile, w);
  }
  return w;
}

const show = (v: unknown): string => {
  if (typeof v === 'string') return `'${v}'`;
  if (v === null || v === undefined || typeof v !== 'object') return String(v);
  return Array.isArray(v) ? 'a list' : 'a mapping';
};
const isMapping = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const oneOf = (xs: readonly string[]): string => (xs.length > 1 ? `${xs.slice(0, -1).join(', ')} or ${xs[xs.length - 1]}` : xs[0]);

/**
 * Checks a parsed document as a model spec and returns it as a ModelSpec (fields as written; see
 * {@link layerDefaults} for what an omitted field means). `devices` resolves a physical layer's
 * device to its widths; without it, `sim:<profile>` names are resolved from the simulator
 * profiles and any other device name (a port, an address) is accepted with its widths unchecked.
 */
export function checkModelSpec(spec: unknown, devices?: DeviceLookup, options: CheckModelSpecOptions = {}): ModelSpec {
  const { file, inputWidth } = options;
  const at = file ? `${file}: ` : '';
  const fail = (msg: string, field?: string, layer?: number): never => { throw new ModelSpecError(at + msg, file, layer, field); };

  if (spec === null || spec === undefined) fail('the model spec is empty: expected a mapping with layers', 'layers');
  if (!isMapping(spec)) fail(`the model spec must be a mapping with layers, got ${show(spec)}`);
  const doc = spec as Record<string, unknown>;
  for (const key of Object.keys(doc)) {
    if (!(KEYS.model as readonly string[]).includes(key)) fail(`unknown key '${key}' (expected ${oneOf(KEYS.model)})`, key);
  }
  if (doc.name !== undefined && typeof doc.name !== 'string') fail(`name must be a string, got ${show(doc.name)}`, 'name');
  let kind: ReturnType<typeof taskKind>;
  if (doc.task !== undefined) {
    if (typeof doc.task !== 'string') fail(`task must be a string, got ${show(doc.task)}`, 'task');
    kind = taskKind(doc.task as string);
    if (!kind) fail(`task '${doc.task as string}' is not a known task (expected ${oneOf([...CLASSIFICATION_TASKS, ...taskNames])})`, 'task');
  }
  if (!Array.isArray(doc.layers)) fail(doc.layers === undefined ? 'layers is missing: list the chain\'s layers, ending with a readout' : `layers must be a list, got ${show(doc.layers)}`, 'layers');
  const raw = doc.layers as unknown[];
  if (raw.length === 0) fail('layers must hold at least one layer (a readout)', 'layers');

  const layers = raw.map((l, i) => checkLayer(l, i, kind, fail));
  const last = layers.length - 1;
  layers.forEach((l, i) => {
    if (l.kind === 'readout' && i !== last) {
      fail(`layer ${i + 1} (readout): the readout must be the last layer, but layer ${i + 2} (${layers[i + 1].kind}) follows it`, 'kind', i);
    }
  });
  if (layers[last].kind !== 'readout') fail(`layer ${last + 1} (${layers[last].kind}): the last layer must be a readout (ridge or softmax)`, 'kind', last);

  const width = inputWidth ?? (layers[0].kind === 'physical' && typeof doc.task === 'string' ? taskInputWidth(doc.task) : undefined);
  checkConnections(layers, devices, width, fail);
  const out: ModelSpec = { layers };
  if (doc.name !== undefined) out.name = doc.name as string;
  if (doc.task !== undefined) out.task = doc.task as string;
  return out;
}

type Fail = (msg: string, field?: string, layer?: number) => never;

/** One layer's own fields: kind, known keys, types and choices. */
function checkLayer(l: unknown, i: number, task: ReturnType<typeof taskKind>, fail: Fail): LayerSpec {
  const n = i + 1;
  if (!isMapping(l)) return fail(`layer ${n}: must be a mapping with a kind (${oneOf(KINDS)}), got ${show(l)}`, undefined, i);
  if (l.kind === undefined) return fail(`layer ${n}: kind is missing (expected ${oneOf(KINDS)})`, 'kind', i);
  if (typeof l.kind !== 'string' || !(KINDS as readonly string[]).includes(l.kind)) {
    return fail(`layer ${n}: unknown kind ${show(l.kind)} (expected ${oneOf(KINDS)})`, 'kind', i);
  }
  const kind = l.kind as LayerSpec['kind'];
  const where = `layer ${n} (${kind})`;
  for (const key of Object.keys(l)) {
    if (!(KEYS[kind] as readonly string[]).includes(key)) fail(`${where}: unknown key '${key}' (a ${kind} layer takes ${oneOf(KEYS[kind])})`, key, i);
  }
  const positiveInt = (field: string): number => {
    const v = l[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) fail(`${where}: ${field} must be a positive integer, got ${show(v)}`, field, i);
    return v as number;
  };
  const choice = <T extends string>(field: string, allowed: readonly T[], required: boolean): T | undefined => {
    const v = l[field];
    if (v === undefined && !required) return undefined;
    if (v === undefined) fail(`${where}: ${field} is missing (expected ${oneOf(allowed)})`, field, i);
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) fail(`${where}: ${field} must be ${oneOf(allowed)}, got ${show(v)}`, field, i);
    return v as T;
  };

  switch (kind) {
    case 'digital': {
      if (l.units === undefined) fail(`${where}: units is missing (the layer's output width)`, 'units', i);
      const out: DigitalLayerSpec = { kind, units: positiveInt('units') };
      const activation = choice('activation', ACTIVATIONS, false);
      if (activation) out.activation = activation;
      if (l.taps !== undefined) {
        out.taps = positiveInt('taps');
        if (out.taps > 1 && task === 'classification') fail(`${where}: taps ${out.taps} needs a time-series task; a classification task has no past inputs (use taps: 1)`, 'taps', i);
      }
      return out;
    }
    case 'physical': {
      if (l.device === undefined) fail(`${where}: device is missing (e.g. sim:optical or a port such as /dev/ttyACM0)`, 'device', i);
      if (typeof l.device !== 'string' || l.device.trim() === '') fail(`${where}: device must be a device name, got ${show(l.device)}`, 'device', i);
      const out: PhysicalLayerSpec = { kind, device: l.device as string };
      const surrogate = choice('surrogate', SURROGATES, false);
      if (surrogate) out.surrogate = surrogate;
      return out;
    }
    case 'readout': {
      const type = choice('type', READOUTS, true)!;
      if (type === 'softmax' && task === 'time-series') fail(`${where}: type softmax needs a classification task (${oneOf(CLASSIFICATION_TASKS)}); use ridge for a time series`, 'type', i);
      if (type === 'ridge' && task === 'classification') fail(`${where}: type ridge needs a time-series task; use softmax for a classification task`, 'type', i);
      return { kind, type };
    }
  }
}

/** Widths between layers: each physical layer's device exists, and its neighbours fit its channels. */
function checkConnections(layers: LayerSpec[], devices: DeviceLookup | undefined, inputWidth: number | undefined, fail: Fail): void {
  const widths = layers.map((l, i) => (l.kind === 'physical' ? resolveDevice(l.device, devices, i, fail) : undefined));
  layers.forEach((l, i) => {
    if (l.kind !== 'physical') return;
    const w = widths[i];
    if (!w) return; // a device the caller cannot size (a port, with no lookup given)
    const prev = i > 0 ? layers[i - 1] : undefined;
    if (prev?.kind === 'digital' && prev.units !== w.inChannels) {
      fail(`layer ${i} (digital): units ${prev.units} does not match the next layer's drive channels ${w.inChannels} (${l.device})`, 'units', i - 1);
    }
    const prevW = widths[i - 1];
    if (prev?.kind === 'physical' && prevW && prevW.outChannels !== w.inChannels) {
      fail(`layer ${i + 1} (physical): device '${l.device}' takes ${w.inChannels} drive channels, but layer ${i} (${prev.device}) gives ${prevW.outChannels}; put a digital layer between them`, 'device', i);
    }
    if (!prev && inputWidth !== undefined && inputWidth !== w.inChannels) {
      fail(`layer 1 (physical): device '${l.device}' takes ${w.inChannels} drive channels, but the task's inputs are ${inputWidth} wide; put a digital layer before it`, 'device', i);
    }
  });
}

/** A physical layer's device widths; undefined when no lookup is given and the name is not `sim:`. */
function resolveDevice(device: string, devices: DeviceLookup | undefined, i: number, fail: Fail): DeviceWidths | undefined {
  const where = `layer ${i + 1} (physical)`;
  if (devices) {
    const w = devices(device);
    if (!w) fail(`${where}: device '${device}' does not exist`, 'device', i);
    return w;
  }
  if (!device.startsWith('sim:')) return undefined;
  const w = simDeviceWidths(device);
  if (!w) fail(`${where}: device '${device}' does not exist (simulator profiles: ${Object.keys(profiles).join(', ')})`, 'device', i);
  return w;
}

/** The one chain shape a time series trains (train/chain/series.ts), as the errors state it. */
export const SERIES_CHAIN_SHAPE = 'digital (tanh, taps) -> physical -> [digital (tanh, taps) -> physical]... -> readout ridge';

/** A spec checked as a chain on a time series: what trainSeriesChain (or, with one physical layer, trainPat) is given. */
export interface SeriesChainShape {
  /** Tapped delays of the input layer over the task's inputs. */
  taps: number;
  /** Tapped delays of every digital layer between two physical layers (1 when there is none). */
  betweenTaps: number;
  /**
   * The physical layers in order, each with its surrogate design. Left out of the spec, it is
   * narx: the time-series trainer's default (`rhil train --surrogate`), which 'auto' did not beat
   * on NARMA10 (README), unlike the classification chain's 'auto'.
   */
  physical: { device: string; surrogate: NonNullable<PhysicalLayerSpec['surrogate']> }[];
}

/**
 * Checks a spec (already through {@link checkModelSpec}) as a chain on a time series and returns
 * its shape. The spec language allows more than the series trainer runs: every layer of
 * {@link SERIES_CHAIN_SHAPE} is required and in that order (one tanh digital layer before each
 * physical layer, none before the readout, which reads the last device's responses), the digital
 * layers between physical layers share one `taps` (series.ts has one betweenTaps), and with two
 * or more physical layers each layer's surrogate is narx (the only design series.ts fits). A
 * digital-only chain is refused: the digital trainer (`rhil train --trainer digital`) is that model.
 */
export function seriesChainShape(spec: ModelSpec, options: { file?: string } = {}): SeriesChainShape {
  const at = options.file ? `${options.file}: ` : '';
  const fail = (msg: string, field?: string, layer?: number): never => { throw new ModelSpecError(`${at}${msg} (supported on a time series: ${SERIES_CHAIN_SHAPE})`, options.file, layer, field); };
  const layers = spec.layers;
  const last = layers.length - 1;
  const readout = layers[last];
  if (readout.kind !== 'readout') return fail(`layer ${last + 1} (${readout.kind}): the last layer must be a readout`, 'kind', last);
  if (readout.type !== 'ridge') fail(`layer ${last + 1} (readout): type ${readout.type} needs a classification task; a time series is read out by ridge`, 'type', last);
  const K = layers.filter((l) => l.kind === 'physical').length;
  if (K === 0) fail('layers: a time-series chain needs at least one physical layer; the digital layers alone are `rhil train --trainer digital`', 'layers');
  let betweenTaps: { taps: number; layer: number } | undefined;
  const physical: SeriesChainShape['physical'] = [];
  layers.forEach((l, i) => {
    const n = i + 1, prev = layers[i - 1];
    if (l.kind === 'digital') {
      if ((l.activation ?? layerDefaults.activation) !== 'tanh') fail(`layer ${n} (digital): activation ${l.activation}: a digital layer on a time series is tanh (it drives a device, whose drives are in [-1, 1])`, 'activation', i);
      if (prev?.kind === 'digital') fail(`layer ${n} (digital): two digital layers in a row; one digital layer drives each physical layer`, 'kind', i);
      if (layers[i + 1]?.kind === 'readout') fail(`layer ${n} (digital): a digital layer right before the ridge readout; the readout reads the last physical layer's responses`, 'kind', i);
      if (i > 0) {
        const taps = l.taps ?? layerDefaults.taps;
        if (betweenTaps && betweenTaps.taps !== taps) {
          fail(`layer ${n} (digital): taps ${taps} differs from layer ${betweenTaps.layer + 1}'s taps ${betweenTaps.taps}; every digital layer between physical layers takes the same taps`, 'taps', i);
        }
        betweenTaps ??= { taps, layer: i };
      }
    } else if (l.kind === 'physical') {
      if (!prev) fail(`layer ${n} (physical): a time-series chain starts with a digital layer (tanh, taps) that drives the first device`, 'kind', i);
      if (prev?.kind === 'physical') fail(`layer ${n} (physical): two physical layers in a row; put a digital layer (tanh, taps) between them`, 'kind', i);
      const surrogate = l.surrogate ?? 'narx';
      if (K >= 2 && surrogate !== 'narx') fail(`layer ${n} (physical): surrogate ${surrogate} is not supported on a time-series chain of ${K} physical layers, only narx`, 'surrogate', i);
      physical.push({ device: l.device, surrogate });
    }
  });
  const first = layers[0] as DigitalLayerSpec;
  return { taps: first.taps ?? layerDefaults.taps, betweenTaps: betweenTaps?.taps ?? 1, physical };
}

/**
 * Parses a model-spec file's text (`.json` as JSON, anything else as YAML, which also reads JSON)
 * and checks it with {@link checkModelSpec}. A syntax error is a one-line ModelSpecError naming
 * the file and the position.
 */
export function parseModelSpec(text: string, file: string, devices?: DeviceLookup, options: Omit<CheckModelSpecOptions, 'file'> = {}): ModelSpec {
  const json = extname(file).toLowerCase() === '.json';
  let doc: unknown;
  try {
    doc = json ? JSON.parse(text) : parseYaml(text, { uniqueKeys: true });
  } catch (e) {
    // yaml's first line says what and where, then ':' and a drawing of the spot; Node's JSON
    // message quotes the text around the fault, newlines and all. Either way, one line.
    const msg = (e as Error).message;
    const why = json ? msg.replace(/\s*\n\s*/g, ' ') : msg.split('\n')[0].replace(/:$/, '');
    throw new ModelSpecError(`${file}: not valid ${json ? 'JSON' : 'YAML'}: ${why}`, file);
  }
  return checkModelSpec(doc, devices, { ...options, file });
}

export interface DescribeChainOptions {
  /** Width of the task's inputs. Shown as '?' when not given. */
  inputWidth?: number;
  /** Outputs of the readout (classes, or the task's target channels). Shown as '?' when not given. */
  outputWidth?: number;
  /** Device widths; defaults to {@link simDeviceWidths}. Unknown widths are shown as '?'. */
  devices?: DeviceLookup;
}

/**
 * One line naming each layer and its widths, for logs and reports:
 * `digital 784->64 tanh | physical sim:optical 64->128 | readout softmax 128->10`.
 */
export function describeChain(spec: ModelSpec, options: DescribeChainOptions = {}): string {
  const lookup = options.devices ?? simDeviceWidths;
  const w = (n: number | undefined): string => (n === undefined ? '?' : String(n));
  let width = options.inputWidth;
  return spec.layers.map((l) => {
    switch (l.kind) {
      case 'digital': {
        const taps = (l.taps ?? layerDefaults.taps) > 1 ? ` taps ${l.taps}` : '';
        const s = `digital ${w(width)}->${l.units} ${l.activation ?? layerDefaults.activation}${taps}`;
        width = l.units;
        return s;
      }
      case 'physical': {
        const d = lookup(l.device);
        const s = `physical ${l.device} ${w(d?.inChannels ?? width)}->${w(d?.outChannels)}${l.surrogate && l.surrogate !== 'auto' ? ` (${l.surrogate} surrogate)` : ''}`;
        width = d?.outChannels;
        return s;
      }
      case 'readout':
        return `readout ${l.type} ${w(width)}->${w(options.outputWidth)}`;
    }
  }).join(' | ');
}
