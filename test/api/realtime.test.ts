/**
 * Live case events over SSE: a subscription on one server instance receives transitions
 * committed through another (each instance LISTENs on the database), filtered by the
 * subscriber's scope, department and `regionId`; a refused or rolled-back transition sends nothing.
 */
import { randomUUID } from 'node:crypto';
import { type Database, openDatabase } from '@citygrid/db';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { type TestDatabase, testDatabase } from '../helpers/db';
import { startTestServer, type TestServer } from '../helpers/server';
import { subscribeSse } from '../helpers/sse';
import { makeUser } from './factories';
import { act, makeWorld, seedCaseAt, trailOf, type World } from './workflow-world';

interface Change {
  case: { id: string; status?: string; version: number; events?: { action: string }[] };
  action: string;
}

/** A `caseChanged` subscription over SSE (graphql-yoga's "distinct connections" protocol). */
function subscribe(server: TestServer, token: string, regionId?: string, fields = 'id status version') {
  return subscribeSse<Change>(
    server.url,
    token,
    `subscription S($r: ID) { caseChanged(regionId: $r) { action case { ${fields} } } }`,
    { r: regionId ?? null },
    'caseChanged',
  );
}

let database: TestDatabase;
let second: Database | undefined;
let server1: TestServer;
let server2: TestServer;
let world: World;

beforeAll(async () => {
  database = await testDatabase();
  server1 = await startTestServer(database);
  // Real Postgres: a second instance with its own pool and listener on the same database URL.
  // Embedded: one process holds the database, so both apps run on it.
  if (database.url) second = await openDatabase({ url: database.url, poolSize: 3 });
  server2 = await startTestServer(second ?? database);
  world = await makeWorld(database.db, server1);
});
afterAll(async () => {
  await server1?.close();
  await server2?.close();
  await second?.close();
});

const seed = (district: 'A' | 'B' = 'A', status: 'REPORTED' | 'IN_PROGRESS' = 'REPORTED', fields = {}) =>
  seedCaseAt(database.db, {
    categoryId: world.category.id,
    cellId: world.city.districts[district].cells[0],
    status,
    ...fields,
  });

