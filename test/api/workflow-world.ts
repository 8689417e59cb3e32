/**
 * A small world for the workflow tests: the factories' test city (districts A and B), two
 * departments, a category handled by the first, and one user of every kind the rules tell
 * apart — with tokens issued by the server (signing in through argon2 a dozen times per file
 * would only slow the tests; auth.test.ts covers signing in).
 */
import { type Executor, rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import type { TestServer } from '../helpers/server';
import {
  cellCentre,
  makeCategory,
  makeDepartment,
  makeTestCity,
  makeUser,
  newKey,
  type TestCity,
} from './factories';

export type ActorName =
  | 'admin'
  | 'supervisor'
  | 'commander'
  | 'commanderA'
  | 'commanderB'
  | 'dept1'
  | 'dept2'
  | 'workerA1'
  | 'workerA2'
  | 'workerA3'
  | 'workerB';

export interface WorldUser {
  id: number;
  name: ActorName;
  role: 'ADMIN' | 'COMMANDER' | 'DEPARTMENT' | 'WORKER' | 'SUPERVISOR';
  regionId: number;
  departmentId: number | null;
  token: string;
}

export interface World {
  city: TestCity;
  dept1: { id: number; code: string };
  dept2: { id: number; code: string };
  category: { id: number; code: string };
  users: Record<ActorName, WorldUser>;
  /** Cell A.c1, where workerA1 and workerA2 answer (workerA3 works in district A but not that cell). */
  cellA1: number;
}

export async function makeWorld(db: Executor, server: TestServer): Promise<World> {
  const city = await makeTestCity(db);
  const A = city.districts.A;
  const B = city.districts.B;
  const dept1 = await makeDepartment(db, city.cityId);
  const dept2 = await makeDepartment(db, city.cityId);
  const category = await makeCategory(db, { departmentId: dept1.id });
  const specs: [ActorName, WorldUser['role'], number, number | null][] = [
    ['admin', 'ADMIN', city.cityId, null],
    ['supervisor', 'SUPERVISOR', city.cityId, null],
    ['commander', 'COMMANDER', city.cityId, null],
    ['commanderA', 'COMMANDER', A.id, null],
    ['commanderB', 'COMMANDER', B.id, null],
    ['dept1', 'DEPARTMENT', city.cityId, dept1.id],
    ['dept2', 'DEPARTMENT', city.cityId, dept2.id],
    ['workerA1', 'WORKER', A.id, dept1.id],
    ['workerA2', 'WORKER', A.id, null],
    ['workerA3', 'WORKER', A.id, null],
    ['workerB', 'WORKER', B.id, null],
  ];
  const users = {} as Record<ActorName, WorldUser>;
  for (const [name, role, regionId, departmentId] of specs) {
    const u = await makeUser(db, { role, regionId, ...(departmentId ? { departmentId } : {}) });
    const token = await server.app.services.tokens.issue({ id: u.id, role, regionId });
    users[name] = { id: u.id, name, role, regionId, departmentId, token };
  }
  const cellA1 = A.cells[0];
  await db.execute(sql`INSERT INTO grid_cell_workers (grid_cell_id, user_id) VALUES
    (${cellA1}, ${users.workerA1.id}), (${cellA1}, ${users.workerA2.id}), (${B.cells[0]}, ${users.workerB.id})`);
  return { city, dept1, dept2, category, users, cellA1 };
}

export const CASE_FIELDS = `id status version reworkCount rejectReason duplicateOf { id }
  department { id } assignee { id } filedAt dispatchedAt resolvedAt closedAt handleDueAt
  events { seq action fromStatus toStatus actor { id } note }`;

export interface CaseView {
  id: string;
  status: string;
  version: number;
  reworkCount: number;
  rejectReason: string | null;
  duplicateOf: { id: string } | null;
  department: { id: string } | null;
  assignee: { id: string } | null;
  filedAt: string | null;
  dispatchedAt: string | null;
  resolvedAt: string | null;
  closedAt: string | null;
  handleDueAt: string | null;
  events: {
    seq: number;
    action: string;
    fromStatus: string | null;
    toStatus: string;
    actor: { id: string } | null;
    note: string | null;
  }[];
}

/** Reports a case in cell A.c1 (or the given district cell) as the city commander. */
export async function reportIn(
  server: TestServer,
  world: World,
  where: { district?: 'A' | 'B'; cell?: 0 | 1 | 2 | 3; offset?: { lon: number; lat: number } } = {},
): Promise<CaseView> {
  const centre = cellCentre(world.city.districts[where.district ?? 'A'], where.cell ?? 0);
  const location = { lon: centre.lon + (where.offset?.lon ?? 0), lat: centre.lat + (where.offset?.lat ?? 0) };
  const { data, errors } = await server.graphql<{ reportCase: CaseView }>(
    `mutation R($input: ReportCaseInput!) { reportCase(input: $input) { ${CASE_FIELDS} } }`,
    {
      input: {
        idempotencyKey: newKey(),
        categoryCode: world.category.code,
        description: 'pothole',
        location,
      },
    },
    world.users.commander.token,
  );
  if (!data?.reportCase) throw new Error(`report failed: ${JSON.stringify(errors)}`);
  return data.reportCase;
}

/** The GraphQL call of each workflow action, with the variables it takes. */
export const MUTATIONS = {
  FILE: 'mutation M($id: ID!, $v: Int!) { fileCase(id: $id, expectedVersion: $v, note: "ok") { CASE } }',
  REJECT:
    'mutation M($id: ID!, $v: Int!, $reason: RejectReason!, $dup: ID) { rejectCase(id: $id, expectedVersion: $v, reason: $reason, duplicateOfId: $dup) { CASE } }',
  DISPATCH:
    'mutation M($id: ID!, $v: Int!, $dept: ID, $assignee: ID) { dispatchCase(id: $id, expectedVersion: $v, departmentId: $dept, assigneeId: $assignee) { CASE } }',
  ACCEPT: 'mutation M($id: ID!, $v: Int!) { acceptCase(id: $id, expectedVersion: $v) { CASE } }',
  RETURN:
    'mutation M($id: ID!, $v: Int!) { returnCase(id: $id, expectedVersion: $v, note: "not ours") { CASE } }',
  RESOLVE:
    'mutation M($id: ID!, $v: Int!) { resolveCase(id: $id, expectedVersion: $v, note: "fixed") { CASE } }',
  VERIFY_PASS:
    'mutation M($id: ID!, $v: Int!) { verifyCase(id: $id, expectedVersion: $v, passed: true, note: "good") { CASE } }',
  VERIFY_FAIL:
    'mutation M($id: ID!, $v: Int!) { verifyCase(id: $id, expectedVersion: $v, passed: false, note: "redo") { CASE } }',
  REOPEN:
    'mutation M($id: ID!, $v: Int!) { reopenCase(id: $id, expectedVersion: $v, note: "again") { CASE } }',
} as const;
export type ActionName = keyof typeof MUTATIONS;
export const ACTION_NAMES = Object.keys(MUTATIONS) as ActionName[];

const FIELD_OF: Record<ActionName, string> = {
  FILE: 'fileCase',
  REJECT: 'rejectCase',
  DISPATCH: 'dispatchCase',
  ACCEPT: 'acceptCase',
  RETURN: 'returnCase',
  RESOLVE: 'resolveCase',
  VERIFY_PASS: 'verifyCase',
  VERIFY_FAIL: 'verifyCase',
  REOPEN: 'reopenCase',
};

export interface ActResult {
  case?: CaseView;
  code?: string;
  message?: string;
  extensions?: Record<string, unknown>;
}

/** Runs one action through GraphQL; the refusal's `extensions.code` when refused. */
export async function act(
  server: TestServer,
  user: WorldUser,
  action: ActionName,
  caseId: string | number,
  version: number,
  extra: Record<string, unknown> = {},
): Promise<ActResult> {
  const query = MUTATIONS[action].replace('CASE', CASE_FIELDS);
  const send = () =>
    server.graphql<Record<string, CaseView>>(query, { id: String(caseId), v: version, ...extra }, user.token);
  // fetch may reuse a keep-alive socket the server is just closing (its 5 s idle timeout, late
  // on a busy machine): the request never reached the server, so sending it again is safe.
  const { data, errors } = await send().catch((error: unknown) => {
    if ((error as { cause?: { code?: string } }).cause?.code === 'ECONNRESET') return send();
    throw error;
  });
  if (errors?.length) {
    return {
      code: errors[0]!.extensions?.code,
      message: errors[0]!.message,
      extensions: errors[0]!.extensions,
    };
  }
  return { case: data![FIELD_OF[action]]! };
}

/** Counts of the case's events and its version, straight from the database. */
export async function trailOf(db: Executor, caseId: string | number) {
  const [row] = await rows<{ version: number; status: string; events: number; lastTo: string | null }>(
    db,
    sql`SELECT c.version, c.status::text AS status,
               (SELECT count(*)::int FROM case_events e WHERE e.case_id = c.id) AS events,
               (SELECT e.to_status::text FROM case_events e WHERE e.case_id = c.id ORDER BY e.seq DESC LIMIT 1) AS "lastTo"
        FROM cases c WHERE c.id = ${Number(caseId)}`,
  );
  return row!;
}

const PATH: Record<string, [string, string | null, string][]> = {
  REPORTED: [['REPORT', null, 'REPORTED']],
  REJECTED: [
    ['REPORT', null, 'REPORTED'],
    ['REJECT', 'REPORTED', 'REJECTED'],
  ],
  FILED: [
    ['REPORT', null, 'REPORTED'],
    ['FILE', 'REPORTED', 'FILED'],
  ],
  DISPATCHED: [
    ['REPORT', null, 'REPORTED'],
    ['FILE', 'REPORTED', 'FILED'],
    ['DISPATCH', 'FILED', 'DISPATCHED'],
  ],
  IN_PROGRESS: [
    ['REPORT', null, 'REPORTED'],
    ['FILE', 'REPORTED', 'FILED'],
    ['DISPATCH', 'FILED', 'DISPATCHED'],
    ['ACCEPT', 'DISPATCHED', 'IN_PROGRESS'],
  ],
  RESOLVED: [
    ['REPORT', null, 'REPORTED'],
    ['FILE', 'REPORTED', 'FILED'],
    ['DISPATCH', 'FILED', 'DISPATCHED'],
    ['ACCEPT', 'DISPATCHED', 'IN_PROGRESS'],
    ['RESOLVE', 'IN_PROGRESS', 'RESOLVED'],
  ],
  CLOSED: [
    ['REPORT', null, 'REPORTED'],
    ['FILE', 'REPORTED', 'FILED'],
    ['DISPATCH', 'FILED', 'DISPATCHED'],
    ['ACCEPT', 'DISPATCHED', 'IN_PROGRESS'],
    ['RESOLVE', 'IN_PROGRESS', 'RESOLVED'],
    ['VERIFY_PASS', 'RESOLVED', 'CLOSED'],
  ],
};

/**
 * A case written straight into the database at `status`, with the trail that leads there (so
 * version = number of events) and the handler fields given — faster than walking the API to
 * each starting point of the table-driven test.
 */
export async function seedCaseAt(
  db: Executor,
  c: {
    categoryId: number;
    cellId: number;
    status: keyof typeof PATH;
    departmentId?: number | null;
    assigneeId?: number | null;
    resolverId?: number | null;
  },
): Promise<{ id: number; version: number }> {
  const path = PATH[c.status]!;
  const dispatched = path.length >= 3 && c.status !== 'REJECTED';
  const [row] = await rows<{ id: number }>(
    db,
    sql`INSERT INTO cases (code, status, version, category_id, description, location, grid_cell_id, community_id,
                           street_id, district_id, city_id, source, department_id, assignee_id, resolver_id,
                           reported_at, filed_at, dispatched_at)
        SELECT ${`TW${newKey()}`}::text, ${c.status}::case_status, ${path.length}, ${c.categoryId}::bigint, 'seeded',
               ST_PointOnSurface(g.geom), g.id, g.community_id, g.street_id, g.district_id, g.city_id, 'COMMANDER',
               ${dispatched ? (c.departmentId ?? null) : null}::bigint, ${dispatched ? (c.assigneeId ?? null) : null}::bigint,
               ${c.resolverId ?? null}::bigint, now() - interval '1 hour',
               ${path.length >= 2 && c.status !== 'REJECTED' ? sql`now()` : sql`NULL`}, ${dispatched ? sql`now()` : sql`NULL`}
        FROM grid_cells g WHERE g.id = ${c.cellId}
        RETURNING id::int AS id`,
  );
  const id = row!.id;
  const events = path.map(([action, from, to], i) => ({ seq: i + 1, action, from, to }));
  await db.execute(sql`
    INSERT INTO case_events (case_id, seq, action, from_status, to_status, at)
    SELECT ${id}::bigint, e.seq, e.action, e.from::case_status, e.to::case_status, now()
    FROM json_to_recordset(${JSON.stringify(events)}::json) AS e(seq int, action text, "from" text, "to" text)`);
  return { id, version: path.length };
}
