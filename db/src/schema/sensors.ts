/**
 * Sensors, their readings (time-partitioned, deduplicated on sensor+metric+ts), latest values,
 * alarm rules and alarms, and the messages the ingester refused.
 *
 * `readings` and `readings_hourly` are declared here for typed queries; their DDL (declarative
 * partitioning) is hand-written in the migrations, which drizzle-kit cannot express.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  customType,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  time,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { pointColumn } from '../spatial';
import { categories } from './categories';
import { alarmCondition, alarmKind, alarmSeverity, alarmStatus, sensorStatus } from './enums';
import { users } from './people';
import { gridCells } from './places';

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });

export const sensors = pgTable(
  'sensors',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    deviceId: text().notNull(),
    /** water_level | manhole | air_quality | noise | smoke | streetlight … */
    kind: text().notNull(),
    name: text().notNull(),
    location: pointColumn().notNull(),
    unit: text(),
    gridCellId: bigint({ mode: 'number' }).references(() => gridCells.id),
    streetId: bigint({ mode: 'number' }),
    districtId: bigint({ mode: 'number' }),
    cityId: bigint({ mode: 'number' }),
    /** argon2 hash of the device secret; the secret itself is shown once at registration. */
    secretHash: text().notNull(),
    status: sensorStatus().notNull().default('UNKNOWN'),
    lastSeenAt: timestamp({ withTimezone: true }),
    meta: jsonb().$type<Record<string, unknown>>().notNull().default({}),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('sensors_device_id_key').on(t.deviceId),
    index('sensors_kind_idx').on(t.kind),
    index('sensors_district_idx').on(t.districtId),
    index('sensors_location_gist').using('gist', t.location),
  ],
);

/** Partitioned by range on `ts` (daily); see migrations. */
export const readings = pgTable(
  'readings',
  {
    sensorId: bigint({ mode: 'number' }).notNull(),
    metric: text().notNull(),
    ts: timestamp({ withTimezone: true }).notNull(),
    value: doublePrecision().notNull(),
    seq: bigint({ mode: 'number' }),
    receivedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.sensorId, t.metric, t.ts] })],
);

/** Hourly aggregates, kept longer than raw readings. */
export const readingsHourly = pgTable(
  'readings_hourly',
  {
    sensorId: bigint({ mode: 'number' }).notNull(),
    metric: text().notNull(),
    hour: timestamp({ withTimezone: true }).notNull(),
    min: doublePrecision().notNull(),
    max: doublePrecision().notNull(),
    sum: doublePrecision().notNull(),
    count: integer().notNull(),
  },
  (t) => [primaryKey({ columns: [t.sensorId, t.metric, t.hour] })],
);

/** Latest value per sensor and metric; only a newer reading replaces it. */
export const sensorLatest = pgTable(
  'sensor_latest',
  {
    sensorId: bigint({ mode: 'number' })
      .notNull()
      .references(() => sensors.id, { onDelete: 'cascade' }),
    metric: text().notNull(),
    value: doublePrecision().notNull(),
    ts: timestamp({ withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.sensorId, t.metric] })],
);

export const alarmRules = pgTable(
  'alarm_rules',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    name: text().notNull(),
    sensorKind: text().notNull(),
    /** A per-sensor override; null applies the rule to every sensor of the kind. */
    sensorId: bigint({ mode: 'number' }).references(() => sensors.id, { onDelete: 'cascade' }),
    metric: text().notNull(),
    condition: alarmCondition().notNull(),
    /** ABOVE/BELOW: the threshold; OUTSIDE: the band's low edge. */
    threshold: doublePrecision().notNull(),
    /** OUTSIDE: the band's high edge. */
    thresholdHigh: doublePrecision(),
    /** Hysteresis: the alarm clears only past these (defaults to the raise thresholds). */
    clearThreshold: doublePrecision(),
    clearThresholdHigh: doublePrecision(),
    holdSeconds: integer().notNull().default(0),
    severity: alarmSeverity().notNull(),
    activeFrom: time(),
    activeTo: time(),
    opensCase: boolean().notNull().default(false),
    caseCategoryId: bigint({ mode: 'number' }).references(() => categories.id),
    enabled: boolean().notNull().default(true),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('alarm_rules_kind_metric_idx').on(t.sensorKind, t.metric)],
);

/** Per sensor and rule: since when its condition has held (for hold durations). */
export const alarmRuleState = pgTable(
  'alarm_rule_state',
  {
    sensorId: bigint({ mode: 'number' })
      .notNull()
      .references(() => sensors.id, { onDelete: 'cascade' }),
    ruleId: bigint({ mode: 'number' })
      .notNull()
      .references(() => alarmRules.id, { onDelete: 'cascade' }),
    breachSince: timestamp({ withTimezone: true }),
    lastTs: timestamp({ withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.sensorId, t.ruleId] })],
);

export const alarms = pgTable(
  'alarms',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    sensorId: bigint({ mode: 'number' })
      .notNull()
      .references(() => sensors.id, { onDelete: 'cascade' }),
    ruleId: bigint({ mode: 'number' }).references(() => alarmRules.id, { onDelete: 'set null' }),
    kind: alarmKind().notNull(),
    metric: text(),
    severity: alarmSeverity().notNull(),
    status: alarmStatus().notNull().default('ACTIVE'),
    startedAt: timestamp({ withTimezone: true }).notNull(),
    acknowledgedAt: timestamp({ withTimezone: true }),
    acknowledgedById: bigint({ mode: 'number' }).references(() => users.id),
    clearedAt: timestamp({ withTimezone: true }),
    peakValue: doublePrecision(),
    lastValue: doublePrecision(),
    count: integer().notNull().default(1),
    opensCase: boolean().notNull().default(false),
    caseCategoryId: bigint({ mode: 'number' }).references(() => categories.id),
    caseId: bigint({ mode: 'number' }),
  },
  (t) => [
    // At most one open (not cleared) alarm per sensor, rule and kind.
    uniqueIndex('alarms_one_open_key')
      .on(t.sensorId, sql`coalesce(${t.ruleId}, 0)`, t.kind)
      .where(sql`${t.status} <> 'CLEARED'`),
    index('alarms_status_idx').on(t.status, t.startedAt),
    // The alarm→case reactor's catch-up scan.
    index('alarms_pending_case_idx').on(t.id).where(sql`${t.opensCase} and ${t.caseId} is null`),
  ],
);

export const alarmEvents = pgTable(
  'alarm_events',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    alarmId: bigint({ mode: 'number' })
      .notNull()
      .references(() => alarms.id, { onDelete: 'cascade' }),
    action: text().notNull(),
    value: doublePrecision(),
    actorId: bigint({ mode: 'number' }).references(() => users.id),
    note: text(),
    at: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('alarm_events_alarm_idx').on(t.alarmId, t.at)],
);

/** Messages the ingester refused, with the reason; they never stop the pipeline. */
export const rejectedMessages = pgTable(
  'rejected_messages',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    receivedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    topic: text().notNull(),
    deviceId: text(),
    reason: text().notNull(),
    detail: text(),
    /** The first bytes of the payload (capped), for diagnosis. */
    payload: bytea(),
  },
  (t) => [
    index('rejected_messages_received_idx').on(t.receivedAt),
    index('rejected_messages_reason_idx').on(t.reason),
  ],
);

export type Sensor = typeof sensors.$inferSelect;
export type AlarmRule = typeof alarmRules.$inferSelect;
export type Alarm = typeof alarms.$inferSelect;
