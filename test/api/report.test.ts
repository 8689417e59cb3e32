/** `reportCase`: one transaction that locates the cell and writes the case and its REPORT event. */
import { rows } from '@citygrid/db';
import { wgs84ToGcj02 } from '@citygrid/server';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type TestDatabase, testDatabase } from '../helpers/db';
import { startTestServer, type TestServer } from '../helpers/server';
import {
  cellCentre,
  makeCategory,
  makeDepartment,
  makeTestCity,
  makeUser,
  newKey,
  type TestCity,
} from './factories';

let database: TestDatabase;
let server: TestServer;
let city: TestCity;
let category: { id: number; code: string };
let department: { id: number; code: string };
let worker: { id: number; username: string };
let workerToken: string;
let commanderToken: string;
let departmentToken: string;
let otherWorkerToken: string;

beforeAll(async () => {
  database = await testDatabase();
  server = await startTestServer(database);
  city = await makeTestCity(database.db);
  department = await makeDepartment(database.db, city.cityId);
  category = await makeCategory(database.db, { departmentId: department.id });
  worker = await makeUser(database.db, { role: 'WORKER', regionId: city.districts.A.id });
  const commander = await makeUser(database.db, { role: 'COMMANDER', regionId: city.cityId });
  const deptUser = await makeUser(database.db, {
    role: 'DEPARTMENT',
    regionId: city.cityId,
    departmentId: department.id,
  });
  const otherWorker = await makeUser(database.db, { role: 'WORKER', regionId: city.districts.A.id });
  [workerToken, commanderToken, departmentToken, otherWorkerToken] = await Promise.all([
    server.login(worker.username),
    server.login(commander.username),
    server.login(deptUser.username),
    server.login(otherWorker.username),
  ]);
});
afterAll(() => server?.close());

const REPORT = `mutation R($input: ReportCaseInput!) {
  reportCase(input: $input) {
    id code status version source priority
    location { lon lat }
    grid { id }
    category { code }
    department { id }
    reportedAt fileDueAt dispatchDueAt handleDueAt overdue reworkCount
    events { seq action fromStatus toStatus actor { id } }
    possibleDuplicates { id }
  }
}`;

interface Reported {
  id: string;
  code: string;
  status: string;
  version: number;
  source: string;
  location: { lon: number; lat: number };
  grid: { id: string };
  events: {
    seq: number;
    action: string;
    fromStatus: string | null;
    toStatus: string;
    actor: { id: string } | null;
  }[];
  [key: string]: unknown;
}

function report(input: Record<string, unknown>, token = workerToken) {
  return server.graphql<{ reportCase: Reported }>(REPORT, { input }, token);
}

function input(overrides: Record<string, unknown> = {}) {
  return {
    idempotencyKey: newKey(),
    categoryCode: category.code,
    description: 'Manhole cover missing at the crossing',
    location: cellCentre(city.districts.A, 2),
    ...overrides,
  };
}

async function countFor(key: string): Promise<{ cases: number; events: number }> {
  const [row] = await rows<{ cases: number; events: number }>(
    database.db,
    sql`SELECT (SELECT count(*)::int FROM cases WHERE idempotency_key = ${key}) AS cases,
               (SELECT count(*)::int FROM case_events e JOIN cases c ON c.id = e.case_id
                 WHERE c.idempotency_key = ${key}) AS events`,
  );
  return row!;
}

