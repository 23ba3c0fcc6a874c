/**
 * The exact VJP of a memoryless simulator's twin row by row: each row of drives is one example
 * stepped once from the twin's rest state,
 *
 *     g_t = dy_tᵀ ∂r(a_t)/∂a_t,   r(a) = output of twin.step(init, a), scaled as TwinGradient does,
 *
 * with the twin's exact stepVjp (one call per row, TwinGradient's method 'analytic'), or, for
 * method 'fd', by central differences over the drive channels only: 2·inChannels twin steps per
 * row, against TwinGradient's 2·(stateSize + inChannels) for its FD adjoint over a whole segment
 * (sim:optical: 128 instead of 384, three times faster; the MNIST oracle was bound by it). It equals
 * TwinGradient's VJP when the response does not depend on earlier drives (sim:optical without
 * feedback; test/train/chain/chain-oracle.test.ts checks it) and is wrong for a device with memory,
 * so the constructor refuses a twin whose output at a drive depends on its state (one probe: the
 * same drive from rest and from the state another drive left).
 */
import * as tf from '@tensorflow/tfjs';
import type { DeviceSurrogate } from '../../surrogate/narx.js';
import { TwinGradient, type TwinGradientOptions, allZero } from '../twin-grad.js';

export class RowTwinGradient implements DeviceSurrogate {
  private readonly tg: TwinGradient;

  constructor(opts: TwinGradientOptions) {
    this.tg = new TwinGradient(opts);
    if (this.tg.latency !== 0) throw new RangeError(`latency must be 0 for a row-by-row VJP, got ${this.tg.latency}`);
    const ci = this.tg.inChannels;
    const probe = Float64Array.from({ length: ci }, (_, c) => Math.sin(1 + c));
    const moved = this.tg.stepNorm(this.tg.twin.init(), Float64Array.from(probe, (v) => -v)).state;
    const a = this.tg.stepNorm(this.tg.twin.init(), probe).output, b = this.tg.stepNorm(moved, probe).output;
    if (a.some((v, i) => Math.abs(v - b[i]) > 1e-12)) throw new RangeError('the twin has memory (its output depends on earlier drives): a row-by-row VJP would be wrong, use TwinGradient');
  }

  get inChannels(): number { return this.tg.inChannels; }
  get outChannels(): number { return this.tg.outChannels; }

  /** @param drives [T * inChannels] in [-1, 1]; @param dy [T * outChannels]; @returns [T * inChannels] */
  vjp(drives: ArrayLike<number>, dy: ArrayLike<number>): Float64Array {
    const ci = this.tg.inChannels, co = this.tg.outChannels, h = this.tg.h;
    const T = drives.length / ci;
    if (!Number.isInteger(T) || T < 1) throw new RangeError(`drives must hold a positive multiple of ${ci} values`);
    if (dy.length !== T * co) throw new RangeError(`dy must hold ${T * co} values, got ${dy.length}`);
    const g = new Float64Array(T * ci), a = new Float64Array(ci);
    const rest = this.tg.twin.init();
    const analytic = this.tg.method === 'analytic', dyRow = new Float64Array(co);
    for (let t = 0; t < T; t++) {
      for (let m = 0; m < co; m++) dyRow[m] = dy[t * co + m];
      if (allZero(dyRow)) continue;
      for (let c = 0; c < ci; c++) a[c] = drives[t * ci + c];
      if (analytic) {
        this.tg.stepVjpNorm(rest, a, null, dyRow, g.subarray(t * ci, (t + 1) * ci));
        continue;
      }
      for (let c = 0; c < ci; c++) {
        const a0 = a[c];
        a[c] = a0 + h;
        const p = this.tg.stepNorm(Float64Array.from(rest), a).output;
        a[c] = a0 - h;
        const q = this.tg.stepNorm(Float64Array.from(rest), a).output;
        a[c] = a0;
        let v = 0;
        for (let m = 0; m < co; m++) v += dyRow[m] * (p[m] - q[m]);
        g[t * ci + c] = v / (2 * h);
      }
    }
    return g;
  }

  vjpSeq(drives: tf.Tensor2D, dy: tf.Tensor2D): tf.Tensor2D {
    return tf.tensor2d(Float32Array.from(this.vjp(drives.dataSync(), dy.dataSync())), [drives.shape[0], this.tg.inChannels]);
  }
}
