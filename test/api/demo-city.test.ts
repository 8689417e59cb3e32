/** The first GraphQL slice against the seeded demo city: demo logins, reference data, the real grid. */
import { rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type TestDatabase, testDatabase } from '../helpers/db';
import { startTestServer, type TestServer } from '../helpers/server';
import { newKey } from './factories';

let database: TestDatabase;
let server: TestServer;
let commanderToken: string;

beforeAll(async () => {
  database = await testDatabase();
  server = await startTestServer(database);
  commanderToken = await server.login('commander');
});
afterAll(() => server?.close());

describe('demo logins', () => {
  test.each([
    ['admin', 'ADMIN'],
    ['commander', 'COMMANDER'],
    ['supervisor', 'SUPERVISOR'],
    ['worker1', 'WORKER'],
    ['worker20', 'WORKER'],
    ['dept-sanitation', 'DEPARTMENT'],
    ['dept-roads', 'DEPARTMENT'],
    ['dept-water', 'DEPARTMENT'],
  ])('%s signs in with the demo password as %s', async (username, role) => {
    const { data, errors } = await server.graphql<{ login: { token: string; user: { role: string } } }>(
      'mutation($u: String!) { login(username: $u, password: "citygrid") { token user { id role } } }',
      { u: username },
    );
    expect(errors).toBeUndefined();
    expect(data!.login.user.role).toBe(role);
    expect(data!.login.token.split('.')).toHaveLength(3);
  });

  test('the demo password is wrong for another spelling', async () => {
    const { errors } = await server.graphql(
      'mutation { login(username: "commander", password: "Citygrid") { token } }',
    );
    expect(errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('reference data', () => {
  test('categories, departments and regions for the map', async () => {
    const { data, errors } = await server.graphql<{
      categories: {
        code: string;
        name: string;
        nameEn: string;
        kind: string;
        majorCode: string;
        department: { code: string } | null;
      }[];
      departments: { id: string; code: string; name: string }[];
      regions: {
        id: string;
        level: string;
        geometry: { type: string };
        centroid: { lon: number; lat: number };
      }[];
    }>(
      `{ categories { code name nameEn kind majorCode department { code } }
         departments { id code name }
         regions(level: DISTRICT) { id level geometry centroid { lon lat } } }`,
      {},
      commanderToken,
    );
    expect(errors).toBeUndefined();
    expect(data!.categories.length).toBeGreaterThanOrEqual(25);
    expect(new Set(data!.categories.map((c) => c.kind))).toEqual(new Set(['COMPONENT', 'EVENT']));
    expect(data!.departments.map((d) => d.code)).toEqual(
      expect.arrayContaining(['sanitation', 'roads', 'water']),
    );
    expect(data!.regions).toHaveLength(4);
    for (const r of data!.regions) {
      expect(r.level).toBe('DISTRICT');
      expect(r.geometry.type).toBe('MultiPolygon');
      expect(r.centroid.lon).toBeGreaterThan(109.1);
      expect(r.centroid.lon).toBeLessThan(109.3);
    }
    const [district] = data!.regions;
    const streets = await server.graphql<{ regions: { parent: { id: string } }[] }>(
      `query S($p: ID) { regions(level: STREET, parentId: $p) { parent { id } } }`,
      { p: district!.id },
      commanderToken,
    );
    expect(streets.data!.regions.length).toBeGreaterThan(0);
    expect(new Set(streets.data!.regions.map((s) => s.parent.id))).toEqual(new Set([district!.id]));
  });
});

describe('the demo grid', () => {
  test('a point on the shared edge of two seeded cells resolves to one cell, the lowest id, every time', async () => {
    // Two neighbouring cells whose boundaries meet along a line; on it, a point both cells cover
    // (the edge's midpoint, or else one of its vertices, which both outlines share exactly).
    const candidates = await rows<{ a: number; b: number; lon: number; lat: number }>(
      database.db,
      sql`WITH pairs AS (
            SELECT a.id AS a, b.id AS b, ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom)) AS shared
            FROM grid_cells a JOIN grid_cells b ON a.id < b.id AND ST_Intersects(a.geom, b.geom)
            WHERE a.id IN (SELECT id FROM grid_cells ORDER BY id LIMIT 40)
          ), points AS (
            SELECT a, b, ST_LineInterpolatePoint((ST_Dump(ST_LineMerge(shared))).geom, 0.5) AS p
            FROM pairs WHERE ST_Dimension(shared) = 1
            UNION ALL
            SELECT a, b, (ST_DumpPoints(shared)).geom FROM pairs WHERE ST_Dimension(shared) = 1
          )
          SELECT a::int, b::int, ST_X(p) AS lon, ST_Y(p) AS lat FROM points
          WHERE ST_Covers((SELECT geom FROM grid_cells WHERE id = a), p)
            AND ST_Covers((SELECT geom FROM grid_cells WHERE id = b), p)
          LIMIT 1`,
    );
    expect(candidates).toHaveLength(1);
    const { lon, lat } = candidates[0]!;
    const point = { lon: Number(lon), lat: Number(lat) };
    const covering = await rows<{ id: number }>(
      database.db,
      sql`SELECT id::int AS id FROM grid_cells
          WHERE ST_Covers(geom, ST_SetSRID(ST_MakePoint(${point.lon}::float8, ${point.lat}::float8), 4326)) ORDER BY id`,
    );
    expect(covering.length).toBeGreaterThanOrEqual(2);
    for (let i = 0; i < 5; i++) {
      const { data, errors } = await server.graphql<{ gridAt: { id: string } | null }>(
        'query G($p: PointInput!) { gridAt(location: $p) { id } }',
        { p: point },
        commanderToken,
      );
      expect(errors).toBeUndefined();
      expect(data!.gridAt?.id).toBe(String(covering[0]!.id));
    }
  });

  test('the point lookup uses the GiST index on grid_cells.geom', async () => {
    const plan = await rows<Record<string, string>>(
      database.db,
      sql`EXPLAIN WITH hits AS MATERIALIZED (
            SELECT id FROM grid_cells WHERE ST_Covers(geom, ST_SetSRID(ST_MakePoint(109.19, 27.72), 4326)))
          SELECT * FROM hits ORDER BY id LIMIT 1`,
    );
    expect(plan.map((r) => Object.values(r).join(' ')).join('\n')).toContain('grid_cells_geom_gist');
  });

  test('the demo city covers the contract’s box', async () => {
    for (const [lon, lat] of [
      [109.15, 27.69],
      [109.23, 27.69],
      [109.15, 27.75],
      [109.23, 27.75],
      [109.19, 27.72],
    ]) {
      const { data } = await server.graphql<{ gridAt: { id: string } | null }>(
        'query G($p: PointInput!) { gridAt(location: $p) { id } }',
        { p: { lon, lat } },
        commanderToken,
      );
      expect(data!.gridAt).not.toBeNull();
    }
  });
});

describe('district scope over the demo cases', () => {
  test('commander-<district> sees their district’s cases and not another’s, even by id', async () => {
    const districts = await rows<{ id: number; code: string }>(
      database.db,
      sql`SELECT id::int AS id, code FROM regions WHERE level = 'DISTRICT' ORDER BY code LIMIT 2`,
    );
    const [own, other] = districts;
    const [foreign] = await rows<{ id: number }>(
      database.db,
      sql`SELECT id::int AS id FROM cases WHERE district_id = ${other!.id} ORDER BY id LIMIT 1`,
    );
    const token = await server.login(`commander-${own!.code}`);
    const byId = await server.graphql(
      'query C($id: ID!) { case(id: $id) { id } }',
      { id: String(foreign!.id) },
      token,
    );
    expect(byId.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const seenByCity = await server.graphql<{ case: { id: string } }>(
      'query C($id: ID!) { case(id: $id) { id } }',
      { id: String(foreign!.id) },
      commanderToken,
    );
    expect(seenByCity.data!.case.id).toBe(String(foreign!.id));

    const listed = await server.graphql<{
      cases: { edges: { node: { grid: { district: { id: string } } } }[] };
    }>('{ cases(first: 50) { edges { node { grid { district { id } } } } } }', {}, token);
    expect(listed.errors).toBeUndefined();
    expect(listed.data!.cases.edges.length).toBeGreaterThan(0);
    expect(new Set(listed.data!.cases.edges.map((e) => e.node.grid.district.id))).toEqual(
      new Set([String(own!.id)]),
    );
  });

  test('worker1 reports in one of their own cells; the case number continues the seeded ones', async () => {
    const [cell] = await rows<{ lon: number; lat: number }>(
      database.db,
      sql`SELECT ST_X(ST_PointOnSurface(g.geom)) AS lon, ST_Y(ST_PointOnSurface(g.geom)) AS lat
          FROM grid_cell_workers w JOIN users u ON u.id = w.user_id JOIN grid_cells g ON g.id = w.grid_cell_id
          WHERE u.username = 'worker1' ORDER BY g.id LIMIT 1`,
    );
    const [category] = await rows<{ code: string }>(
      database.db,
      sql`SELECT code FROM categories ORDER BY code LIMIT 1`,
    );
    const token = await server.login('worker1');
    const { data, errors } = await server.graphql<{
      reportCase: { code: string; status: string; source: string };
    }>(
      `mutation R($input: ReportCaseInput!) { reportCase(input: $input) { code status source } }`,
      {
        input: {
          idempotencyKey: newKey(),
          categoryCode: category!.code,
          description: '井盖缺失',
          location: { lon: Number(cell!.lon), lat: Number(cell!.lat) },
        },
      },
      token,
    );
    expect(errors).toBeUndefined();
    expect(data!.reportCase).toMatchObject({ status: 'REPORTED', source: 'WORKER' });
    const [seeded] = await rows<{ n: number }>(database.db, sql`SELECT count(*)::int AS n FROM cases`);
    expect(Number(data!.reportCase.code.slice(-6))).toBeGreaterThanOrEqual(seeded!.n);
  });
});
