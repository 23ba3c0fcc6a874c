/**
 * FPGA board: a fixed-point echo-state reservoir in Q1.15 (int16 value v means v / 32768).
 *
 *   x(k+1) = tanh_LUT(W x(k) + Win u(k)),
 *
 * in integer arithmetic: every product w * x of two Q1.15 numbers is shifted right by 15
 * (arithmetic shift, i.e. rounded toward -infinity, as a DSP slice truncating) and summed in an
 * int32 accumulator a (Q.15, range +-65536 in real units, which cannot overflow for the sizes
 * allowed). The activation is a lookup table of `lutSize` entries covering a in [-R, R):
 *   idx = (a + R 2^15) >> log2(2 R 2^15 / lutSize),  clipped to [0, lutSize - 1]  (status bit 2),
 *   LUT[i] = round(2^15 tanh(-R + (i + 1/2) 2R / lutSize)),  clipped to +-32767.
 * u is the drive, an integer in [-32768, 32767] (clipped, status bit 1; rounded). The output is
 * the whole state x(k+1) in Q1.15 counts. There is no noise and no drift: the model is exactly
 * reproducible.
 *
 * W is sparse (each entry nonzero with probability `density`, uniform in [-1, 1]) scaled to
 * `spectralRadius`, estimated in float by power iteration, then quantized to Q1.15 (rounded,
 * saturating at +-32767). Win is uniform in [-inputScaling, inputScaling], quantized alike; with
 * `inputWiring` 'dense' every unit sums every input channel, with 'grouped' the units are split into
 * `inChannels` contiguous groups (unit i belongs to group floor(i inChannels / units)) and each
 * unit sees only its group's channel, as on a board whose input stage is a multi-channel stream
 * (one AWG/ADC channel per group of units) rather than one broadcast input.
 */
import { Rng, checkSeed } from '../core/rng.js';
import {
  DelayLine, type ReservoirModel, type ReservoirTwin, STATUS_INPUT_CLIPPED, STATUS_OUTPUT_SATURATED,
  checkBuffers, clipSlope, intOption, numOption, rejectUnknown,
} from './model.js';

/** Options of the fixed-point FPGA echo-state reservoir. */
export interface FpgaOptions {
  /** Number of reservoir units (output channels). Defaults to 100. */
  units: number;
  /** Number of input channels. Defaults to 1. */
  inChannels: number;
  /** Probability that a recurrent weight is nonzero, in (0, 1]. Defaults to 0.1. */
  density: number;
  /** Target spectral radius of W (before quantization), in (0, 2]. Defaults to 0.9. */
  spectralRadius: number;
  /** Input weights are uniform in [-inputScaling, inputScaling], in (0, 1). Defaults to 0.5. */
  inputScaling: number;
  /** tanh lookup table entries, a power of two in [256, 65536] (1024 and 4096 are typical). Defaults to 1024. */
  lutSize: number;
  /** The table covers pre-activations in [-lutRange, lutRange); one of 1, 2, 4, 8. Defaults to 4. */
  lutRange: number;
  /** Update rate in Hz; samplePeriodNs = 1e9 / sampleRateHz. Defaults to 1e6. */
  sampleRateHz: number;
  /** Pipeline latency in steps: the output is the state of `latencySamples` steps earlier, in [0, 1024]. Defaults to 0. */
  latencySamples: number;
  /** 'dense': every unit sums every input channel; 'grouped': one channel per group of units (inChannels <= units). Defaults to 'dense'. */
  inputWiring: 'dense' | 'grouped';
}

export const fpgaDefaults: Readonly<FpgaOptions> = Object.freeze({
  units: 100,
  inChannels: 1,
  density: 0.1,
  spectralRadius: 0.9,
  inputScaling: 0.5,
  lutSize: 1024,
  lutRange: 4,
  sampleRateHz: 1e6,
  latencySamples: 0,
  inputWiring: 'dense',
});

/** Validates `overrides` over the defaults; RangeError naming the first bad option. */
export function resolveFpgaOptions(overrides: Partial<FpgaOptions> = {}): FpgaOptions {
  const m = 'fpga';
  rejectUnknown(m, overrides, Object.keys(fpgaDefaults));
  const o: FpgaOptions = { ...fpgaDefaults, ...overrides };
  intOption(m, 'units', o.units, 1, 8192);
  intOption(m, 'inChannels', o.inChannels, 1, 1024);
  numOption(m, 'density', o.density, 0, 1, 'lo');
  numOption(m, 'spectralRadius', o.spectralRadius, 0, 2, 'lo');
  numOption(m, 'inputScaling', o.inputScaling, 0, 1, 'both');
  intOption(m, 'lutSize', o.lutSize, 256, 65536);
  if ((o.lutSize & (o.lutSize - 1)) !== 0) throw new RangeError(`fpga: option 'lutSize' must be a power of two, got ${o.lutSize}`);
  if (![1, 2, 4, 8].includes(o.lutRange)) throw new RangeError(`fpga: option 'lutRange' must be one of 1, 2, 4, 8, got ${String(o.lutRange)}`);
  numOption(m, 'sampleRateHz', o.sampleRateHz, 0, 1e10, 'lo');
  intOption(m, 'latencySamples', o.latencySamples, 0, 1024);
  if (o.inputWiring !== 'dense' && o.inputWiring !== 'grouped') throw new RangeError(`fpga: option 'inputWiring' must be 'dense' or 'grouped', got ${String(o.inputWiring)}`);
  if (o.inputWiring === 'grouped' && o.inChannels > o.units) throw new RangeError(`fpga: option 'inChannels' (${o.inChannels}) must not exceed 'units' (${o.units}) with grouped input wiring`);
  return o;
}

