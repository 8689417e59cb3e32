/**
 * The ingest path end to end against a real broker and database: dedup, latest-value rules,
 * refusals with reasons, and that valid messages around bad ones are all stored.
 */
import { databaseSql, Ingester } from '@citygrid/iot';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase } from '../helpers/db';
import { SERVICE, testBroker } from '../helpers/mqtt';
import { count, devicePublisher, eventually, makeSensor } from './fixtures';

const database = await testDatabase();
const sql = databaseSql(database);
const broker = await testBroker(database);
const ingester = new Ingester({
  database,
  url: broker.url,
  username: SERVICE.username,
  password: SERVICE.password,
  shared: broker.shared,
  protocolVersion: broker.protocolVersion,
  batchSize: 500,
  batchWindowMs: 50,
  maxUnacked: 5000,
  logger: pino({ level: 'silent' }),
});

beforeAll(() => ingester.start());
afterAll(async () => {
  await ingester.close();
  await broker.close();
});

const readingsOf = (sensorId: number) =>
  count(sql, 'SELECT count(*) FROM readings WHERE sensor_id = $1', [sensorId]);

describe('ingest', () => {
  it('stores a reading delivered twice once', async () => {
    const sensor = await makeSensor(database, { kind: 'water_level' });
    const device = await devicePublisher(broker, sensor);
    const ts = Date.now() - 1000;
    const payload = JSON.stringify({ ts, seq: 1, values: { level: 0.12 } });
    await device.publishAsync(`citygrid/v1/${sensor.deviceId}/telemetry`, payload, { qos: 1 });
    await device.publishAsync(`citygrid/v1/${sensor.deviceId}/telemetry`, payload, { qos: 1 });
    await device.publishAsync(
      `citygrid/v1/${sensor.deviceId}/telemetry`,
      JSON.stringify([{ ts, values: { level: 0.12 } }]),
      {
        qos: 1,
      },
    );
    // A later, distinct reading marks the end of what was sent.
    await device.publishAsync(
      `citygrid/v1/${sensor.deviceId}/telemetry`,
      JSON.stringify({ ts: ts + 1, values: { level: 0.13 } }),
      { qos: 1 },
    );
    await eventually(
      async () => ((await readingsOf(sensor.id)) === 2 ? true : undefined),
      15_000,
      'two readings',
    );
    // Let any straggling duplicate land, then check again.
    await new Promise((r) => setTimeout(r, 300));
    expect(await readingsOf(sensor.id)).toBe(2);
    await device.endAsync();
  });

  it('never lets a late reading overwrite the latest value', async () => {
    const sensor = await makeSensor(database, { kind: 'water_level' });
    const device = await devicePublisher(broker, sensor);
    const now = Date.now();
    await device.publishAsync(
      `citygrid/v1/${sensor.deviceId}/telemetry`,
      JSON.stringify({ ts: now, values: { level: 0.5 } }),
      { qos: 1 },
    );
    await eventually(async () => ((await readingsOf(sensor.id)) === 1 ? true : undefined));
    const backlog = [1, 2, 3].map((i) => ({ ts: now - i * 60_000, values: { level: 0.1 * i } }));
    await device.publishAsync(`citygrid/v1/${sensor.deviceId}/telemetry`, JSON.stringify(backlog), {
      qos: 1,
    });
    await eventually(async () => ((await readingsOf(sensor.id)) === 4 ? true : undefined));
    // Latest values are written apart from their batches; this writes what is committed so far.
    await ingester.flushLatest();
    const latest = await sql.query<{ value: number; ts: number }>(
      `SELECT value, (extract(epoch FROM ts) * 1000)::float8 AS ts FROM sensor_latest WHERE sensor_id = $1 AND metric = 'level'`,
      [sensor.id],
    );
    expect(latest).toEqual([{ value: 0.5, ts: now }]);
    const [s] = await sql.query<{ status: string; seen: boolean }>(
      'SELECT status::text AS status, last_seen_at IS NOT NULL AS seen FROM sensors WHERE id = $1',
      [sensor.id],
    );
    expect(s).toEqual({ status: 'ONLINE', seen: true });
    await device.endAsync();
  });

  it('refuses bad messages with a reason and stores every valid one around them', async () => {
    const sensor = await makeSensor(database, { kind: 'water_level' });
    const device = await devicePublisher(broker, sensor);
    const topic = `citygrid/v1/${sensor.deviceId}/telemetry`;
    const base = Date.now() - 10_000;
    const valid = (i: number) => JSON.stringify({ ts: base + i, values: { level: 0.01 * i } });
    const bad: [string | Buffer, string][] = [
      ['{"ts": 1, "values": {', 'MALFORMED_JSON'],
      [JSON.stringify({ ts: base, values: { level: 'high' } }), 'WRONG_TYPE'],
      [JSON.stringify({ ts: base, values: { level: 7.5 } }), 'OUT_OF_RANGE'],
      [JSON.stringify({ ts: base, values: { depth: 0.1 } }), 'UNKNOWN_METRIC'],
      [Buffer.alloc(1024 * 1024, 0x20), 'TOO_LARGE'],
    ];
    let sent = 0;
    for (const [payload] of bad) {
      await device.publishAsync(topic, valid(sent++), { qos: 1 });
      await device.publishAsync(topic, payload, { qos: 1 });
    }
    await device.publishAsync(topic, valid(sent++), { qos: 1 });

    // An unknown device (only possible where devices need not sign in).
    let unknown = false;
    if (!broker.auth) {
      const stranger = await devicePublisher(broker, { deviceId: 'zz-unknown-1', secret: 'x' });
      await stranger.publishAsync('citygrid/v1/zz-unknown-1/telemetry', valid(0), { qos: 1 });
      await stranger.endAsync();
      unknown = true;
    }
    await eventually(
      async () => ((await readingsOf(sensor.id)) === sent ? true : undefined),
      15_000,
      'valid readings',
    );
    const reasons = await eventually(async () => {
      const rows = await sql.query<{ reason: string }>(
        `SELECT reason FROM rejected_messages WHERE device_id = $1 OR device_id = 'zz-unknown-1' ORDER BY id`,
        [sensor.deviceId],
      );
      return rows.length >= bad.length + (unknown ? 1 : 0) ? rows.map((r) => r.reason) : undefined;
    });
    expect(reasons.sort()).toEqual([...bad.map(([, r]) => r), ...(unknown ? ['UNKNOWN_DEVICE'] : [])].sort());
    expect(await readingsOf(sensor.id)).toBe(sent);
    await device.endAsync();
  });
});
