/**
 * Live case events: each server instance LISTENs on `citygrid_case` and republishes every
 * notification to its own subscribers. The notification is sent inside the transaction that
 * changed the case, so what arrives here has committed — whichever instance committed it. Each
 * subscriber reads from its own bounded queue (realtime/fan-out.ts): one that falls behind ends
 * with LAGGING instead of losing events or breaking the listener.
 */
import type { Database } from '@citygrid/db';
import { filter, map, pipe, type Repeater } from 'graphql-yoga';
import type { Logger } from 'pino';
import { CASE_CHANNEL, type CaseChangeNotice, parseCaseChangeNotice } from '../domain/cases/notify';
import { createFanOut } from './fan-out';
import { createSharedReads } from './shared-reads';

export interface CaseFeed {
  /**
   * Every committed case change from now on that passes `accept`, until the iterator is returned;
   * ends with a LAGGING error if the reader falls too far behind.
   */
  subscribe(accept?: (notice: CaseChangeNotice) => boolean): Repeater<CaseChangeNotice>;
  close(): Promise<void>;
}

interface Running {
  feed: CaseFeed;
  users: number;
  stop: () => Promise<void>;
}

/** One listener per database object, shared by every app built on it (two apps on one embedded DB). */
const running = new WeakMap<Database, Running>();

/** Starts listening (resolves once LISTEN is in place, so nothing committed afterwards is missed). */
export async function startCaseFeed(database: Database, logger: Logger): Promise<CaseFeed> {
  const existing = running.get(database);
  if (existing) {
    existing.users += 1;
    return handle(database, existing);
  }
  const log = logger.child({ module: 'case-feed' });
  const fanOut = createFanOut<CaseChangeNotice>({
    onListenerError: (err) => log.error({ err }, 'case subscriber failed on a notification'),
  });
  const unlisten = await database.listen(CASE_CHANNEL, (payload) => {
    const notice = parseCaseChangeNotice(payload);
    if (notice) fanOut.publish(notice);
    else log.warn({ bytes: payload.length }, 'unreadable case notification');
  });
  const entry: Running = {
    users: 1,
    feed: { subscribe: (accept) => fanOut.subscribe(accept), close: async () => {} },
    stop: unlisten,
  };
  running.set(database, entry);
  return handle(database, entry);
}

function handle(database: Database, entry: Running): CaseFeed {
  let closed = false;
  return {
    subscribe: (accept) => entry.feed.subscribe(accept),
    async close() {
      if (closed) return;
      closed = true;
      entry.users -= 1;
      if (entry.users === 0 && running.get(database) === entry) {
        running.delete(database);
        await entry.stop();
      }
    },
  };
}

/** The feed started for `database` (by buildApp). */
export function caseFeedOf(database: Database): CaseFeed {
  const entry = running.get(database);
  if (!entry) throw new Error('the case feed is not running for this database');
  return entry.feed;
}

/** The cases read for notices, once per notice for all its subscribers (see shared-reads.ts). */
export const caseReads = createSharedReads<CaseChangeNotice>();

/**
 * A subscriber's view of the feed: each notice passes `accept` (a cheap test on the notice's
 * region ids, applied as it arrives so that others' notices do not fill this subscriber's queue)
 * and `load` (reading the case as the subscriber may see it, one at a time in commit order;
 * undefined drops it).
 */
export function caseChangesFor<T>(
  feed: CaseFeed,
  accept: (notice: CaseChangeNotice) => boolean,
  load: (notice: CaseChangeNotice) => Promise<T | undefined>,
): AsyncIterable<T> {
  return pipe(
    feed.subscribe(accept),
    map(async (notice: CaseChangeNotice) => load(notice).catch(() => undefined)),
    filter((item: T | undefined): item is T => item !== undefined),
  );
}