/**
 * Spectral radius of an n x n matrix given by `matvec(v, out)`, by power iteration with the
 * growth rate averaged in log space: rho ~ exp(mean over k of log ||W v_k||), v_{k+1} = W v_k / ||W v_k||.
 * The average also converges when the dominant eigenvalues are a complex pair (plain power
 * iteration oscillates there). Returns 0 for a nilpotent matrix.
 */
export function estimateSpectralRadius(n: number, matvec: (v: Float64Array, out: Float64Array) => void, rng: Rng, iterations = 400, burnIn = 100): number {
  let v = new Float64Array(n);
  let w = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.normal();
  let norm = 0;
  for (let i = 0; i < n; i++) norm += v[i] * v[i];
  norm = Math.sqrt(norm);
  for (let i = 0; i < n; i++) v[i] /= norm;
  let logSum = 0;
  for (let k = 0; k < burnIn + iterations; k++) {
    matvec(v, w);
    norm = 0;
    for (let i = 0; i < n; i++) norm += w[i] * w[i];
    norm = Math.sqrt(norm);
    if (norm === 0) return 0;
    for (let i = 0; i < n; i++) w[i] /= norm;
    if (k >= burnIn) logSum += Math.log(norm);
    [v, w] = [w, v];
  }
  return Math.exp(logSum / iterations);
}

const ONE = 32768;

function q15(x: number): number {
  const v = Math.round(x * ONE);
  return v > 32767 ? 32767 : v < -32767 ? -32767 : v;
}

/**
 * Simulated FPGA echo-state reservoir in device units (Q1.15 integers in and out). See the module
 * comment for the arithmetic. Deterministic: `reset()` returns to x = 0 and a reset model repeats
 * a fresh model's outputs exactly.
 */
export class FpgaReservoir implements ReservoirModel {
  readonly name = 'fpga' as const;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly inRange: readonly [number, number] = [-32768, 32767];
  readonly outRange: readonly [number, number] = [-32767, 32767];
  readonly samplePeriodNs: number;
  readonly options: Readonly<FpgaOptions>;
  /** The spectral radius of W in float before quantization (estimate, then scaled). */
  readonly rawSpectralRadius: number;
  private readonly rowPtr: Int32Array;
  private readonly col: Int32Array;
  private readonly w: Int32Array;
  private readonly win: Int32Array; // units x inChannels
  private readonly lut: Int32Array;
  private readonly lutShift: number;
  private readonly lutOffset: number;
  private readonly u: Int32Array;
  private x: Int32Array;
  private xn: Int32Array;
  private readonly xf: Float64Array;
  private readonly line: DelayLine;

