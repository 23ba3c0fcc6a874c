import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ModelSpecError, SERIES_CHAIN_SHAPE, checkModelSpec, describeChain, parseModelSpec, seriesChainShape, simDeviceWidths, type DeviceLookup,
} from '../../../src/train/chain/spec.js';

const MNIST_OPTICAL = `
name: mnist-optical
task: mnist
layers:
  - kind: digital
    units: 64
    activation: tanh
  - kind: physical
    device: sim:optical
  - kind: readout
    type: softmax
`;

/**
 * Asserts that `fn` throws a ModelSpecError whose message is one line, contains every fragment,
 * and records the layer (0-based) and field it names.
 */
function rejects(fn: () => unknown, fragments: string[], where: { layer?: number; field?: string } = {}): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ModelSpecError, `expected a ModelSpecError, got ${String(err)}`);
  const e = err as ModelSpecError;
  assert.not.match(e.message, /\n/, 'one line');
  for (const f of fragments) assert.ok(e.message.includes(f), `'${e.message}' should contain '${f}'`);
  if ('layer' in where) assert.is(e.layer, where.layer, `layer of '${e.message}'`);
  if ('field' in where) assert.is(e.field, where.field, `field of '${e.message}'`);
}

const spec = (layers: unknown[], extra: Record<string, unknown> = {}) => ({ ...extra, layers });
const digital = (units: number, more: Record<string, unknown> = {}) => ({ kind: 'digital', units, ...more });
const physical = (device: string, more: Record<string, unknown> = {}) => ({ kind: 'physical', device, ...more });
const softmax = { kind: 'readout', type: 'softmax' };
const ridge = { kind: 'readout', type: 'ridge' };

test('a YAML and a JSON spec parse to the same chain, with sim device widths from the profiles', () => {
  const fromYaml = parseModelSpec(MNIST_OPTICAL, 'model.yaml');
  assert.equal(fromYaml, {
    name: 'mnist-optical', task: 'mnist',
    layers: [{ kind: 'digital', units: 64, activation: 'tanh' }, { kind: 'physical', device: 'sim:optical' }, { kind: 'readout', type: 'softmax' }],
  });
  const fromJson = parseModelSpec(JSON.stringify(fromYaml), 'model.json');
  assert.equal(fromJson, fromYaml);
  assert.equal(simDeviceWidths('sim:optical'), { inChannels: 64, outChannels: 128 });
  assert.equal(simDeviceWidths('sim:analog-awg'), { inChannels: 50, outChannels: 50 });
  assert.is(simDeviceWidths('sim:nope'), undefined);
  assert.is(simDeviceWidths('/dev/ttyACM0'), undefined);
});

test('valid chains: digital-only, readout-only, two physical layers with a digital layer between, the same device twice', () => {
  checkModelSpec(spec([digital(32), softmax], { task: 'synthetic-classes' }));
  checkModelSpec(spec([ridge], { task: 'narma10' }));
  checkModelSpec(spec([digital(64), physical('sim:optical'), digital(64), physical('sim:optical'), softmax]));
  // analog-awg: 50 in, 50 out, so it can follow itself directly.
  checkModelSpec(spec([digital(50, { taps: 10 }), physical('sim:analog-awg'), physical('sim:analog-awg'), ridge], { task: 'narma10' }));
  // A port the checker cannot size is accepted without a lookup.
  checkModelSpec(spec([digital(7), physical('/dev/ttyACM0', { surrogate: 'narx' }), ridge]));
});

test('describeChain gives one line with each layer\'s widths', () => {
  const s = parseModelSpec(MNIST_OPTICAL, 'model.yaml');
  assert.is(describeChain(s, { inputWidth: 784, outputWidth: 10 }), 'digital 784->64 tanh | physical sim:optical 64->128 | readout softmax 128->10');
  const deep = checkModelSpec(spec([digital(50, { taps: 10, activation: 'linear' }), physical('sim:analog-awg'), physical('sim:analog-awg', { surrogate: 'narx' }), ridge]));
  assert.is(describeChain(deep, { inputWidth: 1, outputWidth: 1 }),
    'digital 1->50 linear taps 10 | physical sim:analog-awg 50->50 | physical sim:analog-awg 50->50 (narx surrogate) | readout ridge 50->1');
  const port = checkModelSpec(spec([digital(8), physical('/dev/ttyACM0'), ridge]));
  assert.is(describeChain(port), 'digital ?->8 tanh | physical /dev/ttyACM0 8->? | readout ridge ?->?');
  const lookup: DeviceLookup = (n) => (n === '/dev/ttyACM0' ? { inChannels: 8, outChannels: 40 } : undefined);
  assert.is(describeChain(port, { devices: lookup, inputWidth: 3, outputWidth: 2 }), 'digital 3->8 tanh | physical /dev/ttyACM0 8->40 | readout ridge 40->2');
});

