/**
 * `workersMoved`: the batched form of `workerMoved` the command-center map listens to. Each batch
 * holds a worker at most once, at their latest position; the reader's scope and box apply as for
 * `workerMoved`; a bad interval and a reader who may not watch get typed errors.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { testDatabase } from '../helpers/db';
import { startTestServer, type TestServer } from '../helpers/server';
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
  const controller = new AbortController();
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    signal: controller.signal,
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({ query: WATCH, variables }),
  });
  expect(response.headers.get('content-type')).toContain('text/event-stream');
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const batches: Position[][] = [];
  const errors: { extensions?: { code?: string } }[] = [];
  let buffer = '';
  const pump = (async () => {
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const data = buffer
          .slice(0, end)
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trim())
          .join('\n');
        buffer = buffer.slice(end + 2);
        if (!data) continue;
        const message = JSON.parse(data) as { data?: { workersMoved: Position[] }; errors?: typeof errors };
        if (message.errors) errors.push(...message.errors);
        if (message.data?.workersMoved) batches.push(message.data.workersMoved);
      }
    }
  })();
  // Let the subscription reach the server's LISTEN before anything moves.
  await new Promise((r) => setTimeout(r, 300));
  return {
    batches,
    errors,
    /** The latest position seen per worker id. */
    latest: () => new Map(batches.flat().map((p) => [Number(p.workerId), p])),
    async close() {
      controller.abort();
      await pump;
    },
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
