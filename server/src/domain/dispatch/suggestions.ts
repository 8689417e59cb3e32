/**
 * Dispatch suggestions (派遣建议): for a case, the on-duty grid workers who may act on it ranked by
 * distance and open workload, preferring the workers assigned to the case's grid cell, followed by
 * the category's department; each suggestion says why.
 *
 * Spatial SQL: the candidates come from a KNN scan (`<->`, degrees, ordering only) of the partial
 * GiST index `worker_positions_on_duty_gist` (on-duty rows only), then their distance in metres
 * from a `::geography` cast. The case's point is passed as a constant so the index can order by it.
 */
import { type Executor, rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import type { Actor } from '../auth/actor';
import { inScope, scopeOf } from '../auth/scope';
import { parseId } from '../cases/queries';
import { BadUserInput, Forbidden, NotFound } from '../errors';

export const SUGGESTION_REASONS = [
  /** The nearest candidate by distance. */
  'NEAREST',
  /** Within `NEAR_METERS` of the case. */
  'NEARBY',
  /** Assigned to the case's grid cell (its 网格员). */
  'GRID_WORKER',
  /** No case dispatched to them is still open. */
  'FREE',
  /** `BUSY_CASES` or more open cases. */
  'BUSY',
  /** The category's default department. */
  'CATEGORY_DEPARTMENT',
] as const;
export type SuggestionReason = (typeof SUGGESTION_REASONS)[number];

/** Ranking weights, in metres of detour: one open case costs as much as walking this far. */
export const OPEN_CASE_PENALTY_M = 400;
/** Being the cell's own worker is worth this many metres. */
export const GRID_WORKER_BONUS_M = 800;
export const NEAR_METERS = 500;
export const BUSY_CASES = 3;
export const MAX_SUGGESTIONS = 50;
/** How many nearest on-duty workers the KNN scan hands to the ranking, at least. */
const MIN_CANDIDATES = 20;

export const DISPATCHING_ROLES: readonly Actor['role'][] = ['COMMANDER', 'ADMIN'];

export interface DispatchSuggestion {
  kind: 'WORKER' | 'DEPARTMENT';
  workerId: number | null;
  departmentId: number | null;
  /** Null for a department. */
  distanceMeters: number | null;
  openCases: number;
  /** Higher is better, in (0, 1]: 1 / (1 + cost / 1000 m). */
  score: number;
  reasons: SuggestionReason[];
  /** One line for people, e.g. "420 m away, 1 open case, assigned to this grid cell". */
  explanation: string;
}

interface CandidateRow {
  workerId: number;
  departmentId: number | null;
  meters: number;
  openCases: number;
  gridWorker: boolean;
}

/** Suggestions for `caseId` (visible to the actor; NOT_FOUND otherwise): up to `limit` workers, then departments. */
export async function dispatchSuggestions(
  db: Executor,
  actor: Actor,
  caseId: unknown,
  limit = 5,
): Promise<DispatchSuggestion[]> {
  if (!DISPATCHING_ROLES.includes(actor.role)) throw new Forbidden(`a ${actor.role} may not dispatch cases`);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_SUGGESTIONS) {
    throw new BadUserInput(`limit must be between 1 and ${MAX_SUGGESTIONS}`, { field: 'limit' });
  }
  const c = await caseForDispatch(db, actor, caseId);
  const workers = await rankedWorkers(db, c, limit);
  return c.departmentId === null ? workers : [...workers, departmentSuggestion(c)];
}

interface CaseForDispatch {
  location: { lon: number; lat: number };
  gridCellId: number;
  cityId: number;
  districtId: number;
  streetId: number;
  communityId: number;
  /** The category's default department, its name and open workload. */
  departmentId: number | null;
  departmentOpenCases: number;
}

/** The case (inside the actor's scope, else NOT_FOUND) with its category's department, in one read. */
async function caseForDispatch(db: Executor, actor: Actor, rawId: unknown): Promise<CaseForDispatch> {
  const id = parseId(rawId);
  const scope = await scopeOf(db, actor);
  const [row] = await rows<CaseForDispatch & { lon: number; lat: number }>(
    db,
    sql`SELECT ST_X(c.location) AS lon, ST_Y(c.location) AS lat, c.grid_cell_id::int AS "gridCellId",
               c.city_id::int AS "cityId", c.district_id::int AS "districtId", c.street_id::int AS "streetId",
               c.community_id::int AS "communityId", cat.default_department_id::int AS "departmentId",
               CASE WHEN cat.default_department_id IS NULL THEN 0 ELSE
                 (SELECT count(*) FROM cases o
                   WHERE o.department_id = cat.default_department_id AND o.status IN ('DISPATCHED', 'IN_PROGRESS'))
               END::int AS "departmentOpenCases"
        FROM cases c JOIN categories cat ON cat.id = c.category_id
        WHERE c.id = ${id}::bigint AND ${inScope(scope, caseScope)}`,
  );
  if (!row) throw new NotFound(`case ${id} not found`);
  return { ...row, location: { lon: row.lon, lat: row.lat } };
}

