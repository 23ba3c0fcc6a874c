/**
 * Static classification data (issue 12): one feature vector and one label per example, no time
 * axis. Loaders and generators return this shape; classification metrics take it.
 */

/** Examples of one split: row i of `x` (features wide) has label `labels[i]` in [0, classes). */
export interface ClassSplit {
  count: number;
  /** [count * features], row-major. */
  x: Float32Array;
  labels: Uint8Array;
}

export interface ClassSet {
  name: string;
  features: number;
  classes: number;
  train: ClassSplit;
  test: ClassSplit;
  /** Where the data came from (package and licence, or the generator and its seed). */
  source: string;
}
