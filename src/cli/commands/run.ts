import { closeSync, createReadStream, createWriteStream, existsSync, fstatSync, openSync, readFileSync, readSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { extname } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { Argv } from 'yargs';
import { type AppliedCalibration, type CalibrationRecord, applyCalibration, hasSweep } from '../../calibration/index.js';
import { DEFAULT_DEVICE, type Device, openReconnectingDevice } from '../../device/index.js';
import { getRun, openRecordDb, readArtifact } from '../../record/index.js';
import {
  CalibrationError, ExitError, INTERRUPT_EXIT_CODE, assertCalibrationFits, findNewestCalibration, interruptRequested, loadCalibration,
  parseRecordPolicy, policyPhrase, policyText, projectedBytes, readCalibrationFile, sizeText, withRecordedRun,
} from '../../session/index.js';
import {
  BACKEND_CHOICES, type BackendChoice, DEFAULT_CHUNK, type LoadedModel, ModelError, ModelStream, checkModelDevice, loadModel, selectBackend,
} from '../../train/index.js';
import { UsageError, defaultDbPath, intArg, usage } from '../util.js';
import { isChainFile, isSeriesChainFile, runChainModel, runSeriesChainModel } from './run-chain.js';
import { withRunsDb } from '../run-db.js';
import { LIVE_OPTION, startLive } from '../live.js';
import { Progress } from '../progress.js';

type Format = 'csv' | 'jsonl';

/** A model's JSON and where it came from: a file, or the 'model' artifact of a recorded train run. */
function readModelJson(file: string | undefined, runId: number | undefined, db: string): { json: unknown; source: string } {
  if ((file === undefined) === (runId === undefined)) throw new UsageError('name the model with exactly one of --model FILE and --model-run RUN');
  let json: unknown;
  let source: string;
  if (file !== undefined) {
    source = file;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new UsageError(`--model: cannot read ${file}: ${(e as Error).message}`);
    }
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new UsageError(`--model ${file} is not JSON: ${(e as Error).message}`);
    }
  } else {
    const id = intArg('model-run', runId, 1, Number.MAX_SAFE_INTEGER)!;
    source = `run ${id} of ${db}`;
    json = withRunsDb(db, (handle) => {
      const run = getRun(handle, id);
      if (!run) throw new UsageError(`--model-run: no run ${id} in ${db}`);
      if (run.kind !== 'train') throw new UsageError(`--model-run: run ${id} in ${db} is a ${run.kind} run, not a train run`);
      const a = readArtifact(handle, id, 'model');
      if (!a || a.json === undefined) throw new UsageError(`--model-run: train run ${id} in ${db} has no 'model' artifact (status ${run.status}; a run saves its model when it completes)`);
      // A train run keeps the calibration it used in its config; the model artifact may not.
      const used = (run.config as { calibration?: unknown } | null)?.calibration;
      const m = a.json;
      return m !== null && typeof m === 'object' && !('calibration' in m) && used !== undefined ? { ...m, calibration: used } : m;
    });
  }
  return { json, source };
}

/** The model of readModelJson, loaded and checked. */
function readModel(json: unknown, source: string): { model: LoadedModel; source: string } {
  try {
    return { model: loadModel(json), source };
  } catch (e) {
    if (e instanceof ModelError) throw new UsageError(`model from ${source}: ${e.message}`);
    throw e;
  }
}


/**
 * `--calibration`: `auto` follows the model: none when it was trained on raw responses, else the
 * newest usable calibration of this device in the run database (a fresh calibration is what keeps
 * the readout valid as the board drifts); for a model file that does not say, the newest if
 * there is one, as `rhil train --calibration auto` chose. Or `none`, a calibration id, or a file.
 */
