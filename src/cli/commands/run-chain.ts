/**
 * `rhil run --model CHAIN.json`: a chain trained by `rhil train --model-spec` measured through its
 * devices on its task's test split (the split its training seed gave: examples it never trained
 * on), with the accuracy, cross-entropy and confusion matrix, recorded as a run.
 */
import { withRecordedRun } from '../../session/index.js';
import { isClassTask, loadClassTask } from '../../tasks/class-tasks.js';
import { argmaxRows, confusionMatrix } from '../../tasks/class-metrics.js';
import { classMetrics } from '../../train/chain/train.js';
import { ChainModel } from '../../train/chain/model.js';
import { deviceResponder } from '../../train/chain/responders.js';
import type { ModelSpec } from '../../train/chain/spec-types.js';
import { UsageError } from '../util.js';
import { CHAIN_FILE_KIND, closeAll, openChainDevices } from './train-chain.js';

interface ChainFile {
  kind: typeof CHAIN_FILE_KIND;
  task: string;
  seed: number;
  spec: ModelSpec;
  test?: { accuracy?: number };
  model: unknown;
}

export function isChainFile(json: unknown): json is ChainFile {
  return json !== null && typeof json === 'object' && (json as { kind?: unknown }).kind === CHAIN_FILE_KIND;
}

export async function runChainModel(file: ChainFile, source: string, a: { seed?: number; db?: string; json: boolean; backend: string }): Promise<void> {
  if (typeof file.task !== 'string' || !isClassTask(file.task)) throw new UsageError(`model from ${source}: task ${JSON.stringify(file.task)} is not a classification task`);
  if (!Number.isInteger(file.seed) || file.seed < 0) throw new UsageError(`model from ${source}: seed must be a non-negative integer, got ${JSON.stringify(file.seed)}`);
  let model: ChainModel;
  try {
    model = ChainModel.fromJSON(file.model);
  } catch (e) {
    throw new UsageError(`model from ${source}: ${(e as Error).message}`);
  }
  const say = (s: string) => { if (!a.json) console.log(s); };
  try {
    const data = loadClassTask(file.task, file.seed);
    if (data.features !== model.features || data.classes !== model.classes) {
      throw new UsageError(`model from ${source}: it takes ${model.features} features into ${model.classes} classes, task ${file.task} has ${data.features} and ${data.classes}`);
    }
    const seed = a.seed ?? file.seed;
    const devices = await openChainDevices(model.spec, seed);
    try {
      const config = { model: source, task: file.task, seed, devices: Object.keys(devices), backend: a.backend };
      await withRecordedRun({ db: a.db, kind: 'run', config, seed, backend: a.backend, device: Object.values(devices)[0], recordBatches: false }, async (ctx) => {
        const { probabilities, samples } = await model.predict(data.test.x, data.test.count, deviceResponder(devices));
        const predicted = argmaxRows(probabilities, data.classes);
        const { accuracy, crossEntropy } = classMetrics(probabilities, data.test.labels, data.classes);
        const confusion = confusionMatrix(predicted, data.test.labels, data.classes);
        ctx.metric('test_accuracy', 0, accuracy);
        ctx.metric('test_cross_entropy', 0, crossEntropy);
        ctx.artifact('confusion_matrix', 'confusion-matrix', { classes: data.classes, rows: 'true class', columns: 'predicted class', counts: confusion });
        if (a.json) {
          console.log(JSON.stringify({ task: file.task, seed, accuracy, crossEntropy, confusion, deviceSamples: samples, trainedAccuracy: file.test?.accuracy ?? null, runId: ctx.runId }, null, 2));
          return;
        }
        say(`confusion matrix (rows: true class, columns: predicted)\n${confusion.map((r, i) => `${String(i).padStart(3)} | ${r.map((v) => String(v).padStart(4)).join(' ')}`).join('\n')}`);
        say(`test accuracy ${accuracy.toFixed(4)}, cross-entropy ${crossEntropy.toFixed(4)} (${file.task}, ${data.test.count} test examples, ${samples} device samples)` +
          (file.test?.accuracy !== undefined ? `; at the end of training: ${file.test.accuracy.toFixed(4)}` : '') + (ctx.runId !== null ? `; run ${ctx.runId} in ${a.db}` : ''));
      });
    } finally {
      await closeAll(devices);
    }
  } finally {
    model.dispose();
  }
}
