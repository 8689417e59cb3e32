/**
 * Device presence: a sensor is ONLINE while it talks, OFFLINE after its kind's inactivity
 * timeout, after its last will, or when its retained status says so. Going offline raises an
 * OFFLINE alarm; coming back clears it.
 */
import { SENSOR_KINDS } from './kinds';
import { clearAlarm, openAlarmId, raiseAlarm } from './rules/alarm-store';
import type { Sql } from './sql';

const TIMEOUTS_JSON = JSON.stringify(
  Object.entries(SENSOR_KINDS).map(([kind, spec]) => ({ kind, seconds: spec.offlineAfterSeconds })),
);
/** Kinds without an entry in SENSOR_KINDS. */
const DEFAULT_TIMEOUT_SECONDS = 900;

/** A sensor's `last_seen_at` is written at most this often while it talks. */
export const SEEN_EVERY_MS = 5_000;

/**
 * The sensors this worker marked seen in the last SEEN_EVERY_MS, which markSeen would skip anyway:
 * left out of its statement, a batch of busy sensors sends none (the statement was a probe per
 * sensor per batch). A status message (a device connecting or leaving) forgets them all, so a
 * sensor set OFFLINE by its last will is set ONLINE by its next reading at once; the inactivity
 * timeouts are minutes, far longer than the window.
 */
export class SeenMarks {
  private readonly markedAt = new Map<number, number>();

  /** The ids not marked by this worker since `now` − SEEN_EVERY_MS. */
  due(sensorIds: readonly number[], now: number): number[] {
    return sensorIds.filter((id) => {
      const at = this.markedAt.get(id);
      return at === undefined || at <= now - SEEN_EVERY_MS;
    });
  }

  /** After commit: these were marked (or found marked by another) at `now`. */
  record(sensorIds: readonly number[], now: number): void {
    for (const id of sensorIds) this.markedAt.set(id, now);
  }

  clear(): void {
    this.markedAt.clear();
  }
}

/**
 * Marks sensors heard from now. Skips rows touched in the last SEEN_EVERY_MS, so a busy sensor
 * costs one row update per few seconds, not per message. Returns the ids that were OFFLINE.
 */
export async function markSeen(tx: Sql, sensorIds: readonly number[], now: number): Promise<number[]> {
  if (sensorIds.length === 0) return [];
  const sorted = [...new Set(sensorIds)].sort((a, b) => a - b);
  const back = await tx.query<{ id: number }>(
    `WITH target AS (
       SELECT s.id, s.status FROM sensors s
       WHERE s.id IN (SELECT (json_array_elements_text($1::json))::bigint)
         AND (s.status <> 'ONLINE' OR s.last_seen_at IS NULL
              OR s.last_seen_at <= to_timestamp(0) + ($2::float8 - $3::float8) * interval '1 millisecond')
       ORDER BY s.id FOR UPDATE
     ), upd AS (
       UPDATE sensors s SET status = 'ONLINE',
              last_seen_at = greatest(s.last_seen_at, to_timestamp(0) + $2::float8 * interval '1 millisecond')
       FROM target WHERE s.id = target.id
     )
     SELECT id::float8 AS id FROM target WHERE status = 'OFFLINE'`,
    [JSON.stringify(sorted), now, SEEN_EVERY_MS],
  );
  const ids = back.map((r) => r.id);
  for (const id of ids) await clearOffline(tx, id, now);
  return ids;
}

async function clearOffline(tx: Sql, sensorId: number, now: number) {
  const alarmId = await openAlarmId(tx, sensorId, null, 'OFFLINE');
  if (alarmId !== undefined) await clearAlarm(tx, alarmId, now, null, 'back online');
}

async function raiseOffline(tx: Sql, sensorId: number, now: number) {
  await raiseAlarm(tx, {
    sensorId,
    ruleId: null,
    kind: 'OFFLINE',
    metric: null,
    severity: 'WARNING',
    at: now,
    value: null,
    opensCase: false,
    caseCategoryId: null,
  });
}

/** Applies a retained status message or a last will. Returns false for an unknown device. */
export async function applyStatus(tx: Sql, deviceId: string, online: boolean, now: number): Promise<boolean> {
  const rows = await tx.query<{ id: number; was: string }>(
    `WITH prev AS (SELECT id, status FROM sensors WHERE device_id = $1 FOR UPDATE)
     UPDATE sensors s SET status = $2::sensor_status,
            last_seen_at = CASE WHEN $2 = 'ONLINE'
                             THEN greatest(s.last_seen_at, to_timestamp(0) + $3::float8 * interval '1 millisecond')
                             ELSE s.last_seen_at END
     FROM prev WHERE s.id = prev.id
     RETURNING s.id::float8 AS id, prev.status::text AS was`,
    [deviceId, online ? 'ONLINE' : 'OFFLINE', now],
  );
  const row = rows[0];
  if (!row) return false;
  if (online && row.was === 'OFFLINE') await clearOffline(tx, row.id, now);
  if (!online && row.was !== 'OFFLINE') await raiseOffline(tx, row.id, now);
  return true;
}

/**
 * Marks sensors silent for longer than their kind's timeout as OFFLINE and raises their alarms.
 * Returns the ids that went offline.
 */
export async function sweepOffline(tx: Sql, now: number): Promise<number[]> {
  const rows = await tx.query<{ id: number }>(
    `UPDATE sensors s SET status = 'OFFLINE'
     FROM sensors s0
     LEFT JOIN json_to_recordset($1::json) AS t(kind text, seconds int) ON t.kind = s0.kind
     WHERE s.id = s0.id AND s0.status = 'ONLINE' AND s0.last_seen_at IS NOT NULL
       AND s0.last_seen_at < to_timestamp(0) + $2::float8 * interval '1 millisecond'
                              - make_interval(secs => coalesce(t.seconds, $3))
     RETURNING s.id::float8 AS id`,
    [TIMEOUTS_JSON, now, DEFAULT_TIMEOUT_SECONDS],
  );
  const ids = rows.map((r) => r.id).sort((a, b) => a - b);
  for (const id of ids) await raiseOffline(tx, id, now);
  return ids;
}
