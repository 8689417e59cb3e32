/** `gridAt` and `gridCells`: inside, outside, exactly on shared edges and corners, and scope. */
import { rows } from '@citygrid/db';
import { wgs84ToBd09, wgs84ToGcj02 } from '@citygrid/server';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type TestDatabase, testDatabase } from '../helpers/db';
import { startTestServer, type TestServer } from '../helpers/server';
import { CELL_DEG, cellCentre, makeTestCity, makeUser, type TestCity } from './factories';

let database: TestDatabase;
let server: TestServer;
let city: TestCity;
let cityToken: string;
let districtAToken: string;

beforeAll(async () => {
  database = await testDatabase();
  server = await startTestServer(database);
  city = await makeTestCity(database.db);
  const commander = await makeUser(database.db, { role: 'COMMANDER', regionId: city.cityId });
  const districtCommander = await makeUser(database.db, { role: 'COMMANDER', regionId: city.districts.A.id });
  [cityToken, districtAToken] = await Promise.all([
    server.login(commander.username),
    server.login(districtCommander.username),
  ]);
});
afterAll(() => server?.close());

interface Cell {
  id: string;
  code: string;
  community: { id: string; level: string };
  street: { id: string; level: string };
  district: { id: string; level: string };
}

const GRID_AT = `query G($p: PointInput!) {
  gridAt(location: $p) { id code community { id level } street { id level } district { id level } }
}`;

async function gridAt(p: { lon: number; lat: number; crs?: string }, token = cityToken) {
  const { data, errors } = await server.graphql<{ gridAt: Cell | null }>(GRID_AT, { p }, token);
  expect(errors).toBeUndefined();
  return data!.gridAt;
}

/** What the database says covers a point, lowest id first. */
async function coveringCells(p: { lon: number; lat: number }): Promise<number[]> {
  const found = await rows<{ id: number }>(
    database.db,
    sql`SELECT id::int AS id FROM grid_cells
        WHERE ST_Covers(geom, ST_SetSRID(ST_MakePoint(${p.lon}::float8, ${p.lat}::float8), 4326)) ORDER BY id`,
  );
  return found.map((r) => r.id);
}

