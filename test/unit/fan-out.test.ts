/**
 * createFanOut: publishing never throws, whatever the subscribers do; each subscriber gets every
 * accepted event in order until its queue overflows, and then ends with CONFLICT/LAGGING after the
 * events it already took; the others go on; a subscriber that leaves is detached.
 */
import { describe, expect, it } from 'vitest';
import { createFanOut, Lagging } from '../../server/src/realtime/fan-out';

async function take<T>(it: AsyncIterator<T>, n: number): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

describe('createFanOut', () => {
  it('a reader that is not reading gets every accepted event, in order, up to the limit', async () => {
    const fan = createFanOut<number>({ limit: 100 });
    const evens = fan.subscribe((n) => n % 2 === 0)[Symbol.asyncIterator]();
    const first = evens.next(); // the subscription is attached once it is first read
    fan.publish(0);
    expect(await first).toEqual({ value: 0, done: false });
    // 200 published, 100 accepted: exactly the limit, nothing thrown, nothing lost.
    for (let n = 1; n <= 200; n++) fan.publish(n);
    expect(await take(evens, 100)).toEqual(Array.from({ length: 100 }, (_, i) => 2 * (i + 1)));
    await evens.return?.();
    expect(fan.size).toBe(0);
  });

  it('past the limit: no throw, the events already queued are dropped and the subscription ends with LAGGING', async () => {
    const fan = createFanOut<number>({ limit: 10 });
    const slow = fan.subscribe()[Symbol.asyncIterator]();
    const fast = fan.subscribe()[Symbol.asyncIterator]();
    const attached = [slow.next(), fast.next()];
    fan.publish(0);
    await Promise.all(attached);

    const fastSeen: number[] = [];
    const reading = (async () => {
      for (let r = await fast.next(); !r.done; r = await fast.next()) {
        fastSeen.push(r.value);
        if (r.value === 5000) return;
      }
    })();
    expect(() => {
      for (let n = 1; n <= 5000; n++) fan.publish(n);
    }).not.toThrow();
    // The fast reader had no chance to read during the synchronous burst either: it ends too.
    await reading.catch(() => undefined);

    const error = await slow.next().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Lagging);
    expect(error).toMatchObject({ code: 'CONFLICT', details: { reason: 'LAGGING', limit: 10 } });
    expect(await slow.next()).toEqual({ value: undefined, done: true });
    expect(fastSeen).toEqual([]);
    expect(fan.size).toBe(0);

    // A new subscriber starts afresh.
    const again = fan.subscribe()[Symbol.asyncIterator]();
    const next = again.next();
    fan.publish(7);
    expect(await next).toEqual({ value: 7, done: false });
    await again.return?.();
  });

  it('a reader that keeps up never lags, however many events pass', async () => {
    const fan = createFanOut<number>({ limit: 4 });
    const sub = fan.subscribe()[Symbol.asyncIterator]();
    const first = sub.next();
    fan.publish(0);
    await first;
    const seen: number[] = [];
    for (let n = 1; n <= 1000; n++) {
      fan.publish(n);
      seen.push((await sub.next()).value as number);
    }
    expect(seen).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    await sub.return?.();
  });

  it("a subscriber's failing test or listener does not reach the publisher or the others", async () => {
    const failures: unknown[] = [];
    const fan = createFanOut<number>({ onListenerError: (e) => failures.push(e) });
    const heard: number[] = [];
    const stop = fan.listen(() => {
      throw new Error('listener broke');
    });
    fan.listen((n) => heard.push(n));
    const sub = fan
      .subscribe((n) => {
        if (n === 2) throw new Error('test broke');
        return true;
      })
      [Symbol.asyncIterator]();
    const first = sub.next();
    expect(() => {
      for (const n of [1, 2, 3]) fan.publish(n);
    }).not.toThrow();
    expect(heard).toEqual([1, 2, 3]);
    expect(failures).toHaveLength(4); // the listener thrice, the test once
    expect(await first).toEqual({ value: 1, done: false });
    expect((await sub.next()).value).toBe(3);
    stop();
    await sub.return?.();
    expect(fan.size).toBe(1);
  });
});