function resolveCalibration(spec: string, model: LoadedModel, info: Device['info'], db: string, warn: (s: string) => void):
  { applied?: AppliedCalibration; id?: number; label: string } {
  if (spec === 'none') {
    if (model.calibrated) warn('warning: the model was trained through a calibration; without one its readout sees raw responses');
    return { label: 'none' };
  }
  if (spec === 'auto' && model.calibrated === false) return { label: 'none (the model was trained on raw responses)' };
  if (spec !== 'auto' && model.calibrated === false) warn('warning: the model was trained on raw responses; a calibration changes what its readout sees');
  try {
    if (spec === 'auto' || /^\d+$/.test(spec)) {
      const handle = existsSync(db) ? openRecordDb(db, { readonly: true }) : null;
      try {
        if (spec === 'auto') {
          const found = handle && findNewestCalibration(handle, info, { accept: hasSweep });
          if (found) return { applied: applyCalibration(found.record), id: found.id, label: `${found.id} (${found.name}, the newest of this device in ${db})` };
          if (model.calibrated === null) return { label: `none (the model file does not say; ${db} holds no calibration of this device)` };
          throw new CalibrationError(`the model was trained through a calibration, but ${db} holds none of this device; run rhil calibrate, or pass --calibration FILE|none`);
        }
        if (!handle) throw new CalibrationError(`no calibration ${spec}: ${db} does not exist`);
        const stored = loadCalibration(handle, Number(spec));
        assertCalibrationFits(stored.record, info, `calibration ${stored.id}`);
        return { applied: applyCalibration(stored.record), id: stored.id, label: `${stored.id} (${stored.name})` };
      } finally {
        handle?.close();
      }
    }
    const record = readCalibrationFile(spec);
    assertCalibrationFits(record, info, `calibration ${spec}`);
    return { applied: applyCalibration(record), label: spec };
  } catch (e) {
    if (e instanceof CalibrationError) throw new UsageError(`--calibration: ${e.message}`);
    throw e;
  }
}

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * One input line as a row of `channels` numbers, 'blank' for an empty line, or null for a line
 * that holds no step: a `#` comment in csv, or a csv header (column names, no numbers) on line 1.
 * Throws a UsageError naming the line and what is wrong.
 */
export function parseRow(line: string, lineNo: number, format: Format, channels: number): number[] | 'blank' | null {
  const text = line.trim();
  const bad = (what: string): never => { throw new UsageError(`input line ${lineNo}: ${what}`); };
  if (text === '') return 'blank';
  let row: number[];
  if (format === 'csv') {
    if (text.startsWith('#')) return null;
    if (lineNo === 1) {
      const names = text.split(',').map((f) => f.trim());
      if (names.every((f) => f !== '' && !NUMBER.test(f) && !/^[+-]?(nan|inf(inity)?)$/i.test(f))) {
        if (names.length !== channels) bad(`header has ${names.length} column${names.length === 1 ? '' : 's'}, but the model takes ${channels} value${channels === 1 ? '' : 's'} per step`);
        return null;
      }
    }
    row = text.split(',').map((f, i) => {
      const v = f.trim();
      if (v === '') bad(`field ${i + 1} is empty`);
      if (!NUMBER.test(v)) bad(`field ${i + 1} ${JSON.stringify(v.slice(0, 40))} is not a finite number`);
      const x = Number(v);
      if (!Number.isFinite(x)) bad(`field ${i + 1} ${JSON.stringify(v.slice(0, 40))} is not a finite number`);
      return x;
    });
  } else {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      return bad(`not JSON (${(e as Error).message})`);
    }
    if (typeof v === 'number') v = [v];
    if (!Array.isArray(v)) return bad(`expected an array of ${channels} number${channels === 1 ? '' : 's'}, got ${v === null ? 'null' : typeof v}`);
    v.forEach((x, i) => { if (typeof x !== 'number' || !Number.isFinite(x)) bad(`element ${i} ${JSON.stringify(x)?.slice(0, 40)} is not a finite number`); });
    row = v as number[];
  }
  if (row.length !== channels) bad(`${row.length} value${row.length === 1 ? '' : 's'}, but the model takes ${channels} per step`);
  return row;
}

/** Lines of a byte stream, read a block at a time (the stream pauses while the caller works). */
async function* lines(stream: NodeJS.ReadableStream): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const block of stream) {
    const parts = (rest + decoder.write(block as Buffer)).split('\n');
    rest = parts.pop()!;
    for (const p of parts) yield p.endsWith('\r') ? p.slice(0, -1) : p;
  }
  rest += decoder.end();
  if (rest !== '') yield rest.endsWith('\r') ? rest.slice(0, -1) : rest;
}

/** Lines in a file, estimated from its first 64 KiB; null when it cannot be read or sized (a pipe). */
function estimateLines(path: string): number | null {
  try {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      const head = Buffer.alloc(Math.min(size, 65536));
      const n = readSync(fd, head, 0, head.length, 0);
      let lines = 0;
      for (let i = 0; i < n; i++) if (head[i] === 10) lines++;
      return size === 0 || lines === 0 ? null : Math.round((lines * size) / n);
    } finally {
      closeSync(fd);
    }
  } catch {
    return null;
  }
}

/** Output with backpressure: standard output or a file opened before any work starts. */
class Sink {
  private error: Error | null = null;
  private constructor(private readonly stream: NodeJS.WritableStream, private readonly file: WriteStream | null) {
    stream.on('error', (e: Error) => { this.error ??= e; });
  }

