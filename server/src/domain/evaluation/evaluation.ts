/**
 * Evaluation (综合评价): the closed-loop metrics per grid cell, street, district, department or
 * worker over a time window, computed in one SQL statement over the event log (`case_events`) and
 * the cases' due dates — never by loading cases into JS.
 *
 * Definitions (window = [from, to)):
 * - reported / filed / dispatched / returned / resolved / verified / reworked: REPORT, FILE,
 *   DISPATCH, RETURN, RESOLVE, VERIFY_PASS + VERIFY_FAIL, VERIFY_FAIL events whose time lies in
 *   the window (a re-dispatch after a return counts again).
 * - rejected: REJECT events in the window whose reason is INVALID or OUT_OF_SCOPE (duplicates are
 *   neither filed nor rejected as invalid).
 * - filingRate = filed ÷ (filed + rejected).
 * - dispatchAccuracy = 1 − returned ÷ dispatched.
 * - resolvedOnTime: RESOLVE events at or before the case's handling deadline (`handle_due_at`;
 *   a case without one is on time). onTimeHandlingRate = resolvedOnTime ÷ resolved.
 * - due: cases whose handling deadline lies in the window. closed: those of them whose last
 *   VERIFY_PASS/REOPEN event before the window's end is a VERIFY_PASS; closedOnTime: closed at or
 *   before the handling deadline. closureRate = closed ÷ due, onTimeClosureRate = closedOnTime ÷ due.
 * - reworkRate = reworked ÷ verified.
 * - avgHoursToClose: mean hours from report to close over the `closed` cases.
 * Every rate is null when its denominator is 0.
 *
 * Grouping: areas by the case's grid cell, street or district. DEPARTMENT and WORKER group each
 * event by the handler it concerns: the department / assignee of the latest DISPATCH at or before
 * it (REPORT, FILE and REJECT, which come before any dispatch, go to the category's default
 * department, and to the reporting grid worker); the `due` cohort goes to the case's current
 * department / assignee. Rows whose key is unknown (e.g. not yet dispatched) form one row with a
 * null group.
 */
import { type Executor, rows } from '@citygrid/db';
import { regions } from '@citygrid/db/schema';
import { eq, type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Actor } from '../auth/actor';
import { inScope, type Scope, scopeOf } from '../auth/scope';
import { parseId } from '../cases/queries';
import { BadUserInput, Forbidden, parseInput } from '../errors';

export const EVALUATION_GROUPS = ['GRID', 'STREET', 'DISTRICT', 'DEPARTMENT', 'WORKER'] as const;
export type EvaluationGroupBy = (typeof EVALUATION_GROUPS)[number];

export const EVALUATING_ROLES: readonly Actor['role'][] = ['SUPERVISOR', 'COMMANDER', 'ADMIN'];

/** Longest window one call may ask for. */
export const MAX_WINDOW_DAYS = 5 * 366;

export interface EvaluationRow {
  groupBy: EvaluationGroupBy;
  /** Null for the row of events and cases without a group (e.g. not yet dispatched). */
  groupId: number | null;
  groupCode: string | null;
  groupName: string | null;
  reported: number;
  filed: number;
  rejected: number;
  filingRate: number | null;
  dispatched: number;
  returned: number;
  dispatchAccuracy: number | null;
  resolved: number;
  resolvedOnTime: number;
  onTimeHandlingRate: number | null;
  verified: number;
  reworked: number;
  reworkRate: number | null;
  due: number;
  closed: number;
  closedOnTime: number;
  closureRate: number | null;
  onTimeClosureRate: number | null;
  avgHoursToClose: number | null;
}

const argsSchema = z
  .object({
    from: z.date(),
    to: z.date(),
    groupBy: z.enum(EVALUATION_GROUPS),
    regionId: z.union([z.string(), z.number()]).nullish(),
  })
  .refine((a) => a.from.getTime() < a.to.getTime(), { message: 'from must be before to', path: ['to'] })
  .refine((a) => a.to.getTime() - a.from.getTime() <= MAX_WINDOW_DAYS * 86_400_000, {
    message: `the window may span at most ${MAX_WINDOW_DAYS} days`,
    path: ['to'],
  });

export interface EvaluationArgs {
  from: Date;
  to: Date;
  groupBy: EvaluationGroupBy;
  regionId?: string | number | null;
}

/** The case columns named by scope level, as SQL over the alias `c`. */
const caseScopeColumns = {
  cityId: sql`c.city_id`,
  districtId: sql`c.district_id`,
  streetId: sql`c.street_id`,
  communityId: sql`c.community_id`,
};

