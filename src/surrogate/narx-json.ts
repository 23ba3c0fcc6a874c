/** The saved form of a NARX surrogate (narx.ts, plain JSON), shared by the surrogate and its fit loop (adam-step.ts). */
export interface NarxJSON {
  format: 'narx-surrogate/1';
  inChannels: number;
  outChannels: number;
  window: number;
  responseLags: number;
  hidden: number[];
  normalized: boolean;
  xMean: number[];
  xStd: number[];
  yMean: number[];
  yStd: number[];
  /** Per layer (hidden layers then output): weights [fanIn * fanOut] row-major, biases [fanOut]. */
  layers: { w: number[]; b: number[] }[];
}
