/**
 * Turns a fast event stream into a slow one for subscribers that only need the current picture:
 * the latest event per key, handed over as one batch every interval. Thousands of workers moving
 * once a second become one message a second instead of thousands, each key at most once in it.
 */
import { Repeater } from 'graphql-yoga';

/**
 * Batches `source` every `intervalMs` (nothing is sent for a quiet interval). A subscriber that has
 * not taken the previous batch yet gets no second one queued behind it: the events keep merging
 * into the next, so a slow reader sees fewer, fuller batches and the server holds one per reader.
 */
export function latestBatches<T>(
  source: AsyncIterable<T>,
  keyOf: (event: T) => string | number,
  intervalMs: number,
): Repeater<T[]> {
  return new Repeater<T[]>(async (push, stop) => {
    const iterator = source[Symbol.asyncIterator]();
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
    const timer = setInterval(flush, intervalMs);
    const stopped = stop.then(() => ({ done: true as const, value: undefined }));
    try {
      for (;;) {
        const next = await Promise.race([iterator.next(), stopped]);
        if (next.done) {
          // The source ended on its own: hand over what it left before closing.
          if (pending.size > 0) await push([...pending.values()]);
          break;
        }
        pending.set(keyOf(next.value), next.value);
      }
    } finally {
      clearInterval(timer);
      stop();
      // Not awaited: a source waiting for its next event may only finish returning when one comes.
      iterator.return?.()?.catch(() => undefined);
    }
  });
}
