/**
 * Small factories over the seeded demo city. They write through SQL the rows the workflow would
 * write (a case, its event trail and the derived fields), so a test builds exactly what it needs:
 * `await makeCase(db, { status: 'DISPATCHED', categoryCode: '11-01' })`.
 */
import { type Executor, type LonLat, rows } from '@citygrid/db';
import type { CasePriority, CaseStatus } from '@citygrid/db/schema';
import { sql } from 'drizzle-orm';

/** A seeded category every factory default uses: 暴露垃圾 (exposed rubbish), handled by sanitation. */
export const DEFAULT_CATEGORY = '11-01';

export async function userId(db: Executor, username: string): Promise<number> {
  const [row] = await rows<{ id: number }>(
    db,
    sql`SELECT id::int AS id FROM users WHERE username = ${username}`,
  );
  if (!row) throw new Error(`userId: no user ${username}`);
  return row.id;
}

/** A point inside the grid cell with this code (its ST_PointOnSurface). */
export async function pointInGrid(db: Executor, gridCode: string): Promise<LonLat> {
  const [row] = await rows<LonLat>(
    db,
    sql`SELECT ST_X(p) AS lon, ST_Y(p) AS lat FROM (SELECT ST_PointOnSurface(geom) AS p FROM grid_cells WHERE code = ${gridCode}) s`,
  );
  if (!row) throw new Error(`pointInGrid: no grid cell ${gridCode}`);
  return row;
}

/** Any grid cell's code, the first by code unless `offset` picks another. */
export async function someGridCode(db: Executor, offset = 0): Promise<string> {
  const [row] = await rows<{ code: string }>(
    db,
    sql`SELECT code FROM grid_cells ORDER BY code OFFSET ${offset} LIMIT 1`,
  );
  if (!row) throw new Error('someGridCode: the database has no grid cells (is it seeded?)');
  return row.code;
}

export interface MakeCaseOptions {
  /** Where the trail stops (default REPORTED). */
  status?: CaseStatus;
  categoryCode?: string;
  /** Report time (default now); later events follow a minute apart. */
  at?: Date;
  /** A point, or else the inside point of `gridCode`, or else of the first grid cell. */
  location?: LonLat;
  gridCode?: string;
  priority?: CasePriority;
  description?: string;
}

export interface MadeCase {
  id: number;
  code: string;
  status: CaseStatus;
  version: number;
  gridCellId: number;
  departmentId: number | null;
}

const PATH: readonly { action: string; to: CaseStatus }[] = [
  { action: 'FILE', to: 'FILED' },
  { action: 'DISPATCH', to: 'DISPATCHED' },
  { action: 'ACCEPT', to: 'IN_PROGRESS' },
  { action: 'RESOLVE', to: 'RESOLVED' },
  { action: 'VERIFY_PASS', to: 'CLOSED' },
];

