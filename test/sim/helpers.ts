import { Rng, type ReservoirModel } from '../../src/sim/index.js';

/** `n` random drive vectors uniform over the model's input range, from `seed`. */
export function drives(m: ReservoirModel, n: number, seed: number): Float32Array[] {
  const r = new Rng(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: m.inChannels }, () => Math.round(r.range(m.inRange[0], m.inRange[1]))));
}

/** Steps `m` through `inputs`, returning copies of the outputs and the OR of the status bits. */
export function run(m: ReservoirModel, inputs: Float32Array[]): { outputs: Float32Array[]; status: number } {
  const out = new Float32Array(m.outChannels);
  let status = 0;
  const outputs = inputs.map((u) => { status |= m.step(u, out); return Float32Array.from(out); });
  return { outputs, status };
}

/** A constant drive vector. */
export function constant(m: ReservoirModel, value: number): Float32Array {
  return new Float32Array(m.inChannels).fill(value);
}

/** Max |a - b| over all vectors. */
export function maxDiff(a: ArrayLike<number>[], b: ArrayLike<number>[]): number {
  let d = 0;
  for (let k = 0; k < a.length; k++) for (let i = 0; i < a[k].length; i++) d = Math.max(d, Math.abs(a[k][i] - b[k][i]));
  return d;
}

/** Asserts-style predicate for uvu's assert.throws: a RangeError whose message names `name`. */
export function rangeErrorNaming(name: string): (e: unknown) => boolean {
  return (e) => e instanceof RangeError && e.message.includes(`'${name}'`);
}

/** Mean and standard deviation of values. */
export function stats(v: ArrayLike<number>): { mean: number; sd: number } {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  const mean = s / v.length;
  let q = 0;
  for (let i = 0; i < v.length; i++) q += (v[i] - mean) ** 2;
  return { mean, sd: Math.sqrt(q / (v.length - 1)) };
}

/**
 * Steps model and twin side by side from rest on the same inputs and returns the relative error
 * ||y_model - y_twin|| / ||y_twin - centre|| over all outputs.
 */
export function twinRelativeError(m: ReservoirModel, inputs: Float32Array[], centre: number): number {
  const t = m.twin();
  let s = t.init();
  const out = new Float32Array(m.outChannels);
  let num = 0;
  let den = 0;
  for (const u of inputs) {
    m.step(u, out);
    const r = t.step(s, u);
    s = r.state;
    for (let i = 0; i < out.length; i++) {
      num += (out[i] - r.output[i]) ** 2;
      den += (r.output[i] - centre) ** 2;
    }
  }
  return Math.sqrt(num / den);
}
