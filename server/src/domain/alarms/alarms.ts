/**
 * Reading and acknowledging alarms. Raising and clearing belong to the ingest side (iot/); here a
 * commander acknowledges (ACTIVE → ACKNOWLEDGED), with an event and a notification.
 */
import { type Executor, rows } from '@citygrid/db';
import { type SQL, sql } from 'drizzle-orm';
import type { Actor } from '../auth/actor';
import { type Scope, scopeOf } from '../auth/scope';
import { BadUserInput, Forbidden, InvalidTransition, NotFound } from '../errors';

export type AlarmStatus = 'ACTIVE' | 'ACKNOWLEDGED' | 'CLEARED';
export type AlarmSeverity = 'INFO' | 'WARNING' | 'CRITICAL';

export interface AlarmView {
  id: number;
  sensorId: number;
  ruleId: number | null;
  kind: 'THRESHOLD' | 'OFFLINE';
  metric: string | null;
  severity: AlarmSeverity;
  status: AlarmStatus;
  startedAt: Date;
  acknowledgedAt: Date | null;
  clearedAt: Date | null;
  peakValue: number | null;
  lastValue: number | null;
  count: number;
  caseId: number | null;
  /** For the region filter of subscriptions. */
  districtId: number | null;
  streetId: number | null;
  cityId: number | null;
}

export interface AlarmRuleView {
  id: number;
  name: string;
  sensorKind: string;
  metric: string;
  condition: 'ABOVE' | 'BELOW' | 'OUTSIDE';
  threshold: number;
  thresholdHigh: number | null;
  clearThreshold: number | null;
  clearThresholdHigh: number | null;
  holdSeconds: number;
  severity: AlarmSeverity;
  activeFrom: string | null;
  activeTo: string | null;
  opensCase: boolean;
}

const columns = sql`a.id::float8 AS "id", a.sensor_id::float8 AS "sensorId", a.rule_id::float8 AS "ruleId",
  a.kind::text AS "kind", a.metric, a.severity::text AS "severity", a.status::text AS "status",
  a.started_at AS "startedAt", a.acknowledged_at AS "acknowledgedAt", a.cleared_at AS "clearedAt",
  a.peak_value AS "peakValue", a.last_value AS "lastValue", a.count, a.case_id::float8 AS "caseId",
  s.district_id::float8 AS "districtId", s.street_id::float8 AS "streetId", s.city_id::float8 AS "cityId"`;

function scopeCondition(scope: Scope): SQL {
  if (scope.level === 'CITY') return sql`s.city_id = ${scope.regionId}`;
  if (scope.level === 'DISTRICT') return sql`s.district_id = ${scope.regionId}`;
  if (scope.level === 'STREET') return sql`s.street_id = ${scope.regionId}`;
  return sql`false`;
}

const toView = (r: AlarmView): AlarmView => ({
  ...r,
  startedAt: new Date(r.startedAt),
  acknowledgedAt: r.acknowledgedAt ? new Date(r.acknowledgedAt) : null,
  clearedAt: r.clearedAt ? new Date(r.clearedAt) : null,
});

export async function getAlarm(db: Executor, actor: Actor, id: number): Promise<AlarmView> {
  const scope = await scopeOf(db, actor);
  const [row] = await rows<AlarmView>(
    db,
    sql`SELECT ${columns} FROM alarms a JOIN sensors s ON s.id = a.sensor_id
        WHERE a.id = ${id} AND ${scopeCondition(scope)}`,
  );
  if (!row) throw new NotFound(`alarm ${id} not found`);
  return toView(row);
}

/** An alarm by id without a scope check, for notifications fanned out to subscribers. */
export async function alarmById(db: Executor, id: number): Promise<AlarmView | undefined> {
  const [row] = await rows<AlarmView>(
    db,
    sql`SELECT ${columns} FROM alarms a JOIN sensors s ON s.id = a.sensor_id WHERE a.id = ${id}`,
  );
  return row ? toView(row) : undefined;
}

export interface AlarmFilter {
  status?: AlarmStatus[] | null;
  severity?: AlarmSeverity[] | null;
  regionId?: number | null;
}