/** A case reported by worker1 in the given state, with the events that led there. */
export async function makeCase(db: Executor, options: MakeCaseOptions = {}): Promise<MadeCase> {
  const status = options.status ?? 'REPORTED';
  const at = options.at ?? new Date();
  const location = options.location ?? (await pointInGrid(db, options.gridCode ?? (await someGridCode(db))));
  const [ref] = await rows<{
    categoryId: number;
    departmentId: number | null;
    priority: CasePriority;
    handler: number | null;
    commander: number;
    reporter: number;
  }>(
    db,
    sql`SELECT c.id::int AS "categoryId", c.default_department_id::int AS "departmentId",
               c.default_priority::text AS priority,
               (SELECT min(id)::int FROM users u WHERE u.department_id = c.default_department_id) AS handler,
               (SELECT id::int FROM users WHERE username = 'commander') AS commander,
               (SELECT id::int FROM users WHERE username = 'worker1') AS reporter
        FROM categories c WHERE c.code = ${options.categoryCode ?? DEFAULT_CATEGORY}`,
  );
  if (!ref) throw new Error(`makeCase: no category ${options.categoryCode ?? DEFAULT_CATEGORY}`);

  const steps: {
    action: string;
    from: CaseStatus | null;
    to: CaseStatus;
    actor: number | null;
    payload: object;
  }[] = [
    { action: 'REPORT', from: null, to: 'REPORTED', actor: ref.reporter, payload: { source: 'WORKER' } },
  ];
  if (status === 'REJECTED') {
    steps.push({
      action: 'REJECT',
      from: 'REPORTED',
      to: 'REJECTED',
      actor: ref.commander,
      payload: { reason: 'INVALID' },
    });
  } else if (status !== 'REPORTED') {
    const handler = ref.handler ?? ref.commander;
    for (const step of PATH) {
      const from = steps[steps.length - 1]?.to ?? 'REPORTED';
      const actor = step.action === 'ACCEPT' || step.action === 'RESOLVE' ? handler : ref.commander;
      const payload = step.action === 'DISPATCH' ? { departmentId: ref.departmentId, assigneeId: null } : {};
      steps.push({ action: step.action, from, to: step.to, actor, payload });
      if (step.to === status) break;
    }
  }
  const time = (i: number) => new Date(at.getTime() + i * 60_000);
  const timeOf = (action: string) => {
    const i = steps.findIndex((s) => s.action === action);
    return i < 0 ? null : time(i).toISOString();
  };
  const dispatched = steps.some((s) => s.action === 'DISPATCH');
  const resolved = steps.some((s) => s.action === 'RESOLVE');
  const shanghaiDay = new Date(at.getTime() + 8 * 3_600_000).toISOString().slice(0, 10).replaceAll('-', '');

  const [made] = await rows<MadeCase>(
    db,
    sql`WITH cell AS (
          SELECT id, community_id, street_id, district_id, city_id FROM grid_cells
          WHERE ST_Intersects(geom, ST_SetSRID(ST_MakePoint(${location.lon}::float8, ${location.lat}::float8), 4326))
          ORDER BY id LIMIT 1
        )
        INSERT INTO cases (code, status, version, category_id, description, location, grid_cell_id, community_id,
                           street_id, district_id, city_id, priority, source, reporter_id, department_id, resolver_id,
                           reject_reason, reported_at, filed_at, dispatched_at, accepted_at, resolved_at, closed_at,
                           rejected_at, updated_at)
        SELECT 'TR' || ${shanghaiDay} || lpad(nextval('case_code_seq')::text, 6, '0'), ${status}::case_status,
               ${steps.length}, ${ref.categoryId}::bigint, ${options.description ?? 'factory case'},
               ST_SetSRID(ST_MakePoint(${location.lon}::float8, ${location.lat}::float8), 4326),
               cell.id, cell.community_id, cell.street_id, cell.district_id, cell.city_id,
               ${options.priority ?? ref.priority}::case_priority, 'WORKER', ${ref.reporter}::bigint,
               ${dispatched ? ref.departmentId : null}::bigint, ${resolved ? (ref.handler ?? ref.commander) : null}::bigint,
               ${status === 'REJECTED' ? 'INVALID' : null}::reject_reason, ${time(0).toISOString()}::timestamptz,
               ${timeOf('FILE')}::timestamptz, ${timeOf('DISPATCH')}::timestamptz, ${timeOf('ACCEPT')}::timestamptz,
               ${timeOf('RESOLVE')}::timestamptz, ${timeOf('VERIFY_PASS')}::timestamptz, ${timeOf('REJECT')}::timestamptz,
               ${time(steps.length - 1).toISOString()}::timestamptz
        FROM cell
        RETURNING id::int AS id, code, status::text AS status, version, grid_cell_id::int AS "gridCellId",
                  department_id::int AS "departmentId"`,
  );
  if (!made) throw new Error(`makeCase: ${location.lon}, ${location.lat} is in no grid cell`);

  const events = steps.map((s, i) => ({ ...s, seq: i + 1, at: time(i).toISOString() }));
  await db.execute(
    sql`INSERT INTO case_events (case_id, seq, action, from_status, to_status, actor_id, payload, at)
        SELECT ${made.id}::bigint, seq, action, "from"::case_status, "to"::case_status, actor, payload, at
        FROM json_to_recordset(${JSON.stringify(events)}::json)
          AS e(seq int, action text, "from" text, "to" text, actor bigint, payload jsonb, at timestamptz)
        ORDER BY seq`,
  );
  return made;
}
