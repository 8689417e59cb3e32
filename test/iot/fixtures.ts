/** Small factories for IoT tests: sensors, rules, publishers, and waiting on the database. */
import type { Database } from '@citygrid/db';
import { hashSecret, newSecret } from '@citygrid/db';
import { databaseSql, type Rule, type Sql } from '@citygrid/iot';
import type { IClientOptions, MqttClient } from 'mqtt';
import { connectClient, type TestBroker } from '../helpers/mqtt';

let counter = 0;

export interface TestSensor {
  id: number;
  deviceId: string;
  kind: string;
  secret: string;
}

/** Inserts a sensor of the kind near the demo city's centre, in a grid cell when one covers it. */
export async function makeSensor(
  database: Database,
  options: { kind?: string; deviceId?: string; lon?: number; lat?: number } = {},
): Promise<TestSensor> {
  const sql = databaseSql(database);
  const kind = options.kind ?? 'water_level';
  counter++;
  const deviceId =
    options.deviceId ?? `t${process.pid % 10000}-${counter}-${Math.random().toString(36).slice(2, 7)}`;
  const secret = newSecret();
  const lon = options.lon ?? 109.19 + (counter % 50) * 0.0005;
  const lat = options.lat ?? 27.72 + (counter % 30) * 0.0005;
  const [row] = await sql.query<{ id: number }>(
    `INSERT INTO sensors (device_id, kind, name, location, secret_hash, grid_cell_id, street_id, district_id, city_id)
     SELECT $1, $2, $3, p.geom, $4, g.id, g.street_id, g.district_id, g.city_id
     FROM (SELECT ST_SetSRID(ST_MakePoint($5::float8, $6::float8), 4326) AS geom) p
     LEFT JOIN LATERAL (SELECT id, street_id, district_id, city_id FROM grid_cells
                        WHERE ST_Covers(grid_cells.geom, p.geom) ORDER BY id LIMIT 1) g ON true
     RETURNING id::float8 AS id`,
    [deviceId, kind, `test ${kind} ${deviceId}`, hashSecret(secret), lon, lat],
  );
  return { id: row!.id, deviceId, kind, secret };
}

export async function makeRule(
  database: Database,
  rule: Partial<Omit<Rule, 'id'>> & Pick<Rule, 'sensorKind' | 'metric' | 'condition' | 'threshold'>,
): Promise<number> {
  const sql = databaseSql(database);
  const [row] = await sql.query<{ id: number }>(
    `INSERT INTO alarm_rules (name, sensor_kind, sensor_id, metric, condition, threshold, threshold_high,
       clear_threshold, clear_threshold_high, hold_seconds, severity, active_from, active_to, opens_case,
       case_category_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::time, $13::time, $14, $15)
     RETURNING id::float8 AS id`,
    [
      rule.name ?? `rule ${rule.sensorKind}.${rule.metric}`,
      rule.sensorKind,
      rule.sensorId ?? null,
      rule.metric,
      rule.condition,
      rule.threshold,
      rule.thresholdHigh ?? null,
      rule.clearThreshold ?? null,
      rule.clearThresholdHigh ?? null,
      rule.holdSeconds ?? 0,
      rule.severity ?? 'WARNING',
      rule.activeFrom ?? null,
      rule.activeTo ?? null,
      rule.opensCase ?? false,
      rule.caseCategoryId ?? null,
    ],
  );
  return row!.id;
}

/** A device's own MQTT connection, signed in with its id and secret. */
export async function devicePublisher(
  broker: TestBroker,
  sensor: { deviceId: string; secret: string },
  extra: IClientOptions = {},
): Promise<MqttClient> {
  return connectClient(broker.url, {
    clientId: sensor.deviceId,
    username: sensor.deviceId,
    password: sensor.secret,
    protocolVersion: broker.protocolVersion,
    ...extra,
  });
}

/** Polls until check returns a value that is not undefined, or fails after timeoutMs. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function count(sql: Sql, query: string, params: unknown[] = []): Promise<number> {
  const [row] = await sql.query<{ n: number }>(`SELECT (${query})::int AS n`, params);
  return row?.n ?? 0;
}