/** Alarms in scope, newest first; `after` is the last id seen. */
export async function listAlarms(
  db: Executor,
  actor: Actor,
  filter: AlarmFilter | null | undefined,
  page: { first: number; after: number | null },
): Promise<{ nodes: AlarmView[]; hasNextPage: boolean }> {
  if (!Number.isInteger(page.first) || page.first < 0 || page.first > 1000) {
    throw new BadUserInput('first must be between 0 and 1000', { field: 'first' });
  }
  const scope = await scopeOf(db, actor);
  const conditions: SQL[] = [scopeCondition(scope)];
  if (filter?.status?.length) {
    conditions.push(
      sql`a.status::text IN (SELECT json_array_elements_text(${JSON.stringify(filter.status)}::json))`,
    );
  }
  if (filter?.severity?.length) {
    conditions.push(
      sql`a.severity::text IN (SELECT json_array_elements_text(${JSON.stringify(filter.severity)}::json))`,
    );
  }
  if (filter?.regionId != null) {
    const r = filter.regionId;
    conditions.push(sql`(s.city_id = ${r} OR s.district_id = ${r} OR s.street_id = ${r})`);
  }
  if (page.after !== null) conditions.push(sql`a.id < ${page.after}`);
  const found = await rows<AlarmView>(
    db,
    sql`SELECT ${columns} FROM alarms a JOIN sensors s ON s.id = a.sensor_id
        WHERE ${sql.join(conditions, sql` AND `)} ORDER BY a.id DESC LIMIT ${page.first + 1}`,
  );
  const hasNextPage = found.length > page.first;
  return { nodes: (hasNextPage ? found.slice(0, page.first) : found).map(toView), hasNextPage };
}

export async function alarmRulesByIds(db: Executor, ids: readonly number[]): Promise<AlarmRuleView[]> {
  if (ids.length === 0) return [];
  return rows<AlarmRuleView>(
    db,
    sql`SELECT id::float8 AS "id", name, sensor_kind AS "sensorKind", metric, condition::text AS "condition",
               threshold, threshold_high AS "thresholdHigh", clear_threshold AS "clearThreshold",
               clear_threshold_high AS "clearThresholdHigh", hold_seconds AS "holdSeconds",
               severity::text AS "severity", active_from::text AS "activeFrom", active_to::text AS "activeTo",
               opens_case AS "opensCase"
        FROM alarm_rules WHERE id IN (SELECT json_array_elements_text(${JSON.stringify(ids)}::json)::bigint)`,
  );
}

const ACKNOWLEDGING_ROLES: readonly Actor['role'][] = ['COMMANDER', 'ADMIN'];

/** ACTIVE → ACKNOWLEDGED; acknowledging twice is a no-op; a cleared alarm cannot be acknowledged. */
export async function acknowledgeAlarm(db: Executor, actor: Actor, id: number): Promise<AlarmView> {
  if (!ACKNOWLEDGING_ROLES.includes(actor.role))
    throw new Forbidden(`a ${actor.role} may not acknowledge alarms`);
  const alarm = await getAlarm(db, actor, id);
  if (alarm.status === 'ACKNOWLEDGED') return alarm;
  if (alarm.status === 'CLEARED') throw new InvalidTransition(`alarm ${id} is already cleared`);
  const updated = await rows<{
    id: number;
    sensorId: number;
    ruleId: number | null;
    kind: string;
    opensCase: boolean;
  }>(
    db,
    sql`WITH upd AS (
          UPDATE alarms SET status = 'ACKNOWLEDGED', acknowledged_at = now(), acknowledged_by_id = ${actor.id}
          WHERE id = ${id} AND status = 'ACTIVE'
          RETURNING id, sensor_id, rule_id, kind, opens_case),
        ev AS (INSERT INTO alarm_events (alarm_id, action, actor_id) SELECT id, 'ACKNOWLEDGED', ${actor.id} FROM upd)
        SELECT id::float8 AS "id", sensor_id::float8 AS "sensorId", rule_id::float8 AS "ruleId", kind::text AS "kind",
               opens_case AS "opensCase" FROM upd`,
  );
  const row = updated[0];
  if (!row) return getAlarm(db, actor, id); // cleared or acknowledged meanwhile
  await db.execute(
    sql`SELECT pg_notify('citygrid_alarm', ${JSON.stringify({ ...row, action: 'ACKNOWLEDGED' })})`,
  );
  return getAlarm(db, actor, id);
}