describe('caseChanged', () => {
  test('a subscription on instance 1 receives a transition committed through instance 2 within a second', async () => {
    const sub = await subscribe(server1, world.users.commander.token);
    try {
      // Warm-up: the stream is open and delivering before the timed event.
      const warm = await seed();
      expect((await act(server2, world.users.commander, 'FILE', warm.id, warm.version)).case?.status).toBe(
        'FILED',
      );
      expect(await sub.next(10_000)).toMatchObject({ action: 'FILE', case: { id: String(warm.id) } });

      const c = await seed();
      const r = await act(server2, world.users.commander, 'FILE', c.id, c.version);
      expect(r.case?.status).toBe('FILED');
      // Counted from the moment instance 2 answered, i.e. after COMMIT.
      const event = await sub.next(1000);
      expect(event).toEqual({ action: 'FILE', case: { id: String(c.id), status: 'FILED', version: 2 } });
      expect(sub.errors).toEqual([]);
    } finally {
      await sub.close();
    }
  });

  test('reports are announced too', async () => {
    const sub = await subscribe(server2, world.users.commander.token);
    try {
      const { data } = await server1.graphql<{ reportCase: { id: string } }>(
        `mutation R($input: ReportCaseInput!) { reportCase(input: $input) { id } }`,
        {
          input: {
            idempotencyKey: randomUUID(),
            categoryCode: world.category.code,
            description: 'blocked drain',
            location: {
              lon: world.city.districts.A.origin.lon + 0.001,
              lat: world.city.districts.A.origin.lat + 0.001,
            },
          },
        },
        world.users.commander.token,
      );
      expect(await sub.next(10_000)).toMatchObject({
        action: 'REPORT',
        case: { id: data!.reportCase.id, version: 1 },
      });
    } finally {
      await sub.close();
    }
  });

  test('a refused or rolled-back transition writes no event and sends nothing', async () => {
    const sub = await subscribe(server1, world.users.commander.token);
    try {
      const u = world.users;
      // Refused before writing: a stale version.
      const stale = await seed();
      expect((await act(server2, u.commander, 'FILE', stale.id, 5)).code).toBe('CONFLICT');
      // Rolled back after the case row and its event were written: the photo is not the handler's.
      const rolled = await seed('A', 'IN_PROGRESS', { departmentId: world.dept1.id });
      const refused = await act(server2, u.dept1, 'RESOLVE', rolled.id, rolled.version, {});
      expect(refused.case?.status).toBe('RESOLVED'); // control: the plain resolve works…
      const again = await seed('A', 'IN_PROGRESS', { departmentId: world.dept1.id });
      const withPhoto = await server2.graphql(
        `mutation M($id: ID!, $v: Int!, $a: [ID!]) { resolveCase(id: $id, expectedVersion: $v, note: "fixed", attachmentIds: $a) { id } }`,
        { id: String(again.id), v: again.version, a: [randomUUID()] },
        u.dept1.token,
      );
      expect(withPhoto.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(await trailOf(database.db, again.id)).toMatchObject({
        version: again.version,
        events: again.version,
        status: 'IN_PROGRESS',
      });
      expect(await trailOf(database.db, stale.id)).toMatchObject({ version: 1, events: 1 });

      // …and its event is the only one delivered before this marker.
      const marker = await seed();
      await act(server2, u.commander, 'FILE', marker.id, marker.version);
      const events: Change[] = [];
      for (let e = await sub.next(10_000); e; e = await sub.next(300)) {
        events.push(e);
        if (e.case.id === String(marker.id)) break;
      }
      expect(events.map((e) => [e.case.id, e.action])).toEqual([
        [String(rolled.id), 'RESOLVE'],
        [String(marker.id), 'FILE'],
      ]);
    } finally {
      await sub.close();
    }
  });

  test('filtered by scope, department and regionId', async () => {
    const u = world.users;
    const subA = await subscribe(server1, u.commanderA.token);
    const subB = await subscribe(server1, u.commander.token, String(world.city.districts.B.id));
    const subDept2 = await subscribe(server2, u.dept2.token);
    try {
      const inB = await seed('B');
      const inA = await seed('A');
      await act(server2, u.commander, 'FILE', inB.id, inB.version);
      await act(server2, u.commander, 'FILE', inA.id, inA.version);
      // District A's commander gets A's event and never B's, which committed first.
      expect(await subA.next(10_000)).toMatchObject({ action: 'FILE', case: { id: String(inA.id) } });
      // regionId = district B: B's event only.
      expect(await subB.next(10_000)).toMatchObject({ action: 'FILE', case: { id: String(inB.id) } });

      // dept2 hears only what is dispatched to dept2.
      await act(server2, u.commander, 'DISPATCH', inA.id, 2, { dept: String(world.dept1.id) });
      await act(server2, u.commander, 'DISPATCH', inB.id, 2, { dept: String(world.dept2.id) });
      expect(await subDept2.next(10_000)).toMatchObject({ action: 'DISPATCH', case: { id: String(inB.id) } });
      // Nothing else is queued for them.
      expect(await subA.next(500)).toMatchObject({ action: 'DISPATCH', case: { id: String(inA.id) } });
      expect(await subA.next(300)).toBeUndefined();
      expect(await subB.next(300)).toMatchObject({ action: 'DISPATCH', case: { id: String(inB.id) } });
      expect(await subB.next(300)).toBeUndefined();
      expect(await subDept2.next(300)).toBeUndefined();
    } finally {
      await Promise.all([subA.close(), subB.close(), subDept2.close()]);
    }
  });

  test('each event shows the case as it is then, trail included', async () => {
    const sub = await subscribe(
      server1,
      world.users.commander.token,
      undefined,
      'id version events { action }',
    );
    try {
      const c = await seed();
      await act(server2, world.users.commander, 'FILE', c.id, 1);
      const first = await sub.next(10_000);
      await act(server2, world.users.commander, 'DISPATCH', c.id, 2, { dept: String(world.dept1.id) });
      const later = await sub.next(10_000);
      expect(first?.case).toEqual({
        id: String(c.id),
        version: 2,
        events: [{ action: 'REPORT' }, { action: 'FILE' }],
      });
      expect(later?.case).toEqual({
        id: String(c.id),
        version: 3,
        events: [{ action: 'REPORT' }, { action: 'FILE' }, { action: 'DISPATCH' }],
      });
    } finally {
      await sub.close();
    }
  });

  test('each change is read once for all the subscribers of an instance, each still held to its scope', async () => {
    const liveReads = async () => {
      const text = await (await fetch(`${server1.url}/metrics`)).text();
      return Number(/^citygrid_live_case_reads_total (\d+)/m.exec(text)?.[1] ?? Number.NaN);
    };
    const subs = await Promise.all([
      subscribe(server1, world.users.commander.token),
      subscribe(server1, world.users.supervisor.token),
      subscribe(server1, world.users.commanderA.token),
      subscribe(server1, world.users.commanderB.token),
    ]);
    const [commander, supervisor, inA, inB] = subs;
    try {
      const warm = await seed('A');
      await act(server2, world.users.commander, 'FILE', warm.id, warm.version);
      for (const sub of [commander, supervisor, inA]) expect(await sub!.next(10_000)).toBeDefined();

      const before = await liveReads();
      const c = await seed('A');
      await act(server2, world.users.commander, 'FILE', c.id, c.version);
      for (const sub of [commander, supervisor, inA])
        expect(await sub!.next(10_000)).toEqual({
          action: 'FILE',
          case: { id: String(c.id), status: 'FILED', version: 2 },
        });
      expect(await liveReads()).toBe(before + 1);
      // District B's commander saw neither change.
      expect(inB!.data).toEqual([]);
    } finally {
      await Promise.all(subs.map((s) => s.close()));
    }
  });

  test("a deactivated user's open subscription ends at its next event, with nothing more sent", async () => {
    const user = await makeUser(database.db, { role: 'COMMANDER', regionId: world.city.cityId });
    const token = await server1.app.services.tokens.issue({
      id: user.id,
      role: 'COMMANDER',
      regionId: world.city.cityId,
    });
    const sub = await subscribe(server2, token);
    try {
      const before = await seed();
      await act(server1, world.users.commander, 'FILE', before.id, before.version);
      expect(await sub.next(10_000)).toMatchObject({ action: 'FILE', case: { id: String(before.id) } });

      const { errors } = await server1.graphql(
        'mutation($id: ID!) { setUserActive(userId: $id, active: false) }',
        { id: String(user.id) },
        world.users.admin.token,
      );
      expect(errors).toBeUndefined();
      // Instance 2 has heard of it once it refuses the same token for a request.
      await vi.waitFor(
        async () =>
          expect((await server2.graphql('{ me { id } }', {}, token)).errors?.[0]?.extensions?.code).toBe(
            'UNAUTHENTICATED',
          ),
        { timeout: 5000, interval: 50 },
      );
      const after = await seed();
      await act(server1, world.users.commander, 'FILE', after.id, after.version);
      await vi.waitFor(() => expect(sub.errors.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']), {
        timeout: 10_000,
        interval: 50,
      });
      expect(sub.data.map((c) => c.case.id)).toEqual([String(before.id)]);
    } finally {
      await sub.close();
    }
  });

  test('signing in is required', async () => {
    const response = await fetch(`${server1.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: 'subscription { caseChanged { action } }' }),
    });
    const text = await response.text();
    expect(text).toContain('UNAUTHENTICATED');
  });
});
