/**
 * `workersMoved`: the batched form of `workerMoved` the command-center map listens to. Each batch
 * holds a worker at most once, at their latest position; the reader's scope and box apply as for
 * `workerMoved`; a bad interval and a reader who may not watch get typed errors.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { testDatabase } from '../helpers/db';
import { startTestServer, type TestServer } from '../helpers/server';
import { subscribeSse } from '../helpers/sse';
import { cellCentre, makeTestCity, makeUser, type TestCity } from './factories';

const database = await testDatabase();
const db = database.db;
let server: TestServer;
let city: TestCity;
const users = {} as Record<
  'workerA' | 'workerA2' | 'workerB' | 'commanderA' | 'commander',
  { id: number; token: string }
>;

const UPDATE = `mutation U($loc: PointInput!, $duty: Boolean!) {
  updateMyPosition(location: $loc, onDuty: $duty) { workerId }
}`;
const WATCH = `subscription W($b: BBoxInput, $every: Int) {
  workersMoved(bbox: $b, everyMs: $every) { workerId location { lon lat } onDuty at }
}`;

interface Position {
  workerId: string;
  location: { lon: number; lat: number };
  onDuty: boolean;
}

beforeAll(async () => {
  server = await startTestServer(database);
  city = await makeTestCity(db, { lon: 107.5, lat: 30.5 });
  const make = async (role: 'WORKER' | 'COMMANDER', regionId: number) => {
    const u = await makeUser(db, { role, regionId });
    return { id: u.id, token: await server.login(u.username) };
  };
  users.workerA = await make('WORKER', city.districts.A.id);
  users.workerA2 = await make('WORKER', city.districts.A.id);
  users.workerB = await make('WORKER', city.districts.B.id);
  users.commanderA = await make('COMMANDER', city.districts.A.id);
  users.commander = await make('COMMANDER', city.cityId);
});

afterAll(() => server?.close());

/** A `workersMoved` subscription over SSE, collecting its batches. */
async function watch(token: string, variables: Record<string, unknown> = {}) {
  const sub = await subscribeSse<Position[]>(server.url, token, WATCH, variables, 'workersMoved');
  return {
    batches: sub.data,
    errors: sub.errors,
    /** The latest position seen per worker id. */
    latest: () => new Map(sub.data.flat().map((p) => [Number(p.workerId), p])),
    close: sub.close,
  };
}

const move = (token: string, loc: { lon: number; lat: number }) =>
  server.graphql(UPDATE, { loc, duty: true }, token).then((r) => expect(r.errors).toBeUndefined());

describe('workersMoved', () => {
  test('batches hold each worker once, at the latest position, inside the reader scope and box', async () => {
    const { A, B } = city.districts;
    const westOfB = {
      minLon: A.origin.lon,
      minLat: A.origin.lat,
      maxLon: B.origin.lon - 1e-9,
      maxLat: A.origin.lat + 0.02,
    };
    const everyone = await watch(users.commander.token, { every: 200 });
    const districtA = await watch(users.commanderA.token, { b: westOfB, every: 200 });
    try {
      // Worker A walks through all four of A's cells and into B; the others move once.
      await Promise.all([
        (async () => {
          for (const i of [0, 1, 2, 3] as const) await move(users.workerA.token, cellCentre(A, i));
          await move(users.workerA.token, cellCentre(B, 0));
        })(),
        move(users.workerA2.token, cellCentre(A, 2)),
        move(users.workerB.token, cellCentre(A, 1)),
      ]);
      await expect
        .poll(() => everyone.latest().get(users.workerA.id)?.location, { timeout: 10_000 })
        .toEqual(cellCentre(B, 0));
      await expect.poll(() => everyone.latest().size, { timeout: 10_000 }).toBe(3);
      // One more interval, so that anything still on its way to district A's reader has arrived.
      await new Promise((r) => setTimeout(r, 500));

      for (const batch of [...everyone.batches, ...districtA.batches]) {
        const ids = batch.map((p) => p.workerId);
        expect(new Set(ids).size).toBe(ids.length);
      }
      expect(everyone.latest().get(users.workerA2.id)?.location).toEqual(cellCentre(A, 2));
      expect(everyone.latest().get(users.workerB.id)?.location).toEqual(cellCentre(A, 1));
      // District A's commander: only A's workers (not B's worker standing in A), only inside the box
      // (A's last step into B is not theirs to see).
      const seenByA = districtA.latest();
      expect([...seenByA.keys()].sort()).toEqual([users.workerA.id, users.workerA2.id].sort());
      expect(seenByA.get(users.workerA.id)?.location).toEqual(cellCentre(A, 3));
      expect(everyone.errors).toEqual([]);
    } finally {
      await everyone.close();
      await districtA.close();
    }
  });

  test('an interval out of range is BAD_USER_INPUT; a worker may not watch', async () => {
    const tooFast = await watch(users.commander.token, { every: 10 });
    await expect.poll(() => tooFast.errors.length, { timeout: 10_000 }).toBeGreaterThan(0);
    await tooFast.close();
    expect(tooFast.errors[0]?.extensions?.code).toBe('BAD_USER_INPUT');

    const worker = await watch(users.workerA.token);
    await expect.poll(() => worker.errors.length, { timeout: 10_000 }).toBeGreaterThan(0);
    await worker.close();
    expect(worker.errors[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
