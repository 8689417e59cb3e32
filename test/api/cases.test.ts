/** `cases` (filters, Relay pagination) and `case(id)` under region scope. */
import { rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type TestDatabase, testDatabase } from '../helpers/db';
import { startTestServer, type TestServer } from '../helpers/server';
import {
  CELL_DEG,
  cellCentre,
  makeCase,
  makeCategory,
  makeTestCity,
  makeUser,
  newKey,
  type TestCity,
} from './factories';

let database: TestDatabase;
let server: TestServer;
let city: TestCity;
let category: { id: number; code: string };
let otherCategory: { id: number; code: string };
let cityToken: string;
let districtAToken: string;
let districtBToken: string;
const caseIds: number[] = [];

const STATUSES = ['REPORTED', 'FILED', 'DISPATCHED', 'IN_PROGRESS', 'RESOLVED', 'CLOSED', 'REJECTED'];
const HOUR = 3_600_000;

beforeAll(async () => {
  database = await testDatabase();
  server = await startTestServer(database);
  city = await makeTestCity(database.db);
  category = await makeCategory(database.db);
  otherCategory = await makeCategory(database.db, { kind: 'COMPONENT' });
  const [commander, commanderA, commanderB] = await Promise.all([
    makeUser(database.db, { role: 'COMMANDER', regionId: city.cityId }),
    makeUser(database.db, { role: 'COMMANDER', regionId: city.districts.A.id }),
    makeUser(database.db, { role: 'COMMANDER', regionId: city.districts.B.id }),
  ]);
  [cityToken, districtAToken, districtBToken] = await Promise.all([
    server.login(commander.username),
    server.login(commanderA.username),
    server.login(commanderB.username),
  ]);
  // 45 cases over both districts and every status; every third shares its report time with the
  // previous one, so the cursor must break ties by id.
  const base = Date.now() - 10 * 24 * HOUR;
  let at = base;
  for (let i = 0; i < 45; i++) {
    if (i % 3 !== 0) at += 37 * 60_000;
    const district = i % 2 === 0 ? city.districts.A : city.districts.B;
    const index = (i % 4) as 0 | 1 | 2 | 3;
    caseIds.push(
      await makeCase(database.db, {
        categoryId: i % 5 === 0 ? otherCategory.id : category.id,
        cellId: district.cells[index],
        point: cellCentre(district, index),
        reportedAt: new Date(at),
        status: STATUSES[i % STATUSES.length],
      }),
    );
  }
});
afterAll(() => server?.close());