  /** @param seed uint32; W from fork('W'), Win from fork('Win'), power iteration from fork('power'). */
  constructor(options: Partial<FpgaOptions> = {}, seed: number) {
    const o = resolveFpgaOptions(options);
    checkSeed(seed);
    this.options = Object.freeze(o);
    const n = o.units;
    this.inChannels = o.inChannels;
    this.outChannels = n;
    this.samplePeriodNs = 1e9 / o.sampleRateHz;
    const rng = new Rng(seed);

    // Sparse W in float (CSR), scaled to the spectral radius, then quantized.
    const wr = rng.fork('W');
    const rowPtr = new Int32Array(n + 1);
    const cols: number[] = [];
    const vals: number[] = [];
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (wr.uniform() < o.density) {
          cols.push(j);
          vals.push(wr.range(-1, 1));
        }
      }
      rowPtr[i + 1] = cols.length;
    }
    const col = Int32Array.from(cols);
    const fv = Float64Array.from(vals);
    const rho = estimateSpectralRadius(n, (v, out) => {
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let k = rowPtr[i]; k < rowPtr[i + 1]; k++) s += fv[k] * v[col[k]];
        out[i] = s;
      }
    }, rng.fork('power'));
    if (rho === 0) throw new RangeError(`fpga: option 'density' (${o.density}) too low for ${n} units: W has spectral radius 0`);
    this.rawSpectralRadius = rho;
    const scale = o.spectralRadius / rho;
    this.rowPtr = rowPtr;
    this.col = col;
    this.w = Int32Array.from(fv, (v) => q15(v * scale));

    // Grouped wiring draws the same per-unit weights as dense and zeroes the other groups' columns,
    // so a unit's input gain has the same distribution under both wirings.
    const ir = rng.fork('Win');
    const inCh = o.inChannels;
    this.win = Int32Array.from({ length: n * inCh }, (_, k) => {
      const w = q15(ir.range(-o.inputScaling, o.inputScaling));
      const unit = Math.floor(k / inCh), c = k % inCh;
      return o.inputWiring === 'grouped' && c !== Math.floor((unit * inCh) / n) ? 0 : w;
    });

    // tanh table over [-R, R): bin width 2R / lutSize, index = (a + R 2^15) >> shift.
    const R = o.lutRange;
    this.lutShift = Math.log2((2 * R * ONE) / o.lutSize);
    this.lutOffset = R * ONE;
    this.lut = Int32Array.from({ length: o.lutSize }, (_, i) => q15(Math.tanh(-R + ((i + 0.5) * 2 * R) / o.lutSize)));

    this.u = new Int32Array(o.inChannels);
    this.x = new Int32Array(n);
    this.xn = new Int32Array(n);
    this.xf = new Float64Array(n);
    this.line = new DelayLine(o.latencySamples, n);
  }

  reset(): void {
    this.x.fill(0);
    this.xf.fill(0);
    this.line.fill(this.xf);
  }

  step(input: ArrayLike<number>, output: Float32Array): number {
    checkBuffers('fpga', input, output, this.inChannels, this.outChannels);
    let status = 0;
    const inCh = this.inChannels;
    for (let c = 0; c < inCh; c++) {
      let v = input[c];
      if (!(v >= -32768)) { v = -32768; status |= STATUS_INPUT_CLIPPED; } // also catches NaN
      else if (v > 32767) { v = 32767; status |= STATUS_INPUT_CLIPPED; }
      this.u[c] = Math.round(v);
    }
    const { rowPtr, col, w, win, lut, lutShift, lutOffset, u, x, xn } = this;
    const top = lut.length - 1;
    const n = this.outChannels;
    for (let i = 0; i < n; i++) {
      let acc = 0;
      for (let k = rowPtr[i]; k < rowPtr[i + 1]; k++) acc = (acc + ((w[k] * x[col[k]]) >> 15)) | 0;
      const row = i * inCh;
      for (let c = 0; c < inCh; c++) acc = (acc + ((win[row + c] * u[c]) >> 15)) | 0;
      let idx = (acc + lutOffset) >> lutShift;
      if (idx < 0) { idx = 0; status |= STATUS_OUTPUT_SATURATED; }
      else if (idx > top) { idx = top; status |= STATUS_OUTPUT_SATURATED; }
      xn[i] = lut[idx];
    }
    this.x = xn;
    this.xn = x;
    const xf = this.xf;
    for (let i = 0; i < n; i++) xf[i] = xn[i];
    const seen = this.line.push(xf);
    for (let i = 0; i < n; i++) output[i] = seen[i];
    return status;
  }

  /** Float twin: x(k+1) = tanh(W x(k) + Win u(k)) with the same quantized weights, exact tanh, no truncation. */
  twin(): ReservoirTwin {
    const { rowPtr, col, w, win } = this;
    const n = this.outChannels;
    const inCh = this.inChannels;
    return {
      stateSize: n,
      inChannels: inCh,
      outChannels: n,
      init: () => new Float64Array(n),
      step: (state, input) => {
        const next = new Float64Array(n);
        const u = new Float64Array(inCh);
        for (let c = 0; c < inCh; c++) u[c] = Math.min(Math.max(input[c], -32768), 32767) / ONE;
        for (let i = 0; i < n; i++) {
          let a = 0;
          for (let k = rowPtr[i]; k < rowPtr[i + 1]; k++) a += (w[k] / ONE) * state[col[k]];
          for (let c = 0; c < inCh; c++) a += (win[i * inCh + c] / ONE) * u[c];
          next[i] = Math.tanh(a);
        }
        const output = Float64Array.from(next, (v) => v * ONE);
        return { state: next, output };
      },
      // The twin has no table and no truncation, so its exact derivative is tanh' = 1 - tanh² of the
      // same pre-activation; the output is x(k+1) ONE, so dy reaches x(k+1) times ONE.
      stepVjp: (state, input, lambda, dy) => {
        const u = new Float64Array(inCh);
        for (let c = 0; c < inCh; c++) u[c] = Math.min(Math.max(input[c], -32768), 32767) / ONE;
        const dState = new Float64Array(n), du = new Float64Array(inCh);
        for (let i = 0; i < n; i++) {
          const mu = (lambda ? lambda[i] : 0) + (dy ? dy[i] * ONE : 0);
          if (mu === 0) continue;
          let a = 0;
          for (let k = rowPtr[i]; k < rowPtr[i + 1]; k++) a += (w[k] / ONE) * state[col[k]];
          for (let c = 0; c < inCh; c++) a += (win[i * inCh + c] / ONE) * u[c];
          const t = Math.tanh(a), ga = mu * (1 - t * t);
          for (let k = rowPtr[i]; k < rowPtr[i + 1]; k++) dState[col[k]] += (w[k] / ONE) * ga;
          for (let c = 0; c < inCh; c++) du[c] += (win[i * inCh + c] / ONE) * ga;
        }
        for (let c = 0; c < inCh; c++) du[c] *= clipSlope(input[c], -32768, 32767) / ONE;
        return { dState, dInput: du };
      },
    };
  }
}
