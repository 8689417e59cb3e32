/** The closed loop through GraphQL: each step's effects, rework, rejection as duplicate, races, the trail. */
import { rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type TestDatabase, testDatabase } from '../helpers/db';
import { startTestServer, type TestServer } from '../helpers/server';
import { cellCentre, makeCategory, newKey } from './factories';
import { act, type CaseView, makeWorld, reportIn, trailOf, type World } from './workflow-world';

let database: TestDatabase;
let server: TestServer;
let world: World;

/** Shanghai-local dates (YYYY-MM-DD), `days` after today there. */
const localDate = (days: number, from = Date.now()) =>
  new Date(from + 8 * 3_600_000 + days * 86_400_000).toISOString().slice(0, 10);
const HOLIDAYS = [localDate(1), localDate(2), localDate(3)];

beforeAll(async () => {
  database = await testDatabase();
  server = await startTestServer(database);
  world = await makeWorld(database.db, server);
  // Before anything reads the calendar: the next three days are public holidays.
  await database.db.execute(sql`
    INSERT INTO calendar_days (day, name, is_workday)
    SELECT d::date, 'test holiday', false FROM json_array_elements_text(${JSON.stringify(HOLIDAYS)}::json) AS d
    ON CONFLICT (day) DO UPDATE SET is_workday = false`);
});
afterAll(() => server?.close());

const ok = (r: { case?: CaseView; code?: string; message?: string }): CaseView => {
  if (!r.case) throw new Error(`refused: ${r.code} ${r.message}`);
  return r.case;
};