test('shapes that do not connect name the layer and field', () => {
  rejects(() => checkModelSpec(spec([digital(32), physical('sim:optical'), softmax]), undefined, { file: 'model.yaml' }),
    ['model.yaml: layer 1 (digital): units 32 does not match the next layer\'s drive channels 64 (sim:optical)'], { layer: 0, field: 'units' });
  rejects(() => checkModelSpec(spec([digital(64), physical('sim:optical'), physical('sim:optical'), softmax])),
    ['layer 3 (physical): device \'sim:optical\' takes 64 drive channels, but layer 2 (sim:optical) gives 128'], { layer: 2, field: 'device' });
  rejects(() => checkModelSpec(spec([physical('sim:optical'), softmax]), undefined, { inputWidth: 784 }),
    ['layer 1 (physical): device \'sim:optical\' takes 64 drive channels, but the task\'s inputs are 784 wide'], { layer: 0, field: 'device' });
  // The task alone fixes the input width of mnist and of every time-series task.
  rejects(() => checkModelSpec(spec([physical('sim:optical'), softmax], { task: 'mnist' })), ['inputs are 784 wide'], { layer: 0, field: 'device' });
  rejects(() => checkModelSpec(spec([physical('sim:analog-awg'), ridge], { task: 'narma10' })), ['takes 50 drive channels, but the task\'s inputs are 1 wide']);
  checkModelSpec(spec([physical('sim:analog'), ridge], { task: 'narma10' }));
});

test('a device that does not exist', () => {
  rejects(() => parseModelSpec(MNIST_OPTICAL.replace('sim:optical', 'sim:nope'), 'model.yaml'),
    ['model.yaml: layer 2 (physical): device \'sim:nope\' does not exist', 'optical'], { layer: 1, field: 'device' });
  const lookup: DeviceLookup = (n) => (n === 'tcp://lab:7000' ? { inChannels: 64, outChannels: 10 } : undefined);
  rejects(() => checkModelSpec(spec([digital(64), physical('/dev/ttyUSB9'), softmax]), lookup),
    ['layer 2 (physical): device \'/dev/ttyUSB9\' does not exist'], { layer: 1, field: 'device' });
  // With a lookup, its widths are the ones checked.
  checkModelSpec(spec([digital(64), physical('tcp://lab:7000'), softmax]), lookup);
  rejects(() => checkModelSpec(spec([digital(32), physical('tcp://lab:7000'), softmax]), lookup), ['layer 1 (digital): units 32', 'drive channels 64 (tcp://lab:7000)']);
});

test('unknown kinds, unknown keys and bad values name the layer and field', () => {
  rejects(() => checkModelSpec(spec([digital(8), digital(8), { kind: 'conv' }, softmax])), ['layer 3: unknown kind \'conv\' (expected digital, physical or readout)'], { layer: 2, field: 'kind' });
  rejects(() => checkModelSpec(spec([{ units: 8 }, softmax])), ['layer 1: kind is missing'], { layer: 0, field: 'kind' });
  rejects(() => checkModelSpec(spec(['digital', softmax])), ['layer 1: must be a mapping'], { layer: 0 });
  rejects(() => checkModelSpec(spec([digital(8, { unit: 8 }), softmax])), ['layer 1 (digital): unknown key \'unit\'', 'units'], { layer: 0, field: 'unit' });
  rejects(() => checkModelSpec(spec([physical('sim:optical', { units: 3 }), softmax])), ['layer 1 (physical): unknown key \'units\''], { layer: 0, field: 'units' });
  rejects(() => checkModelSpec(spec([digital(0), softmax])), ['layer 1 (digital): units must be a positive integer, got 0'], { layer: 0, field: 'units' });
  rejects(() => checkModelSpec(spec([{ kind: 'digital' }, softmax])), ['layer 1 (digital): units is missing'], { layer: 0, field: 'units' });
  rejects(() => checkModelSpec(spec([digital(8, { units: '8' }), softmax])), ['layer 1 (digital): units must be a positive integer, got \'8\''], { field: 'units' });
  rejects(() => checkModelSpec(spec([digital(8, { activation: 'gelu' }), softmax])), ['layer 1 (digital): activation must be tanh, relu, linear or sigmoid, got \'gelu\''], { layer: 0, field: 'activation' });
  rejects(() => checkModelSpec(spec([digital(8, { taps: 0 }), ridge])), ['layer 1 (digital): taps must be a positive integer, got 0'], { field: 'taps' });
  rejects(() => checkModelSpec(spec([digital(8, { taps: 2.5 }), ridge])), ['layer 1 (digital): taps must be a positive integer, got 2.5'], { field: 'taps' });
  rejects(() => checkModelSpec(spec([physical('sim:optical', { surrogate: 'gp' }), ridge])), ['layer 1 (physical): surrogate must be auto, narx, state, memoryless or transmission'], { field: 'surrogate' });
  rejects(() => checkModelSpec(spec([physical(''), ridge])), ['layer 1 (physical): device must be a device name'], { field: 'device' });
  rejects(() => checkModelSpec(spec([{ kind: 'physical' }, ridge])), ['layer 1 (physical): device is missing'], { field: 'device' });
  rejects(() => checkModelSpec(spec([{ kind: 'readout' }])), ['layer 1 (readout): type is missing (expected ridge or softmax)'], { layer: 0, field: 'type' });
  rejects(() => checkModelSpec(spec([{ kind: 'readout', type: 'svm' }])), ['layer 1 (readout): type must be ridge or softmax, got \'svm\''], { field: 'type' });
});

