/**
 * Hands each live event (a parsed NOTIFY) to every subscriber of this instance, each through a
 * queue of its own, so that a subscriber that falls behind — a slow SSE client, or a burst of
 * thousands of changes committed at once while each subscriber reads the database per event —
 * never stalls or breaks the publisher or the other subscribers.
 *
 * Publishing never throws. (graphql-yoga's `createPubSub` pushes into an unbuffered Repeater from
 * an EventTarget listener: past 1,024 pending pushes that push throws, and a throw in a listener
 * is an uncaught exception, which ends the whole process.)
 *
 * Each queue is bounded (`limit`, 4,096 by default) and nothing is dropped silently: a subscriber
 * whose queue is full gets no more events; its queue is let go at once and its subscription ends
 * with a CONFLICT error (`extensions.reason: 'LAGGING'`, the contract's code for "what you hold is
 * stale"), on which a client refetches what it shows and subscribes again. An unbounded queue was
 * the alternative, but it would hold a slow reader's backlog for as long as it stays connected,
 * times every such reader, and replaying thousands of events one read at a time costs the server
 * more than the client's one refetch. A bound also keeps a subscriber's delay bounded: past a few
 * thousand events behind, a live view is better rebuilt than replayed.
 *
 * `listen` is the synchronous variant for subscribers that merge events themselves
 * (realtime/latest-batches.ts) and so hold at most one entry per key.
 */
import { Repeater } from 'graphql-yoga';
import { Conflict } from '../domain/errors';

/** Events a subscriber may have waiting before its subscription ends with LAGGING. */
export const SUBSCRIBER_QUEUE_LIMIT = 4096;

/** The error a subscription ends with when its reader fell `limit` events behind. */
export class Lagging extends Conflict {
  constructor(limit: number) {
    super(
      `the subscription fell more than ${limit} events behind and was ended: refetch, then subscribe again`,
      {
        reason: 'LAGGING',
        limit,
      },
    );
  }
}

export interface FanOut<T> {
  /** Hands `event` to every subscriber; never throws. */
  publish(event: T): void;
  /**
   * Every event from now on that passes `accept` (a cheap synchronous test, applied when the event
   * is published so rejected events take no room in the queue), until the iterator is returned.
   */
  subscribe(accept?: (event: T) => boolean, limit?: number): Repeater<T>;
  /** Calls `emit` synchronously with every event from now on; returns the function that stops it. */
  listen(emit: (event: T) => void): () => void;
  /** How many subscribers and listeners are attached (for tests and metrics). */
  readonly size: number;
}

export function createFanOut<T>(
  options: { limit?: number; onListenerError?: (error: unknown) => void } = {},
): FanOut<T> {
  const defaultLimit = options.limit ?? SUBSCRIBER_QUEUE_LIMIT;
  const takers = new Set<(event: T) => void>();

  return {
    publish(event) {
      for (const take of takers) {
        try {
          take(event);
        } catch (error) {
          // A subscriber's own test or listener failed: that is its problem, not the publisher's.
          options.onListenerError?.(error);
        }
      }
    },

    subscribe(accept, limit = defaultLimit) {
      return new Repeater<T>(async (push, stop) => {
        // A queue read from `head` (shifting a long array moves every element).
        let queue: T[] = [];
        let head = 0;
        let lagging = false;
        let wake: (() => void) | undefined;
        const take = (event: T) => {
          if (lagging || (accept && !accept(event))) return;
          if (queue.length - head >= limit) {
            lagging = true;
            queue = [];
            head = 0;
          } else {
            queue.push(event);
          }
          wake?.();
        };
        takers.add(take);
        let stopped = false;
        void stop.then(() => {
          stopped = true;
          takers.delete(take);
          wake?.();
        });
        while (!stopped) {
          if (head < queue.length) {
            const event = queue[head] as T;
            queue[head] = undefined as T;
            head += 1;
            if (head >= 1024 && head * 2 >= queue.length) {
              queue = queue.slice(head);
              head = 0;
            }
            // Resolves once the reader took it (or the subscription stopped): one in flight at a time.
            await push(event);
          } else if (lagging) {
            takers.delete(take);
            stop(new Lagging(limit));
            return;
          } else {
            await new Promise<void>((resolve) => {
              wake = resolve;
            });
            wake = undefined;
          }
        }
      });
    },

    listen(emit) {
      takers.add(emit);
      return () => {
        takers.delete(emit);
      };
    },

    get size() {
      return takers.size;
    },
  };
}
