/**
 * latestBatches: a fast stream becomes batches holding the latest event per key; a reader that
 * falls behind gets fuller batches, never a queue of stale ones; nothing the source sent is lost.
 */
import { describe, expect, it } from 'vitest';
import { latestBatches } from '../../server/src/realtime/latest-batches';

interface Move {
  id: number;
  step: number;
}

/** A source the test feeds by hand, and ends when told. */
function handFed() {
  const queue: Move[] = [];
  let ended = false;
  let wake: () => void = () => undefined;
  async function* source(): AsyncGenerator<Move> {
    for (;;) {
      const next = queue.shift();
      if (next) yield next;
      else if (ended) return;
      else await new Promise<void>((resolve) => (wake = resolve));
    }
  }
  return {
    source: source(),
    push(m: Move) {
      queue.push(m);
      wake();
    },
    end() {
      ended = true;
      wake();
    },
  };
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('latestBatches', () => {
  it('keeps the latest event of each key in a batch', async () => {
    const feed = handFed();
    const batches = latestBatches(feed.source, (m) => m.id, 50);
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
    const batches = latestBatches(feed.source, (m) => m.id, 20);
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
    const seen: Move[][] = [];
    feed.end();
    for await (const batch of batches) seen.push(batch);
    // At most the one batch handed over before the reader came back, then the rest merged.
    expect(seen.length).toBeLessThanOrEqual(2);
    const last = new Map<number, number>();
    for (const batch of seen) for (const m of batch) last.set(m.id, m.step);
    expect(Object.fromEntries(last)).toEqual({ 1: 6, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6 });
  });

  it('sends nothing for a quiet interval and hands over what is left when the source ends', async () => {
    const feed = handFed();
    const batches = latestBatches(feed.source, (m) => m.id, 10);
    const next = batches.next();
    await wait(60);
    feed.push({ id: 7, step: 1 });
    feed.end();
    expect((await next).value).toEqual([{ id: 7, step: 1 }]);
    expect((await batches.next()).done).toBe(true);
  });
});