describe('gridAt', () => {
  test('a point inside a cell gives that cell with its community, street and district', async () => {
    const { A, B } = city.districts;
    for (const [district, index] of [
      [A, 0],
      [A, 3],
      [B, 1],
      [B, 2],
    ] as const) {
      const cell = await gridAt(cellCentre(district, index));
      expect(cell).toEqual({
        id: String(district.cells[index]),
        code: expect.any(String),
        community: { id: String(district.communityId), level: 'COMMUNITY' },
        street: { id: String(district.streetId), level: 'STREET' },
        district: { id: String(district.id), level: 'DISTRICT' },
      });
    }
  });

  test('a point outside every cell gives null (not an error)', async () => {
    expect(await gridAt({ lon: 120.5, lat: 30.25 })).toBeNull();
    expect(
      await gridAt({ lon: city.origin.lon - CELL_DEG / 10, lat: city.origin.lat + CELL_DEG }),
    ).toBeNull();
  });

  test('a point exactly on an edge shared by two cells gives one cell, the lowest id, every time', async () => {
    // Find the edge in SQL: where the boundaries of two adjacent cells meet along a line.
    const { A } = city.districts;
    const [edge] = await rows<{ lon: number; lat: number }>(
      database.db,
      sql`SELECT ST_X(p) AS lon, ST_Y(p) AS lat FROM (
            SELECT ST_LineInterpolatePoint(ST_LineMerge(ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom))), 0.5) AS p
            FROM grid_cells a, grid_cells b
            WHERE a.id = ${A.cells[0]} AND b.id = ${A.cells[1]}) s`,
    );
    const point = { lon: Number(edge!.lon), lat: Number(edge!.lat) };
    const covering = await coveringCells(point);
    expect(covering).toEqual([A.cells[0], A.cells[1]].sort((x, y) => x - y));
    const answers = await Promise.all(Array.from({ length: 8 }, () => gridAt(point)));
    expect(new Set(answers.map((c) => c?.id))).toEqual(new Set([String(covering[0])]));
  });

  test('the shared edge between two districts and the corner of four cells resolve the same way', async () => {
    const { A, B } = city.districts;
    // The district border runs at x0 + 2d; its midpoint lies on A:c2|B:c1.
    const border = { lon: B.origin.lon, lat: B.origin.lat + CELL_DEG / 2 };
    expect(await coveringCells(border)).toEqual([A.cells[1], B.cells[0]]);
    expect((await gridAt(border))?.id).toBe(String(A.cells[1]));
    // The centre of district A touches all four of its cells.
    const corner = { lon: A.origin.lon + CELL_DEG, lat: A.origin.lat + CELL_DEG };
    expect(await coveringCells(corner)).toEqual([...A.cells]);
    for (let i = 0; i < 4; i++) expect((await gridAt(corner))?.id).toBe(String(A.cells[0]));
  });

  test('GCJ-02 and BD-09 points are converted before the lookup', async () => {
    const { B } = city.districts;
    const wgs = cellCentre(B, 3);
    const gcj = wgs84ToGcj02(wgs);
    const bd = wgs84ToBd09(wgs);
    expect((await gridAt({ ...gcj, crs: 'GCJ02' }))?.id).toBe(String(B.cells[3]));
    expect((await gridAt({ ...bd, crs: 'BD09' }))?.id).toBe(String(B.cells[3]));
    // Taken as WGS84, the GCJ-02 numbers land hundreds of metres away: outside this small city.
    expect((await gridAt({ ...gcj, crs: 'WGS84' }))?.id).not.toBe(String(B.cells[3]));
  });

  test('a cell outside the user’s district is null for them', async () => {
    const { A, B } = city.districts;
    expect((await gridAt(cellCentre(A, 0), districtAToken))?.id).toBe(String(A.cells[0]));
    expect(await gridAt(cellCentre(B, 0), districtAToken)).toBeNull();
    // On the district border the one cell is A's, so a district-A user sees it too.
    expect((await gridAt({ lon: B.origin.lon, lat: B.origin.lat + CELL_DEG / 2 }, districtAToken))?.id).toBe(
      String(A.cells[1]),
    );
  });

  test('an impossible coordinate is BAD_USER_INPUT', async () => {
    const { errors } = await server.graphql(GRID_AT, { p: { lon: 200, lat: 10 } }, cityToken);
    expect(errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('gridCells', () => {
  const GRID_CELLS = `query C($b: BBoxInput) { gridCells(bbox: $b) { id geometry district { id } } }`;

  test('lists the cells in scope with GeoJSON outlines', async () => {
    const all = await server.graphql<{
      gridCells: { id: string; geometry: { type: string }; district: { id: string } }[];
    }>(GRID_CELLS, {}, cityToken);
    expect(all.errors).toBeUndefined();
    const ids = all.data!.gridCells.map((c) => Number(c.id));
    expect(ids.sort((a, b) => a - b)).toEqual([...city.districts.A.cells, ...city.districts.B.cells]);
    expect(all.data!.gridCells.every((c) => c.geometry.type === 'Polygon')).toBe(true);

    const districtOnly = await server.graphql<{ gridCells: { district: { id: string } }[] }>(
      GRID_CELLS,
      {},
      districtAToken,
    );
    expect(districtOnly.data!.gridCells).toHaveLength(4);
    expect(new Set(districtOnly.data!.gridCells.map((c) => c.district.id))).toEqual(
      new Set([String(city.districts.A.id)]),
    );
  });

  test('a bbox keeps the cells it meets', async () => {
    const { B } = city.districts;
    const c = cellCentre(B, 3);
    const tiny = { minLon: c.lon - 1e-5, minLat: c.lat - 1e-5, maxLon: c.lon + 1e-5, maxLat: c.lat + 1e-5 };
    const { data } = await server.graphql<{ gridCells: { id: string }[] }>(
      GRID_CELLS,
      { b: tiny },
      cityToken,
    );
    expect(data!.gridCells.map((x) => x.id)).toEqual([String(B.cells[3])]);
  });
});