describe('the closed loop', () => {
  test('report → file → dispatch → accept → resolve → verify (fail, rework) → verify → close', async () => {
    const u = world.users;
    let c = await reportIn(server, world);
    expect(c).toMatchObject({ status: 'REPORTED', version: 1 });

    c = ok(await act(server, u.commander, 'FILE', c.id, c.version));
    expect(c).toMatchObject({ status: 'FILED', version: 2 });
    expect(c.filedAt).not.toBeNull();

    c = ok(await act(server, u.commander, 'DISPATCH', c.id, c.version, { dept: String(world.dept1.id) }));
    expect(c).toMatchObject({
      status: 'DISPATCHED',
      version: 3,
      department: { id: String(world.dept1.id) },
      assignee: null,
    });
    expect(c.dispatchedAt).not.toBeNull();
    // The test category's HANDLE limit is 480 wall-clock minutes from the dispatch.
    expect(Date.parse(c.handleDueAt!) - Date.parse(c.dispatchedAt!)).toBe(480 * 60_000);

    c = ok(await act(server, u.dept1, 'ACCEPT', c.id, c.version));
    expect(c.status).toBe('IN_PROGRESS');
    c = ok(await act(server, u.dept1, 'RESOLVE', c.id, c.version));
    expect(c.status).toBe('RESOLVED');

    // Rework: back to the same department, counted.
    c = ok(await act(server, u.workerA1, 'VERIFY_FAIL', c.id, c.version));
    expect(c).toMatchObject({
      status: 'DISPATCHED',
      reworkCount: 1,
      department: { id: String(world.dept1.id) },
    });
    c = ok(await act(server, u.dept1, 'ACCEPT', c.id, c.version));
    c = ok(await act(server, u.dept1, 'RESOLVE', c.id, c.version));
    c = ok(await act(server, u.workerA2, 'VERIFY_PASS', c.id, c.version));
    expect(c).toMatchObject({ status: 'CLOSED', version: 9, reworkCount: 1 });
    expect(c.closedAt).not.toBeNull();

    expect(c.events.map((e) => [e.seq, e.action, e.fromStatus, e.toStatus])).toEqual([
      [1, 'REPORT', null, 'REPORTED'],
      [2, 'FILE', 'REPORTED', 'FILED'],
      [3, 'DISPATCH', 'FILED', 'DISPATCHED'],
      [4, 'ACCEPT', 'DISPATCHED', 'IN_PROGRESS'],
      [5, 'RESOLVE', 'IN_PROGRESS', 'RESOLVED'],
      [6, 'VERIFY_FAIL', 'RESOLVED', 'DISPATCHED'],
      [7, 'ACCEPT', 'DISPATCHED', 'IN_PROGRESS'],
      [8, 'RESOLVE', 'IN_PROGRESS', 'RESOLVED'],
      [9, 'VERIFY_PASS', 'RESOLVED', 'CLOSED'],
    ]);
    expect(c.events.map((e) => e.actor?.id)).toEqual(
      [u.commander, u.commander, u.commander, u.dept1, u.dept1, u.workerA1, u.dept1, u.dept1, u.workerA2].map(
        (x) => String(x.id),
      ),
    );
    expect(await trailOf(database.db, c.id)).toEqual({
      version: 9,
      status: 'CLOSED',
      events: 9,
      lastTo: 'CLOSED',
    });

    // Reopen: back to the command centre, the handler cleared.
    c = ok(await act(server, u.commander, 'REOPEN', c.id, c.version));
    expect(c).toMatchObject({
      status: 'FILED',
      version: 10,
      department: null,
      assignee: null,
      closedAt: null,
    });
  });

  test('a grid worker dispatched directly handles it; another worker of the cell verifies, never the resolver', async () => {
    const u = world.users;
    let c = await reportIn(server, world);
    c = ok(await act(server, u.commander, 'FILE', c.id, c.version));
    c = ok(await act(server, u.commander, 'DISPATCH', c.id, c.version, { assignee: String(u.workerA2.id) }));
    expect(c).toMatchObject({ department: null, assignee: { id: String(u.workerA2.id) } });
    expect((await act(server, u.workerA1, 'ACCEPT', c.id, c.version)).code).toBe('FORBIDDEN');
    expect((await act(server, u.dept1, 'ACCEPT', c.id, c.version)).code).toBe('NOT_FOUND');
    c = ok(await act(server, u.workerA2, 'ACCEPT', c.id, c.version));
    c = ok(await act(server, u.workerA2, 'RESOLVE', c.id, c.version));
    expect((await act(server, u.workerA2, 'VERIFY_PASS', c.id, c.version)).code).toBe('FORBIDDEN');
    // workerA3 works in the district but does not answer for the cell.
    expect((await act(server, u.workerA3, 'VERIFY_PASS', c.id, c.version)).code).toBe('FORBIDDEN');
    c = ok(await act(server, u.workerA1, 'VERIFY_PASS', c.id, c.version));
    expect(c.status).toBe('CLOSED');
  });

  test('a worker of a department: the worker and the department desk may handle it', async () => {
    const u = world.users;
    let c = await reportIn(server, world);
    c = ok(await act(server, u.commander, 'FILE', c.id, c.version));
    expect(
      (
        await act(server, u.commander, 'DISPATCH', c.id, c.version, {
          dept: String(world.dept2.id),
          assignee: String(u.workerA1.id),
        })
      ).code,
    ).toBe('BAD_USER_INPUT');
    c = ok(
      await act(server, u.commander, 'DISPATCH', c.id, c.version, {
        dept: String(world.dept1.id),
        assignee: String(u.workerA1.id),
      }),
    );
    c = ok(await act(server, u.dept1, 'ACCEPT', c.id, c.version));
    c = ok(await act(server, u.workerA1, 'RESOLVE', c.id, c.version));
    expect(c.status).toBe('RESOLVED');
  });

  test('return clears the handler; the misrouted department no longer sees the case', async () => {
    const u = world.users;
    let c = await reportIn(server, world);
    c = ok(await act(server, u.commander, 'FILE', c.id, c.version));
    c = ok(await act(server, u.commander, 'DISPATCH', c.id, c.version, { dept: String(world.dept2.id) }));
    const seen = await server.graphql<{ case: { id: string } }>(
      'query Q($id: ID!) { case(id: $id) { id } }',
      { id: c.id },
      u.dept2.token,
    );
    expect(seen.data?.case.id).toBe(c.id);
    c = ok(await act(server, u.dept2, 'RETURN', c.id, c.version));
    expect(c).toMatchObject({ status: 'FILED', department: null, assignee: null });
    const after = await server.graphql(
      'query Q($id: ID!) { case(id: $id) { id } }',
      { id: c.id },
      u.dept2.token,
    );
    expect(after.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  test('dispatch targets are checked', async () => {
    const u = world.users;
    let c = await reportIn(server, world);
    c = ok(await act(server, u.commander, 'FILE', c.id, c.version));
    for (const extra of [
      {},
      { dept: '999999999' },
      { assignee: String(u.dept1.id) },
      { assignee: String(u.workerB.id) },
    ]) {
      const r = await act(server, u.commander, 'DISPATCH', c.id, c.version, extra);
      expect(r.code, JSON.stringify(extra)).toBe('BAD_USER_INPUT');
    }
    expect(await trailOf(database.db, c.id)).toMatchObject({ version: 2, events: 2 });
  });
});

describe('deadlines and visibility', () => {
  test('dispatch stamps a working-time HANDLE limit on the city calendar, holidays included', async () => {
    const u = world.users;
    const working = await makeCategory(database.db, { departmentId: world.dept1.id });
    // 600 working minutes: more than one working day (7 h), so it always runs past today.
    await database.db.execute(sql`
      UPDATE category_deadlines SET working_time = true, minutes = 600
      WHERE category_id = ${working.id} AND stage = 'HANDLE'`);
    const centre = cellCentre(world.city.districts.A, 1);
    const { data } = await server.graphql<{ reportCase: { id: string } }>(
      'mutation R($input: ReportCaseInput!) { reportCase(input: $input) { id } }',
      {
        input: {
          idempotencyKey: newKey(),
          categoryCode: working.code,
          description: 'broken lamp',
          location: centre,
        },
      },
      u.commander.token,
    );
    let c = ok(await act(server, u.commander, 'FILE', data!.reportCase.id, 1));
    c = ok(await act(server, u.commander, 'DISPATCH', c.id, c.version, { dept: String(world.dept1.id) }));
    const dispatched = Date.parse(c.dispatchedAt!);
    const due = Date.parse(c.handleDueAt!);
    expect(due - dispatched).toBeGreaterThanOrEqual(600 * 60_000);
    // Due inside working hours (08:30–12:00, 14:00–17:30 local), on a weekday after the holidays.
    const local = new Date(due + 8 * 3_600_000);
    const minutes = (local.getTime() % 86_400_000) / 60_000;
    expect((minutes > 510 && minutes <= 720) || (minutes > 840 && minutes <= 1050)).toBe(true);
    expect([1, 2, 3, 4, 5]).toContain(local.getUTCDay());
    expect(local.toISOString().slice(0, 10) > HOLIDAYS[2]!).toBe(true);
  });

  test('a department lists only the cases dispatched to it', async () => {
    const u = world.users;
    let mine = await reportIn(server, world);
    mine = ok(await act(server, u.commander, 'FILE', mine.id, mine.version));
    mine = ok(
      await act(server, u.commander, 'DISPATCH', mine.id, mine.version, { dept: String(world.dept2.id) }),
    );
    const notYet = await reportIn(server, world);
    const q =
      'query Q($f: CaseFilter) { cases(filter: $f, first: 100) { edges { node { id department { id } } } } }';
    const listed = await server.graphql<{
      cases: { edges: { node: { id: string; department: { id: string } | null } }[] };
    }>(q, { f: { gridId: String(world.cellA1) } }, u.dept2.token);
    const ids = listed.data!.cases.edges.map((e) => e.node.id);
    expect(ids).toContain(mine.id);
    expect(ids).not.toContain(notYet.id);
    expect(listed.data!.cases.edges.every((e) => e.node.department?.id === String(world.dept2.id))).toBe(
      true,
    );
    // The commander of the district sees both.
    const all = await server.graphql<{ cases: { edges: { node: { id: string } }[] } }>(
      q,
      { f: { gridId: String(world.cellA1) } },
      u.commanderA.token,
    );
    expect(all.data!.cases.edges.map((e) => e.node.id)).toEqual(expect.arrayContaining([mine.id, notYet.id]));
  });
});

describe('rejection', () => {
  test('as DUPLICATE links the case it repeats, which must exist, be visible and not be itself', async () => {
    const u = world.users;
    const first = await reportIn(server, world);
    const repeat = await reportIn(server, world, { offset: { lon: 0.0001, lat: 0 } });
    const inB = await reportIn(server, world, { district: 'B' });
    expect((await act(server, u.commander, 'REJECT', repeat.id, 1, { reason: 'DUPLICATE' })).code).toBe(
      'BAD_USER_INPUT',
    );
    expect(
      (await act(server, u.commander, 'REJECT', repeat.id, 1, { reason: 'DUPLICATE', dup: repeat.id })).code,
    ).toBe('BAD_USER_INPUT');
    expect(
      (await act(server, u.commander, 'REJECT', repeat.id, 1, { reason: 'INVALID', dup: first.id })).code,
    ).toBe('BAD_USER_INPUT');
    // District A's commander cannot point at a case of district B.
    expect(
      (await act(server, u.commanderA, 'REJECT', repeat.id, 1, { reason: 'DUPLICATE', dup: inB.id })).code,
    ).toBe('BAD_USER_INPUT');
    const c = ok(
      await act(server, u.commanderA, 'REJECT', repeat.id, 1, { reason: 'DUPLICATE', dup: first.id }),
    );
    expect(c).toMatchObject({
      status: 'REJECTED',
      version: 2,
      rejectReason: 'DUPLICATE',
      duplicateOf: { id: first.id },
    });
    expect(c.events.at(-1)).toMatchObject({ action: 'REJECT', fromStatus: 'REPORTED', toStatus: 'REJECTED' });
  });
});

describe('versions and races', () => {
  test('a stale expectedVersion is CONFLICT carrying the current version, and writes nothing', async () => {
    const c = await reportIn(server, world);
    const r = await act(server, world.users.commander, 'FILE', c.id, 7);
    expect(r.code).toBe('CONFLICT');
    expect(r.extensions?.currentVersion).toBe(1);
    expect(await trailOf(database.db, c.id)).toMatchObject({ version: 1, events: 1, status: 'REPORTED' });
  });

  test('two concurrent dispatchCase with the same expectedVersion: one succeeds, the other CONFLICT, one event', async () => {
    const u = world.users;
    for (let round = 0; round < 5; round++) {
      let c = await reportIn(server, world);
      c = ok(await act(server, u.commander, 'FILE', c.id, c.version));
      const [a, b] = await Promise.all([
        act(server, u.commander, 'DISPATCH', c.id, c.version, { dept: String(world.dept1.id) }),
        act(server, u.commanderA, 'DISPATCH', c.id, c.version, { dept: String(world.dept2.id) }),
      ]);
      const results = [a, b];
      expect(results.filter((r) => r.case).length).toBe(1);
      expect(results.filter((r) => r.code === 'CONFLICT').length).toBe(1);
      const [{ n }] = (await rows<{ n: number }>(
        database.db,
        sql`SELECT count(*)::int AS n FROM case_events WHERE case_id = ${Number(c.id)} AND action = 'DISPATCH'`,
      )) as [{ n: number }];
      expect(n).toBe(1);
      expect(await trailOf(database.db, c.id)).toMatchObject({ version: 3, events: 3, status: 'DISPATCHED' });
    }
  });
});

describe('the trail', () => {
  test('case events cannot be updated or deleted, even through the API server’s own database', async () => {
    const c = await reportIn(server, world);
    const db = server.app.services.db;
    await expect(
      db.execute(sql`UPDATE case_events SET note = 'changed' WHERE case_id = ${Number(c.id)}`),
    ).rejects.toThrow();
    await expect(db.execute(sql`DELETE FROM case_events WHERE case_id = ${Number(c.id)}`)).rejects.toThrow();
    expect(await trailOf(database.db, c.id)).toMatchObject({ events: 1 });
  });
});
