/**
 * The newest reading time known to be stored, per sensor: a reading newer than that, in a message
 * that is not a redelivery, cannot be in `readings` yet, so it may skip the dedup step. Only a
 * hint — the primary key still refuses a duplicate the hint missed (another worker's commit, say),
 * and the batch then takes the deduplicating path.
 */
import type { Sql } from '../sql';

export class StoredWatermarks {
  private readonly newest = new Map<number, number>();

  constructor(private readonly sql: Sql) {}

  /** Seeds the watermarks from the latest values (their `ts` is the newest stored per metric). */
  async load(): Promise<number> {
    const rows = await this.sql.query<{ sensor_id: number; ts: number }>(
      `SELECT sensor_id::float8 AS sensor_id, (extract(epoch FROM max(ts)) * 1000)::float8 AS ts
       FROM sensor_latest GROUP BY sensor_id`,
    );
    for (const r of rows) this.raise(r.sensor_id, r.ts);
    return rows.length;
  }

  /** Epoch ms of the newest stored reading of the sensor, or -Infinity when none is known. */
  get(sensorId: number): number {
    return this.newest.get(sensorId) ?? Number.NEGATIVE_INFINITY;
  }

  /** Records a committed reading time. */
  raise(sensorId: number, ts: number): void {
    if (ts > (this.newest.get(sensorId) ?? Number.NEGATIVE_INFINITY)) this.newest.set(sensorId, ts);
  }
}