describe('reportCase', () => {
  test('writes a REPORTED case in the located cell with version 1 and its REPORT event', async () => {
    const given = input();
    const { data, errors } = await report(given);
    expect(errors).toBeUndefined();
    const c = data!.reportCase;
    expect(c).toMatchObject({
      status: 'REPORTED',
      version: 1,
      source: 'WORKER',
      priority: 'NORMAL',
      grid: { id: String(city.districts.A.cells[2]) },
      category: { code: category.code },
      department: { id: String(department.id) },
      overdue: false,
      reworkCount: 0,
      possibleDuplicates: [],
    });
    expect(c.code).toMatch(/^[A-Z]+\d{8}\d{6,}$/);
    expect(c.location).toEqual(given.location);
    expect(c.events).toEqual([
      { seq: 1, action: 'REPORT', fromStatus: null, toStatus: 'REPORTED', actor: { id: String(worker.id) } },
    ]);
    // Deadlines follow the category's limits (60, +30, +480 minutes) from the report.
    const reportedAt = Date.parse(c.reportedAt as string);
    expect(Date.parse(c.fileDueAt as string) - reportedAt).toBe(60 * 60_000);
    expect(Date.parse(c.dispatchDueAt as string) - reportedAt).toBe(90 * 60_000);
    expect(Date.parse(c.handleDueAt as string) - reportedAt).toBe(570 * 60_000);
    expect(await countFor(given.idempotencyKey)).toEqual({ cases: 1, events: 1 });
  });

  test('a commander reports with source COMMANDER', async () => {
    const { data, errors } = await report(
      input({ location: cellCentre(city.districts.B, 0) }),
      commanderToken,
    );
    expect(errors).toBeUndefined();
    expect(data!.reportCase.source).toBe('COMMANDER');
  });

  test('a repeated idempotencyKey returns the first case and writes nothing more', async () => {
    const given = input();
    const first = await report(given);
    const again = await report({ ...given, description: 'a retry with other words' });
    expect(again.errors).toBeUndefined();
    expect(again.data!.reportCase.id).toBe(first.data!.reportCase.id);
    expect(again.data!.reportCase.version).toBe(1);
    expect(await countFor(given.idempotencyKey)).toEqual({ cases: 1, events: 1 });
  });

  test('concurrent repeats of one key make one case and one event', async () => {
    const given = input({ location: cellCentre(city.districts.A, 1) });
    const results = await Promise.all(Array.from({ length: 12 }, () => report(given)));
    for (const r of results) expect(r.errors).toBeUndefined();
    expect(new Set(results.map((r) => r.data!.reportCase.id)).size).toBe(1);
    expect(await countFor(given.idempotencyKey)).toEqual({ cases: 1, events: 1 });
  });

  test('another user reusing a key gets CONFLICT, not the first case', async () => {
    const given = input();
    expect((await report(given)).errors).toBeUndefined();
    const { data, errors } = await report(given, otherWorkerToken);
    expect(data).toBeNull();
    expect(errors?.[0]?.extensions?.code).toBe('CONFLICT');
  });

  test('a point outside the city is BAD_USER_INPUT and writes nothing', async () => {
    const given = input({ location: { lon: 120.5, lat: 30.25 } });
    const { data, errors } = await report(given);
    expect(data).toBeNull();
    expect(errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await countFor(given.idempotencyKey)).toEqual({ cases: 0, events: 0 });
  });

  test('an unknown category is BAD_USER_INPUT and writes nothing', async () => {
    const given = input({ categoryCode: 'no-such-category' });
    const { data, errors } = await report(given);
    expect(data).toBeNull();
    expect(errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await countFor(given.idempotencyKey)).toEqual({ cases: 0, events: 0 });
  });

  test('a DEPARTMENT user may not report', async () => {
    const { errors } = await report(input(), departmentToken);
    expect(errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  test('a worker may not report outside their district', async () => {
    const given = input({ location: cellCentre(city.districts.B, 3) });
    const { errors } = await report(given);
    expect(errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await countFor(given.idempotencyKey)).toEqual({ cases: 0, events: 0 });
  });

  test('a GCJ-02 point is stored as WGS84', async () => {
    const wgs = cellCentre(city.districts.A, 3);
    const { data, errors } = await report(input({ location: { ...wgs84ToGcj02(wgs), crs: 'GCJ02' } }));
    expect(errors).toBeUndefined();
    const stored = data!.reportCase.location;
    expect(Math.abs(stored.lon - wgs.lon)).toBeLessThan(1e-7);
    expect(Math.abs(stored.lat - wgs.lat)).toBeLessThan(1e-7);
    expect(data!.reportCase.grid.id).toBe(String(city.districts.A.cells[3]));
  });

  test('an empty description or missing key is BAD_USER_INPUT', async () => {
    expect((await report(input({ description: '   ' }))).errors?.[0]?.extensions?.code).toBe(
      'BAD_USER_INPUT',
    );
    expect((await report(input({ idempotencyKey: '' }))).errors?.[0]?.extensions?.code).toBe(
      'BAD_USER_INPUT',
    );
  });

  test('a change to the category is seen by the very next report', async () => {
    // The server keeps categories in memory; these changes go round it, as another instance's would.
    const changing = await makeCategory(database.db, { departmentId: department.id });
    const first = await report(input({ categoryCode: changing.code }));
    expect(first.errors).toBeUndefined();
    expect(first.data!.reportCase.department).toEqual({ id: String(department.id) });

    const other = await makeDepartment(database.db, city.cityId);
    await database.db.execute(sql`
      UPDATE categories SET default_department_id = ${other.id}, default_priority = 'HIGH' WHERE id = ${changing.id}`);
    await database.db.execute(sql`
      UPDATE category_deadlines SET minutes = 15 WHERE category_id = ${changing.id} AND priority = 'HIGH' AND stage = 'FILE'`);
    const second = await report(input({ categoryCode: changing.code }));
    expect(second.errors).toBeUndefined();
    expect(second.data!.reportCase).toMatchObject({ priority: 'HIGH', department: { id: String(other.id) } });
    const at = Date.parse(second.data!.reportCase.reportedAt as string);
    expect(Date.parse(second.data!.reportCase.fileDueAt as string) - at).toBe(15 * 60_000);

    await database.db.execute(sql`UPDATE categories SET active = false WHERE id = ${changing.id}`);
    const third = input({ categoryCode: changing.code });
    const refused = await report(third);
    expect(refused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await countFor(third.idempotencyKey)).toEqual({ cases: 0, events: 0 });
  });

  test('without a token reportCase is UNAUTHENTICATED', async () => {
    const { errors } = await server.graphql(REPORT, { input: input() });
    expect(errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