/** The evaluation rows for the actor's scope (and `regionId` inside it), ordered by group name. */
export async function evaluate(
  db: Executor,
  actor: Actor,
  rawArgs: EvaluationArgs,
): Promise<EvaluationRow[]> {
  if (!EVALUATING_ROLES.includes(actor.role)) throw new Forbidden(`a ${actor.role} may not read evaluations`);
  const args = parseInput(argsSchema, rawArgs);
  const scope = await scopeOf(db, actor);
  const conditions: SQL[] = [inScope(scope, caseScopeColumns)];
  if (args.regionId != null) conditions.push(inScope(await regionScope(db, args.regionId), caseScopeColumns));
  const where = sql.join(conditions, sql` AND `);
  return evaluationQuery(db, args.groupBy, args.from, args.to, where);
}

async function regionScope(db: Executor, rawId: string | number): Promise<Scope> {
  const regionId = parseId(rawId, 'regionId');
  const [region] = await db.select({ level: regions.level }).from(regions).where(eq(regions.id, regionId));
  if (!region) throw new BadUserInput(`unknown region ${regionId}`, { field: 'regionId' });
  return { level: region.level, regionId };
}

/** The group key of an event row (aliases: e = the event, c = its case, h = the handler's DISPATCH). */
const eventKey: Record<EvaluationGroupBy, SQL> = {
  GRID: sql`c.grid_cell_id`,
  STREET: sql`c.street_id`,
  DISTRICT: sql`c.district_id`,
  DEPARTMENT: sql`CASE
      WHEN e.action IN ('REPORT', 'FILE', 'REJECT')
        THEN (SELECT cat.default_department_id FROM categories cat WHERE cat.id = c.category_id)
      WHEN h.payload ? 'departmentId' THEN (h.payload ->> 'departmentId')::bigint
      ELSE c.department_id END`,
  WORKER: sql`CASE
      WHEN e.action IN ('REPORT', 'FILE', 'REJECT')
        THEN (SELECT u.id FROM users u WHERE u.id = c.reporter_id AND u.role = 'WORKER')
      WHEN h.payload ? 'assigneeId' THEN (h.payload ->> 'assigneeId')::bigint
      ELSE c.assignee_id END`,
};

/** The group key of a case in the `due` cohort (alias c). */
const caseKey: Record<EvaluationGroupBy, SQL> = {
  GRID: sql`c.grid_cell_id`,
  STREET: sql`c.street_id`,
  DISTRICT: sql`c.district_id`,
  DEPARTMENT: sql`c.department_id`,
  WORKER: sql`c.assignee_id`,
};

/** Names of the groups (alias k = the aggregated key). */
const groupNames: Record<EvaluationGroupBy, SQL> = {
  GRID: sql`LEFT JOIN grid_cells g ON g.id = k.key`,
  STREET: sql`LEFT JOIN regions g ON g.id = k.key`,
  DISTRICT: sql`LEFT JOIN regions g ON g.id = k.key`,
  DEPARTMENT: sql`LEFT JOIN departments g ON g.id = k.key`,
  WORKER: sql`LEFT JOIN (SELECT id, username AS code, display_name AS name FROM users) g ON g.id = k.key`,
};

interface RawRow {
  key: number | null;
  code: string | null;
  name: string | null;
  reported: number;
  filed: number;
  rejected: number;
  dispatched: number;
  returned: number;
  resolved: number;
  resolved_on_time: number;
  verified: number;
  reworked: number;
  due: number;
  closed: number;
  closed_on_time: number;
  avg_hours_to_close: number | null;
}

/**
 * Indexes: the event half starts from `case_events_action_at_idx` (action, at) for the window
 * and reaches its case by primary key; the handler's DISPATCH is found through
 * `case_events_case_seq_key`; the due cohort uses `cases_handle_due_idx`. The two halves are
 * separate subqueries (no shared CTE) so each keeps its own index path.
 */
