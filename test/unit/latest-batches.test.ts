/**
 * latestBatches: a fast stream becomes batches holding the latest event per key; a reader that
 * falls behind gets fuller batches, never a queue of stale ones; a reader who leaves stops listening.
 */
import { describe, expect, it } from 'vitest';
import { type Listen, latestBatches } from '../../server/src/realtime/latest-batches';

interface Move {
  id: number;
  step: number;
}

/** A source the test feeds by hand; `listening` tells whether anyone is still subscribed. */
function handFed() {
  const listeners = new Set<(m: Move) => void>();
  const listen: Listen<Move> = (emit) => {
    listeners.add(emit);
    return () => listeners.delete(emit);
  };
  return {
    listen,
    push: (m: Move) => {
      for (const emit of listeners) emit(m);
    },
    listening: () => listeners.size > 0,
  };
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('latestBatches', () => {
  it('keeps the latest event of each key in a batch', async () => {
    const feed = handFed();
    const batches = latestBatches(feed.listen, (m) => m.id, 50);
    const first = batches.next();
    await wait(0);
    for (let step = 1; step <= 50; step++) for (let id = 1; id <= 10; id++) feed.push({ id, step });
    const batch = (await first).value as Move[];
    expect(batch.map((m) => m.id).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(new Set(batch.map((m) => m.step))).toEqual(new Set([50]));
    await batches.return();
  });

  it('merges into the next batch while the reader has not taken the last one', async () => {
    const feed = handFed();
    const batches = latestBatches(feed.listen, (m) => m.id, 20);
    const first = batches.next();
    await wait(0);
    feed.push({ id: 1, step: 1 });
    expect((await first).value).toEqual([{ id: 1, step: 1 }]);
    // The reader looks away for many intervals while the source keeps going.
    for (let step = 2; step <= 6; step++) {
      feed.push({ id: 1, step });
      feed.push({ id: step, step });
      await wait(30);
    }
    // Nothing was queued while the reader looked away: the next batch holds everything since, merged.
    const merged = (await batches.next()).value as Move[];
    await batches.return();
    expect(Object.fromEntries(merged.map((m) => [m.id, m.step]))).toEqual({
      1: 6,
      2: 2,
      3: 3,
      4: 4,
      5: 5,
      6: 6,
    });
    expect(merged).toHaveLength(6);
  });

  it('sends nothing for a quiet interval, and stops listening when the reader leaves', async () => {
    const feed = handFed();
    const batches = latestBatches(feed.listen, (m) => m.id, 10);
    const next = batches.next();
    await wait(60);
    expect(feed.listening()).toBe(true);
    feed.push({ id: 7, step: 1 });
    expect((await next).value).toEqual([{ id: 7, step: 1 }]);
    await batches.return();
    expect(feed.listening()).toBe(false);
  });
});
