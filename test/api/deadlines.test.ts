/**
 * Deadlines on the working calendar (08:00–12:00 and 13:00–17:30 in Asia/Shanghai, weekends off,
 * the calendar_days holidays): dispatch stamps the handling limit in working time, a holiday moves
 * it, urgent limits count wall-clock time, a hold stops the clock and resuming gives back the time
 * left, extensions move it when approved and not when refused. Transitions run through the
 * workflow at chosen instants; the GraphQL mutations and read-time fields are checked too.
 */
import { rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Actor } from '../../server/src/domain/auth/actor';
import { forgetWorkflowSettings, loadCalendar } from '../../server/src/domain/cases/settings';
import { isOverdue } from '../../server/src/domain/cases/view';
import { applyTransition, type TransitionRequest } from '../../server/src/domain/cases/workflow';
import { remainingMinutes } from '../../server/src/domain/escalation/clock';
import { runEscalation } from '../../server/src/domain/escalation/scheduler';
import { testDatabase } from '../helpers/db';
import { startTestServer, type TestServer } from '../helpers/server';
import {
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
let categoryId: number;
let departmentId: number;
let commander: Actor;
let department: Actor;
let otherDepartment: Actor;
let tokens: { commander: string; department: string };

/** A local Shanghai wall-clock time as an instant. */
const shanghai = (local: string) => new Date(`${local}:00+08:00`);

beforeAll(async () => {
  server = await startTestServer(database);
  city = await makeTestCity(db, { lon: 108.5, lat: 34.25 });
  const dept = await makeDepartment(db, city.cityId);
  departmentId = dept.id;
  const category = await makeCategory(db, { departmentId });
  categoryId = category.id;
  // Ordinary limits in working time (HANDLE 8 working hours); urgent ones in wall-clock time (2 h).
  await db.execute(
    sql`UPDATE category_deadlines SET working_time = (priority <> 'URGENT') WHERE category_id = ${categoryId}`,
  );
  await db.execute(sql`UPDATE category_deadlines SET minutes = 120
                       WHERE category_id = ${categoryId} AND priority = 'URGENT' AND stage = 'HANDLE'`);
  await db.execute(
    sql`UPDATE settings SET value = '[["08:00","12:00"],["13:00","17:30"]]'::jsonb WHERE key = 'working_hours'`,
  );
  forgetWorkflowSettings(db);

  const u = async (role: Actor['role'], deptId?: number) => {
    const made = await makeUser(db, {
      role,
      regionId: city.cityId,
      ...(deptId ? { departmentId: deptId } : {}),
    });
    return { actor: { id: made.id, role, regionId: city.cityId } as Actor, username: made.username };
  };
  const c = await u('COMMANDER');
  const d = await u('DEPARTMENT', departmentId);
  const other = await u('DEPARTMENT', (await makeDepartment(db, city.cityId)).id);
  commander = c.actor;
  department = d.actor;
  otherDepartment = other.actor;
  tokens = { commander: await server.login(c.username), department: await server.login(d.username) };
});

afterAll(() => server?.close());

async function filedCase(priority: 'NORMAL' | 'URGENT' = 'NORMAL'): Promise<number> {
  const id = await makeCase(db, {
    categoryId,
    cellId: city.districts.A.cells[0],
    point: cellCentre(city.districts.A, 0),
    status: 'FILED',
    reportedAt: shanghai('2026-12-01T09:00'),
  });
  await db.execute(sql`UPDATE cases SET priority = ${priority}::case_priority WHERE id = ${id}`);
  return id;
}

async function step(
  actor: Actor,
  caseId: number,
  at: Date,
  request: Omit<TransitionRequest, 'caseId' | 'expectedVersion'>,
) {
  const [row] = await rows<{ version: number }>(db, sql`SELECT version FROM cases WHERE id = ${caseId}`);
  return (await applyTransition(db, actor, { caseId, expectedVersion: row!.version, ...request }, at)).case;
}

const dispatch = (caseId: number, at: Date) =>
  step(commander, caseId, at, { action: 'DISPATCH', departmentId });

async function refusal(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

describe('deadlines on the working calendar', () => {
  test('dispatched Friday 17:00 with an 8-working-hour limit: due Monday 16:30', async () => {
    const c = await dispatch(await filedCase(), shanghai('2026-12-04T17:00'));
    // Friday 0.5 h; Monday 08:00–12:00 (4 h) and 13:00–16:30 (3.5 h).
    expect(c.handleDueAt).toEqual(shanghai('2026-12-07T16:30'));
  });

  test('a holiday moves it: with Monday off it is due Tuesday 16:30', async () => {
    await db.execute(
      sql`INSERT INTO calendar_days (day, name, is_workday) VALUES ('2026-12-07', '测试假日', false)`,
    );
    forgetWorkflowSettings(db);
    try {
      const c = await dispatch(await filedCase(), shanghai('2026-12-04T17:00'));
      expect(c.handleDueAt).toEqual(shanghai('2026-12-08T16:30'));
    } finally {
      await db.execute(sql`DELETE FROM calendar_days WHERE day = '2026-12-07'`);
      forgetWorkflowSettings(db);
    }
  });

  test('the seeded national holidays count: dispatched 30 September 17:00, due 8 October 16:30', async () => {
    const c = await dispatch(await filedCase(), shanghai('2026-09-30T17:00'));
    // 1–7 October are 国庆节 holidays.
    expect(c.handleDueAt).toEqual(shanghai('2026-10-08T16:30'));
  });

  test('urgent limits ignore the calendar: 2 wall-clock hours from Friday 17:00', async () => {
    const id = await filedCase('URGENT');
    const c = await dispatch(id, shanghai('2026-12-04T17:00'));
    expect(c.handleDueAt).toEqual(shanghai('2026-12-04T19:00'));
    const calendar = await loadCalendar(db);
    expect(await remainingMinutes(db, c, calendar, shanghai('2026-12-04T18:15'))).toBe(45);
    expect(await remainingMinutes(db, c, calendar, shanghai('2026-12-04T19:30'))).toBe(-30);
  });

  test('remaining time counts working minutes for ordinary limits', async () => {
    const c = await dispatch(await filedCase(), shanghai('2026-12-04T17:00'));
    const calendar = await loadCalendar(db);
    // Saturday noon: nothing of the 8 hours has been used since Friday 17:30.
    expect(await remainingMinutes(db, c, calendar, shanghai('2026-12-05T12:00'))).toBe(450);
    expect(await remainingMinutes(db, c, calendar, shanghai('2026-12-07T17:00'))).toBe(-30);
  });
});

describe('holds', () => {
  test('a hold stops the clock; resuming gives each deadline the working time it had left', async () => {
    const id = await filedCase();
    let c = await dispatch(id, shanghai('2026-12-14T09:00'));
    // Monday 09:00 + 8 h: 7.5 h on Monday, then Tuesday 08:00–08:30.
    expect(c.handleDueAt).toEqual(shanghai('2026-12-15T08:30'));
    c = await step(commander, id, shanghai('2026-12-14T10:00'), { action: 'HOLD', note: '等待权属认定' });
    expect(c.status).toBe('DISPATCHED');
    expect(c.onHoldSince).toEqual(shanghai('2026-12-14T10:00'));

    // Past the original deadline while held: not overdue, time left frozen at 7 h, never escalated.
    const calendar = await loadCalendar(db);
    expect(isOverdue(c, shanghai('2026-12-15T12:00'))).toBe(false);
    expect(await remainingMinutes(db, c, calendar, shanghai('2026-12-15T12:00'))).toBe(420);
    await runEscalation(db, shanghai('2026-12-16T12:00'), 100_000);
    const [held] = await rows<{ escalatedAt: Date | null }>(
      db,
      sql`SELECT escalated_at AS "escalatedAt" FROM cases WHERE id = ${id}`,
    );
    expect(held!.escalatedAt).toBeNull();

    c = await step(commander, id, shanghai('2026-12-16T14:00'), { action: 'RESUME' });
    // 7 h from Wednesday 14:00: 3.5 h on Wednesday, then Thursday 08:00–11:30.
    expect(c.handleDueAt).toEqual(shanghai('2026-12-17T11:30'));
    expect(c.onHoldSince).toBeNull();
    expect(c.status).toBe('DISPATCHED');
    const events = await rows<{ action: string; from: string; to: string; seq: number }>(
      db,
      sql`SELECT action, from_status AS from, to_status AS to, seq FROM case_events WHERE case_id = ${id} ORDER BY seq`,
    );
    expect(events.slice(-2)).toEqual([
      { action: 'HOLD', from: 'DISPATCHED', to: 'DISPATCHED', seq: 3 },
      { action: 'RESUME', from: 'DISPATCHED', to: 'DISPATCHED', seq: 4 },
    ]);
    expect(c.version).toBe(4);
  });

  test('a case already overdue when held stays overdue, and its deadline stays', async () => {
    const id = await filedCase();
    await dispatch(id, shanghai('2026-12-14T09:00'));
    let c = await step(commander, id, shanghai('2026-12-15T10:00'), { action: 'HOLD', note: '暂缓' });
    expect(isOverdue(c, shanghai('2026-12-15T11:00'))).toBe(true);
    c = await step(commander, id, shanghai('2026-12-16T10:00'), { action: 'RESUME' });
    expect(c.handleDueAt).toEqual(shanghai('2026-12-15T08:30'));
  });

  test('holding twice, resuming a running case, and a department holding are refused', async () => {
    const id = await filedCase();
    await step(commander, id, shanghai('2026-12-14T09:00'), { action: 'HOLD', note: '暂缓' });
    expect(
      await refusal(step(commander, id, shanghai('2026-12-14T09:30'), { action: 'HOLD', note: 'again' })),
    ).toBe('INVALID_TRANSITION');
    await step(commander, id, shanghai('2026-12-14T10:00'), { action: 'RESUME' });
    expect(await refusal(step(commander, id, shanghai('2026-12-14T10:30'), { action: 'RESUME' }))).toBe(
      'INVALID_TRANSITION',
    );
    expect(
      await refusal(step(department, id, shanghai('2026-12-14T11:00'), { action: 'HOLD', note: 'x' })),
    ).toBe('FORBIDDEN');
  });
});

describe('extensions', () => {
  test('a department asks, a commander approves: the deadline moves by working minutes', async () => {
    const id = await filedCase();
    await dispatch(id, shanghai('2026-12-14T09:00'));
    let c = await step(department, id, shanghai('2026-12-14T10:00'), {
      action: 'EXTEND_REQUEST',
      minutes: 240,
      note: '需要协调施工队',
    });
    expect(c.handleDueAt).toEqual(shanghai('2026-12-15T08:30'));
    expect(
      await refusal(
        step(department, id, shanghai('2026-12-14T10:05'), { action: 'EXTEND_REQUEST', minutes: 60 }),
      ),
    ).toBe('INVALID_TRANSITION');
    c = await step(commander, id, shanghai('2026-12-14T11:00'), { action: 'EXTEND_APPROVE' });
    // Tuesday 08:30 + 4 working hours: 08:30–12:00, then 13:00–13:30.
    expect(c.handleDueAt).toEqual(shanghai('2026-12-15T13:30'));
    expect(c.status).toBe('DISPATCHED');
    expect(
      await refusal(step(commander, id, shanghai('2026-12-14T11:05'), { action: 'EXTEND_APPROVE' })),
    ).toBe('INVALID_TRANSITION');

    // Asked again and refused: the deadline stays.
    await step(department, id, shanghai('2026-12-14T12:00'), { action: 'EXTEND_REQUEST', minutes: 480 });
    c = await step(commander, id, shanghai('2026-12-14T13:00'), {
      action: 'EXTEND_REFUSE',
      note: '不予延期',
    });
    expect(c.handleDueAt).toEqual(shanghai('2026-12-15T13:30'));
    const events = await rows<{ action: string; payload: Record<string, unknown> }>(
      db,
      sql`SELECT action, payload FROM case_events WHERE case_id = ${id} AND action LIKE 'EXTEND%' ORDER BY seq`,
    );
    expect(events.map((e) => e.action)).toEqual([
      'EXTEND_REQUEST',
      'EXTEND_APPROVE',
      'EXTEND_REQUEST',
      'EXTEND_REFUSE',
    ]);
    expect(events[1]!.payload).toMatchObject({
      minutes: 240,
      to: shanghai('2026-12-15T13:30').toISOString(),
    });
  });

  test('only the handling department asks, only a commander answers, minutes are checked', async () => {
    const id = await filedCase();
    await dispatch(id, shanghai('2026-12-14T09:00'));
    const at = shanghai('2026-12-14T10:00');
    // Another department does not even see the case.
    expect(await refusal(step(otherDepartment, id, at, { action: 'EXTEND_REQUEST', minutes: 60 }))).toBe(
      'NOT_FOUND',
    );
    expect(await refusal(step(commander, id, at, { action: 'EXTEND_REQUEST', minutes: 60 }))).toBe(
      'FORBIDDEN',
    );
    expect(await refusal(step(department, id, at, { action: 'EXTEND_REQUEST', minutes: 0 }))).toBe(
      'BAD_USER_INPUT',
    );
    await step(department, id, at, { action: 'EXTEND_REQUEST', minutes: 60 });
    expect(await refusal(step(department, id, at, { action: 'EXTEND_APPROVE' }))).toBe('FORBIDDEN');
    // A resolved case has no handling period left to extend.
    const resolved = await filedCase();
    await dispatch(resolved, at);
    await step(department, resolved, at, { action: 'ACCEPT' });
    await step(department, resolved, at, { action: 'RESOLVE', note: '已修复' });
    expect(await refusal(step(department, resolved, at, { action: 'EXTEND_REQUEST', minutes: 60 }))).toBe(
      'INVALID_TRANSITION',
    );
  });
});

/**
 * After a long stretch without HTTP (embedded PGlite work blocks this process's event loop), the
 * client's pooled keep-alive socket may already be closed by the server's 5 s idle timeout; the
 * first request on it fails with ECONNRESET. One throwaway request discards such a socket.
 */
async function freshConnection(): Promise<void> {
  await fetch(`${server.url}/healthz`).catch(() => undefined);
}

describe('through GraphQL', () => {
  test('requestExtension, approveExtension, holdCase and resumeCase, with the read-time fields', async () => {
    const id = await filedCase();
    await dispatch(id, new Date());
    await freshConnection();
    const fields =
      'id version status handleDueAt currentDueAt remainingMinutes onHoldSince pendingExtensionMinutes';
    type C = {
      version: number;
      status: string;
      handleDueAt: string;
      currentDueAt: string;
      remainingMinutes: number;
      onHoldSince: string | null;
      pendingExtensionMinutes: number | null;
    };
    const read = async () =>
      (
        await server.graphql<{ case: C }>(
          `query Q($id: ID!) { case(id: $id) { ${fields} } }`,
          { id: String(id) },
          tokens.commander,
        )
      ).data!.case;
    const before = await read();
    expect(before.currentDueAt).toBe(before.handleDueAt);
    // Dispatched just now with 8 working hours: never more than 480 minutes left.
    expect(before.remainingMinutes).toBeLessThanOrEqual(480);
    expect(before.remainingMinutes).toBeGreaterThan(0);

    const asked = await server.graphql<{ requestExtension: C }>(
      `mutation M($id: ID!, $v: Int!) { requestExtension(id: $id, expectedVersion: $v, minutes: 120, note: "材料未到") { ${fields} } }`,
      { id: String(id), v: before.version },
      tokens.department,
    );
    expect(asked.errors).toBeUndefined();
    expect(asked.data!.requestExtension.pendingExtensionMinutes).toBe(120);
    const approved = await server.graphql<{ approveExtension: C }>(
      `mutation M($id: ID!, $v: Int!) { approveExtension(id: $id, expectedVersion: $v) { ${fields} } }`,
      { id: String(id), v: asked.data!.requestExtension.version },
      tokens.commander,
    );
    expect(approved.errors).toBeUndefined();
    expect(approved.data!.approveExtension.pendingExtensionMinutes).toBeNull();
    expect(Date.parse(approved.data!.approveExtension.handleDueAt)).toBeGreaterThan(
      Date.parse(before.handleDueAt),
    );

    const noNote = await server.graphql(
      `mutation M($id: ID!, $v: Int!) { holdCase(id: $id, expectedVersion: $v, note: " ") { id } }`,
      { id: String(id), v: approved.data!.approveExtension.version },
      tokens.commander,
    );
    expect(noNote.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const held = await server.graphql<{ holdCase: C }>(
      `mutation M($id: ID!, $v: Int!) { holdCase(id: $id, expectedVersion: $v, note: "暂缓") { ${fields} } }`,
      { id: String(id), v: approved.data!.approveExtension.version },
      tokens.commander,
    );
    expect(held.errors).toBeUndefined();
    expect(held.data!.holdCase.onHoldSince).not.toBeNull();
    const resumed = await server.graphql<{ resumeCase: C }>(
      `mutation M($id: ID!, $v: Int!) { resumeCase(id: $id, expectedVersion: $v) { ${fields} } }`,
      { id: String(id), v: held.data!.holdCase.version },
      tokens.commander,
    );
    expect(resumed.errors).toBeUndefined();
    expect(resumed.data!.resumeCase.onHoldSince).toBeNull();
    expect(resumed.data!.resumeCase.status).toBe('DISPATCHED');
    const forbidden = await server.graphql(
      `mutation M($id: ID!, $v: Int!) { holdCase(id: $id, expectedVersion: $v, note: "x") { id } }`,
      { id: String(id), v: resumed.data!.resumeCase.version },
      tokens.department,
    );
    expect(forbidden.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
