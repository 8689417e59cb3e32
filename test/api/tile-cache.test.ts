/**
 * The server's tile cache (server/src/domain/tiles/cache.ts) on a real PostgreSQL: tiles served
 * again from memory until the triggers of migration 0003 report a change that reaches them; a
 * write committed before a request is always in its answer; a render overtaken by a change is not
 * kept; without its listening connection nothing is served from memory.
 */

import {
  boxTouchesTile,
  cellStatsBody,
  createLogger,
  parseTileNotice,
  renderTile,
  startTileCaching,
  TileCache,
  type TileCaching,
} from '@citygrid/server';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { testDatabase } from '../helpers/db';
import { decodeTile, tileOf } from '../helpers/tiles';
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
const logger = createLogger({ logLevel: 'silent', nodeEnv: 'test' });
let caching: TileCaching;
let city: TestCity;
let categoryId: number;
let actor: { id: number; role: 'COMMANDER'; regionId: number };

/** The features of one layer of a tile. */
function features(bytes: Uint8Array, layer: string): { id: number; properties: Record<string, unknown> }[] {
  return (decodeTile(bytes)[layer] ?? []).map((f) => ({ id: Number(f.id), properties: f.properties }));
}

const render = (layer: string, at: { z: number; x: number; y: number }) =>
  renderTile(database, actor, { layer, ...at }, {}, { caching });

beforeAll(async () => {
  if (database.kind !== 'postgres') return;
  const started = await startTileCaching(database, logger);
  if (!started) throw new Error('no tile cache on PostgreSQL');
  caching = started;
  city = await makeTestCity(db, { lon: 113.515625, lat: 29.1328125 });
  categoryId = (await makeCategory(db)).id;
  actor = { id: 0, role: 'COMMANDER', regionId: city.cityId };
});
afterAll(() => caching?.close());

// Skipped only on the embedded database, which has no tile cache (it renders every request; the
// tile tests in tiles.test.ts cover that path); CI runs on PostgreSQL, where this always runs.
describe.skipIf(database.kind !== 'postgres')(
  'tile cache (PostgreSQL: the embedded mode renders every tile)',
  () => {
    test('serves a tile from memory until a change reaches it; a change elsewhere keeps it', async () => {
      const pointA = cellCentre(city.districts.A, 0);
      const pointB = cellCentre(city.districts.B, 3);
      const tileA = tileOf(pointA, 18);
      const tileB = tileOf(pointB, 18);
      expect(tileA).not.toEqual(tileB);

      const first = await render('cases', tileA);
      const before = caching.cache.snapshot();
      const again = await render('cases', tileA);
      expect(again.etag).toBe(first.etag);
      expect(caching.cache.snapshot().hits).toBe(before.hits + 1);

      // Far from tile A: A stays in memory.
      await makeCase(db, { categoryId, cellId: city.districts.B.cells[3], point: pointB });
      await render('cases', tileA);
      expect(caching.cache.snapshot().hits).toBe(before.hits + 2);

      // Inside tile A: the next answer is rendered again and holds the new case.
      const added = await makeCase(db, {
        categoryId,
        cellId: city.districts.A.cells[0],
        point: { lon: pointA.lon + CELL_DEG * 0.0001, lat: pointA.lat },
      });
      const changed = await render('cases', tileA);
      expect(changed.etag).not.toBe(first.etag);
      expect(features(changed.bytes, 'cases').map((f) => f.id)).toContain(added);
    });

    test('a write committed before a request is in its answer, every time', async () => {
      const point = cellCentre(city.districts.A, 1);
      const at = tileOf(point, 16);
      const id = await makeCase(db, { categoryId, cellId: city.districts.A.cells[1], point });
      const statuses = ['FILED', 'DISPATCHED', 'IN_PROGRESS', 'RESOLVED', 'CLOSED'];
      for (let round = 0; round < 20; round++) {
        // Cached first, so that only the change notice can drop it.
        await render('cases', at);
        const status = statuses[round % statuses.length]!;
        await db.execute(sql`UPDATE cases SET status = ${status}::case_status WHERE id = ${id}`);
        const tile = await render('cases', at);
        expect(features(tile.bytes, 'cases').find((f) => f.id === id)?.properties.status).toBe(status);
      }
    });

    test('grid cells: a renamed cell drops every tile', async () => {
      const cell = city.districts.B.cells[0]!;
      const at = tileOf(cellCentre(city.districts.B, 0), 15);
      await render('grid_cells', at);
      await db.execute(sql`UPDATE grid_cells SET name = '改名网格' WHERE id = ${cell}`);
      const tile = await render('grid_cells', at);
      expect(features(tile.bytes, 'grid_cells').find((f) => f.id === cell)?.properties.name).toBe('改名网格');
    });

    test('the choropleth counts are kept until a case changes', async () => {
      const count = (body: Uint8Array, cell: number) =>
        (JSON.parse(Buffer.from(body).toString()) as { cells: [number, number, number][] }).cells.find(
          ([id]) => id === cell,
        )?.[1] ?? 0;
      const cell = city.districts.B.cells[2]!;
      const first = await cellStatsBody(database, actor, caching);
      const hits = caching.cache.snapshot().hits;
      expect((await cellStatsBody(database, actor, caching)).etag).toBe(first.etag);
      expect(caching.cache.snapshot().hits).toBe(hits + 1);
      await makeCase(db, { categoryId, cellId: cell, point: cellCentre(city.districts.B, 2) });
      const after = await cellStatsBody(database, actor, caching);
      expect(count(after.bytes, cell)).toBe(count(first.bytes, cell) + 1);
    });

    test('a department user’s case tiles are rendered on every request, never kept', async () => {
      const department = await makeDepartment(db, city.cityId);
      const user = await makeUser(db, {
        role: 'DEPARTMENT',
        regionId: city.cityId,
        departmentId: department.id,
      });
      const deptActor = { id: user.id, role: 'DEPARTMENT' as const, regionId: city.cityId };
      const point = cellCentre(city.districts.B, 1);
      const id = await makeCase(db, { categoryId, cellId: city.districts.B.cells[1], point });
      const renderFor = (z: number) =>
        renderTile(database, deptActor, { layer: 'cases', ...tileOf(point, z) }, {}, { caching });
      // The commander's tile of the same address is kept, and must not answer for the department.
      await render('cases', tileOf(point, 15));
      const before = caching.cache.snapshot();
      const first = await renderFor(15);
      expect(features(first.bytes, 'cases')).toEqual([]);
      await db.execute(
        sql`UPDATE cases SET status = 'DISPATCHED', department_id = ${department.id}, dispatched_at = now() WHERE id = ${id}`,
      );
      for (const z of [11, 15]) {
        const tile = await renderFor(z);
        expect(
          features(tile.bytes, 'cases').map((f) => f.id),
          `zoom ${z}`,
        ).toEqual([id]);
      }
      // Neither looked up nor stored (the update's notice may meanwhile drop the commander's tile).
      const after = caching.cache.snapshot();
      expect([after.hits, after.misses, after.joined]).toEqual([before.hits, before.misses, before.joined]);
    });

    test('without its listening connection, every request renders', async () => {
      const own = await startTileCaching(database, logger);
      const at = tileOf(cellCentre(city.districts.A, 2), 17);
      await renderTile(database, actor, { layer: 'cases', ...at }, {}, { caching: own });
      await own!.close();
      expect(own!.cache.active).toBe(false);
      const misses = own!.cache.snapshot().misses;
      await renderTile(database, actor, { layer: 'cases', ...at }, {}, { caching: own });
      const stats = own!.cache.snapshot();
      expect(stats.hits).toBe(0);
      expect(stats.entries).toBe(0);
      expect(stats.misses).toBe(misses);
    });
  },
);

