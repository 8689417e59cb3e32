/**
 * Turns a fast event stream into a slow one for subscribers that only need the current picture:
 * the latest event per key, handed over as one batch every interval. Thousands of workers moving
 * once a second become one message a second instead of thousands, each key at most once in it.
 */
import { Repeater } from 'graphql-yoga';

/** Starts calling `emit` with each event; returns the function that stops it. */
export type Listen<T> = (emit: (event: T) => void) => () => void;

/**
 * Batches the events `listen` delivers every `intervalMs` (nothing is sent for a quiet interval).
 * Events are taken synchronously (no promise per event: thousands a second would cost more than
 * the batches). A subscriber that has not taken the previous batch yet gets no second one queued
 * behind it: the events keep merging into the next, so a slow reader sees fewer, fuller batches
 * and the server holds one per reader.
 */
export function latestBatches<T>(
  listen: Listen<T>,
  keyOf: (event: T) => string | number,
  intervalMs: number,
): Repeater<T[]> {
  return new Repeater<T[]>(async (push, stop) => {
    let pending = new Map<string | number, T>();
    let waiting = false;
    const flush = () => {
      if (waiting || pending.size === 0) return;
      const batch = [...pending.values()];
      pending = new Map();
      waiting = true;
      push(batch).then(
        () => {
          waiting = false;
        },
        () => undefined,
      );
    };
    const unlisten = listen((event) => {
      pending.set(keyOf(event), event);
    });
    const timer = setInterval(flush, intervalMs);
    await stop;
    clearInterval(timer);
    unlisten();
  });
}
