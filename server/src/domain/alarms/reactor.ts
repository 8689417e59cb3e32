/**
 * The alarm → case reactor: a newly raised alarm whose rule asks for a case gets exactly one case
 * (source SENSOR, at the sensor's location, in the rule's category). It reacts to
 * `citygrid_alarm` notifications and, at start, catches up on alarms raised while it was down.
 *
 * Exactly once: the report goes through `submitReport` with the idempotency key `alarm:<id>`
 * (a repeat returns the first case) and `cases.alarm_id` is unique; the alarm then points at its
 * case. A crash between the two is healed by the next catch-up, which finds the same case.
 */
import { type Database, type Db, rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { submitReport } from '../cases/report';
import { DomainError } from '../errors';

export const ALARM_CHANNEL = 'citygrid_alarm';

interface PendingAlarm {
  id: number;
  caseId: number | null;
  opensCase: boolean;
  categoryCode: string | null;
  severity: 'INFO' | 'WARNING' | 'CRITICAL';
  metric: string | null;
  peakValue: number | null;
  startedAt: string;
  deviceId: string;
  sensorName: string;
  kind: string;
  lon: number;
  lat: number;
  ruleName: string | null;
}

/**
 * Opens the case for one alarm if its rule asks for one and it has none yet; returns the case id
 * (existing or new), or undefined when the alarm opens no case.
 */
export async function openCaseForAlarm(
  db: Db,
  alarmId: number,
  now = new Date(),
): Promise<number | undefined> {
  const [a] = await rows<PendingAlarm>(
    db,
    sql`SELECT a.id::float8 AS "id", a.case_id::float8 AS "caseId", a.opens_case AS "opensCase",
               c.code AS "categoryCode", a.severity, a.metric, a.peak_value AS "peakValue",
               a.started_at::text AS "startedAt", s.device_id AS "deviceId", s.name AS "sensorName", s.kind,
               ST_X(s.location) AS lon, ST_Y(s.location) AS lat, r.name AS "ruleName"
        FROM alarms a
        JOIN sensors s ON s.id = a.sensor_id
        LEFT JOIN categories c ON c.id = a.case_category_id
        LEFT JOIN alarm_rules r ON r.id = a.rule_id
        WHERE a.id = ${alarmId}`,
  );
  if (!a?.opensCase) return undefined;
  if (a.caseId !== null) return a.caseId;
  if (!a.categoryCode) throw new AlarmWithoutCategory(alarmId);
  const description =
    `Sensor ${a.deviceId} (${a.sensorName}): ${a.ruleName ?? a.kind} — ` +
    `${a.metric ?? 'value'} ${a.peakValue ?? ''} since ${a.startedAt}`.trim();
  const { caseId } = await submitReport(
    db,
    { source: 'SENSOR', reporterId: null, alarmId },
    {
      idempotencyKey: `alarm:${alarmId}`,
      categoryCode: a.categoryCode,
      description,
      location: { lon: a.lon, lat: a.lat },
      priority: a.severity === 'CRITICAL' ? 'URGENT' : null,
    },
    now,
  );
  await db.execute(sql`UPDATE alarms SET case_id = ${caseId} WHERE id = ${alarmId} AND case_id IS NULL`);
  return caseId;
}

export class AlarmWithoutCategory extends Error {
  constructor(readonly alarmId: number) {
    super(`alarm ${alarmId} asks for a case but its rule names no category`);
  }
}

/** Alarms that asked for a case and have none (uses the partial index alarms_pending_case_idx). */
export async function pendingCaseAlarms(db: Db): Promise<number[]> {
  const found = await rows<{ id: number }>(
    db,
    sql`SELECT id::float8 AS id FROM alarms WHERE opens_case AND case_id IS NULL ORDER BY id`,
  );
  return found.map((r) => r.id);
}

export interface AlarmReactor {
  /** Opens cases for every pending alarm; returns how many cases it opened or linked. */
  catchUp(): Promise<number>;
  close(): Promise<void>;
}

/** Starts listening, then catches up; resolves once the catch-up is done. */
export async function startAlarmReactor(options: {
  database: Database;
  logger: Logger;
}): Promise<AlarmReactor> {
  const { database } = options;
  const logger = options.logger.child({ module: 'alarm-reactor' });
  const db = database.db;
  // One at a time: the queue keeps case reports in alarm order and the pool free for requests.
  let queue: Promise<unknown> = Promise.resolve();
  const failed = new Set<number>();
  const handle = (alarmId: number) => {
    queue = queue.then(async () => {
      try {
        const caseId = await openCaseForAlarm(db, alarmId);
        if (caseId !== undefined) logger.info({ alarmId, caseId }, 'alarm case opened');
        failed.delete(alarmId);
      } catch (err) {
        // Logged once per alarm; the next catch-up retries it.
        if (!failed.has(alarmId)) {
          const message =
            err instanceof DomainError || err instanceof AlarmWithoutCategory ? err.message : String(err);
          logger.warn({ alarmId, err: message }, 'could not open a case for the alarm');
        }
        failed.add(alarmId);
      }
    });
    return queue;
  };
  const unlisten = await database.listen(ALARM_CHANNEL, (payload) => {
    try {
      const notice = JSON.parse(payload) as { id?: number; action?: string; opensCase?: boolean };
      if (notice.action === 'RAISED' && notice.opensCase && typeof notice.id === 'number')
        void handle(notice.id);
    } catch {
      logger.warn('unreadable alarm notification');
    }
  });
  const catchUp = async () => {
    const ids = await pendingCaseAlarms(db);
    for (const id of ids) await handle(id);
    const still = await pendingCaseAlarms(db);
    return ids.length - still.filter((id) => ids.includes(id)).length;
  };
  const opened = await catchUp();
  if (opened > 0) logger.info({ opened }, 'caught up on alarms raised while down');
  // Notifications can be lost while the listener reconnects; a slow sweep covers that gap.
  const sweep = setInterval(() => void catchUp().catch(() => {}), 60_000);
  sweep.unref();
  return {
    catchUp,
    async close() {
      clearInterval(sweep);
      await unlisten();
      await queue;
    },
  };
}
