/**
 * The sensor registry: registering a device (ADMIN; the secret is returned once and only its hash
 * kept), and reading sensors with their latest values and time-bucketed history, always inside
 * the reader's region scope.
 */
import { type Executor, hashSecret, type LonLat, makePoint, newSecret, rows } from '@citygrid/db';
import { type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Actor } from '../auth/actor';
import { type Scope, scopeOf } from '../auth/scope';
import { BadUserInput, Conflict, Forbidden, NotFound, parseInput } from '../errors';
import { type Crs, toWgs84 } from '../geo/crs';
import { locateGridCell } from '../grids/cells';

/** The sensor kinds of the shared constants. */
export const SENSOR_KINDS = [
  'water_level',
  'manhole',
  'air_quality',
  'noise',
  'smoke',
  'streetlight',
] as const;

export type SensorStatus = 'UNKNOWN' | 'ONLINE' | 'OFFLINE';

export interface SensorView {
  id: number;
  deviceId: string;
  kind: string;
  name: string;
  unit: string | null;
  location: LonLat;
  gridCellId: number | null;
  status: SensorStatus;
  lastSeenAt: Date | null;
  /** metric → { value, at } */
  latest: Record<string, { value: number; at: string }>;
}

/**
 * Told about every newly issued device secret, e.g. to add the device to the broker's
 * dynamic-security plugin. Set by the launcher; unset means the broker reads the registry itself.
 */
export interface DeviceCredentialSink {
  addDevice(deviceId: string, secret: string): Promise<void>;
}

export const sensorHooks: { credentials: DeviceCredentialSink | undefined } = { credentials: undefined };

const registerInput = z.object({
  deviceId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'letters, digits, . _ - (at most 64)'),
  kind: z.enum(SENSOR_KINDS),
  name: z.string().trim().min(1).max(200),
  location: z.object({
    lon: z.number().finite().min(-180).max(180),
    lat: z.number().finite().min(-90).max(90),
    crs: z.enum(['WGS84', 'GCJ02', 'BD09']).nullish(),
  }),
  unit: z.string().trim().max(32).nullish(),
});
export type RegisterSensorInput = Omit<z.input<typeof registerInput>, 'kind'> & { kind: string };

function scopeCondition(scope: Scope): SQL {
  switch (scope.level) {
    case 'CITY':
      return sql`s.city_id = ${scope.regionId}`;
    case 'DISTRICT':
      return sql`s.district_id = ${scope.regionId}`;
    case 'STREET':
      return sql`s.street_id = ${scope.regionId}`;
    default:
      // Sensors carry no community id; a community scope sees none.
      return sql`false`;
  }
}

const viewColumns = sql`s.id::float8 AS "id", s.device_id AS "deviceId", s.kind, s.name, s.unit,
  json_build_object('lon', ST_X(s.location), 'lat', ST_Y(s.location)) AS "location",
  s.grid_cell_id::float8 AS "gridCellId", s.status::text AS "status", s.last_seen_at AS "lastSeenAt",
  coalesce((SELECT json_object_agg(l.metric, json_build_object('value', l.value, 'at', l.ts))
            FROM sensor_latest l WHERE l.sensor_id = s.id), '{}'::json) AS "latest"`;

function toView(row: SensorView): SensorView {
  return { ...row, lastSeenAt: row.lastSeenAt ? new Date(row.lastSeenAt) : null };
}

/** Registers a device and issues its secret (shown once). ADMIN only. */
export async function registerSensor(
  db: Executor,
  actor: Actor,
  raw: RegisterSensorInput,
): Promise<{ sensor: SensorView; secret: string }> {
  if (actor.role !== 'ADMIN') throw new Forbidden('only an ADMIN registers sensors');
  const input = parseInput(registerInput, raw);
  const point = toWgs84(input.location, (input.location.crs ?? 'WGS84') as Crs);
  const cell = await locateGridCell(db, point);
  if (!cell)
    throw new BadUserInput('the sensor lies outside every grid cell of the city', { field: 'location' });
  const secret = newSecret();
  const inserted = await rows<{ id: number }>(
    db,
    sql`INSERT INTO sensors (device_id, kind, name, location, unit, grid_cell_id, street_id, district_id, city_id, secret_hash)
        VALUES (${input.deviceId}, ${input.kind}, ${input.name}, ${makePoint(point)}, ${input.unit ?? null},
                ${cell.id}, ${cell.streetId}, ${cell.districtId}, ${cell.cityId}, ${hashSecret(secret)})
        ON CONFLICT (device_id) DO NOTHING
        RETURNING id::float8 AS id`,
  );
  const id = inserted[0]?.id;
  if (id === undefined)
    throw new Conflict(`a sensor with device id ${input.deviceId} exists`, { field: 'deviceId' });
  await sensorHooks.credentials?.addDevice(input.deviceId, secret);
  return { sensor: await getSensor(db, actor, id), secret };
}

export async function getSensor(db: Executor, actor: Actor, id: number): Promise<SensorView> {
  const scope = await scopeOf(db, actor);
  const [row] = await rows<SensorView>(
    db,
    sql`SELECT ${viewColumns} FROM sensors s WHERE s.id = ${id} AND ${scopeCondition(scope)}`,
  );
  if (!row) throw new NotFound(`sensor ${id} not found`);
  return toView(row);
}