async function evaluationQuery(
  db: Executor,
  groupBy: EvaluationGroupBy,
  from: Date,
  to: Date,
  scopeWhere: SQL,
): Promise<EvaluationRow[]> {
  const fromTs = sql`${from.toISOString()}::timestamptz`;
  const toTs = sql`${to.toISOString()}::timestamptz`;
  const byHandler = groupBy === 'DEPARTMENT' || groupBy === 'WORKER';
  const handlerJoin = byHandler
    ? sql`LEFT JOIN LATERAL (
            SELECT d.payload FROM case_events d
            WHERE d.case_id = e.case_id AND d.action = 'DISPATCH' AND d.seq <= e.seq
            ORDER BY d.seq DESC LIMIT 1) h ON true`
    : sql``;

  const found = await rows<RawRow>(
    db,
    sql`WITH facts AS (
          SELECT ${eventKey[groupBy]} AS key,
                 (e.action = 'REPORT')::int AS reported,
                 (e.action = 'FILE')::int AS filed,
                 (e.action = 'REJECT'
                   AND coalesce(e.payload ->> 'reason', c.reject_reason::text) IN ('INVALID', 'OUT_OF_SCOPE'))::int AS rejected,
                 (e.action = 'DISPATCH')::int AS dispatched,
                 (e.action = 'RETURN')::int AS returned,
                 (e.action = 'RESOLVE')::int AS resolved,
                 (e.action = 'RESOLVE' AND (c.handle_due_at IS NULL OR e.at <= c.handle_due_at))::int AS resolved_on_time,
                 (e.action IN ('VERIFY_PASS', 'VERIFY_FAIL'))::int AS verified,
                 (e.action = 'VERIFY_FAIL')::int AS reworked,
                 0 AS due, 0 AS closed, 0 AS closed_on_time, NULL::float8 AS hours_to_close
          FROM case_events e
          JOIN cases c ON c.id = e.case_id
          ${handlerJoin}
          WHERE e.at >= ${fromTs} AND e.at < ${toTs}
            AND e.action IN ('REPORT', 'FILE', 'REJECT', 'DISPATCH', 'RETURN', 'RESOLVE', 'VERIFY_PASS', 'VERIFY_FAIL')
            AND ${scopeWhere}
          UNION ALL
          SELECT ${caseKey[groupBy]} AS key, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                 1 AS due,
                 (cl.closed_at IS NOT NULL)::int AS closed,
                 (cl.closed_at <= c.handle_due_at)::int AS closed_on_time,
                 extract(epoch FROM cl.closed_at - c.reported_at)::float8 / 3600 AS hours_to_close
          FROM cases c
          LEFT JOIN LATERAL (
            SELECT CASE WHEN last.action = 'VERIFY_PASS' THEN last.at END AS closed_at
            FROM (SELECT x.action, x.at FROM case_events x
                  WHERE x.case_id = c.id AND x.action IN ('VERIFY_PASS', 'REOPEN') AND x.at < ${toTs}
                  ORDER BY x.seq DESC LIMIT 1) last
          ) cl ON true
          WHERE c.handle_due_at >= ${fromTs} AND c.handle_due_at < ${toTs} AND ${scopeWhere}
        ),
        k AS (
          SELECT key,
                 sum(reported)::int AS reported, sum(filed)::int AS filed, sum(rejected)::int AS rejected,
                 sum(dispatched)::int AS dispatched, sum(returned)::int AS returned,
                 sum(resolved)::int AS resolved, sum(resolved_on_time)::int AS resolved_on_time,
                 sum(verified)::int AS verified, sum(reworked)::int AS reworked,
                 sum(due)::int AS due, sum(closed)::int AS closed,
                 coalesce(sum(closed_on_time), 0)::int AS closed_on_time,
                 avg(hours_to_close)::float8 AS avg_hours_to_close
          FROM facts GROUP BY key
        )
        SELECT k.key::float8 AS key, g.code, g.name, k.reported, k.filed, k.rejected, k.dispatched, k.returned,
               k.resolved, k.resolved_on_time, k.verified, k.reworked, k.due, k.closed, k.closed_on_time,
               k.avg_hours_to_close
        FROM k ${groupNames[groupBy]}
        ORDER BY g.name NULLS LAST, k.key NULLS LAST`,
  );

  const rate = (n: number, d: number) => (d === 0 ? null : n / d);
  return found.map((r) => ({
    groupBy,
    groupId: r.key === null ? null : Number(r.key),
    groupCode: r.code,
    groupName: r.name,
    reported: r.reported,
    filed: r.filed,
    rejected: r.rejected,
    filingRate: rate(r.filed, r.filed + r.rejected),
    dispatched: r.dispatched,
    returned: r.returned,
    dispatchAccuracy: r.dispatched === 0 ? null : 1 - r.returned / r.dispatched,
    resolved: r.resolved,
    resolvedOnTime: r.resolved_on_time,
    onTimeHandlingRate: rate(r.resolved_on_time, r.resolved),
    verified: r.verified,
    reworked: r.reworked,
    reworkRate: rate(r.reworked, r.verified),
    due: r.due,
    closed: r.closed,
    closedOnTime: r.closed_on_time,
    closureRate: rate(r.closed, r.due),
    onTimeClosureRate: rate(r.closed_on_time, r.due),
    avgHoursToClose: r.avg_hours_to_close === null ? null : Number(r.avg_hours_to_close),
  }));
}
