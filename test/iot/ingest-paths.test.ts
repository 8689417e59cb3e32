/**
 * The two ways readings go in: straight COPY for messages that cannot be redeliveries, the staged
 * ON CONFLICT step for the rest, and the fall-back when a straight copy meets a stored reading.
 * Whatever the path, every reading is stored exactly once and nothing is lost.
 */
import {
  createBatchStore,
  DeviceDirectory,
  databaseSql,
  LatestValues,
  RuleBook,
  repairLatest,
  StoredWatermarks,
  telemetryMessage,
  telemetryTopic,
  writeBatch,
} from '@citygrid/iot';
import { describe, expect, it } from 'vitest';
import { testDatabase } from '../helpers/db';
import { count, makeRule, makeSensor, type TestSensor } from './fixtures';

const database = await testDatabase();
const sql = databaseSql(database);
const store = createBatchStore(database);
const devices = new DeviceDirectory(sql);
const rules = new RuleBook(sql, 0);

/**
 * A worker's view: its own watermarks, as a fresh or restarted worker would start with, and its
 * own pending latest values, written only when a test flushes them.
 */
const worker = (watermarks = new StoredWatermarks(sql)) => ({
  store,
  devices,
  rules,
  watermarks,
  latest: new LatestValues(sql, 3_600_000),
});

const message = (sensor: TestSensor, ts: number, level: number, redelivered = false) =>
  telemetryMessage(
    telemetryTopic(sensor.deviceId),
    sensor.deviceId,
    Buffer.from(JSON.stringify({ ts, values: { level } })),
    Date.now(),
    redelivered,
  );

const readingsOf = (sensorId: number) =>
  count(sql, 'SELECT count(*) FROM readings WHERE sensor_id = $1', [sensorId]);

async function latestOf(sensorId: number) {
  return sql.query<{ value: number; ts: number }>(
    `SELECT value, (extract(epoch FROM ts) * 1000)::float8 AS ts FROM sensor_latest
     WHERE sensor_id = $1 AND metric = 'level'`,
    [sensorId],
  );
}

