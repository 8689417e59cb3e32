/**
 * The consistency rules every case and its event trail obey, as one SQL query that lists the
 * violations. Used on the whole seeded history and on cases the factories make.
 */
import { type Executor, rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';

export interface Violation {
  caseId: number;
  code: string;
  problem: string;
}

/** The workflow of CONTRACT.md: (from, action, to). */
export const TRANSITIONS = [
  [null, 'REPORT', 'REPORTED'],
  ['REPORTED', 'FILE', 'FILED'],
  ['REPORTED', 'REJECT', 'REJECTED'],
  ['FILED', 'DISPATCH', 'DISPATCHED'],
  ['DISPATCHED', 'ACCEPT', 'IN_PROGRESS'],
  ['DISPATCHED', 'RETURN', 'FILED'],
  ['IN_PROGRESS', 'RESOLVE', 'RESOLVED'],
  ['RESOLVED', 'VERIFY_PASS', 'CLOSED'],
  ['RESOLVED', 'VERIFY_FAIL', 'DISPATCHED'],
  ['CLOSED', 'REOPEN', 'FILED'],
] as const;

/** Violations among the given cases (all cases when `caseIds` is omitted). */
export async function caseViolations(db: Executor, caseIds?: number[]): Promise<Violation[]> {
  const only = caseIds ? sql`c.id = ANY(string_to_array(${caseIds.join(',')}, ',')::bigint[])` : sql`true`;
  const allowed = JSON.stringify(TRANSITIONS.map(([from, action, to]) => ({ from, action, to })));
  return rows<Violation>(
    db,
    sql`
    WITH scope AS (SELECT c.* FROM cases c WHERE ${only}),
    allowed AS (
      SELECT "from"::case_status AS from_status, action, "to"::case_status AS to_status
      FROM json_to_recordset(${allowed}::json) AS a("from" text, action text, "to" text)
    ),
    ev AS (
      SELECT e.*, lag(e.to_status) OVER w AS prev_to, lag(e.at) OVER w AS prev_at,
             lag(e.actor_id) OVER w AS prev_actor, lag(e.action) OVER w AS prev_action,
             row_number() OVER w AS rn
      FROM case_events e JOIN scope c ON c.id = e.case_id
      WINDOW w AS (PARTITION BY e.case_id ORDER BY e.seq)
    ),
    summary AS (
      SELECT case_id, count(*)::int AS n,
             count(*) FILTER (WHERE action = 'VERIFY_FAIL')::int AS fails,
             max(at) FILTER (WHERE action = 'FILE') AS filed,
             max(at) FILTER (WHERE action = 'DISPATCH') AS dispatched,
             max(at) FILTER (WHERE action = 'RESOLVE') AS resolved,
             max(at) FILTER (WHERE action = 'VERIFY_PASS') AS closed
      FROM ev GROUP BY case_id
    ),
    last AS (SELECT DISTINCT ON (case_id) * FROM ev ORDER BY case_id, seq DESC),
    last_dispatch AS (SELECT DISTINCT ON (case_id) * FROM ev WHERE action = 'DISPATCH' ORDER BY case_id, seq DESC),
    last_resolve AS (SELECT DISTINCT ON (case_id) * FROM ev WHERE action = 'RESOLVE' ORDER BY case_id, seq DESC),
    problems AS (
      SELECT c.id, 'version is not the number of events' AS problem
        FROM scope c LEFT JOIN summary s ON s.case_id = c.id WHERE c.version IS DISTINCT FROM s.n
      UNION ALL SELECT case_id, 'event seq is not 1..n' FROM ev WHERE seq <> rn
      UNION ALL SELECT case_id, 'event from_status is not the previous to_status' FROM ev
        WHERE from_status IS DISTINCT FROM prev_to
      UNION ALL SELECT case_id, 'event times do not increase' FROM ev WHERE at <= prev_at
      UNION ALL SELECT case_id, 'transition ' || coalesce(from_status::text, '∅') || ' ' || action || ' ' || to_status || ' is not in the workflow'
        FROM ev e WHERE NOT EXISTS (
          SELECT 1 FROM allowed a
          WHERE a.from_status IS NOT DISTINCT FROM e.from_status AND a.action = e.action AND a.to_status = e.to_status)
      UNION ALL SELECT case_id, 'first event is not the REPORT at reported_at' FROM ev e JOIN scope c ON c.id = e.case_id
        WHERE e.seq = 1 AND (e.action <> 'REPORT' OR e.at <> c.reported_at)
      UNION ALL SELECT c.id, 'status is not the last event''s to_status' FROM scope c JOIN last l ON l.case_id = c.id
        WHERE c.status <> l.to_status
      UNION ALL SELECT c.id, 'updated_at is not the last event time' FROM scope c JOIN last l ON l.case_id = c.id
        WHERE c.updated_at <> l.at
      UNION ALL SELECT c.id, 'rework_count is not the number of VERIFY_FAIL' FROM scope c JOIN summary s ON s.case_id = c.id
        WHERE c.rework_count <> s.fails
      UNION ALL SELECT c.id, 'filed_at/dispatched_at/resolved_at disagree with the events'
        FROM scope c JOIN summary s ON s.case_id = c.id
        WHERE c.filed_at IS DISTINCT FROM s.filed OR c.dispatched_at IS DISTINCT FROM s.dispatched
           OR c.resolved_at IS DISTINCT FROM s.resolved
      UNION ALL SELECT c.id, 'closed_at disagrees with the status' FROM scope c JOIN summary s ON s.case_id = c.id
        WHERE (c.status = 'CLOSED') <> (c.closed_at IS NOT NULL) OR (c.status = 'CLOSED' AND c.closed_at <> s.closed)
      UNION ALL SELECT c.id, 'rejection fields disagree with the status' FROM scope c
        WHERE (c.status = 'REJECTED') <> (c.rejected_at IS NOT NULL) OR (c.status = 'REJECTED') <> (c.reject_reason IS NOT NULL)
      UNION ALL SELECT c.id, 'a DUPLICATE does not point to an earlier case of its category nearby'
        FROM scope c LEFT JOIN cases o ON o.id = c.duplicate_of_id
        WHERE c.reject_reason = 'DUPLICATE' AND (o.id IS NULL OR o.reported_at >= c.reported_at
          OR o.category_id <> c.category_id OR NOT ST_DWithin(o.location::geography, c.location::geography, 50))
      UNION ALL SELECT c.id, 'department/assignee is not the last dispatch''s'
        FROM scope c JOIN last_dispatch d ON d.case_id = c.id
        WHERE c.status IN ('DISPATCHED', 'IN_PROGRESS', 'RESOLVED', 'CLOSED')
          AND (c.department_id IS DISTINCT FROM (d.payload ->> 'departmentId')::bigint
            OR c.assignee_id IS DISTINCT FROM (d.payload ->> 'assigneeId')::bigint
            OR (c.department_id IS NULL AND c.assignee_id IS NULL))
      UNION ALL SELECT c.id, 'resolver is not the last RESOLVE''s actor'
        FROM scope c LEFT JOIN last_resolve r ON r.case_id = c.id
        WHERE c.resolver_id IS DISTINCT FROM r.actor_id
      UNION ALL SELECT case_id, 'verified by the one who resolved it' FROM ev
        WHERE action IN ('VERIFY_PASS', 'VERIFY_FAIL') AND prev_action = 'RESOLVE' AND actor_id = prev_actor
      UNION ALL SELECT c.id, 'location is not in its grid cell' FROM scope c JOIN grid_cells g ON g.id = c.grid_cell_id
        WHERE NOT ST_Intersects(g.geom, c.location)
      UNION ALL SELECT c.id, 'ancestor ids are not the grid cell''s' FROM scope c JOIN grid_cells g ON g.id = c.grid_cell_id
        WHERE (c.community_id, c.street_id, c.district_id, c.city_id) IS DISTINCT FROM (g.community_id, g.street_id, g.district_id, g.city_id)
    )
    SELECT p.id::int AS "caseId", c.code, p.problem FROM problems p JOIN cases c ON c.id = p.id ORDER BY p.id, p.problem`,
  );
}
