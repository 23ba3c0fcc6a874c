/**
 * Metrics for static classification (issue 12): softmax cross-entropy, accuracy and the confusion
 * matrix, on row-major logits (`count x classes`) and integer labels in [0, classes). Typed arrays
 * in, plain numbers out; a wrong length or a label out of range is a RangeError whose message
 * starts with the argument's name.
 *
 * ```ts
 * const logits = Float32Array.of(2, 0, 0,   0, 0, 3);   // two examples, three classes
 * const labels = Uint8Array.of(0, 1);
 * softmaxCrossEntropy(logits, labels, 3); // mean of -log p(label): (0.2395 + 3.0949) / 2
 * argmaxRows(logits, 3);                  // Uint8Array [0, 2]
 * classAccuracy(logits, labels, 3);       // 0.5
 * confusionMatrix(argmaxRows(logits, 3), labels, 3); // [[1, 0, 0], [0, 0, 1], [0, 0, 0]]
 * ```
 */
import { checkInt } from '../core/validate.js';

/** Row-major logits or scores, `count x classes`. */
export type Logits = Float32Array | Float64Array;

/** Labels are stored as Uint8Array (ClassSplit), so at most 256 classes. */
export const MAX_CLASSES = 256;

function checkClasses(classes: number): number {
  return checkInt(classes, 'classes', 2, MAX_CLASSES);
}

/** Checks that `labels` is non-empty and every entry an integer in [0, classes); returns its length. */
function checkLabels(labels: ArrayLike<number>, classes: number, name: string): number {
  if (labels.length === 0) throw new RangeError(`${name} must not be empty`);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (!Number.isInteger(y) || y < 0 || y >= classes) throw new RangeError(`${name}[${i}] must be an integer in [0, ${classes}), got ${String(y)}`);
  }
  return labels.length;
}

/** Checks that `logits` holds `count x classes` values. */
function checkLogits(logits: Logits, count: number, classes: number): void {
  if (logits.length !== count * classes) {
    throw new RangeError(`logits must hold ${count} x ${classes} = ${count * classes} values (labels x classes), got ${logits.length}`);
  }
}

/**
 * Mean softmax cross-entropy, (1/N) sum_i [log sum_c exp(z_ic) - z_i,y_i], computed with the row
 * maximum subtracted first so that large logits do not overflow exp. A non-finite logit gives a
 * non-finite loss rather than an error: a diverged step is the trainer's to catch.
 */
export function softmaxCrossEntropy(logits: Logits, labels: ArrayLike<number>, classes: number): number {
  checkClasses(classes);
  const n = checkLabels(labels, classes, 'labels');
  checkLogits(logits, n, classes);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const row = i * classes;
    let max = -Infinity;
    for (let c = 0; c < classes; c++) if (logits[row + c] > max) max = logits[row + c];
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(logits[row + c] - max);
    total += max + Math.log(sum) - logits[row + labels[i]];
  }
  return total / n;
}

/** The index of each row's largest value (the first one on a tie), as labels. */
export function argmaxRows(logits: Logits, classes: number): Uint8Array {
  checkClasses(classes);
  if (logits.length % classes !== 0) throw new RangeError(`logits must hold a whole number of rows of ${classes} classes, got ${logits.length} values`);
  const n = logits.length / classes;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const row = i * classes;
    let best = 0;
    // `>` keeps the first maximum; a NaN never wins, so a row of NaNs predicts class 0.
    for (let c = 1; c < classes; c++) if (logits[row + c] > logits[row + best]) best = c;
    out[i] = best;
  }
  return out;
}

/**
 * Fraction of examples classified correctly. `pred` is either predicted labels (one per example)
 * or logits (`labels.length x classes`, reduced with {@link argmaxRows}); logits need `classes`.
 */
export function classAccuracy(pred: ArrayLike<number>, labels: ArrayLike<number>, classes?: number): number {
  const k = classes === undefined ? MAX_CLASSES : checkClasses(classes);
  const n = checkLabels(labels, k, 'labels');
  let predicted: ArrayLike<number>;
  if (pred.length === n) {
    checkLabels(pred, k, 'pred');
    predicted = pred;
  } else if (classes !== undefined && pred.length === n * classes) {
    predicted = argmaxRows(pred instanceof Float32Array || pred instanceof Float64Array ? pred : Float64Array.from(pred), classes);
  } else {
    const logitsToo = classes === undefined ? ' (pass classes to give logits)' : ` or logits of ${n} x ${classes} = ${n * classes}`;
    throw new RangeError(`pred must hold one label per example (${n})${logitsToo}, got ${pred.length} values`);
  }
  let right = 0;
  for (let i = 0; i < n; i++) if (predicted[i] === labels[i]) right++;
  return right / n;
}

/**
 * Counts per (true class, predicted class): `m[t][p]` is the number of examples of class t
 * predicted as p, so each row sums to that class's support and the diagonal holds the hits.
 */
export function confusionMatrix(pred: ArrayLike<number>, labels: ArrayLike<number>, classes: number): number[][] {
  checkClasses(classes);
  const n = checkLabels(labels, classes, 'labels');
  if (pred.length !== n) throw new RangeError(`pred must hold one label per example (${n}), got ${pred.length}`);
  checkLabels(pred, classes, 'pred');
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < n; i++) m[labels[i]][pred[i]]++;
  return m;
}
