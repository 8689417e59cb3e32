/**
 * Worker positions: `updateMyPosition` keeps the latest position and a track, converts GCJ-02,
 * refuses non-workers; the latest positions are read inside the reader's scope; old track points
 * are pruned by age.
 */
import { rows } from '@citygrid/db';
import { wgs84ToGcj02 } from '@citygrid/server';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { pruneWorkerTracks } from '../../server/src/domain/positions/positions';
import { testDatabase } from '../helpers/db';
import { startTestServer, type TestServer } from '../helpers/server';
import { subscribeSse } from '../helpers/sse';
import { cellCentre, makeTestCity, makeUser, type TestCity } from './factories';

const database = await testDatabase();
const db = database.db;
let server: TestServer;
let city: TestCity;
const users = {} as Record<'workerA' | 'workerB' | 'commanderA' | 'commander', { id: number; token: string }>;

const UPDATE = `mutation U($loc: PointInput!, $acc: Float, $duty: Boolean!) {
  updateMyPosition(location: $loc, accuracyMeters: $acc, onDuty: $duty) {
    workerId location { lon lat } accuracyMeters onDuty at worker { username }
  }
}`;
const LIST = `query L($bbox: BBoxInput, $duty: Boolean) {
  workerPositions(bbox: $bbox, onDutyOnly: $duty) { workerId location { lon lat } onDuty }
}`;

beforeAll(async () => {
  server = await startTestServer(database);
  city = await makeTestCity(db, { lon: 106.5, lat: 29.5 });
  const make = async (role: 'WORKER' | 'COMMANDER', regionId: number) => {
    const u = await makeUser(db, { role, regionId });
    return { id: u.id, token: await server.login(u.username) };
  };
  users.workerA = await make('WORKER', city.districts.A.id);
  users.workerB = await make('WORKER', city.districts.B.id);
  users.commanderA = await make('COMMANDER', city.districts.A.id);
  users.commander = await make('COMMANDER', city.cityId);
});

afterAll(() => server?.close());

async function trackOf(userId: number) {
  return rows<{ lon: number; lat: number; onDuty: boolean }>(
    db,
    sql`SELECT ST_X(location) AS lon, ST_Y(location) AS lat, on_duty AS "onDuty"
        FROM worker_tracks WHERE user_id = ${userId} ORDER BY at, id`,
  );
}

