/**
 * Auto-routing: `fileAndDispatchCase` files a reported case and dispatches it in one step — to the
 * category's default department when no target is named, or to the accepted suggestion.
 */
import { rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { testDatabase } from '../helpers/db';
import { startTestServer, type TestServer } from '../helpers/server';
import {
  cellCentre,
  makeCase,
  makeCategory,
  makeDepartment,
  makeTestCity,
  makeUser,
  type TestCity,
} from './factories';

const database = await testDatabase();
const db = database.db;
let server: TestServer;
let city: TestCity;
let commander: string;
let departmentId: number;

const MUTATION = `mutation M($id: ID!, $v: Int!, $d: ID, $a: ID) {
  fileAndDispatchCase(id: $id, expectedVersion: $v, departmentId: $d, assigneeId: $a, note: "按建议派遣") {
    status version handleDueAt department { id } assignee { id }
  }
}`;

interface Dispatched {
  status: string;
  version: number;
  handleDueAt: string | null;
  department: { id: string } | null;
  assignee: { id: string } | null;
}

beforeAll(async () => {
  server = await startTestServer(database);
  city = await makeTestCity(db, { lon: 117.25, lat: 31.75 });
  departmentId = (await makeDepartment(db, city.cityId)).id;
  commander = await server.login((await makeUser(db, { role: 'COMMANDER', regionId: city.cityId })).username);
});

afterAll(() => server?.close());

const reported = (categoryId: number) =>
  makeCase(db, { categoryId, cellId: city.districts.A.cells[0], point: cellCentre(city.districts.A, 0) });

const trail = async (id: number) =>
  (
    await rows<{ action: string }>(db, sql`SELECT action FROM case_events WHERE case_id = ${id} ORDER BY seq`)
  ).map((e) => e.action);

test("without a target it goes to the category's default department", async () => {
  const id = await reported((await makeCategory(db, { departmentId })).id);
  const { data, errors } = await server.graphql<{ fileAndDispatchCase: Dispatched }>(
    MUTATION,
    { id: String(id), v: 1 },
    commander,
  );
  expect(errors).toBeUndefined();
  expect(data!.fileAndDispatchCase).toMatchObject({
    status: 'DISPATCHED',
    version: 3,
    department: { id: String(departmentId) },
    assignee: null,
  });
  expect(data!.fileAndDispatchCase.handleDueAt).not.toBeNull();
  expect(await trail(id)).toEqual(['REPORT', 'FILE', 'DISPATCH']);
});

test('an accepted suggestion names the worker', async () => {
  const id = await reported((await makeCategory(db, { departmentId })).id);
  const worker = await makeUser(db, { role: 'WORKER', regionId: city.districts.A.id });
  const { data, errors } = await server.graphql<{ fileAndDispatchCase: Dispatched }>(
    MUTATION,
    { id: String(id), v: 1, a: String(worker.id) },
    commander,
  );
  expect(errors).toBeUndefined();
  expect(data!.fileAndDispatchCase).toMatchObject({
    status: 'DISPATCHED',
    assignee: { id: String(worker.id) },
  });
});

test('no default department and no target: refused before anything is written', async () => {
  const id = await reported((await makeCategory(db)).id);
  const { errors } = await server.graphql(MUTATION, { id: String(id), v: 1 }, commander);
  expect(errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  expect(await trail(id)).toEqual(['REPORT']);
  const department = await makeUser(db, { role: 'DEPARTMENT', regionId: city.cityId, departmentId });
  const forbidden = await server.graphql(
    MUTATION,
    { id: String(id), v: 1, d: String(departmentId) },
    await server.login(department.username),
  );
  expect(forbidden.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  expect(await trail(id)).toEqual(['REPORT']);
});
