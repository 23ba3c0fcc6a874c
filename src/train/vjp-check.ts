/**
 * Finite-difference checks for vector-Jacobian products, for testing gradients (surrogate VJPs,
 * custom gradients) against the function they claim to differentiate.
 *
 * ```ts
 * const fd = finiteDifferenceVjp((x) => model(x), x, v);
 * assert.ok(cosineSimilarity(fd, await vjpUnderTest(x, v)) > 0.999);
 * ```
 */

/**
 * vᵀJ of f at x by central differences: component i is
 * Σ_k v_k (f_k(x + ε e_i) − f_k(x − ε e_i)) / (2ε), with error O(ε²) plus rounding O(|f|·2⁻⁵²/ε).
 * Costs 2·x.length calls of f; x is not modified.
 *
 * @param f the function, R^n -> R^m; it must return m = v.length values for every input.
 * @param x the point, length n.
 * @param v the cotangent, length m.
 * @param eps step, > 0. Defaults to 1e-5 (near the optimum ε³ ≈ 2⁻⁵² for float64 and smooth f).
 * @returns vᵀJ, length n.
 */
export function finiteDifferenceVjp(
  f: (x: Float64Array) => ArrayLike<number>,
  x: ArrayLike<number>,
  v: ArrayLike<number>,
  eps = 1e-5,
): Float64Array {
  if (!(eps > 0) || !Number.isFinite(eps)) throw new RangeError(`eps must be a positive finite number, got ${String(eps)}`);
  const n = x.length;
  const out = new Float64Array(n);
  const xp = Float64Array.from(x);
  for (let i = 0; i < n; i++) {
    const xi = xp[i];
    xp[i] = xi + eps;
    const fp = f(xp);
    xp[i] = xi - eps;
    const fm = f(xp);
    xp[i] = xi;
    if (fp.length !== v.length || fm.length !== v.length) {
      throw new RangeError(`f returned ${fp.length === v.length ? fm.length : fp.length} values but v has ${v.length}`);
    }
    let s = 0;
    for (let k = 0; k < v.length; k++) s += v[k] * (fp[k] - fm[k]);
    out[i] = s / (2 * eps);
  }
  return out;
}

/**
 * a·b / (|a| |b|), in [-1, 1]. Two zero vectors count as agreeing (1); one zero vector against a
 * non-zero one gives 0. Different lengths are a RangeError.
 */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`lengths differ: ${a.length} and ${b.length}`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  if (na === 0 && nb === 0) return 1;
  if (na === 0 || nb === 0) return 0;
  return Math.max(-1, Math.min(1, dot / Math.sqrt(na * nb)));
}