const CASES = `query Q($filter: CaseFilter, $first: Int, $after: String) {
  cases(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id status reportedAt grid { id } category { code } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;

interface Page {
  cases: {
    edges: {
      cursor: string;
      node: { id: string; status: string; reportedAt: string; grid: { id: string } };
    }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

async function walk(filter: Record<string, unknown> | null, first: number, token = cityToken) {
  const seen: Page['cases']['edges'][number]['node'][] = [];
  let after: string | null = null;
  for (let pages = 0; pages < 100; pages++) {
    const response: { data?: Page | null; errors?: unknown[] } = await server.graphql<Page>(
      CASES,
      { filter, first, after },
      token,
    );
    expect(response.errors).toBeUndefined();
    const page: Page['cases'] = response.data!.cases;
    expect(page.edges.length).toBeLessThanOrEqual(first);
    seen.push(...page.edges.map((e) => e.node));
    if (!page.pageInfo.hasNextPage) return seen;
    after = page.pageInfo.endCursor;
  }
  throw new Error('more than 100 pages');
}

/** The ids the database holds for this city, in the API's order (newest first, then id). */
async function expectedIds(where = sql`true`): Promise<string[]> {
  const found = await rows<{ id: number }>(
    database.db,
    sql`SELECT id::int AS id FROM cases WHERE city_id = ${city.cityId} AND ${where} ORDER BY reported_at DESC, id DESC`,
  );
  return found.map((r) => String(r.id));
}

describe('cases', () => {
  test('walking every page returns each case once, in order, with no gaps', async () => {
    const expected = await expectedIds();
    expect(expected).toHaveLength(45);
    for (const size of [7, 10, 45, 100]) {
      const seen = await walk(null, size);
      expect(seen.map((n) => n.id)).toEqual(expected);
    }
  });

  test('the status filter keeps only those statuses, across pages', async () => {
    const seen = await walk({ status: ['FILED', 'CLOSED'] }, 4);
    expect(seen.map((n) => n.id)).toEqual(await expectedIds(sql`status IN ('FILED', 'CLOSED')`));
    expect(new Set(seen.map((n) => n.status))).toEqual(new Set(['FILED', 'CLOSED']));
  });

  test('the bbox filter keeps the cases inside the box', async () => {
    const { A } = city.districts;
    // The west column of district A: cells c1 and c3.
    const bbox = {
      minLon: A.origin.lon,
      minLat: A.origin.lat,
      maxLon: A.origin.lon + CELL_DEG * 0.9,
      maxLat: A.origin.lat + 2 * CELL_DEG,
    };
    const seen = await walk({ bbox }, 5);
    const expected = await expectedIds(sql`grid_cell_id IN (${A.cells[0]}, ${A.cells[2]})`);
    expect(expected.length).toBeGreaterThan(0);
    expect(seen.map((n) => n.id)).toEqual(expected);
  });

  test('category, grid, region and time filters combine', async () => {
    const { B } = city.districts;
    const byCategory = await walk({ categoryCodes: [otherCategory.code] }, 50);
    expect(byCategory.map((n) => n.id)).toEqual(await expectedIds(sql`category_id = ${otherCategory.id}`));

    const byGrid = await walk({ gridId: String(B.cells[1]) }, 50);
    expect(byGrid.map((n) => n.id)).toEqual(await expectedIds(sql`grid_cell_id = ${B.cells[1]}`));

    const byRegion = await walk({ regionId: String(B.id), status: ['REPORTED'] }, 50);
    expect(byRegion.map((n) => n.id)).toEqual(
      await expectedIds(sql`district_id = ${B.id} AND status = 'REPORTED'`),
    );

    const all = await walk(null, 100);
    const after = all[30]!.reportedAt;
    const before = all[10]!.reportedAt;
    const window = await walk({ reportedAfter: after, reportedBefore: before }, 6);
    expect(window.map((n) => n.id)).toEqual(
      await expectedIds(sql`reported_at >= ${after}::timestamptz AND reported_at < ${before}::timestamptz`),
    );
  });

  test('a district commander sees only their district', async () => {
    const seen = await walk(null, 20, districtAToken);
    expect(seen.map((n) => n.id)).toEqual(await expectedIds(sql`district_id = ${city.districts.A.id}`));
  });

  test('first above 1000 or below 0, and a forged cursor, are BAD_USER_INPUT', async () => {
    for (const variables of [{ first: 1001 }, { first: -1 }, { first: 5, after: 'bm90LWEtY3Vyc29y' }]) {
      const { errors } = await server.graphql(CASES, variables, cityToken);
      expect(errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
  });
});

describe('case(id)', () => {
  const CASE = `query C($id: ID!) {
    case(id: $id) { id status overdue handleDueAt events { seq action fromStatus toStatus note at } }
  }`;

  test('a district commander cannot see another district’s case, even by id', async () => {
    const inB = await makeCase(database.db, {
      categoryId: category.id,
      cellId: city.districts.B.cells[0],
      point: cellCentre(city.districts.B, 0),
    });
    const mine = await server.graphql<{ case: { id: string } }>(CASE, { id: String(inB) }, districtBToken);
    expect(mine.errors).toBeUndefined();
    expect(mine.data!.case.id).toBe(String(inB));

    const theirs = await server.graphql(CASE, { id: String(inB) }, districtAToken);
    expect(theirs.data).toBeNull();
    expect(theirs.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    // The same answer as for an id that does not exist at all.
    const missing = await server.graphql(CASE, { id: '987654321' }, districtAToken);
    expect(missing.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  test('overdue is computed from handleDueAt when read', async () => {
    const { A } = city.districts;
    const make = (status: string, dueInHours: number) =>
      makeCase(database.db, {
        categoryId: category.id,
        cellId: A.cells[0],
        point: cellCentre(A, 0),
        status,
        handleDueAt: new Date(Date.now() + dueInHours * HOUR),
      });
    const late = await make('IN_PROGRESS', -1);
    const early = await make('IN_PROGRESS', 1);
    const lateButResolved = await make('RESOLVED', -1);
    const overdue = async (id: number) =>
      (await server.graphql<{ case: { overdue: boolean } }>(CASE, { id: String(id) }, cityToken)).data!.case
        .overdue;
    expect(await overdue(late)).toBe(true);
    expect(await overdue(early)).toBe(false);
    expect(await overdue(lateButResolved)).toBe(false);

    const flagged = await walk({ overdue: true }, 50);
    expect(flagged.map((n) => n.id)).toContain(String(late));
    expect(flagged.map((n) => n.id)).not.toContain(String(early));
    const notFlagged = await walk({ overdue: false }, 100);
    expect(notFlagged.map((n) => n.id)).toContain(String(early));
    expect(notFlagged.length + flagged.length).toBe((await expectedIds()).length);
  });

  test('events come back in order, as reportCase wrote them', async () => {
    const reported = await server.graphql<{ reportCase: { id: string } }>(
      `mutation R($input: ReportCaseInput!) { reportCase(input: $input) { id } }`,
      {
        input: {
          idempotencyKey: newKey(),
          categoryCode: category.code,
          description: 'Rubbish piled on the pavement',
          location: cellCentre(city.districts.A, 1),
        },
      },
      cityToken,
    );
    expect(reported.errors).toBeUndefined();
    const { data } = await server.graphql<{ case: { events: { seq: number; action: string }[] } }>(
      CASE,
      { id: reported.data!.reportCase.id },
      cityToken,
    );
    expect(data!.case.events.map((e) => [e.seq, e.action])).toEqual([[1, 'REPORT']]);
  });

  test('a malformed id is BAD_USER_INPUT', async () => {
    const { errors } = await server.graphql(CASE, { id: 'abc' }, cityToken);
    expect(errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
