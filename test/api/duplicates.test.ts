/**
 * Likely duplicates: open cases of the same category within 50 m reported within 7 days, nearest
 * first, in the reader's scope; the query goes through the geography GiST index.
 */
import { rows } from '@citygrid/db';
import { explainPossibleDuplicates } from '@citygrid/server';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type TestDatabase, testDatabase } from '../helpers/db';
import { startTestServer, type TestServer } from '../helpers/server';
import { cellCentre, makeCategory, newKey } from './factories';
import { act, makeWorld, type World } from './workflow-world';

let database: TestDatabase;
let server: TestServer;
let world: World;

beforeAll(async () => {
  database = await testDatabase();
  server = await startTestServer(database);
  world = await makeWorld(database.db, server);
});
afterAll(() => server?.close());

/** Metres north of the centre of cell A.c1, in degrees of latitude (≈ 111,195 m per degree). */
const north = (metres: number) => {
  const c = cellCentre(world.city.districts.A, 0);
  return { lon: c.lon, lat: c.lat + metres / 111_195 };
};

async function report(
  location: { lon: number; lat: number },
  categoryCode = world.category.code,
  token = world.users.commander.token,
) {
  const { data, errors } = await server.graphql<{
    reportCase: { id: string; possibleDuplicates: { id: string }[] };
  }>(
    `mutation R($input: ReportCaseInput!) { reportCase(input: $input) { id possibleDuplicates { id } } }`,
    { input: { idempotencyKey: newKey(), categoryCode, description: 'overflowing bin', location } },
    token,
  );
  if (!data?.reportCase) throw new Error(JSON.stringify(errors));
  return data.reportCase;
}

describe('possibleDuplicates', () => {
  test('open, same category, within 50 m, within 7 days, nearest first, never itself', async () => {
    const atCentre = await report(north(0));
    const at20 = await report(north(20));
    const at35 = await report(north(35));
    const at70 = await report(north(70));
    const other = await makeCategory(database.db, { departmentId: world.dept1.id });
    await report(north(5), other.code);
    const rejected = await report(north(10));
    expect(
      (await act(server, world.users.commander, 'REJECT', rejected.id, 1, { reason: 'INVALID' })).case
        ?.status,
    ).toBe('REJECTED');
    const old = await report(north(15));
    await database.db.execute(
      sql`UPDATE cases SET reported_at = now() - interval '8 days' WHERE id = ${Number(old.id)}`,
    );

    const fresh = await report(north(12));
    // Distances 12, 8, 23, 58 m from the new one: 58 m is out, the rejected and the old are out.
    expect(fresh.possibleDuplicates.map((c) => c.id)).toEqual([at20.id, atCentre.id, at35.id]);
    expect(fresh.possibleDuplicates.map((c) => c.id)).not.toContain(at70.id);

    // Read again later through `case`: the same list, and the case is not its own duplicate.
    const { data } = await server.graphql<{ case: { possibleDuplicates: { id: string }[] } }>(
      'query Q($id: ID!) { case(id: $id) { possibleDuplicates { id } } }',
      { id: atCentre.id },
      world.users.commander.token,
    );
    expect(data?.case.possibleDuplicates.map((c) => c.id)).toEqual([fresh.id, at20.id, at35.id]);
  });

  test('only cases the reader may see', async () => {
    // Two cases 30 m apart across the border of districts A and B (cell A.c2 | B.c1).
    const border = world.city.districts.B.origin;
    const inA = await report({ lon: border.lon - 15 / 98_000, lat: border.lat + 0.002 });
    const inB = await report({ lon: border.lon + 15 / 98_000, lat: border.lat + 0.002 });
    expect(inB.possibleDuplicates.map((c) => c.id)).toEqual([inA.id]);
    const q = 'query Q($id: ID!) { case(id: $id) { possibleDuplicates { id } } }';
    const asA = await server.graphql<{ case: { possibleDuplicates: { id: string }[] } }>(
      q,
      { id: inA.id },
      world.users.commanderA.token,
    );
    expect(asA.data?.case.possibleDuplicates).toEqual([]);
    const asCity = await server.graphql<{ case: { possibleDuplicates: { id: string }[] } }>(
      q,
      { id: inA.id },
      world.users.commander.token,
    );
    expect(asCity.data?.case.possibleDuplicates.map((c) => c.id)).toEqual([inB.id]);
  });

  test('the query uses the geography GiST index (cases_location_geog_gist), not a scan', async () => {
    // A busy category of the seeded demo city, so the category index is no shortcut.
    const [subject] = await rows<{
      id: number;
      categoryId: number;
      lon: number;
      lat: number;
      reportedAt: Date;
    }>(
      database.db,
      sql`SELECT c.id::int AS id, c.category_id::int AS "categoryId", ST_X(c.location) AS lon, ST_Y(c.location) AS lat,
                 c.reported_at AS "reportedAt"
          FROM cases c
          WHERE c.category_id = (SELECT category_id FROM cases GROUP BY category_id ORDER BY count(*) DESC LIMIT 1)
          ORDER BY c.reported_at DESC LIMIT 1`,
    );
    await database.db.execute(sql`ANALYZE cases`);
    const [commander] = await rows<{ id: number; regionId: number }>(
      database.db,
      sql`SELECT id::int AS id, region_id::int AS "regionId" FROM users WHERE username = 'commander'`,
    );
    const plan = await explainPossibleDuplicates(
      database.db,
      { id: commander!.id, role: 'COMMANDER', regionId: commander!.regionId },
      {
        id: subject!.id,
        categoryId: subject!.categoryId,
        location: { lon: subject!.lon, lat: subject!.lat },
        reportedAt: new Date(subject!.reportedAt),
      },
    );
    const text = plan.join('\n');
    expect(text).toContain('cases_location_geog_gist');
    expect(text).not.toMatch(/Seq Scan on cases/);
  });
});
