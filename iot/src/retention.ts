/**
 * Upkeep of the readings: daily partitions created a week ahead, partitions older than the
 * retention dropped, hourly aggregates rolled up (kept longer than raw readings), and the
 * inactivity sweep that marks silent sensors offline. Several workers may run it; an advisory
 * lock lets one do each round.
 */
import type { Database } from '@citygrid/db';
import type { Logger } from 'pino';
import { sweepOffline } from './presence';
import { inTransaction, type Sql } from './sql';

const MAINTENANCE_LOCK = 7_245_010;

export interface MaintenanceOptions {
  database: Database;
  logger: Logger;
  retentionDays: number;
  /** How often the presence sweep runs. */
  sweepEveryMs?: number;
  /** How often partitions and roll-ups are looked after. */
  upkeepEveryMs?: number;
}

/** Rolls the readings of the last `hours` complete-or-current hours into readings_hourly. */
export async function rollUpHourly(database: Database, hours = 3, now = Date.now()): Promise<number> {
  return inTransaction(database, async (tx) => {
    const rows = await tx.query<{ n: number }>(
      `WITH agg AS (
         INSERT INTO readings_hourly (sensor_id, metric, hour, min, max, sum, count)
         SELECT sensor_id, metric, date_trunc('hour', ts), min(value), max(value), sum(value), count(*)::int
         FROM readings
         WHERE ts >= date_trunc('hour', to_timestamp($1::float8 / 1000)) - make_interval(hours => $2)
         GROUP BY 1, 2, 3
         ON CONFLICT (sensor_id, metric, hour) DO UPDATE
           SET min = excluded.min, max = excluded.max, sum = excluded.sum, count = excluded.count
         RETURNING 1)
       SELECT count(*)::int AS n FROM agg`,
      [now, hours],
    );
    return rows[0]?.n ?? 0;
  });
}

/** Creates partitions for the coming week and drops those past the retention. */
export async function upkeepPartitions(database: Database, retentionDays: number, now = Date.now()) {
  return inTransaction(database, async (tx) => {
    const [created] = await tx.query<{ n: number }>(
      `SELECT citygrid_ensure_reading_partitions(($1::timestamptz AT TIME ZONE 'UTC')::date,
                                                 ($1::timestamptz AT TIME ZONE 'UTC')::date + 7) AS n`,
      [new Date(now).toISOString()],
    );
    const [dropped] = await tx.query<{ n: number }>(
      `SELECT citygrid_drop_reading_partitions(($1::timestamptz AT TIME ZONE 'UTC')::date - $2::int) AS n`,
      [new Date(now).toISOString(), retentionDays],
    );
    return { created: created?.n ?? 0, dropped: dropped?.n ?? 0 };
  });
}

/** Starts the periodic upkeep; returns a stop function. */
export function startMaintenance(options: MaintenanceOptions): () => Promise<void> {
  const { database, logger } = options;
  let running: Promise<unknown> = Promise.resolve();
  const locked = async (fn: (tx: Sql) => Promise<void>) => {
    await inTransaction(database, async (tx) => {
      const [row] = await tx.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS ok', [
        MAINTENANCE_LOCK,
      ]);
      if (!row?.ok) return;
      await fn(tx);
    });
  };
  const sweep = () => {
    running = running
      .then(() =>
        locked(async (tx) => {
          const ids = await sweepOffline(tx, Date.now());
          if (ids.length > 0) logger.info({ sensors: ids.length }, 'sensors went offline');
        }),
      )
      .catch((err: Error) => logger.warn({ err: err.message }, 'presence sweep failed'));
  };
  const upkeep = () => {
    running = running
      .then(async () => {
        const p = await upkeepPartitions(database, options.retentionDays);
        const rolled = await rollUpHourly(database);
        logger.debug({ ...p, rolled }, 'readings upkeep');
      })
      .catch((err: Error) => logger.warn({ err: err.message }, 'readings upkeep failed'));
  };
  const t1 = setInterval(sweep, options.sweepEveryMs ?? 30_000);
  const t2 = setInterval(upkeep, options.upkeepEveryMs ?? 10 * 60_000);
  t1.unref();
  t2.unref();
  upkeep();
  return async () => {
    clearInterval(t1);
    clearInterval(t2);
    await running;
  };
}