describe('updateMyPosition', () => {
  test('stores the latest position and appends to the track', async () => {
    const first = cellCentre(city.districts.A, 0);
    const second = cellCentre(city.districts.A, 3);
    const a = await server.graphql<{ updateMyPosition: Record<string, unknown> }>(
      UPDATE,
      { loc: first, acc: 8, duty: true },
      users.workerA.token,
    );
    expect(a.errors).toBeUndefined();
    expect(a.data?.updateMyPosition).toMatchObject({
      workerId: String(users.workerA.id),
      location: first,
      accuracyMeters: 8,
      onDuty: true,
    });
    const b = await server.graphql(UPDATE, { loc: second, duty: false }, users.workerA.token);
    expect(b.errors).toBeUndefined();

    const [latest] = await rows<{ lon: number; lat: number; onDuty: boolean; acc: number | null }>(
      db,
      sql`SELECT ST_X(location) AS lon, ST_Y(location) AS lat, on_duty AS "onDuty", accuracy_meters AS acc
          FROM worker_positions WHERE user_id = ${users.workerA.id}`,
    );
    expect(latest).toEqual({ ...second, onDuty: false, acc: null });
    expect(await trackOf(users.workerA.id)).toEqual([
      { ...first, onDuty: true },
      { ...second, onDuty: false },
    ]);
  });

  test('a GCJ-02 point is stored as WGS84', async () => {
    const wgs = cellCentre(city.districts.B, 1);
    const gcj = wgs84ToGcj02(wgs);
    const { errors } = await server.graphql(
      UPDATE,
      { loc: { ...gcj, crs: 'GCJ02' }, duty: true },
      users.workerB.token,
    );
    expect(errors).toBeUndefined();
    const [stored] = await rows<{ lon: number; lat: number }>(
      db,
      sql`SELECT ST_X(location) AS lon, ST_Y(location) AS lat FROM worker_positions WHERE user_id = ${users.workerB.id}`,
    );
    // GCJ-02 is offset by hundreds of metres here; the inverse brings it back within a few centimetres.
    expect(Math.abs(gcj.lon - wgs.lon) + Math.abs(gcj.lat - wgs.lat)).toBeGreaterThan(0.001);
    expect(stored!.lon).toBeCloseTo(wgs.lon, 6);
    expect(stored!.lat).toBeCloseTo(wgs.lat, 6);
  });

  test('only workers share a position; bad input is refused', async () => {
    const { errors } = await server.graphql(
      UPDATE,
      { loc: cellCentre(city.districts.A, 0), duty: true },
      users.commander.token,
    );
    expect(errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const bad = await server.graphql(UPDATE, { loc: { lon: 200, lat: 0 }, duty: true }, users.workerA.token);
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const negative = await server.graphql(
      UPDATE,
      { loc: cellCentre(city.districts.A, 0), acc: -1, duty: true },
      users.workerA.token,
    );
    expect(negative.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('workerPositions', () => {
  test('a district commander sees its own workers only; the city commander sees both; bbox and on-duty filter', async () => {
    const ids = async (token: string, vars: Record<string, unknown> = {}) => {
      const { data, errors } = await server.graphql<{ workerPositions: { workerId: string }[] }>(
        LIST,
        vars,
        token,
      );
      expect(errors).toBeUndefined();
      return data!.workerPositions.map((p) => Number(p.workerId)).sort();
    };
    expect(await ids(users.commanderA.token)).toEqual([users.workerA.id]);
    expect(await ids(users.commander.token)).toEqual([users.workerA.id, users.workerB.id].sort());
    // worker A went off duty in the first test.
    expect(await ids(users.commander.token, { duty: true })).toEqual([users.workerB.id]);
    const b = city.districts.B.origin;
    const boxB = { minLon: b.lon, minLat: b.lat, maxLon: b.lon + 0.02, maxLat: b.lat + 0.02 };
    expect(await ids(users.commander.token, { bbox: boxB })).toEqual([users.workerB.id]);
  });
});

describe('track retention', () => {
  test('points older than the retention are pruned, newer ones kept', async () => {
    const now = new Date();
    await db.execute(sql`
      INSERT INTO worker_tracks (user_id, location, on_duty, at)
      SELECT ${users.workerB.id}::bigint, ST_SetSRID(ST_MakePoint(106.5, 29.5), 4326), true,
             ${now.toISOString()}::timestamptz - make_interval(hours => h)
      FROM generate_series(1, 240) AS h`);
    const before = (await trackOf(users.workerB.id)).length;
    // Keep 3 days: the 72 points 1..72 hours old stay (and the fresh one from the GCJ test); 168 go.
    const deleted = await pruneWorkerTracks(db, 72 * 3600 + 1800, now, 50);
    expect(deleted).toBe(168);
    expect((await trackOf(users.workerB.id)).length).toBe(before - 168);
    // Another pass has nothing to do.
    expect(await pruneWorkerTracks(db, 72 * 3600 + 1800, now, 50)).toBe(0);
  });
});

/** A `workerMoved` subscription over SSE. */
async function watch(token: string, bbox?: Record<string, number>) {
  const sub = await subscribeSse<{
    workerId: string;
    location: { lon: number; lat: number };
    onDuty: boolean;
  }>(
    server.url,
    token,
    'subscription W($b: BBoxInput) { workerMoved(bbox: $b) { workerId location { lon lat } onDuty at } }',
    { b: bbox ?? null },
    'workerMoved',
  );
  return { events: sub.data, errors: sub.errors, close: sub.close };
}

describe('workerMoved', () => {
  test('filtered by the subscriber scope and box; workers and departments may not watch', async () => {
    const { A, B } = city.districts;
    const boxA = {
      minLon: A.origin.lon,
      minLat: A.origin.lat,
      maxLon: B.origin.lon - 1e-9,
      maxLat: A.origin.lat + 0.02,
    };
    const districtA = await watch(users.commanderA.token, boxA);
    const everyone = await watch(users.commander.token);
    try {
      const move = (token: string, loc: { lon: number; lat: number }) =>
        server.graphql(UPDATE, { loc, duty: true }, token).then((r) => expect(r.errors).toBeUndefined());
      await move(users.workerA.token, cellCentre(A, 1)); // in scope and box of commander A
      await move(users.workerB.token, cellCentre(A, 2)); // in the box, but B's worker: out of scope
      await move(users.workerA.token, cellCentre(B, 0)); // A's worker, outside the box
      const deadline = Date.now() + 5000;
      while (everyone.events.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 300));
      expect(districtA.events).toEqual([
        expect.objectContaining({
          workerId: String(users.workerA.id),
          location: cellCentre(A, 1),
          onDuty: true,
        }),
      ]);
      expect(everyone.events.map((e) => Number(e.workerId))).toEqual([
        users.workerA.id,
        users.workerB.id,
        users.workerA.id,
      ]);
    } finally {
      await districtA.close();
      await everyone.close();
    }
    const worker = await watch(users.workerA.token);
    await new Promise((r) => setTimeout(r, 200));
    await worker.close();
    expect(worker.errors[0]?.extensions?.code).toBe('FORBIDDEN');
    const list = await server.graphql(LIST, {}, users.workerA.token);
    expect(list.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