export interface SensorFilter {
  kinds?: string[] | null;
  status?: SensorStatus[] | null;
  regionId?: number | null;
  bbox?: { minLon: number; minLat: number; maxLon: number; maxLat: number } | null;
}

/** Sensors in the actor's scope, ordered by id; `after` is the last id seen. */
export async function listSensors(
  db: Executor,
  actor: Actor,
  filter: SensorFilter | null | undefined,
  page: { first: number; after: number | null },
): Promise<{ nodes: SensorView[]; hasNextPage: boolean }> {
  if (!Number.isInteger(page.first) || page.first < 0 || page.first > 1000) {
    throw new BadUserInput('first must be between 0 and 1000', { field: 'first' });
  }
  const scope = await scopeOf(db, actor);
  const conditions: SQL[] = [scopeCondition(scope)];
  if (filter?.kinds?.length)
    conditions.push(sql`s.kind IN (SELECT json_array_elements_text(${JSON.stringify(filter.kinds)}::json))`);
  if (filter?.status?.length) {
    conditions.push(
      sql`s.status::text IN (SELECT json_array_elements_text(${JSON.stringify(filter.status)}::json))`,
    );
  }
  if (filter?.regionId != null) {
    const r = filter.regionId;
    conditions.push(sql`(s.city_id = ${r} OR s.district_id = ${r} OR s.street_id = ${r})`);
  }
  if (filter?.bbox) {
    const b = filter.bbox;
    // `&&` against the envelope uses sensors_location_gist (geometry 4326, degrees).
    conditions.push(
      sql`s.location && ST_MakeEnvelope(${b.minLon}::float8, ${b.minLat}::float8, ${b.maxLon}::float8, ${b.maxLat}::float8, 4326)`,
    );
  }
  if (page.after !== null) conditions.push(sql`s.id > ${page.after}`);
  const found = await rows<SensorView>(
    db,
    sql`SELECT ${viewColumns} FROM sensors s WHERE ${sql.join(conditions, sql` AND `)}
        ORDER BY s.id LIMIT ${page.first + 1}`,
  );
  const hasNextPage = found.length > page.first;
  return { nodes: (hasNextPage ? found.slice(0, page.first) : found).map(toView), hasNextPage };
}

export interface ReadingBucket {
  at: Date;
  min: number;
  max: number;
  avg: number;
  count: number;
}

/** Raw readings are kept this long (matches the ingest side's retention default). */
export const RAW_RETENTION_DAYS = 30;
const MAX_BUCKETS = 5000;

/**
 * Time buckets of one metric. Raw readings answer recent, short ranges; ranges that reach past
 * the raw retention or span more than a week, with whole-hour buckets, come from readings_hourly.
 */
export async function sensorReadings(
  db: Executor,
  actor: Actor,
  args: { sensorId: number; metric: string; from: Date; to: Date; bucketSeconds?: number | null },
  now = new Date(),
): Promise<{ source: 'raw' | 'hourly'; buckets: ReadingBucket[] }> {
  const sensor = await getSensor(db, actor, args.sensorId);
  const span = args.to.getTime() - args.from.getTime();
  if (!(span > 0)) throw new BadUserInput('`to` must be after `from`', { field: 'to' });
  const bucket = args.bucketSeconds ?? Math.max(60, Math.ceil(span / 1000 / 500 / 60) * 60);
  if (!Number.isInteger(bucket) || bucket < 1)
    throw new BadUserInput('bucketSeconds must be a positive integer');
  if (span / 1000 / bucket > MAX_BUCKETS)
    throw new BadUserInput(`at most ${MAX_BUCKETS} buckets`, { field: 'bucketSeconds' });
  const reachesPastRaw = args.from.getTime() < now.getTime() - RAW_RETENTION_DAYS * 86_400_000;
  const hourly = bucket % 3600 === 0 && (reachesPastRaw || span > 7 * 86_400_000);
  const from = args.from.toISOString();
  const to = args.to.toISOString();
  // Both read through their primary keys (sensor_id, metric, ts|hour): an index range scan.
  const found = hourly
    ? await rows<ReadingBucket>(
        db,
        sql`SELECT to_timestamp(floor(extract(epoch FROM hour) / ${bucket}) * ${bucket}) AS "at",
                   min(min) AS "min", max(max) AS "max", (sum(sum) / sum(count))::float8 AS "avg",
                   sum(count)::int AS "count"
            FROM readings_hourly
            WHERE sensor_id = ${sensor.id} AND metric = ${args.metric} AND hour >= ${from}::timestamptz AND hour < ${to}::timestamptz
            GROUP BY 1 ORDER BY 1`,
      )
    : await rows<ReadingBucket>(
        db,
        sql`SELECT to_timestamp(floor(extract(epoch FROM ts) / ${bucket}) * ${bucket}) AS "at",
                   min(value) AS "min", max(value) AS "max", avg(value)::float8 AS "avg", count(*)::int AS "count"
            FROM readings
            WHERE sensor_id = ${sensor.id} AND metric = ${args.metric} AND ts >= ${from}::timestamptz AND ts < ${to}::timestamptz
            GROUP BY 1 ORDER BY 1`,
      );
  return { source: hourly ? 'hourly' : 'raw', buckets: found.map((b) => ({ ...b, at: new Date(b.at) })) };
}