test('exactly one readout, and it is last', () => {
  rejects(() => checkModelSpec(spec([digital(8), physical('sim:optical')])), ['layer 2 (physical): the last layer must be a readout'], { layer: 1, field: 'kind' });
  rejects(() => checkModelSpec(spec([softmax, digital(8), softmax])), ['layer 1 (readout): the readout must be the last layer, but layer 2 (digital) follows it'], { layer: 0 });
  rejects(() => checkModelSpec(spec([digital(8), ridge, ridge])), ['layer 2 (readout): the readout must be the last layer'], { layer: 1 });
  rejects(() => checkModelSpec(spec([])), ['layers must hold at least one layer'], { field: 'layers' });
});

test('readout and taps must suit the task', () => {
  rejects(() => checkModelSpec(spec([digital(8), ridge], { task: 'mnist' })), ['layer 2 (readout): type ridge needs a time-series task'], { layer: 1, field: 'type' });
  rejects(() => checkModelSpec(spec([digital(8), softmax], { task: 'narma10' })), ['layer 2 (readout): type softmax needs a classification task'], { layer: 1, field: 'type' });
  rejects(() => checkModelSpec(spec([digital(8, { taps: 5 }), softmax], { task: 'mnist' })), ['layer 1 (digital): taps 5 needs a time-series task'], { layer: 0, field: 'taps' });
  rejects(() => checkModelSpec(spec([ridge], { task: 'narma' })), ['task \'narma\' is not a known task', 'narma10'], { field: 'task' });
  // Without a task either readout is accepted.
  checkModelSpec(spec([ridge]));
  checkModelSpec(spec([softmax]));
});

test('the document itself: unknown top-level keys, wrong types, empty file, bad syntax', () => {
  rejects(() => parseModelSpec('layer:\n  - kind: readout\n    type: ridge\n', 'model.yaml'), ['model.yaml: unknown key \'layer\' (expected name, task or layers)'], { field: 'layer' });
  rejects(() => parseModelSpec('name: x\n', 'model.yaml'), ['model.yaml: layers is missing'], { field: 'layers' });
  rejects(() => parseModelSpec('layers: 3\n', 'model.yaml'), ['model.yaml: layers must be a list, got 3']);
  rejects(() => parseModelSpec('', 'model.yaml'), ['model.yaml: the model spec is empty']);
  rejects(() => parseModelSpec('- a\n- b\n', 'model.yaml'), ['model.yaml: the model spec must be a mapping with layers, got a list']);
  rejects(() => parseModelSpec('name: 3\nlayers: []\n', 'model.yaml'), ['model.yaml: name must be a string'], { field: 'name' });
  rejects(() => parseModelSpec('layers: [1, 2\n', 'model.yaml'), ['model.yaml: not valid YAML: Flow sequence', 'at line 2, column 1']);
  rejects(() => parseModelSpec('layers: []\nlayers: []\n', 'model.yaml'), ['model.yaml: not valid YAML: Map keys must be unique']);
  rejects(() => parseModelSpec('{"layers": [}', 'model.json'), ['model.json: not valid JSON:']);
  // A trailing comma spanning lines: Node quotes the text around it; still one line.
  rejects(() => parseModelSpec('{\n  "layers": [\n    {"kind": "readout", "type": "ridge"},\n  ]\n}', 'model.json'), ['model.json: not valid JSON: Unexpected token']);
  // Without a file the message starts at the problem.
  rejects(() => checkModelSpec({ layers: [{ kind: 'conv' }] }), ['layer 1: unknown kind']);
  let message = '';
  try { checkModelSpec({ layers: [{ kind: 'conv' }] }); } catch (e) { message = (e as Error).message; }
  assert.ok(message.startsWith('layer 1: '), message);
});