  static open(path: string): Sink {
    if (path === '-') return new Sink(process.stdout, null);
    let fd: number;
    try {
      fd = openSync(path, 'w');
    } catch (e) {
      throw new UsageError(`--out: cannot write ${path}: ${(e as Error).message}`);
    }
    const file = createWriteStream('', { fd });
    return new Sink(file, file);
  }

  async write(text: string): Promise<void> {
    if (this.error) throw this.error;
    if (!this.stream.write(text)) {
      await new Promise<void>((done) => {
        const finish = () => { this.stream.off('drain', finish); this.stream.off('error', finish); done(); };
        this.stream.on('drain', finish);
        this.stream.on('error', finish);
      });
    }
    if (this.error) throw this.error;
  }

  /** Flushes and closes a file (standard output stays open). */
  async close(): Promise<void> {
    if (!this.file || this.file.closed) return;
    this.file.end();
    await once(this.file, 'close');
  }
}

export function runCommand(y: Argv): Argv {
  return y.command(
    'run',
    'Apply a trained model to new input through the device and write its predictions',
    (a) => a
      .option('model', { type: 'string', describe: 'model file written by rhil train --out' })
      .option('model-run', { type: 'number', describe: 'instead of --model: the model saved by recorded train run RUN (in --db)' })
      // requiresArg: otherwise yargs reads a lone '-' as a stray positional, not as the value.
      .option('input', { type: 'string', default: '-', requiresArg: true, describe: 'task input, one step per line (FILE, or - for standard input)' })
      .option('input-format', { type: 'string', choices: ['csv', 'jsonl'], describe: 'csv: numbers per channel separated by commas, # comments; jsonl: a JSON array per line (a bare number for one channel). Default: jsonl for .jsonl/.ndjson files, else csv' })
      .option('out', { type: 'string', default: '-', requiresArg: true, describe: 'where to write predictions (FILE, or - for standard output)' })
      .option('output-format', { type: 'string', choices: ['csv', 'jsonl'], describe: 'default: the input format' })
      .option('device', { type: 'string', describe: `serial path, tcp://host:port or sim:<profile>; default the device the model was trained on, else ${DEFAULT_DEVICE}` })
      .option('seed', { type: 'number', describe: 'seed of a simulated device; default the model\'s training seed (the simulated board it was trained on)' })
      .option('reconnect', { type: 'string', describe: 'after an unplug or a hang, reconnect to the same board (checked by identity) up to N attempts per loss and re-measure the cut segment from a reset (--reconnect alone: 5); default off: the run stops with an error naming the fault' })
      .option('washout', { type: 'number', describe: 'leading steps flagged as washout (no full tap history, reservoir not washed in); default the model\'s washout (50)' })
      .option('drop-washout', { type: 'boolean', default: false, describe: 'leave the washout steps out of the output instead of flagging them' })
      .option('chunk', { type: 'number', default: DEFAULT_CHUNK, describe: 'steps read, measured and written at a time (the device segment runs on across chunks)' })
      .option('calibration', { type: 'string', default: 'auto', describe: 'auto: follow the model (none if it was trained on raw responses, else the newest usable calibration of this device in --db); none; a calibration id in --db; or a calibration file' })
      .option('backend', { type: 'string', default: 'auto', choices: BACKEND_CHOICES as unknown as string[], describe: 'tfjs backend of the input layer' })
      .option('db', { type: 'string', describe: 'run database to record into and read calibrations and --model-run from; default $RHIL_DB, else rhil.db' })
      .option('record', { type: 'boolean', default: true, describe: 'record the run (--no-record to skip)' })
      .option('record-batches', { type: 'string', default: 'every 100', describe: 'which device batches the run records: all, none, or every N (the summary, metrics and every event are kept either way)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the summary as JSON' })
      .option('live', LIVE_OPTION)
      .example('$0 run --model rhil-narma10-pat-seed1-run1.json --input u.csv --out y.csv', 'predict NARMA10 outputs for the inputs in u.csv')
      .example('some-source | $0 run --model-run 12 --input-format jsonl', 'stream standard input through the model of train run 12'),
    async (args) => {
      const db = args.db ?? defaultDbPath();
      const chunk = intArg('chunk', args.chunk, 1, 1_000_000)!;
      const washoutArg = intArg('washout', args.washout, 0, Number.MAX_SAFE_INTEGER);
      const seedArg = intArg('seed', args.seed, 0, 0xffffffff);
      const policy = usage(() => parseRecordPolicy(args['record-batches']));
      const inFormat = (args['input-format'] ?? (/^\.(jsonl|ndjson)$/i.test(extname(args.input)) ? 'jsonl' : 'csv')) as Format;
      const outFormat = (args['output-format'] ?? inFormat) as Format;
      // Before the model is built: tfjs would otherwise start (and announce) its default backend.
      const backend = await selectBackend(args.backend as BackendChoice);
      const read = readModelJson(args.model, args['model-run'], db);
      if (isChainFile(read.json)) {
        if (args.input !== '-' || args.out !== '-') throw new UsageError(`${read.source} is a chain model: rhil run measures it on its task's test split and takes no --input or --out`);
        return runChainModel(read.json, read.source, { seed: seedArg, db: args.record ? db : undefined, json: args.json, backend: backend.detail });
      }
      if (isSeriesChainFile(read.json)) {
        if (args.input !== '-' || args.out !== '-') throw new UsageError(`${read.source} is a chain model: rhil run measures it on its task's test sequence and takes no --input or --out`);
        return runSeriesChainModel(read.json, read.source, { seed: seedArg, db: args.record ? db : undefined, json: args.json, backend: backend.detail });
      }
      const { model, source } = readModel(read.json, read.source);
      // Summaries go where the predictions do not, so a pipe of predictions stays clean.
      const say = (s: string) => { if (args.out === '-') process.stderr.write(`${s}\n`); else console.log(s); };
      const warn = (s: string) => process.stderr.write(`${s}\n`);
      let device: Device | undefined;
      const live = await startLive(args.live, args.record);
      try {
        let input: NodeJS.ReadableStream;
        // The share of a file read so far is the share of the work done; standard input has no end to measure against.
        let fraction: () => number | undefined = () => undefined;
        if (args.input === '-') input = process.stdin;
        else {
          try {
            const fd = openSync(args.input, 'r');
            const size = fstatSync(fd).size;
            const file = createReadStream('', { fd });
            input = file;
            if (size > 0) fraction = () => Math.min(1, file.bytesRead / size);
          } catch (e) {
            throw new UsageError(`--input: cannot read ${args.input}: ${(e as Error).message}`);
          }
        }
        const spec = args.device ?? model.deviceSpec ?? DEFAULT_DEVICE;
        const seed = seedArg ?? model.seed ?? 1;
        if (model.digital) {
          if (args.device !== undefined) warn('warning: a digital model uses no device; --device ignored');
        } else {
          // --reconnect alone takes the default attempts; absent (or --no-reconnect) it is 0: an unplug or
          // a hang is still told apart from a lost reply, and stops the run with an error that names it.
          const reconnect = typeof args.reconnect === 'string' ? intArg('reconnect', args.reconnect === '' ? 5 : Number(args.reconnect), 0, 1000)! : 0;
          device = await openReconnectingDevice(spec, { seed, reconnect: { attempts: reconnect } })
            .catch((e: unknown) => { throw e instanceof RangeError ? new UsageError(`--device: ${e.message}`) : e; });
          try {
            for (const w of checkModelDevice(model, device.info)) warn(`warning: ${w}`);
          } catch (e) {
            throw e instanceof ModelError ? new UsageError(e.message) : e;
          }
        }
        const cal = device ? resolveCalibration(args.calibration, model, device.info, db, warn) : { label: 'none (digital model)' };
        const sink = Sink.open(args.out);
        const config = {
          command: 'run', model: source, trainer: model.trainer, task: model.task, input: args.input, inputFormat: inFormat, out: args.out,
          outputFormat: outFormat, device: device ? spec : null, seed, washout: washoutArg ?? model.washout, dropWashout: args['drop-washout'],
          chunk, calibration: cal.label, recordBatches: policyText(policy),
        };
        if (args.record && device) {
          const { inChannels, outChannels } = device.info;
          const perStep = projectedBytes(1, inChannels, outChannels, device.maxBatch, policy);
          const steps = args.input === '-' ? null : estimateLines(args.input);
          say(`recording ${policyPhrase(policy)}: about ${perStep < 10 ? perStep.toFixed(1) : Math.round(perStep)} B per input step`
            + `${steps === null ? '' : `, about ${sizeText(Math.round(perStep * steps))} for the ~${steps} steps of ${args.input}`} in ${db} (--record-batches all|none|every N)`);
        }
        let written = 0;
        let line = 0;
        // On standard error (predictions may be on standard output): a bar on a terminal, a line every few seconds otherwise.
        const progress = args.json ? null : new Progress({ unit: 'steps', label: 'run', plainTenths: false });
        let signal: AbortSignal | undefined;
        try {
          const summary = await withRecordedRun({
            db: args.record ? db : undefined, kind: 'run', config, seed, backend: backend.detail, device, calibrationId: cal.id, recordBatches: policy,
          }, async (ctx) => {
            signal = ctx.signal;
            if (ctx.runId !== null) live?.attach(db, ctx.runId);
            const stream = await ModelStream.open(model, { device, calibration: cal.applied, signal: ctx.signal, washout: washoutArg });
            const co = model.outChannels;
            if (outFormat === 'csv') await sink.write(`step,washout,${Array.from({ length: co }, (_, k) => `y${k}`).join(',')}\n`);
            let rows: number[] = [];
            let firstLine = 0;
            const flush = async () => {
              if (rows.length === 0) return;
              const start = stream.steps;
              let pred: Float64Array;
              try {
                pred = await stream.push(rows);
              } catch (e) {
                const where = `input lines ${firstLine}..${line}`;
                throw Object.assign(new Error(`${(e as Error).message} (while processing ${where})`, { cause: e }), { name: (e as Error).name });
              }
              let out = '';
              for (let i = 0; i < pred.length / co; i++) {
                const step = start + i, wash = step < stream.washout;
                if (wash && args['drop-washout']) continue;
                const y = Array.from(pred.subarray(i * co, (i + 1) * co));
                out += outFormat === 'csv' ? `${step},${wash ? 1 : 0},${y.join(',')}\n` : `${JSON.stringify({ step, washout: wash, y })}\n`;
              }
              await sink.write(out);
              written = stream.steps;
              ctx.metric('steps', written, written);
              progress?.update(written, undefined, fraction());
              rows = [];
            };
            // A blank line between steps would silently shift the series by one step, so it is an
            // error; blank lines at the very end shift nothing and are ignored.
            let blankLine = 0;
            for await (const text of lines(input)) {
              line++;
              let row: number[] | 'blank' | null;
              try {
                row = parseRow(text, line, inFormat, model.inChannels);
                if (row !== 'blank' && row !== null && blankLine) {
                  throw new UsageError(`input line ${blankLine}: blank line between steps (every line is one step: remove it, or start a comment line with #)`);
                }
              } catch (e) {
                // Every step before the bad line still gets its prediction.
                await flush();
                throw e;
              }
              if (row === 'blank') blankLine ||= line;
              if (row === 'blank' || !row) continue;
              if (rows.length === 0) firstLine = line;
              rows.push(...row);
              if (rows.length >= chunk * model.inChannels) await flush();
            }
            await flush();
            if (stream.steps === 0) throw new UsageError(`no input steps in ${args.input === '-' ? 'standard input' : args.input}`);
            const s = { steps: stream.steps, washout: stream.washout, written: args['drop-washout'] ? Math.max(0, stream.steps - stream.washout) : stream.steps, deviceSamples: stream.samples, breaks: stream.breaks };
            ctx.metric('device_samples', s.steps, s.deviceSamples);
            ctx.metric('breaks', s.steps, s.breaks);
            ctx.artifact('summary', 'run-summary', { ...s, model: source, trainer: model.trainer, task: model.task });
            return { ...s, runId: ctx.runId };
          });
          await sink.close();
          progress?.finish();
          const where = args.out === '-' ? 'standard output' : args.out;
          if (args.json) say(JSON.stringify({ ...summary, model: source, out: args.out, calibration: cal.label }, null, 2));
          else {
            say(`run: ${summary.steps} steps of ${model.task} through ${device ? `${spec} (${device.info.vendor} ${device.info.model})` : 'the digital model'}, `
              + `model ${source} (${model.trainer}); steps 0..${Math.min(summary.washout, summary.steps) - 1} are washout`
              + `${args['drop-washout'] ? ' (not written)' : ' (flagged)'}; ${summary.deviceSamples} device samples, ${summary.breaks} state breaks recovered; `
              + `predictions written to ${where}${summary.runId !== null ? `; recorded as run ${summary.runId} in ${db}` : ''}`);
          }
        } catch (e) {
          // What was computed is kept, and the message says it is not the whole input.
          progress?.clear();
          await sink.close().catch(() => undefined);
          const interrupted = interruptRequested(signal);
          const kept = written === 0 ? 'no predictions were written'
            : `predictions for the first ${written} step${written === 1 ? '' : 's'} were written${args.out === '-' ? '' : ` to ${args.out}`}, the rest were not`;
          const msg = `${(e as Error).message}; ${kept}`;
          if (interrupted) throw new ExitError(msg, INTERRUPT_EXIT_CODE);
          throw e instanceof UsageError ? new UsageError(msg) : Object.assign(new Error(msg, { cause: e }), { name: (e as Error).name });
        }
      } finally {
        await device?.close();
        await live?.close();
        model.dispose();
      }
    },
  );
}
