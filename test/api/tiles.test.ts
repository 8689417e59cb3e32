/**
 * Vector tiles over HTTP: grid cells, cases (points from z14, per-cell counts below) and sensors,
 * decoded and checked feature by feature; the caller's region scope and the case filters; ETags
 * that answer 304 until the data changes; refusals; a department user's cases tiles (their own
 * cases only, as points at every zoom). The server-side encoder (the embedded mode's
 * path) is compared with ST_AsMVT on the same rows.
 */

import { rows } from '@citygrid/db';
import { renderTile } from '@citygrid/server';
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, test } from 'vitest';
import { testDatabase } from '../helpers/db';
import { startTestServer, type TestServer } from '../helpers/server';
import { type DecodedFeature, decodeTile as decode, tileOf } from '../helpers/tiles';
import {
  CELL_DEG,
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
let commanderA: string;
let categories: { one: { id: number; code: string }; two: { id: number; code: string } };
const caseIds: Record<string, number> = {};
let sensorId: number;

interface FetchedTile {
  status: number;
  etag: string | null;
  layers: Record<string, DecodedFeature[]>;
}

async function fetchTile(
  path: string,
  token: string | undefined,
  headers: Record<string, string> = {},
): Promise<FetchedTile> {
  const response = await fetch(`${server.url}/tiles/${path}`, {
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
  });
  const bytes = new Uint8Array(await response.arrayBuffer());
  return {
    status: response.status,
    etag: response.headers.get('etag'),
    layers: response.status === 200 ? decode(bytes) : {},
  };
}

/** Every tile at zoom z over the test city. */
function cityTiles(z: number): { x: number; y: number }[] {
  const { lon, lat } = city.origin;
  const nw = tileOf({ lon, lat: lat + 2 * CELL_DEG }, z);
  const se = tileOf({ lon: lon + 4 * CELL_DEG, lat }, z);
  const out: { x: number; y: number }[] = [];
  for (let x = nw.x; x <= se.x; x++) for (let y = nw.y; y <= se.y; y++) out.push({ x, y });
  return out;
}

/** The features of one layer over all the city's tiles at zoom z. */
async function cityFeatures(
  layer: string,
  z: number,
  token: string,
  layerName = layer,
  query = '',
): Promise<DecodedFeature[]> {
  const out: DecodedFeature[] = [];
  for (const { x, y } of cityTiles(z)) {
    const tile = await fetchTile(`${layer}/${z}/${x}/${y}.mvt${query}`, token);
    expect(tile.status).toBe(200);
    out.push(...(tile.layers[layerName] ?? []));
  }
  return out;
}

const idsOf = (features: DecodedFeature[]) =>
  [...new Set(features.map((f) => Number(f.id)))].sort((a, b) => a - b);

beforeAll(async () => {
  server = await startTestServer(database);
  city = await makeTestCity(db, { lon: 112.515625, lat: 28.1328125 });
  categories = { one: await makeCategory(db), two: await makeCategory(db) };
  commander = await server.login((await makeUser(db, { role: 'COMMANDER', regionId: city.cityId })).username);
  commanderA = await server.login(
    (await makeUser(db, { role: 'COMMANDER', regionId: city.districts.A.id })).username,
  );
  const A = city.districts.A;
  const B = city.districts.B;
  const at = (district: typeof A, cell: 0 | 1 | 2 | 3, dx = 0) => {
    const c = cellCentre(district, cell);
    return { lon: c.lon + dx * CELL_DEG * 0.05, lat: c.lat };
  };
  for (let i = 0; i < 3; i++) {
    caseIds[`reported${i}`] = await makeCase(db, {
      categoryId: categories.one.id,
      cellId: A.cells[0],
      point: at(A, 0, i),
    });
  }
  caseIds.closed = await makeCase(db, {
    categoryId: categories.one.id,
    cellId: A.cells[0],
    point: at(A, 0, 3),
    status: 'CLOSED',
  });
  caseIds.overdue = await makeCase(db, {
    categoryId: categories.two.id,
    cellId: A.cells[0],
    point: at(A, 0, -1),
    status: 'DISPATCHED',
    handleDueAt: new Date(Date.now() - 3600_000),
  });
  caseIds.filedB0 = await makeCase(db, {
    categoryId: categories.two.id,
    cellId: B.cells[3],
    point: at(B, 3),
    status: 'FILED',
  });
  caseIds.filedB1 = await makeCase(db, {
    categoryId: categories.two.id,
    cellId: B.cells[3],
    point: at(B, 3, 1),
    status: 'FILED',
  });
  const [sensor] = await rows<{ id: number }>(
    db,
    sql`INSERT INTO sensors (device_id, kind, name, location, secret_hash, status, grid_cell_id, street_id, district_id, city_id)
        SELECT 'wl-tile-1', 'water_level', '测试水位', ST_SetSRID(ST_MakePoint(${cellCentre(B, 0).lon}::float8, ${cellCentre(B, 0).lat}::float8), 4326),
               'x', 'ONLINE', g.id, g.street_id, g.district_id, g.city_id
        FROM grid_cells g WHERE g.id = ${B.cells[0]} RETURNING id::int AS id`,
  );
  sensorId = sensor!.id;
  await db.execute(
    sql`INSERT INTO alarms (sensor_id, kind, metric, severity, status, started_at)
        VALUES (${sensorId}, 'THRESHOLD', 'level', 'CRITICAL', 'ACTIVE', now())`,
  );
});

describe('grid cell tiles', () => {
  test('hold the cells of the caller’s scope, with the cell id as feature id, code and name', async () => {
    const all = await cityFeatures('grid_cells', 14, commander);
    expect(idsOf(all)).toEqual([...city.districts.A.cells, ...city.districts.B.cells].sort((a, b) => a - b));
    const one = all.find((f) => f.id === city.districts.A.cells[0])!;
    expect(one.type).toBe(3);
    expect(String(one.properties.code)).toMatch(/AG1$/);
    expect(one.properties.name).toBe('网格A1');

    const onlyA = await cityFeatures('grid_cells', 14, commanderA);
    expect(idsOf(onlyA)).toEqual([...city.districts.A.cells].sort((a, b) => a - b));
  });
});

describe('case tiles', () => {
  test('from zoom 14: one point per case with status, priority, category and overdue', async () => {
    const all = await cityFeatures('cases', 14, commander);
    expect(idsOf(all)).toEqual(Object.values(caseIds).sort((a, b) => a - b));
    const overdue = all.find((f) => f.id === caseIds.overdue)!;
    expect(overdue.type).toBe(1);
    expect(overdue.properties).toMatchObject({
      status: 'DISPATCHED',
      priority: 'NORMAL',
      category: categories.two.code,
      overdue: true,
    });
    expect(all.find((f) => f.id === caseIds.reported0)!.properties.overdue).toBe(false);
  });

  test('filters by status and category, and keeps to a district commander’s district', async () => {
    const reported = await cityFeatures('cases', 14, commander, 'cases', '?status=REPORTED');
    expect(idsOf(reported)).toEqual([caseIds.reported0, caseIds.reported1, caseIds.reported2]);
    expect(new Set(reported.map((f) => f.properties.status))).toEqual(new Set(['REPORTED']));

    const two = await cityFeatures('cases', 14, commander, 'cases', `?category=${categories.two.code}`);
    expect(idsOf(two)).toEqual([caseIds.overdue!, caseIds.filedB0!, caseIds.filedB1!].sort((a, b) => a - b));

    const both = await cityFeatures('cases', 14, commander, 'cases', '?status=FILED,DISPATCHED');
    expect(idsOf(both)).toEqual([caseIds.overdue!, caseIds.filedB0!, caseIds.filedB1!].sort((a, b) => a - b));

    const inA = await cityFeatures('cases', 14, commanderA);
    expect(idsOf(inA)).not.toContain(caseIds.filedB0);
    expect(idsOf(inA)).toEqual(
      [caseIds.reported0!, caseIds.reported1!, caseIds.reported2!, caseIds.closed!, caseIds.overdue!].sort(
        (a, b) => a - b,
      ),
    );
  });

  test('below zoom 14: counts per grid cell (all, open, overdue), each cell in exactly one tile', async () => {
    for (const z of [10, 12, 13]) {
      const cells = await cityFeatures('cases', z, commander, 'case_cells');
      expect(cells.map((f) => f.id).sort(), `zoom ${z}`).toEqual(
        [city.districts.A.cells[0], city.districts.B.cells[3]].sort(),
      );
      const a1 = cells.find((f) => f.id === city.districts.A.cells[0])!;
      expect(a1.type).toBe(1);
      expect(a1.properties).toEqual({ count: 5, open: 4, overdue: 1 });
      expect(cells.find((f) => f.id === city.districts.B.cells[3])!.properties).toEqual({
        count: 2,
        open: 2,
        overdue: 0,
      });
    }
    // The filters apply to the counts too, and the scope to the cells.
    const filed = await cityFeatures('cases', 12, commander, 'case_cells', '?status=FILED');
    expect(filed.map((f) => [f.id, f.properties.count])).toEqual([[city.districts.B.cells[3], 2]]);
    const inA = await cityFeatures('cases', 12, commanderA, 'case_cells');
    expect(inA.map((f) => f.id)).toEqual([city.districts.A.cells[0]]);
  });

  test('open and overdue counts per cell for the choropleth, in scope', async () => {
    const response = await fetch(`${server.url}/tiles/grid_cells/stats.json`, {
      headers: { authorization: `Bearer ${commanderA}` },
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { cells: [number, number, number][] };
    expect(body.cells).toEqual([[city.districts.A.cells[0], 4, 1]]);
  });
});

describe('sensor tiles', () => {
  test('hold sensors by state: a sensor with an open threshold alarm is `alarm`', async () => {
    const sensors = await cityFeatures('sensors', 14, commander);
    expect(idsOf(sensors)).toEqual([sensorId]);
    expect(sensors[0]!.properties).toMatchObject({
      device_id: 'wl-tile-1',
      kind: 'water_level',
      state: 'alarm',
    });
    expect(await cityFeatures('sensors', 14, commanderA)).toEqual([]);
  });
});

describe('ETags', () => {
  test('answer 304 while the tile is unchanged, and change when its data does', async () => {
    const { x, y } = tileOf(cellCentre(city.districts.A, 1), 15);
    const path = `cases/15/${x}/${y}.mvt`;
    const first = await fetchTile(path, commander);
    expect(first.status).toBe(200);
    expect(first.etag).toMatch(/^"[\w-]+"$/);
    const again = await fetchTile(path, commander, { 'if-none-match': first.etag! });
    expect(again.status).toBe(304);

    const added = await makeCase(db, {
      categoryId: categories.one.id,
      cellId: city.districts.A.cells[1],
      point: cellCentre(city.districts.A, 1),
    });
    const changed = await fetchTile(path, commander, { 'if-none-match': first.etag! });
    expect(changed.status).toBe(200);
    expect(changed.etag).not.toBe(first.etag);
    expect(idsOf(changed.layers.cases ?? [])).toContain(added);
    await db.execute(sql`UPDATE cases SET status = 'REJECTED' WHERE id = ${added}`);
    expect((await fetchTile(path, commander, { 'if-none-match': changed.etag! })).status).toBe(200);
  });
});

describe('refusals', () => {
  test.each([
    ['grid_cells/14/0/0.mvt', undefined, 401],
    ['roads/14/0/0.mvt', 'token', 400],
    ['cases/23/0/0.mvt', 'token', 400],
    ['cases/3/8/0.mvt', 'token', 400],
    ['cases/3/0/x.mvt', 'token', 400],
    ['cases/14/0/0.mvt?status=OPEN', 'token', 400],
    ['cases/14/0/0.mvt?reportedAfter=yesterday', 'token', 400],
  ])('%s → %s', async (path, auth, status) => {
    const response = await fetch(`${server.url}/tiles/${path}`, {
      headers: auth ? { authorization: `Bearer ${commander}` } : {},
    });
    expect(response.status).toBe(status);
    const body = (await response.json()) as { error: { code: string } };
    expect(body.error.code).toBe(status === 401 ? 'UNAUTHENTICATED' : 'BAD_USER_INPUT');
  });
});

describe('department users', () => {
  let mine: { id: number; code: string };
  let other: { id: number; code: string };
  let dept: string;
  let deptInA: string;
  let deptActor: { id: number; role: 'DEPARTMENT'; regionId: number };
  const ids: Record<string, number> = {};

  /** A case at a cell of the test city, dispatched to `departmentId` (or only given it, undispatched). */
  async function caseFor(
    district: 'A' | 'B',
    cell: 0 | 1 | 2 | 3,
    departmentId: number | null,
    options: {
      dispatched?: boolean;
      status?: string;
      category?: number;
      reportedAt?: Date;
      dx?: number;
    } = {},
  ): Promise<number> {
    const c = cellCentre(city.districts[district], cell);
    const id = await makeCase(db, {
      categoryId: options.category ?? categories.one.id,
      cellId: city.districts[district].cells[cell]!,
      point: { lon: c.lon + (options.dx ?? 0) * CELL_DEG * 0.05, lat: c.lat - CELL_DEG * 0.2 },
      ...(options.reportedAt ? { reportedAt: options.reportedAt } : {}),
    });
    await db.execute(
      sql`UPDATE cases SET status = ${options.status ?? (options.dispatched === false ? 'FILED' : 'DISPATCHED')}::case_status,
                           department_id = ${departmentId}::bigint,
                           dispatched_at = ${options.dispatched === false ? null : new Date().toISOString()}::timestamptz
          WHERE id = ${id}`,
    );
    return id;
  }

  /** The test city's cases a department user of `departmentId` may see (caseVisibility's rule). */
  async function visibleIds(departmentId: number, where = sql`true`): Promise<number[]> {
    const found = await rows<{ id: number }>(
      db,
      sql`SELECT c.id::int AS id FROM cases c
          WHERE c.city_id = ${city.cityId} AND c.dispatched_at IS NOT NULL AND c.department_id = ${departmentId}
            AND ${where}
          ORDER BY c.id`,
    );
    return found.map((r) => r.id);
  }

  /** `visibleIds` inside tile z/x/y and its buffer (64 of 4096), as the tile functions cut it. */
  const inTile = (z: number, x: number, y: number) =>
    sql`ST_Transform(c.location, 3857) && ST_TileEnvelope(${z}::int, ${x}::int, ${y}::int, margin => 64.0 / 4096)`;

  beforeAll(async () => {
    mine = await makeDepartment(db, city.cityId);
    other = await makeDepartment(db, city.cityId);
    const user = await makeUser(db, { role: 'DEPARTMENT', regionId: city.cityId, departmentId: mine.id });
    dept = await server.login(user.username);
    deptActor = { id: user.id, role: 'DEPARTMENT', regionId: city.cityId };
    deptInA = await server.login(
      (await makeUser(db, { role: 'DEPARTMENT', regionId: city.districts.A.id, departmentId: mine.id }))
        .username,
    );
    ids.mineA = await caseFor('A', 2, mine.id);
    ids.mineA2 = await caseFor('A', 2, mine.id, {
      status: 'IN_PROGRESS',
      category: categories.two.id,
      dx: 1,
    });
    ids.mineB = await caseFor('B', 1, mine.id, {
      status: 'CLOSED',
      reportedAt: new Date(Date.now() - 30 * 86_400_000),
    });
    ids.otherA = await caseFor('A', 2, other.id, { dx: 2 });
    // Given the department but not dispatched (a returned case keeps no dispatch): not theirs to see.
    ids.undispatchedA = await caseFor('A', 2, mine.id, { dispatched: false, dx: 3 });
    ids.plainB = await caseFor('B', 1, null, { dispatched: false, dx: 1 });
  });

  test('see exactly the cases dispatched to their department, as points at every zoom, tile by tile', async () => {
    const theirs = await visibleIds(mine.id);
    expect(theirs).toEqual([ids.mineA!, ids.mineA2!, ids.mineB!].sort((a, b) => a - b));
    for (const z of [10, 12, 13, 14, 16]) {
      const seen: number[] = [];
      for (const { x, y } of cityTiles(z)) {
        const tile = await fetchTile(`cases/${z}/${x}/${y}.mvt`, dept);
        expect(tile.status).toBe(200);
        // Points, never per-cell counts (those would count cases they may not see).
        expect(
          Object.keys(tile.layers).filter((name) => name !== 'cases'),
          `${z}/${x}/${y}`,
        ).toEqual([]);
        const expected = await visibleIds(mine.id, inTile(z, x, y));
        expect(idsOf(tile.layers.cases ?? []), `${z}/${x}/${y}`).toEqual(expected);
        seen.push(...idsOf(tile.layers.cases ?? []));
      }
      expect(
        [...new Set(seen)].sort((a, b) => a - b),
        `zoom ${z}`,
      ).toEqual(theirs);
      expect(seen).not.toContain(ids.otherA);
      expect(seen).not.toContain(ids.undispatchedA);
      expect(seen).not.toContain(ids.plainB);
    }
    const a2 = (await cityFeatures('cases', 12, dept)).find((f) => f.id === ids.mineA2)!;
    expect(a2.type).toBe(1);
    expect(a2.properties).toMatchObject({
      status: 'IN_PROGRESS',
      category: categories.two.code,
      overdue: false,
    });
  });

  test('are filtered by status, category and time, and kept to their region scope', async () => {
    const status = await cityFeatures('cases', 12, dept, 'cases', '?status=IN_PROGRESS,CLOSED');
    expect(idsOf(status)).toEqual([ids.mineA2!, ids.mineB!].sort((a, b) => a - b));
    const category = await cityFeatures('cases', 14, dept, 'cases', `?category=${categories.two.code}`);
    expect(idsOf(category)).toEqual([ids.mineA2]);
    // The heatmap's query (reports since a time) gets their own points only, no per-cell counts.
    const since = encodeURIComponent(new Date(Date.now() - 7 * 86_400_000).toISOString());
    const recent = await cityFeatures('cases', 11, dept, 'cases', `?reportedAfter=${since}`);
    expect(idsOf(recent)).toEqual([ids.mineA!, ids.mineA2!].sort((a, b) => a - b));
    expect(await cityFeatures('cases', 11, dept, 'case_cells', `?reportedAfter=${since}`)).toEqual([]);
    // A department user scoped to district A sees none of B's, even their own department's.
    const inA = await cityFeatures('cases', 12, deptInA);
    expect(idsOf(inA)).toEqual([ids.mineA!, ids.mineA2!].sort((a, b) => a - b));
  });

  test('a case newly dispatched to them appears, with a new ETag', async () => {
    const c = cellCentre(city.districts.B, 2);
    const { x, y } = tileOf(c, 14);
    const path = `cases/14/${x}/${y}.mvt`;
    const id = await makeCase(db, {
      categoryId: categories.one.id,
      cellId: city.districts.B.cells[2]!,
      point: c,
    });
    const before = await fetchTile(path, dept);
    expect(before.status).toBe(200);
    expect(idsOf(before.layers.cases ?? [])).not.toContain(id);
    expect((await fetchTile(path, dept, { 'if-none-match': before.etag! })).status).toBe(304);

    await db.execute(
      sql`UPDATE cases SET status = 'DISPATCHED', department_id = ${mine.id}, dispatched_at = now() WHERE id = ${id}`,
    );
    const after = await fetchTile(path, dept, { 'if-none-match': before.etag! });
    expect(after.status).toBe(200);
    expect(after.etag).not.toBe(before.etag);
    expect(idsOf(after.layers.cases ?? [])).toContain(id);
    expect(idsOf(after.layers.cases ?? [])).toEqual(await visibleIds(mine.id, inTile(14, x, y)));
    expect((await fetchTile(path, dept, { 'if-none-match': after.etag! })).status).toBe(304);

    // Returned (the dispatch undone): gone again.
    await db.execute(
      sql`UPDATE cases SET status = 'FILED', department_id = NULL, dispatched_at = NULL WHERE id = ${id}`,
    );
    const returned = await fetchTile(path, dept, { 'if-none-match': after.etag! });
    expect(returned.status).toBe(200);
    expect(idsOf(returned.layers.cases ?? [])).not.toContain(id);
  });

  test('a department user without a department sees no case', async () => {
    const orphan = await server.login(
      (await makeUser(db, { role: 'DEPARTMENT', regionId: city.cityId })).username,
    );
    expect(await cityFeatures('cases', 12, orphan)).toEqual([]);
    expect(await cityFeatures('cases', 14, orphan)).toEqual([]);
  });

  test('get the grid cells and sensors, but not the city-wide counts of the choropleth', async () => {
    expect((await fetchTile('grid_cells/14/0/0.mvt', dept)).status).toBe(200);
    expect((await fetchTile('sensors/14/0/0.mvt', dept)).status).toBe(200);
    const response = await fetch(`${server.url}/tiles/grid_cells/stats.json`, {
      headers: { authorization: `Bearer ${dept}` },
    });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN');
  });

  test('the server-side encoder writes the same department tiles as ST_AsMVT', async () => {
    const c = cellCentre(city.districts.A, 2);
    let compared = 0;
    for (const z of [10, 12, 14]) {
      const address = { layer: 'cases', ...tileOf(c, z) };
      const native = decode((await renderTile(database, deptActor, address)).bytes);
      const encoded = decode(
        (await renderTile(database, deptActor, address, {}, { encodeInServer: true })).bytes,
      );
      expect(encoded, `zoom ${z}`).toEqual(native);
      compared += native.cases?.length ?? 0;
    }
    expect(compared).toBeGreaterThan(0);
  });
});

describe('the server-side encoder', () => {
  test('writes the same features as ST_AsMVT from the same rows (demo city and test city)', async () => {
    const [user] = await rows<{ id: number; region_id: number }>(
      db,
      sql`SELECT id::int AS id, region_id::int AS region_id FROM users WHERE username = 'commander'`,
    );
    const actor = { id: user!.id, role: 'COMMANDER' as const, regionId: user!.region_id };
    const centre = { lon: 109.19, lat: 27.72 };
    const addresses: { layer: string; z: number; x: number; y: number }[] = [];
    for (const z of [10, 12, 14, 15]) {
      for (const layer of ['grid_cells', 'cases', 'sensors']) addresses.push({ layer, ...tileOf(centre, z) });
    }
    let featuresCompared = 0;
    for (const address of addresses) {
      const native = await renderTile(database, actor, address);
      const encoded = await renderTile(database, actor, address, {}, { encodeInServer: true });
      const a = decode(native.bytes);
      const b = decode(encoded.bytes);
      expect(b, `${address.layer} ${address.z}/${address.x}/${address.y}`).toEqual(a);
      featuresCompared += Object.values(a).reduce((n, features) => n + features.length, 0);
    }
    // The demo city really was under those tiles.
    expect(featuresCompared).toBeGreaterThan(1000);
    // With a filter, on the test city.
    const { x, y } = tileOf(cellCentre(city.districts.A, 0), 14);
    const commanderActor = {
      id: 0,
      role: 'COMMANDER' as const,
      regionId: city.cityId,
    };
    const filter = {
      status: ['REPORTED', 'DISPATCHED'],
      category: [categories.one.code, categories.two.code],
    };
    const native = decode(
      (await renderTile(database, commanderActor, { layer: 'cases', z: 14, x, y }, filter)).bytes,
    );
    const encoded = decode(
      (
        await renderTile(database, commanderActor, { layer: 'cases', z: 14, x, y }, filter, {
          encodeInServer: true,
        })
      ).bytes,
    );
    expect(encoded).toEqual(native);
    expect(native.cases?.length).toBeGreaterThan(0);
    for (const f of native.cases ?? []) expect(['REPORTED', 'DISPATCHED']).toContain(f.properties.status);
  });
});
