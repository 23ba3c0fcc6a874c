/**
 * Bounding what a report carries: series that share one x axis are cut to at most `maxPoints`
 * rows by min/max buckets, so a spike or a dip of a million-sample run still shows, where taking
 * every k-th point would step over it.
 */

/** One chart's data: x and any number of y series aligned on it; null is a gap. */
export interface Aligned {
  x: number[];
  ys: (number | null)[][];
  /** Rows before downsampling. */
  from: number;
}

const finite = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Cuts `x` (ascending) and the series aligned on it to at most `maxPoints` rows (>= 2). The rows
 * are split into maxPoints / 2 buckets of consecutive rows; each bucket keeps two rows, at its
 * first and last x, and each series puts its bucket minimum and maximum there in the order they
 * occurred. Every series keeps its overall minimum and maximum; a bucket where a series has no
 * finite value stays a gap for it. Returns the input (copied) when it already fits.
 */
export function downsampleAligned(x: readonly number[], ys: readonly (readonly (number | null)[])[], maxPoints: number): Aligned {
  if (!Number.isSafeInteger(maxPoints) || maxPoints < 2) throw new RangeError(`maxPoints must be an integer >= 2, got ${maxPoints}`);
  const n = x.length;
  for (const y of ys) if (y.length !== n) throw new RangeError(`a series has ${y.length} values for ${n} x values`);
  const clean = (v: number | null | undefined): number | null => (finite(v) ? v : null);
  if (n <= maxPoints) return { x: [...x], ys: ys.map((y) => y.map(clean)), from: n };
  const buckets = Math.floor(maxPoints / 2);
  const outX: number[] = [];
  const outYs: (number | null)[][] = ys.map(() => []);
  for (let b = 0; b < buckets; b++) {
    const lo = Math.floor((b * n) / buckets);
    const hi = Math.floor(((b + 1) * n) / buckets); // exclusive; every bucket holds >= 2 rows since n > maxPoints
    outX.push(x[lo], x[hi - 1]);
    ys.forEach((y, s) => {
      let iMin = -1, iMax = -1;
      for (let i = lo; i < hi; i++) {
        const v = y[i];
        if (!finite(v)) continue;
        if (iMin < 0 || v < (y[iMin] as number)) iMin = i;
        if (iMax < 0 || v > (y[iMax] as number)) iMax = i;
      }
      const out = outYs[s];
      if (iMin < 0) out.push(null, null);
      else if (iMin <= iMax) out.push(y[iMin] as number, y[iMax] as number);
      else out.push(y[iMax] as number, y[iMin] as number);
    });
  }
  return { x: outX, ys: outYs, from: n };
}

/**
 * Puts series with their own x values (metric steps) on one shared, ascending x: the union of
 * their x values, each series null where it has no point. A repeated x keeps the series' last value.
 */
export function alignSeries(series: readonly { x: readonly number[]; y: readonly number[] }[]): { x: number[]; ys: (number | null)[][] } {
  const xs = [...new Set(series.flatMap((s) => [...s.x]))].sort((a, b) => a - b);
  const index = new Map(xs.map((v, i) => [v, i]));
  const ys = series.map((s) => {
    const out: (number | null)[] = new Array<number | null>(xs.length).fill(null);
    s.x.forEach((v, i) => { out[index.get(v) as number] = finite(s.y[i]) ? s.y[i] : null; });
    return out;
  });
  return { x: xs, ys };
}

/** `v` to `digits` significant digits (JSON of a report carries no more than a plot can show); non-finite to null. */
export function roundSig(v: number | null, digits = 6): number | null {
  if (!finite(v)) return null;
  return v === 0 ? 0 : Number(v.toPrecision(digits));
}

/**
 * True when a log y scale reads better: every finite value is positive and the largest is at
 * least `ratio` times the smallest (values spanning a decade or more by default).
 */
export function spansDecades(ys: readonly (readonly (number | null)[])[], ratio = 10): boolean {
  let min = Infinity, max = -Infinity, any = false;
  for (const y of ys) {
    for (const v of y) {
      if (!finite(v)) continue;
      if (v <= 0) return false;
      any = true;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  return any && max / min >= ratio;
}
