/**
 * The field app's own reads over a real server: `myGridCells` (the cells a worker answers for) and
 * `myWork` — cases dispatched to the worker, resolved cases in their cells that someone else
 * resolved (never their own work, never another cell's), and their own reports, newest first.
 */
import { type LonLat, rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type TestDatabase, testDatabase } from '../helpers/db';
import { startTestServer, type TestServer } from '../helpers/server';

const CATEGORY = '11-01';

interface WorkCase {
  id: string;
  status: string;
}
interface MyWork {
  assigned: WorkCase[];
  toVerify: WorkCase[];
  reported: WorkCase[];
}

describe('field reads: myGridCells and myWork', () => {
  let database: TestDatabase;
  let server: TestServer;
  let commander: string;
  let worker: string;
  let workerId: number;
  let myPoint: LonLat;
  let foreignPoint: LonLat;
  let sanitationId: string;

  beforeAll(async () => {
    database = await testDatabase();
    server = await startTestServer(database);
    commander = await server.login('commander');
    worker = await server.login('worker1');
    const [w] = await rows<{ id: number; regionId: number }>(
      database.db,
      sql`SELECT id::int AS id, region_id::int AS "regionId" FROM users WHERE username = 'worker1'`,
    );
    workerId = w!.id;
    const points = await rows<{ mine: boolean; lon: number; lat: number }>(
      database.db,
      sql`SELECT DISTINCT ON (mine) mine, ST_X(p) AS lon, ST_Y(p) AS lat FROM (
            SELECT EXISTS (SELECT 1 FROM grid_cell_workers x WHERE x.grid_cell_id = g.id AND x.user_id = ${workerId}) AS mine,
                   ST_PointOnSurface(g.geom) AS p, g.code
            FROM grid_cells g WHERE ${w!.regionId} IN (g.district_id, g.street_id, g.city_id)
          ) s ORDER BY mine, code`,
    );
    const mine = points.find((p) => p.mine);
    const foreign = points.find((p) => !p.mine);
    myPoint = { lon: mine!.lon, lat: mine!.lat };
    foreignPoint = { lon: foreign!.lon, lat: foreign!.lat };
    const { departments } = await gql<{ departments: { id: string; code: string }[] }>(
      '{ departments { id code } }',
      {},
      commander,
    );
    sanitationId = departments.find((d) => d.code === 'sanitation')!.id;
  });

  afterAll(async () => {
    await server?.close();
  });

  test('myGridCells lists exactly the cells a worker answers for, with outlines; none for a commander', async () => {
    const expected = await rows<{ id: string }>(
      database.db,
      sql`SELECT grid_cell_id::text AS id FROM grid_cell_workers WHERE user_id = ${workerId} ORDER BY 1`,
    );
    expect(expected.length).toBeGreaterThan(0);
    const { myGridCells } = await gql<{ myGridCells: { id: string; geometry: { type: string } }[] }>(
      '{ myGridCells { id geometry } }',
      {},
      worker,
    );
    expect(myGridCells.map((c) => c.id).sort()).toEqual(expected.map((c) => c.id).sort());
    for (const cell of myGridCells) expect(cell.geometry.type).toMatch(/Polygon$/);
    const other = await gql<{ myGridCells: unknown[] }>('{ myGridCells { id } }', {}, commander);
    expect(other.myGridCells).toEqual([]);
  });

  test('a case dispatched to the worker is theirs until they resolve it, and never theirs to verify', async () => {
    const made = await reportAndFile('dispatched to worker1', myPoint);
    let version = (
      await gql<{ dispatchCase: { version: number } }>(
        'mutation ($id: ID!, $v: Int!, $a: ID) { dispatchCase(id: $id, expectedVersion: $v, assigneeId: $a) { version } }',
        { id: made.id, v: made.version, a: String(workerId) },
        commander,
      )
    ).dispatchCase.version;
    expect(await statusIn('assigned', made.id)).toBe('DISPATCHED');
    version = (
      await gql<{ acceptCase: { version: number } }>(
        'mutation ($id: ID!, $v: Int!) { acceptCase(id: $id, expectedVersion: $v) { version } }',
        { id: made.id, v: version },
        worker,
      )
    ).acceptCase.version;
    expect(await statusIn('assigned', made.id)).toBe('IN_PROGRESS');
    await gql(
      'mutation ($id: ID!, $v: Int!) { resolveCase(id: $id, expectedVersion: $v, note: "done") { version } }',
      { id: made.id, v: version },
      worker,
    );
    const work = await myWork();
    expect(work.assigned.map((c) => c.id)).not.toContain(made.id);
    // Resolved in the worker's own cell, but by the worker: someone else checks it.
    expect(work.toVerify.map((c) => c.id)).not.toContain(made.id);
  });

  test('resolved cases by others wait for the worker in their cells only', async () => {
    const mine = await resolvedBySanitation('resolved in a cell of worker1', myPoint);
    const foreign = await resolvedBySanitation('resolved in another cell', foreignPoint);
    const work = await myWork();
    expect(work.toVerify.find((c) => c.id === mine)?.status).toBe('RESOLVED');
    expect(work.toVerify.map((c) => c.id)).not.toContain(foreign);
    // The commander can see both but has no cells: nothing to verify in the field app.
    const commanderWork = await gql<{ myWork: MyWork }>('{ myWork { toVerify { id } } }', {}, commander);
    expect(commanderWork.myWork.toVerify).toEqual([]);
  });

  test("the worker's own reports come newest first", async () => {
    const first = await reportAs(worker, 'worker1 report one', myPoint);
    const second = await reportAs(worker, 'worker1 report two', myPoint);
    const { reported } = await myWork();
    const ids = reported.map((c) => c.id);
    expect(ids.indexOf(second)).toBe(0);
    expect(ids.indexOf(first)).toBe(1);
    const others = await rows<{ n: number }>(
      database.db,
      sql`SELECT count(*)::int AS n FROM cases WHERE id = ANY(${`{${ids.join(',')}}`}::bigint[]) AND reporter_id <> ${workerId}`,
    );
    expect(others[0]!.n).toBe(0);
  });

  async function gql<T = Record<string, unknown>>(
    query: string,
    variables: Record<string, unknown>,
    token: string,
  ) {
    const { data, errors } = await server.graphql<T>(query, variables, token);
    if (!data) throw new Error(`${query.slice(0, 60)}… failed: ${JSON.stringify(errors)}`);
    return data;
  }

  async function myWork(): Promise<MyWork> {
    return (
      await gql<{ myWork: MyWork }>(
        '{ myWork { assigned { id status } toVerify { id status } reported { id status } } }',
        {},
        worker,
      )
    ).myWork;
  }

  async function statusIn(list: keyof MyWork, id: string) {
    return (await myWork())[list].find((c) => c.id === id)?.status;
  }

  async function reportAs(token: string, description: string, at: LonLat): Promise<string> {
    const { reportCase } = await gql<{ reportCase: { id: string } }>(
      'mutation ($input: ReportCaseInput!) { reportCase(input: $input) { id } }',
      {
        input: {
          idempotencyKey: `field-api-${description}-${Date.now()}`,
          categoryCode: CATEGORY,
          description,
          location: at,
        },
      },
      token,
    );
    return reportCase.id;
  }

  async function reportAndFile(description: string, at: LonLat) {
    const id = await reportAs(commander, description, at);
    const { fileCase } = await gql<{ fileCase: { version: number } }>(
      'mutation ($id: ID!) { fileCase(id: $id, expectedVersion: 1) { version } }',
      { id },
      commander,
    );
    return { id, version: fileCase.version };
  }

  async function resolvedBySanitation(description: string, at: LonLat): Promise<string> {
    const made = await reportAndFile(description, at);
    const department = await server.login('dept-sanitation');
    const { dispatchCase } = await gql<{ dispatchCase: { version: number } }>(
      'mutation ($id: ID!, $v: Int!, $d: ID) { dispatchCase(id: $id, expectedVersion: $v, departmentId: $d) { version } }',
      { id: made.id, v: made.version, d: sanitationId },
      commander,
    );
    const { acceptCase } = await gql<{ acceptCase: { version: number } }>(
      'mutation ($id: ID!, $v: Int!) { acceptCase(id: $id, expectedVersion: $v) { version } }',
      { id: made.id, v: dispatchCase.version },
      department,
    );
    await gql(
      'mutation ($id: ID!, $v: Int!) { resolveCase(id: $id, expectedVersion: $v, note: "done") { version } }',
      { id: made.id, v: acceptCase.version },
      department,
    );
    return made.id;
  }
});
