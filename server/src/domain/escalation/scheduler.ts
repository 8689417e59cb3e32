/**
 * Escalation (督办): every few seconds, inside each server instance, cases whose running deadline
 * has passed are marked escalated — an ESCALATE event (version bump), priority raised one step
 * (NORMAL → HIGH → URGENT), `escalated_at` — and announced on `citygrid_case` like any change.
 *
 * Safe with several instances: a pass runs in one transaction that first takes
 * `pg_try_advisory_xact_lock(ESCALATION_LOCK)`; an instance that does not get it does nothing this
 * time. The candidates are also locked row by row (`FOR UPDATE SKIP LOCKED`, so a case being
 * transitioned right now waits for the next pass) and re-checked by the UPDATE, so a case is
 * escalated once per deadline it crosses: again only when a later deadline (a new stage, or a new
 * handling limit after rework) passes too. A held case's clock is stopped: it is never escalated.
 */
import { type Db, rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { CASE_CHANNEL } from '../cases/notify';

/** Arbitrary but fixed: the advisory lock key every instance contends for. */
export const ESCALATION_LOCK = 4_242_001;
/** Cases escalated per pass at most (the rest wait for the next pass), to keep transactions short. */
export const ESCALATION_BATCH = 500;

export interface EscalationPass {
  /** False when another instance held the lock. */
  ran: boolean;
  escalated: number;
}

/**
 * One pass: escalates up to `batch` overdue cases as of `now`. Indexes: the running deadline is
 * picked per status (`cases_status_reported_idx` narrows to open statuses; `cases_handle_due_idx`
 * serves the handling stage, by far the most common).
 */
export async function runEscalation(
  db: Db,
  now: Date = new Date(),
  batch: number = ESCALATION_BATCH,
): Promise<EscalationPass> {
  const at = sql`${now.toISOString()}::timestamptz`;
  return db.transaction(async (tx) => {
    const [lock] = await rows<{ got: boolean }>(
      tx,
      sql`SELECT pg_try_advisory_xact_lock(${ESCALATION_LOCK}) AS got`,
    );
    if (!lock?.got) return { ran: false, escalated: 0 };
    const done = await rows<{ id: number }>(
      tx,
      sql`WITH running AS (
            SELECT id, CASE status
                     WHEN 'REPORTED' THEN 'FILE'
                     WHEN 'FILED' THEN 'DISPATCH'
                     WHEN 'RESOLVED' THEN 'VERIFY'
                     ELSE 'HANDLE' END AS stage,
                   CASE status
                     WHEN 'REPORTED' THEN file_due_at
                     WHEN 'FILED' THEN dispatch_due_at
                     WHEN 'RESOLVED' THEN verify_due_at
                     ELSE handle_due_at END AS due_at
            FROM cases
            WHERE status IN ('REPORTED', 'FILED', 'DISPATCHED', 'IN_PROGRESS', 'RESOLVED')
              AND on_hold_since IS NULL
          ),
          due AS (
            SELECT c.id, c.priority AS was, r.stage, r.due_at
            FROM running r JOIN cases c ON c.id = r.id
            WHERE r.due_at < ${at} AND (c.escalated_at IS NULL OR c.escalated_at < r.due_at)
            ORDER BY r.due_at
            LIMIT ${batch}
            FOR UPDATE OF c SKIP LOCKED
          ),
          bumped AS (
            UPDATE cases c
            SET version = c.version + 1,
                priority = CASE c.priority WHEN 'NORMAL' THEN 'HIGH'::case_priority ELSE 'URGENT'::case_priority END,
                escalated_at = ${at},
                updated_at = ${at}
            FROM due
            WHERE c.id = due.id AND c.on_hold_since IS NULL
              AND (c.escalated_at IS NULL OR c.escalated_at < due.due_at)
            RETURNING c.id, c.version, c.status, c.priority, due.was, due.stage, due.due_at,
                      c.city_id, c.district_id, c.street_id, c.community_id,
                      CASE WHEN c.dispatched_at IS NOT NULL THEN c.department_id END AS department_id
          ),
          logged AS (
            INSERT INTO case_events (case_id, seq, action, from_status, to_status, actor_id, note, payload, at)
            SELECT id, version, 'ESCALATE', status, status, NULL, NULL,
                   json_build_object('stage', stage, 'dueAt', due_at, 'priorityFrom', was, 'priorityTo', priority)::jsonb,
                   ${at}
            FROM bumped
            RETURNING case_id
          )
          SELECT b.id::int AS id,
                 pg_notify(${CASE_CHANNEL}, json_build_object(
                   'caseId', b.id, 'action', 'ESCALATE', 'version', b.version, 'cityId', b.city_id,
                   'districtId', b.district_id, 'streetId', b.street_id, 'communityId', b.community_id,
                   'departmentId', b.department_id)::text) AS notified
          FROM bumped b JOIN logged l ON l.case_id = b.id`,
    );
    return { ran: true, escalated: done.length };
  });
}

export interface EscalationScheduler {
  stop(): Promise<void>;
}

/** Runs a pass every `intervalSeconds` (the first one interval after start) until stopped. */
export function startEscalationScheduler(options: {
  db: Db;
  logger: Logger;
  intervalSeconds: number;
}): EscalationScheduler {
  const log = options.logger.child({ module: 'escalation' });
  let running: Promise<unknown> | undefined;
  let stopped = false;
  const tick = () => {
    if (running || stopped) return;
    running = runEscalation(options.db)
      .then((pass) => {
        if (pass.escalated > 0) log.info({ escalated: pass.escalated }, 'escalated overdue cases');
      })
      .catch((err) => log.warn({ err }, 'escalation pass failed'))
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, options.intervalSeconds * 1000);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
