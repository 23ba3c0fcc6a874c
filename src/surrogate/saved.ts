/**
 * The surrogates the refit scheduler can keep and refit, and their saved forms: a NARX MLP
 * (narx.ts, the MLP designs) or a transmission matrix (transmission.ts). The scheduler moves a
 * surrogate between fits, threads and checkpoints as JSON, so each kind is told by its `format`.
 */
import { NarxSurrogate, type NarxJSON } from './narx.js';
import { TransmissionSurrogate, type TransmissionJSON } from './transmission.js';

export type SurrogateJSON = NarxJSON | TransmissionJSON;
export type RefittableSurrogate = NarxSurrogate | TransmissionSurrogate;

/** Whether `j` is a saved transmission matrix (else a NARX MLP, the format older runs stored). */
export function isTransmissionJSON(j: SurrogateJSON): j is TransmissionJSON {
  return j.format === 'transmission-surrogate/1';
}

/** Rebuilds either kind from its JSON; every field is checked (a checkpoint is untrusted input). */
export function surrogateFromJSON(json: unknown): RefittableSurrogate {
  const format = (json as { format?: unknown } | null)?.format;
  if (format === 'transmission-surrogate/1') return TransmissionSurrogate.fromJSON(json);
  if (format === 'narx-surrogate/1') return NarxSurrogate.fromJSON(json);
  throw new TypeError(`not a saved surrogate: format ${JSON.stringify(format ?? null)} (expected narx-surrogate/1 or transmission-surrogate/1)`);
}
