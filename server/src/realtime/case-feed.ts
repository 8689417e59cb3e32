/**
 * Live case events: each server instance LISTENs on `citygrid_case` and republishes every
 * notification to its own subscribers. The notification is sent inside the transaction that
 * changed the case, so what arrives here has committed — whichever instance committed it.
 */
import type { Database } from '@citygrid/db';
import { createPubSub, filter, map, pipe, type Repeater } from 'graphql-yoga';
import type { Logger } from 'pino';
import { CASE_CHANNEL, type CaseChangeNotice, parseCaseChangeNotice } from '../domain/cases/notify';

export interface CaseFeed {
  /** Every committed case change from now on, until the iterator is returned. */
  subscribe(): Repeater<CaseChangeNotice>;
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
  const pubsub = createPubSub<{ caseChanged: [CaseChangeNotice] }>();
  const unlisten = await database.listen(CASE_CHANNEL, (payload) => {
    const notice = parseCaseChangeNotice(payload);
    if (notice) pubsub.publish('caseChanged', notice);
    else log.warn({ bytes: payload.length }, 'unreadable case notification');
  });
  const entry: Running = {
    users: 1,
    feed: { subscribe: () => pubsub.subscribe('caseChanged'), close: async () => {} },
    stop: unlisten,
  };
  running.set(database, entry);
  return handle(database, entry);
}

function handle(database: Database, entry: Running): CaseFeed {
  let closed = false;
  return {
    subscribe: () => entry.feed.subscribe(),
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

/**
 * A subscriber's view of the feed: each notice passes `accept` (a cheap test on the notice's
 * region ids) and `load` (reading the case as the subscriber may see it; undefined drops it).
 */
export function caseChangesFor<T>(
  feed: CaseFeed,
  accept: (notice: CaseChangeNotice) => boolean,
  load: (notice: CaseChangeNotice) => Promise<T | undefined>,
): AsyncIterable<T> {
  return pipe(
    feed.subscribe(),
    filter(accept),
    map(async (notice: CaseChangeNotice) => load(notice).catch(() => undefined)),
    filter((item: T | undefined): item is T => item !== undefined),
  );
}
