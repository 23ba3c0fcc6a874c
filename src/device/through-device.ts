import { Observable, type OperatorFunction, type Subscription } from 'rxjs';
import type { Samples } from '../protocol/index.js';
import type { BatchResult, DeviceClient } from './client.js';

/**
 * Streams drive batches through a device: keeps up to the device's credits in flight, emits
 * results in input order (never reordered, never dropped: a failed batch errors the stream),
 * and, when given a factory, opens the device on subscribe and closes it on unsubscribe,
 * completion or error.
 *
 * @example
 * from(batches).pipe(throughDevice(() => openDevice('sim:analog'))).subscribe((r) => record(r.input, r.output));
 *
 * @param device an open session (left open on teardown) or a factory (its session is closed on teardown)
 */
export function throughDevice(device: DeviceClient | (() => Promise<DeviceClient>)): OperatorFunction<Samples | ArrayLike<number>, BatchResult> {
  return (source) =>
    new Observable<BatchResult>((subscriber) => {
      const owned = typeof device === 'function';
      let client: DeviceClient | null = null;
      let sourceSub: Subscription | undefined;
      let sourceDone = false;
      let finished = false;
      const waiting: (Samples | ArrayLike<number>)[] = [];
      const running: { done: boolean; value?: BatchResult; error?: unknown }[] = [];

      const fail = (e: unknown) => {
        if (finished) return;
        finished = true;
        subscriber.error(e);
      };
      const drain = () => {
        while (!finished && running.length > 0 && running[0].done) {
          const head = running.shift()!;
          if (head.error !== undefined) return fail(head.error);
          subscriber.next(head.value!);
        }
        pump();
      };
      const pump = () => {
        if (finished || !client) return;
        while (waiting.length > 0 && running.length < client.info.credits) {
          const slot: (typeof running)[number] = { done: false };
          running.push(slot);
          client.process(waiting.shift()!).then(
            (value) => { slot.done = true; slot.value = value; drain(); },
            (error) => { slot.done = true; slot.error = error ?? new Error('batch failed'); drain(); },
          );
        }
        if (sourceDone && waiting.length === 0 && running.length === 0 && !finished) {
          finished = true;
          subscriber.complete();
        }
      };

      const start = (c: DeviceClient) => {
        client = c;
        sourceSub = source.subscribe({
          next: (batch) => { waiting.push(batch); pump(); },
          error: fail,
          complete: () => { sourceDone = true; pump(); },
        });
      };
      if (owned) {
        (device as () => Promise<DeviceClient>)().then(
          (c) => { if (subscriber.closed) void c.close(); else start(c); },
          fail,
        );
      } else {
        start(device as DeviceClient);
      }

      return () => {
        finished = true;
        sourceSub?.unsubscribe();
        if (owned && client) void client.close();
      };
    });
}