const caseScope = {
  cityId: sql`c.city_id`,
  districtId: sql`c.district_id`,
  streetId: sql`c.street_id`,
  communityId: sql`c.community_id`,
};

async function rankedWorkers(db: Executor, c: CaseForDispatch, limit: number): Promise<DispatchSuggestion[]> {
  const point = sql`ST_SetSRID(ST_MakePoint(${c.location.lon}::float8, ${c.location.lat}::float8), 4326)`;
  // A worker may act on the case when their scope region is the case's city, district, street or community.
  const inCaseScope = sql`u.region_id IN (${c.cityId}::bigint, ${c.districtId}::bigint, ${c.streetId}::bigint, ${c.communityId}::bigint)`;
  const candidates = await rows<CandidateRow>(
    db,
    sql`WITH near AS (
          -- KNN on worker_positions_on_duty_gist (the partial index's predicate is on_duty).
          SELECT p.user_id, p.location, u.department_id
          FROM worker_positions p
          JOIN users u ON u.id = p.user_id
          WHERE p.on_duty AND u.active AND u.role = 'WORKER' AND ${inCaseScope}
          ORDER BY p.location <-> ${point}
          LIMIT ${Math.max(MIN_CANDIDATES, limit * 4)}
        ),
        cell AS (
          -- The cell's own workers, on duty, however far they are.
          SELECT p.user_id, p.location, u.department_id
          FROM grid_cell_workers g
          JOIN worker_positions p ON p.user_id = g.user_id AND p.on_duty
          JOIN users u ON u.id = p.user_id
          WHERE g.grid_cell_id = ${c.gridCellId}::bigint AND u.active AND u.role = 'WORKER' AND ${inCaseScope}
        ),
        candidates AS (SELECT * FROM near UNION SELECT * FROM cell)
        SELECT k.user_id::int AS "workerId",
               k.department_id::int AS "departmentId",
               ST_Distance(k.location::geography, ${point}::geography) AS meters,
               (SELECT count(*) FROM cases o
                 WHERE o.assignee_id = k.user_id AND o.status IN ('DISPATCHED', 'IN_PROGRESS'))::int AS "openCases",
               EXISTS (SELECT 1 FROM grid_cell_workers g
                        WHERE g.user_id = k.user_id AND g.grid_cell_id = ${c.gridCellId}::bigint) AS "gridWorker"
        FROM candidates k`,
  );
  if (candidates.length === 0) return [];
  const nearest = Math.min(...candidates.map((w) => w.meters));
  const cost = (w: CandidateRow) =>
    w.meters + w.openCases * OPEN_CASE_PENALTY_M - (w.gridWorker ? GRID_WORKER_BONUS_M : 0);
  return candidates
    .map((w) => ({ w, cost: cost(w) }))
    .sort((a, b) => a.cost - b.cost || a.w.meters - b.w.meters || a.w.workerId - b.w.workerId)
    .slice(0, limit)
    .map(({ w, cost }) => {
      const reasons: SuggestionReason[] = [];
      if (w.meters === nearest) reasons.push('NEAREST');
      if (w.meters <= NEAR_METERS) reasons.push('NEARBY');
      if (w.gridWorker) reasons.push('GRID_WORKER');
      if (w.openCases === 0) reasons.push('FREE');
      if (w.openCases >= BUSY_CASES) reasons.push('BUSY');
      const parts = [
        `${Math.round(w.meters)} m away`,
        `${w.openCases} open case${w.openCases === 1 ? '' : 's'}`,
        ...(w.gridWorker ? ['assigned to this grid cell'] : []),
      ];
      return {
        kind: 'WORKER' as const,
        workerId: w.workerId,
        departmentId: w.departmentId,
        distanceMeters: w.meters,
        openCases: w.openCases,
        score: 1 / (1 + Math.max(0, cost) / 1000),
        reasons,
        explanation: parts.join(', '),
      };
    });
}

function departmentSuggestion(c: CaseForDispatch): DispatchSuggestion {
  const open = c.departmentOpenCases;
  return {
    kind: 'DEPARTMENT',
    workerId: null,
    departmentId: c.departmentId,
    distanceMeters: null,
    openCases: open,
    // A department spreads its load over its crews: 50 open cases halve its score.
    score: 1 / (1 + open / 50),
    reasons: ['CATEGORY_DEPARTMENT'],
    explanation: `handles this category; ${open} open case${open === 1 ? '' : 's'}`,
  };
}
