/**
 * Live alarm events: one LISTEN on `citygrid_alarm` per database, started by the first subscriber
 * and kept while the database is open. The ingest side (raise, clear) and acknowledgeAlarm notify
 * after their change, with the alarm's id; each subscriber takes the notices through its own
 * bounded queue (fan-out.ts), and the alarm is read once per notice for all of them (`alarmReads`).
 */
import type { Database } from '@citygrid/db';
import { ALARM_CHANNEL } from '../domain/alarms/reactor';
import { createFanOut, type FanOut } from './fan-out';
import { createSharedReads } from './shared-reads';

/** One alarm change; a new object per notification, so that its read can be shared. */
export interface AlarmNotice {
  id: number;
}

const alarmFeeds = new WeakMap<Database, Promise<FanOut<AlarmNotice>>>();

/** The alarms read for notices, once per notice for all its subscribers. */
export const alarmReads = createSharedReads<AlarmNotice>();

/** The feed of `database`'s alarm notices; resolves once LISTEN is in place. */
export function alarmFeed(database: Database): Promise<FanOut<AlarmNotice>> {
  let feed = alarmFeeds.get(database);
  if (!feed) {
    const fanOut = createFanOut<AlarmNotice>();
    feed = database
      .listen(ALARM_CHANNEL, (payload) => {
        let id: unknown;
        try {
          id = (JSON.parse(payload) as { id?: unknown }).id;
        } catch {
          return;
        }
        if (typeof id === 'number') fanOut.publish({ id });
      })
      .then(() => fanOut);
    feed.catch(() => alarmFeeds.delete(database));
    alarmFeeds.set(database, feed);
  }
  return feed;
}
