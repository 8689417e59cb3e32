/**
 * Dense case tiles (migration 0010_dense_case_tiles): from zoom 14 a cases tile holds one point per
 * case while it would hold at most CASE_POINTS_MAX_PER_TILE, and per-grid-cell counts beyond,
 * decided on the tile's own cases after the filters and the scope; zooming in splits a dense tile
 * into tiles of points. Over HTTP, with the server's tile cache where it has one.
 */

import { rows } from '@citygrid/db';
import { CASE_POINTS_MAX_PER_TILE, renderTile, type TileFilter } from '@citygrid/server';
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, test } from 'vitest';
import { testDatabase } from '../helpers/db';
import { startTestServer, type TestServer } from '../helpers/server';
import { decodeTile, tileOf } from '../helpers/tiles';
import { CELL_DEG, cellCentre, makeCategory, makeTestCity, makeUser, type TestCity } from './factories';

const database = await testDatabase();
const db = database.db;
let server: TestServer;
let city: TestCity;
let categoryId: number;
let commander: string;
let commanderB: string;

/** Cases in cell A1, spread over a square of ±0.2 cell around its centre, one statement. */
async function addCases(n: number, status: 'REPORTED' | 'CLOSED'): Promise<void> {
  const centre = cellCentre(city.districts.A, 0);
  await db.execute(sql`
    INSERT INTO cases (code, status, version, category_id, description, location, grid_cell_id, community_id,
                       street_id, district_id, city_id, source, reported_at, handle_due_at)
    SELECT 'DT' || ${status} || g || '-' || ${Date.now()}::bigint, ${status}::case_status, 1, ${categoryId}::bigint,
           'dense', ST_SetSRID(ST_MakePoint(${centre.lon}::float8 + ((g * 37) % 101 - 50) * ${(0.4 * CELL_DEG) / 100}::float8,
                                            ${centre.lat}::float8 + ((g * 61) % 103 - 51) * ${(0.4 * CELL_DEG) / 103}::float8), 4326),
           c.id, c.community_id, c.street_id, c.district_id, c.city_id, 'WORKER', now(), now() + interval '1 day'
    FROM generate_series(1, ${n}::int) g, grid_cells c
    WHERE c.id = ${city.districts.A.cells[0]}`);
}

async function fetchTile(path: string, token: string) {
  const response = await fetch(`${server.url}/tiles/${path}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(response.status, path).toBe(200);
  return {
    etag: response.headers.get('etag'),
    layers: decodeTile(new Uint8Array(await response.arrayBuffer())),
  };
}

const denseTile = () => tileOf(cellCentre(city.districts.A, 0), 14);
const tilePath = (t: { z: number; x: number; y: number }, query = '') =>
  `cases/${t.z}/${t.x}/${t.y}.mvt${query}`;

beforeAll(async () => {
  server = await startTestServer(database);
  city = await makeTestCity(db, { lon: 113.515625, lat: 29.1328125 });
  categoryId = (await makeCategory(db)).id;
  commander = await server.login((await makeUser(db, { role: 'COMMANDER', regionId: city.cityId })).username);
  commanderB = await server.login(
    (await makeUser(db, { role: 'COMMANDER', regionId: city.districts.B.id })).username,
  );
  await addCases(CASE_POINTS_MAX_PER_TILE, 'REPORTED');
});

describe('a cases tile from zoom 14', () => {
  test(`holds points up to ${CASE_POINTS_MAX_PER_TILE} cases, per-cell counts from one more`, async () => {
    const before = await fetchTile(tilePath(denseTile()), commander);
    expect(Object.keys(before.layers)).toEqual(['cases']);
    expect(before.layers.cases).toHaveLength(CASE_POINTS_MAX_PER_TILE);

    await addCases(1, 'CLOSED');
    const after = await fetchTile(tilePath(denseTile()), commander);
    expect(after.etag).not.toBe(before.etag);
    expect(Object.keys(after.layers)).toEqual(['case_cells']);
    expect(after.layers.case_cells!.map((f) => [f.id, f.properties])).toEqual([
      [
        city.districts.A.cells[0],
        { count: CASE_POINTS_MAX_PER_TILE + 1, open: CASE_POINTS_MAX_PER_TILE, overdue: 0 },
      ],
    ]);
    expect(after.layers.case_cells![0]!.type).toBe(1);
  });

  test('decides on the cases left after the filters, and in the caller’s scope', async () => {
    const open = await fetchTile(tilePath(denseTile(), '?status=REPORTED'), commander);
    expect(Object.keys(open.layers)).toEqual(['cases']);
    expect(open.layers.cases).toHaveLength(CASE_POINTS_MAX_PER_TILE);
    expect(new Set(open.layers.cases!.map((f) => f.properties.status))).toEqual(new Set(['REPORTED']));

    const closed = await fetchTile(tilePath(denseTile(), '?status=CLOSED'), commander);
    expect(closed.layers.cases?.map((f) => f.properties.status)).toEqual(['CLOSED']);

    // District B's commander sees none of district A's cases, dense or not.
    const inB = await fetchTile(tilePath(denseTile()), commanderB);
    expect(inB.layers.cases ?? []).toEqual([]);
    expect(inB.layers.case_cells ?? []).toEqual([]);
  });

  test('zoomed in, the dense tile splits into tiles of points holding every one of its cases', async () => {
    const [{ n } = { n: 0 }] = await rows<{ n: number }>(
      db,
      sql`SELECT count(*)::int AS n FROM cases WHERE grid_cell_id = ${city.districts.A.cells[0]}`,
    );
    expect(n).toBe(CASE_POINTS_MAX_PER_TILE + 1);
    // The cases lie within ±0.2 cell of the centre: the z18 tiles over that square.
    const centre = cellCentre(city.districts.A, 0);
    const nw = tileOf({ lon: centre.lon - 0.21 * CELL_DEG, lat: centre.lat + 0.21 * CELL_DEG }, 18);
    const se = tileOf({ lon: centre.lon + 0.21 * CELL_DEG, lat: centre.lat - 0.21 * CELL_DEG }, 18);
    const seen = new Set<number>();
    for (let x = nw.x; x <= se.x; x++) {
      for (let y = nw.y; y <= se.y; y++) {
        const tile = await fetchTile(tilePath({ z: 18, x, y }), commander);
        expect(tile.layers.case_cells, `18/${x}/${y}`).toBeUndefined();
        for (const f of tile.layers.cases ?? []) seen.add(Number(f.id));
      }
    }
    expect(seen.size).toBe(n);
  });

  test('the server-side encoder chooses as ST_AsMVT does', async () => {
    const actor = { id: 0, role: 'COMMANDER' as const, regionId: city.cityId };
    const cases: [{ layer: string; z: number; x: number; y: number }, TileFilter][] = [
      [{ layer: 'cases', ...denseTile() }, {}],
      [{ layer: 'cases', ...denseTile() }, { status: ['REPORTED'] }],
      [{ layer: 'cases', ...tileOf(cellCentre(city.districts.A, 0), 16) }, {}],
    ];
    for (const [address, filter] of cases) {
      const native = decodeTile((await renderTile(database, actor, address, filter)).bytes);
      const encoded = decodeTile(
        (await renderTile(database, actor, address, filter, { encodeInServer: true })).bytes,
      );
      expect(Object.keys(encoded)).toEqual(Object.keys(native));
      expect(encoded).toEqual(native);
    }
  });
});
