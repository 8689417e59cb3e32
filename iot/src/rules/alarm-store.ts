/**
 * Alarm rows: raise, repeat, clear, with their events and a `pg_notify('citygrid_alarm', …)`
 * written in the caller's transaction, so listeners hear of an alarm only once it is committed.
 */
import type { Sql } from '../sql';
import type { Severity } from './evaluate';

export const ALARM_CHANNEL = 'citygrid_alarm';

export type AlarmAction = 'RAISED' | 'CLEARED' | 'ACKNOWLEDGED';

/** The JSON payload on the `citygrid_alarm` channel. */
export interface AlarmNotice {
  id: number;
  sensorId: number;
  ruleId: number | null;
  kind: 'THRESHOLD' | 'OFFLINE';
  action: AlarmAction;
  opensCase: boolean;
}

export interface NewAlarm {
  sensorId: number;
  ruleId: number | null;
  kind: 'THRESHOLD' | 'OFFLINE';
  metric: string | null;
  severity: Severity;
  /** Epoch ms. */
  at: number;
  value: number | null;
  opensCase: boolean;
  caseCategoryId: number | null;
}

const msToTs = (param: string) => `(to_timestamp(0) + ${param}::float8 * interval '1 millisecond')`;

/**
 * Opens an alarm unless one is already open for the sensor, rule and kind (the partial unique
 * index decides); returns the new alarm's id, or undefined when one was open already.
 */
export async function raiseAlarm(tx: Sql, a: NewAlarm): Promise<number | undefined> {
  const inserted = await tx.query<{ id: number }>(
    `INSERT INTO alarms (sensor_id, rule_id, kind, metric, severity, status, started_at,
                         peak_value, last_value, count, opens_case, case_category_id)
     VALUES ($1, $2, $3, $4, $5, 'ACTIVE', ${msToTs('$6')}, $7, $7, 1, $8, $9)
     ON CONFLICT (sensor_id, (coalesce(rule_id, 0)), kind) WHERE status <> 'CLEARED' DO NOTHING
     RETURNING id::float8 AS id`,
    [a.sensorId, a.ruleId, a.kind, a.metric, a.severity, a.at, a.value, a.opensCase, a.caseCategoryId],
  );
  const id = inserted[0]?.id;
  if (id === undefined) return undefined;
  await addEvent(tx, id, 'RAISED', a.value, a.at);
  await notify(tx, {
    id,
    sensorId: a.sensorId,
    ruleId: a.ruleId,
    kind: a.kind,
    action: 'RAISED',
    opensCase: a.opensCase,
  });
  return id;
}

/** Finds the open alarm of a sensor, rule and kind. */
export async function openAlarmId(
  tx: Sql,
  sensorId: number,
  ruleId: number | null,
  kind: 'THRESHOLD' | 'OFFLINE',
): Promise<number | undefined> {
  const found = await tx.query<{ id: number }>(
    `SELECT id::float8 AS id FROM alarms
     WHERE sensor_id = $1 AND coalesce(rule_id, 0) = coalesce($2::bigint, 0) AND kind = $3
       AND status <> 'CLEARED'`,
    [sensorId, ruleId, kind],
  );
  return found[0]?.id;
}

export interface Repeat {
  alarmId: number;
  count: number;
  /** The worst value among the repeats; merged with the stored peak by `direction`. */
  peak: number;
  last: number;
  direction: 'max' | 'min' | 'abs';
}

/** Bumps count, peak and last value of open alarms, in one statement for the whole batch. */
export async function recordRepeats(tx: Sql, repeats: readonly Repeat[]): Promise<void> {
  if (repeats.length === 0) return;
  const sorted = [...repeats].sort((a, b) => a.alarmId - b.alarmId);
  await tx.query(
    `UPDATE alarms a SET count = a.count + r.count, last_value = r.last,
       peak_value = CASE r.direction
         WHEN 'max' THEN greatest(a.peak_value, r.peak)
         WHEN 'min' THEN least(a.peak_value, r.peak)
         ELSE r.peak END
     FROM json_to_recordset($1::json) AS r(alarm_id bigint, count int, peak float8, last float8, direction text)
     WHERE a.id = r.alarm_id AND a.status <> 'CLEARED'`,
    [JSON.stringify(sorted.map((r) => ({ ...r, alarm_id: r.alarmId })))],
  );
}

/** Clears an open alarm; returns whether it was open. */
export async function clearAlarm(
  tx: Sql,
  alarmId: number,
  at: number,
  value: number | null,
  note?: string,
): Promise<boolean> {
  const cleared = await tx.query<{
    sensor_id: number;
    rule_id: number | null;
    kind: 'THRESHOLD' | 'OFFLINE';
    opens_case: boolean;
  }>(
    `UPDATE alarms SET status = 'CLEARED', cleared_at = ${msToTs('$2')}, last_value = coalesce($3, last_value)
     WHERE id = $1 AND status <> 'CLEARED'
     RETURNING sensor_id::float8 AS sensor_id, rule_id::float8 AS rule_id, kind, opens_case`,
    [alarmId, at, value],
  );
  const row = cleared[0];
  if (!row) return false;
  await addEvent(tx, alarmId, 'CLEARED', value, at, note);
  await notify(tx, {
    id: alarmId,
    sensorId: row.sensor_id,
    ruleId: row.rule_id,
    kind: row.kind,
    action: 'CLEARED',
    opensCase: row.opens_case,
  });
  return true;
}

async function addEvent(
  tx: Sql,
  alarmId: number,
  action: AlarmAction,
  value: number | null,
  at: number,
  note?: string,
) {
  await tx.query(
    `INSERT INTO alarm_events (alarm_id, action, value, note, at) VALUES ($1, $2, $3, $4, ${msToTs('$5')})`,
    [alarmId, action, value, note ?? null, at],
  );
}

export async function notify(tx: Sql, notice: AlarmNotice): Promise<void> {
  await tx.query('SELECT pg_notify($1, $2)', [ALARM_CHANNEL, JSON.stringify(notice)]);
}