describe('ingest paths', () => {
  it('copies new readings straight in, and sends a re-sent batch through dedup', async () => {
    const sensor = await makeSensor(database, { kind: 'water_level' });
    const t0 = Date.now() - 60_000;
    const batch = [0.1, 0.11, 0.12].map((level, i) => message(sensor, t0 + i * 1000, level));
    const deps = worker();
    const first = await writeBatch(deps, batch);
    expect(first).toMatchObject({ path: 'direct', readings: 3, inserted: 3 });
    // The same worker knows these are stored: the re-sent batch is not even tried straight.
    const again = await writeBatch(deps, batch);
    expect(again).toMatchObject({ path: 'staged', readings: 3, inserted: 0 });
    expect(await readingsOf(sensor.id)).toBe(3);
    // Latest values wait in the worker until flushed.
    expect(await latestOf(sensor.id)).toEqual([]);
    expect(deps.latest.size).toBe(1);
    await deps.latest.flush();
    expect(deps.latest.size).toBe(0);
    expect(await latestOf(sensor.id)).toEqual([{ value: 0.12, ts: t0 + 2000 }]);
  });

  it('falls back to dedup when a straight copy meets a stored reading, losing none of the batch', async () => {
    const sensor = await makeSensor(database, { kind: 'water_level' });
    const other = await makeSensor(database, { kind: 'water_level' });
    const t0 = Date.now() - 60_000;
    const before = worker();
    await writeBatch(before, [message(sensor, t0, 0.2)]);
    await before.latest.flush();
    // A worker that has not seen that commit (another worker, or this one restarted before the
    // watermarks were loaded) gets the same reading again, not marked as a redelivery, among new ones.
    const deps = worker();
    const result = await writeBatch(deps, [
      message(other, t0, 0.3),
      message(sensor, t0, 0.2),
      message(sensor, t0 + 1000, 0.25),
      message(other, t0 + 1000, 0.35),
    ]);
    expect(result).toMatchObject({ path: 'fallback', readings: 4, inserted: 3 });
    expect(await readingsOf(sensor.id)).toBe(2);
    expect(await readingsOf(other.id)).toBe(2);
    await deps.latest.flush();
    expect(await latestOf(sensor.id)).toEqual([{ value: 0.25, ts: t0 + 1000 }]);
    expect(await latestOf(other.id)).toEqual([{ value: 0.35, ts: t0 + 1000 }]);
  });

  it('stages a redelivered (DUP) message while copying the fresh ones beside it', async () => {
    const sensor = await makeSensor(database, { kind: 'water_level' });
    const other = await makeSensor(database, { kind: 'water_level' });
    const t0 = Date.now() - 60_000;
    // Stored by a worker that then died before acknowledging it; its redelivery comes to a new one.
    await writeBatch(worker(), [message(sensor, t0, 0.2)]);
    const deps = worker();
    const result = await writeBatch(deps, [
      message(sensor, t0, 0.2, true),
      message(other, t0, 0.3),
      message(other, t0 + 1000, 0.31),
    ]);
    expect(result).toMatchObject({ path: 'direct', readings: 3, inserted: 2 });
    // A redelivery of something never stored is stored (once) all the same.
    const late = await writeBatch(deps, [message(sensor, t0 + 5000, 0.4, true)]);
    expect(late).toMatchObject({ path: 'staged', inserted: 1 });
    expect(await readingsOf(sensor.id)).toBe(2);
    expect(await readingsOf(other.id)).toBe(2);
  });

  it('treats a time repeated within one batch as a re-send', async () => {
    const sensor = await makeSensor(database, { kind: 'water_level' });
    const t0 = Date.now() - 60_000;
    const result = await writeBatch(worker(), [
      message(sensor, t0, 0.2),
      message(sensor, t0, 0.2),
      message(sensor, t0 + 1000, 0.3),
    ]);
    expect(result).toMatchObject({ readings: 3, inserted: 2 });
    expect(result.path).not.toBe('fallback');
    expect(await readingsOf(sensor.id)).toBe(2);
  });

  it('sends late readings the dedup way and never lets them overwrite the latest value', async () => {
    const sensor = await makeSensor(database, { kind: 'water_level' });
    const now = Date.now();
    const deps = worker();
    await writeBatch(deps, [message(sensor, now, 0.5)]);
    const backlog = await writeBatch(
      deps,
      [1, 2, 3].map((i) => message(sensor, now - i * 60_000, 0.1 * i)),
    );
    expect(backlog).toMatchObject({ path: 'staged', inserted: 3 });
    // Pending together: the newest stays.
    await deps.latest.flush();
    expect(await latestOf(sensor.id)).toEqual([{ value: 0.5, ts: now }]);
    // Flushed on their own, after the newer value is stored: the row keeps the newer one.
    const older = await writeBatch(deps, [message(sensor, now - 30_000, 0.7)]);
    expect(older).toMatchObject({ path: 'staged', inserted: 1 });
    await deps.latest.flush();
    expect(await latestOf(sensor.id)).toEqual([{ value: 0.5, ts: now }]);
    // Watermarks loaded from the latest values know about it too.
    const restarted = new StoredWatermarks(sql);
    await restarted.load();
    expect(restarted.get(sensor.id)).toBe(now);
  });

  it('catches up latest values a killed worker had not written, and the watermarks with them', async () => {
    const sensor = await makeSensor(database, { kind: 'water_level' });
    const t0 = Date.now() - 60_000;
    const killed = worker();
    await writeBatch(killed, [message(sensor, t0, 0.2)]);
    await killed.latest.flush();
    // Committed, acknowledged, and never flushed: the worker dies with it pending.
    await writeBatch(killed, [message(sensor, t0 + 1000, 0.3)]);
    expect(await latestOf(sensor.id)).toEqual([{ value: 0.2, ts: t0 }]);
    expect(await repairLatest(sql)).toBeGreaterThanOrEqual(1);
    expect(await latestOf(sensor.id)).toEqual([{ value: 0.3, ts: t0 + 1000 }]);
    const restarted = new StoredWatermarks(sql);
    await restarted.load();
    expect(restarted.get(sensor.id)).toBe(t0 + 1000);
  });

  it('falls back to dedup when the watermarks trail the stored readings', async () => {
    const sensor = await makeSensor(database, { kind: 'water_level' });
    const t0 = Date.now() - 60_000;
    const killed = worker();
    await writeBatch(killed, [message(sensor, t0, 0.2)]);
    await killed.latest.flush();
    await writeBatch(killed, [message(sensor, t0 + 1000, 0.3)]);
    // Seeded without the catch-up: the watermark says t0 though t0 + 1000 is stored.
    const stale = new StoredWatermarks(sql);
    await stale.load();
    expect(stale.get(sensor.id)).toBe(t0);
    // The device re-sends t0 + 1000 without a DUP flag, with a new point after it.
    const deps = worker(stale);
    const result = await writeBatch(deps, [message(sensor, t0 + 1000, 0.3), message(sensor, t0 + 2000, 0.4)]);
    expect(result).toMatchObject({ path: 'fallback', readings: 2, inserted: 1 });
    expect(await readingsOf(sensor.id)).toBe(3);
    await deps.latest.flush();
    expect(await latestOf(sensor.id)).toEqual([{ value: 0.4, ts: t0 + 2000 }]);
  });

  it('evaluates the rules once over readings that went straight in, and not again on a re-send', async () => {
    const sensor = await makeSensor(database, { kind: 'water_level' });
    await makeRule(database, {
      sensorKind: 'water_level',
      sensorId: sensor.id,
      metric: 'level',
      condition: 'ABOVE',
      threshold: 0.8,
      holdSeconds: 0,
    });
    const t0 = Date.now() - 60_000;
    const batch = [message(sensor, t0, 0.9), message(sensor, t0 + 1000, 0.95)];
    const first = await writeBatch(worker(), batch);
    expect(first.path).toBe('direct');
    expect(first.rules.raised).toHaveLength(1);
    expect(first.rules.repeats).toBe(1);
    // Re-sent to a worker that does not know it was stored: the copy fails, dedup finds nothing new.
    const again = await writeBatch(worker(), batch);
    expect(again).toMatchObject({ path: 'fallback', inserted: 0 });
    expect(again.rules).toEqual({ raised: [], cleared: [], repeats: 0 });
    const [alarm] = await sql.query<{ count: number }>(
      `SELECT count::int AS count FROM alarms WHERE sensor_id = $1 AND kind = 'THRESHOLD'`,
      [sensor.id],
    );
    expect(alarm).toEqual({ count: 2 });
  });
});
