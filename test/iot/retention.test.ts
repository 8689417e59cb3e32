/**
 * Readings upkeep: hourly roll-ups (idempotent, late readings folded in on the next run), daily
 * partitions created ahead and dropped past the retention, and sensorReadings answering long
 * ranges from the hourly table.
 */
import { databaseSql, rollUpHourly, upkeepPartitions } from '@citygrid/iot';
import { describe, expect, it } from 'vitest';
import { sensorReadings } from '../../server/src/domain/sensors/sensors';
import { testDatabase } from '../helpers/db';
import { makeSensor } from './fixtures';

const database = await testDatabase();
const sql = databaseSql(database);
const HOUR = 3600_000;

async function insertReadings(sensorId: number, points: [number, number][]) {
  await sql.query(
    `INSERT INTO readings (sensor_id, metric, ts, value)
     SELECT $1, 'level', to_timestamp((p->>0)::float8 / 1000), (p->>1)::float8 FROM json_array_elements($2::json) p`,
    [sensorId, JSON.stringify(points)],
  );
}

describe('readings upkeep', () => {
  it('rolls readings up by hour, idempotently, folding late readings in', async () => {
    const sensor = await makeSensor(database);
    const now = Date.now();
    const h0 = Math.floor(now / HOUR) * HOUR - 2 * HOUR;
    await insertReadings(sensor.id, [
      [h0 + 60_000, 1],
      [h0 + 120_000, 3],
      [h0 + HOUR + 60_000, 5],
    ]);
    await rollUpHourly(database, 3, now);
    await rollUpHourly(database, 3, now);
    const rows = async () =>
      sql.query<{ hour: number; min: number; max: number; sum: number; count: number }>(
        `SELECT (extract(epoch FROM hour) * 1000)::float8 AS hour, min, max, sum, count FROM readings_hourly
         WHERE sensor_id = $1 ORDER BY hour`,
        [sensor.id],
      );
    expect(await rows()).toEqual([
      { hour: h0, min: 1, max: 3, sum: 4, count: 2 },
      { hour: h0 + HOUR, min: 5, max: 5, sum: 5, count: 1 },
    ]);
    await insertReadings(sensor.id, [[h0 + 30_000, 0.5]]); // a late one
    await rollUpHourly(database, 3, now);
    expect((await rows())[0]).toEqual({ hour: h0, min: 0.5, max: 3, sum: 4.5, count: 3 });
  });

  it('creates the coming week of partitions and drops those past the retention', async () => {
    const day = 86_400_000;
    const partitions = async () =>
      (
        await sql.query<{ name: string }>(
          `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'readings' ORDER BY 1`,
        )
      ).map((r) => r.name);
    const inAMonth = Date.now() + 30 * day;
    const stamp = (t: number) => `readings_${new Date(t).toISOString().slice(0, 10).replaceAll('-', '')}`;
    const before = await partitions();
    expect(before).not.toContain(stamp(inAMonth + 7 * day));
    const result = await upkeepPartitions(database, 3, inAMonth);
    const after = await partitions();
    expect(result.created).toBeGreaterThan(0);
    expect(after).toContain(stamp(inAMonth + 7 * day));
    expect(after).not.toContain(stamp(Date.now()));
    expect(after.every((p) => p >= stamp(inAMonth - 3 * day))).toBe(true);
  });
});

describe('sensorReadings source', () => {
  it('answers a long range with whole-hour buckets from the hourly table', async () => {
    const sensor = await makeSensor(database);
    const now = new Date();
    // Aligned to the 2-hour buckets asked for below, so both hours fall in one bucket.
    const tenDaysAgo = Math.floor((now.getTime() - 10 * 86_400_000) / (2 * HOUR)) * 2 * HOUR;
    await sql.query(
      `INSERT INTO readings_hourly (sensor_id, metric, hour, min, max, sum, count)
       VALUES ($1, 'level', to_timestamp($2::float8 / 1000), 0.1, 0.9, 5, 10),
              ($1, 'level', to_timestamp($3::float8 / 1000), 0.2, 0.4, 3, 10)`,
      [sensor.id, tenDaysAgo, tenDaysAgo + HOUR],
    );
    const [admin] = await sql.query<{ id: number; region_id: number }>(
      `SELECT id::float8 AS id, region_id::float8 AS region_id FROM users WHERE username = 'admin'`,
    );
    const result = await sensorReadings(
      database.db,
      { id: admin!.id, role: 'ADMIN', regionId: admin!.region_id },
      {
        sensorId: sensor.id,
        metric: 'level',
        from: new Date(tenDaysAgo),
        to: now,
        bucketSeconds: 7200,
      },
      now,
    );
    expect(result.source).toBe('hourly');
    expect(result.buckets.find((b) => b.count === 20)).toMatchObject({ min: 0.1, max: 0.9, avg: 0.4 });
  });
});
