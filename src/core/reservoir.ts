/**
 * What a reservoir model is, shared by the simulators (sim/) that implement it and by whoever needs
 * the exact dynamics of a simulated device (the oracle, the fidelity monitor): a pure step of
 * explicit state, `(state, u) -> (state', y)`, and the stateful model the simulated device runs.
 */

/** The result of one twin step: the next state and the output for this step. */
export interface TwinStep {
  state: Float64Array;
  output: Float64Array;
}

/** The cotangents {@link ReservoirTwin.stepVjp} returns, in device units. */
export interface TwinStepVjp {
  /** Cotangent of the step's `state` argument [stateSize]. */
  dState: Float64Array;
  /** Cotangent of the step's `input` argument [inChannels], in per device unit of input. */
  dInput: Float64Array;
}

/**
 * The same dynamics as a model in plain float64, without quantization, noise, drift or latency:
 * a pure function of explicit state. Inputs and outputs are in the model's device units (not
 * rounded; inputs are clipped to `inRange` and outputs to `outRange` as the device would).
 * Output k of the twin corresponds to model output k + latencySamples. train/twin-grad.ts takes
 * its Jacobian from `stepVjp` where the twin has one, else by finite differences of `step`.
 */
export interface ReservoirTwin {
  readonly stateSize: number;
  readonly inChannels: number;
  readonly outChannels: number;
  /** The rest state (what `reset()` returns the model to). */
  init(): Float64Array;
  /** One step; does not modify `state` or `input`. */
  step(state: Float64Array, input: ArrayLike<number>): TwinStep;
  /**
   * The exact vector-Jacobian product of one `step(state, input)`:
   *
   *     dState = lambdaᵀ ∂state'/∂state + dyᵀ ∂output/∂state,
   *     dInput = lambdaᵀ ∂state'/∂input + dyᵀ ∂output/∂input,
   *
   * with `lambda` the cotangent of the next state [stateSize] and `dy` that of this step's output
   * [outChannels], both in device units. The adjoint sweep of train/twin-grad.ts calls it once per
   * time step (instead of 2 (stateSize + inChannels) finite-difference steps), so the cost is about
   * one forward step. `null` stands for a zero cotangent, which the sweep knows without scanning
   * (nothing downstream yet, or a row without loss), so a twin can skip that half of the work.
   *
   * Clips (inputs to inRange, outputs to the rails, any internal clip) contribute slope 1 strictly
   * inside, 0 strictly outside, and 1/2 exactly at the boundary: the mean of the one-sided slopes,
   * which is what a central difference across the boundary gives, so the analytic and the
   * finite-difference oracle agree there too. Optional: a twin without it gets finite differences.
   * Does not modify its arguments.
   */
  stepVjp?(state: Float64Array, input: ArrayLike<number>, lambda: Float64Array | null, dy: ArrayLike<number> | null): TwinStepVjp;
}

/** A simulated physical reservoir, stepped one input vector at a time. */
export interface ReservoirModel {
  readonly name: 'analog' | 'optical' | 'fpga';
  readonly inChannels: number;
  readonly outChannels: number;
  /** Drive value range in device units (inclusive). */
  readonly inRange: readonly [number, number];
  /** Response value range in device units (inclusive). */
  readonly outRange: readonly [number, number];
  /** Device time per step, in ns. */
  readonly samplePeriodNs: number;
  /** Returns the dynamical state (and latency line) to rest. Each model documents what happens to its noise stream and drift clock. */
  reset(): void;
  /**
   * One input vector (length inChannels) to one output vector (length outChannels, written into
   * `output`). Returns status bits: STATUS_INPUT_CLIPPED | STATUS_OUTPUT_SATURATED.
   */
  step(input: ArrayLike<number>, output: Float32Array): number;
  /** Advances the drift clock by `ns` of idle device time (models with drift only). */
  advanceTime?(ns: number): void;
  /** The float64 twin of the same dynamics (same weights/masks), see ReservoirTwin. */
  twin(): ReservoirTwin;
}