test('a time-series chain: its taps, between taps and physical layers; the default surrogate is narx', () => {
  const awg = (more: Record<string, unknown> = {}) => physical('sim:analog-awg', more);
  const one = seriesChainShape(checkModelSpec(spec([digital(50, { taps: 20 }), awg(), ridge], { task: 'narma10' })));
  assert.equal(one, { taps: 20, betweenTaps: 1, physical: [{ device: 'sim:analog-awg', surrogate: 'narx' }] });
  // One physical layer takes any design trainPat takes.
  assert.is(seriesChainShape(checkModelSpec(spec([digital(50), awg({ surrogate: 'auto' }), ridge]))).physical[0].surrogate, 'auto');
  // One layer trains through rhil train's path, which has every design, the state-space one too.
  assert.is(seriesChainShape(checkModelSpec(spec([digital(50), awg({ surrogate: 'state' }), ridge]))).physical[0].surrogate, 'state');
  const three = seriesChainShape(checkModelSpec(spec([
    digital(50, { taps: 10 }), awg(), digital(50, { taps: 3 }), physical('sim:fpga-awg', { surrogate: 'narx' }), digital(50, { taps: 3 }), awg(), ridge,
  ])));
  assert.equal(three, { taps: 10, betweenTaps: 3, physical: [{ device: 'sim:analog-awg', surrogate: 'narx' }, { device: 'sim:fpga-awg', surrogate: 'narx' }, { device: 'sim:analog-awg', surrogate: 'narx' }] });
});

test('time-series chains the series trainer cannot run are refused by layer and field, saying what is supported', () => {
  const awg = (more: Record<string, unknown> = {}) => physical('sim:analog-awg', more);
  const shape = (layers: unknown[]) => () => seriesChainShape(checkModelSpec(layers.length ? spec(layers) : spec([ridge])), { file: 'ts.yaml' });
  const supported = `(supported on a time series: ${SERIES_CHAIN_SHAPE})`;
  rejects(shape([digital(50), awg(), awg(), ridge]), ['ts.yaml: layer 3 (physical): two physical layers in a row', supported], { layer: 2, field: 'kind' });
  rejects(shape([digital(50, { activation: 'relu' }), awg(), ridge]), ['ts.yaml: layer 1 (digital): activation relu', 'tanh', supported], { layer: 0, field: 'activation' });
  rejects(shape([digital(50), awg(), digital(3), ridge]), ['layer 3 (digital): a digital layer right before the ridge readout'], { layer: 2, field: 'kind' });
  rejects(shape([digital(8), digital(50), awg(), ridge]), ['layer 2 (digital): two digital layers in a row'], { layer: 1, field: 'kind' });
  rejects(shape([digital(4), ridge]), ['ts.yaml: layers: a time-series chain needs at least one physical layer', 'rhil train --trainer digital'], { field: 'layers' });
  rejects(shape([]), ['needs at least one physical layer'], { field: 'layers' });
  rejects(shape([physical('sim:analog'), ridge]), ['layer 1 (physical): a time-series chain starts with a digital layer'], { layer: 0, field: 'kind' });
  rejects(shape([digital(50), awg(), digital(50, { taps: 2 }), awg(), digital(50, { taps: 3 }), awg(), ridge]),
    ['layer 5 (digital): taps 3 differs from layer 3\'s taps 2'], { layer: 4, field: 'taps' });
  for (const design of ['auto', 'state', 'memoryless', 'transmission']) {
    rejects(shape([digital(50), awg(), digital(50), awg({ surrogate: design }), ridge]),
      [`layer 4 (physical): surrogate ${design} is not supported on a time-series chain of 2 physical layers, only narx`], { layer: 3, field: 'surrogate' });
  }
  // A softmax readout reached through --task (the spec names no task, so checkModelSpec let it by).
  rejects(shape([digital(50), awg(), softmax]), ['layer 3 (readout): type softmax needs a classification task'], { layer: 2, field: 'type' });
});

test.run();