describe('tile cache bookkeeping', () => {
  const key = { layer: 'cases', z: 14, x: 13161, y: 6878, variant: 'CITY|1' };
  const tile = (n: number) => ({ bytes: new Uint8Array([n]), etag: `"${n}"` });
  const noSync = async () => {};

  test('a render overtaken by a notice is handed to its callers but not kept, nor joined after', async () => {
    const cache = new TileCache({ layers: ['cases'] });
    cache.setListening(true);
    const releases: (() => void)[] = [];
    const slow = () =>
      new Promise<ReturnType<typeof tile>>((resolve) => {
        const n = releases.length + 1;
        releases.push(() => resolve(tile(n)));
      });
    const settle = () => new Promise((resolve) => setImmediate(resolve));
    const first = cache.get(key, slow, noSync);
    await settle();
    const joined = cache.get(key, slow, noSync);
    await settle();
    expect(releases).toHaveLength(1);
    cache.apply({ layer: 'cases' });
    // Arrives after the notice: it must not take the render that began before the change.
    const later = cache.get(key, slow, noSync);
    await settle();
    expect(releases).toHaveLength(2);
    releases[0]!();
    expect((await first).etag).toBe('"1"');
    expect((await joined).etag).toBe('"1"');
    expect(cache.peekEtag(key)).toBeUndefined();
    releases[1]!();
    expect((await later).etag).toBe('"2"');
    expect(cache.peekEtag(key)).toBe('"2"');
  });

  test('a notice drops the tiles its box reaches, at every zoom, and only those', async () => {
    const cache = new TileCache({ layers: ['cases'] });
    cache.setListening(true);
    const here = { lon: 109.19, lat: 27.72 };
    const keys = [10, 12, 14, 16].map((z) => ({ layer: 'cases', ...tileOf(here, z), variant: 'v' }));
    const away = { layer: 'cases', ...tileOf({ lon: 109.3, lat: 27.6 }, 14), variant: 'v' };
    for (const k of [...keys, away]) await cache.get(k, async () => tile(1), noSync);
    expect(cache.snapshot().entries).toBe(5);
    cache.apply({ layer: 'cases', bbox: [here.lon, here.lat, here.lon + 1e-6, here.lat + 1e-6] });
    expect(cache.snapshot().entries).toBe(1);
    expect(cache.peekEtag(away)).toBe('"1"');
    cache.apply({ layer: 'grid_cells', bbox: [109, 27, 110, 28] });
    expect(cache.snapshot().entries).toBe(1);
    cache.apply(parseTileNotice('not json'));
    expect(cache.snapshot().entries).toBe(0);
  });

  test('the buffer: a change just outside a tile reaches it, one well outside does not', () => {
    // Tile 14/13161/6878 spans 109.1821–109.2041 E.
    const east = ((13161 + 1) / 2 ** 14) * 360 - 180;
    const width = 360 / 2 ** 14;
    const lat = 27.72;
    expect(boxTouchesTile([east + width * 0.01, lat, east + width * 0.01, lat], 14, 13161, 6878)).toBe(true);
    expect(boxTouchesTile([east + width * 0.05, lat, east + width * 0.05, lat], 14, 13161, 6878)).toBe(false);
  });
});
