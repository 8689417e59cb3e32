/**
 * The admin area's API: categories and deadlines, departments, users, alarm rules and the
 * working calendar — ADMIN only, each change audited.
 */
import { type Database, openDatabase, rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { isWorkingDay } from '../../server/src/domain/calendar/working-calendar';
import { loadCalendar } from '../../server/src/domain/cases/settings';
import { testDatabase } from '../helpers/db';
import { startTestServer, type TestServer } from '../helpers/server';

const database = await testDatabase();
let server: TestServer;
let admin: string;
// Another instance on the same database (its own pool and listener on PostgreSQL).
let second: Database | undefined;
let server2: TestServer;
beforeAll(async () => {
  server = await startTestServer(database);
  if (database.url) second = await openDatabase({ url: database.url, poolSize: 2 });
  server2 = await startTestServer(second ?? database);
  admin = await server.login('admin');
});
afterAll(async () => {
  await server?.close();
  await server2?.close();
  await second?.close();
});

async function ok<T>(query: string, variables: Record<string, unknown> = {}, token = admin): Promise<T> {
  const { data, errors } = await server.graphql<T>(query, variables, token);
  expect(errors).toBeUndefined();
  return data!;
}

async function lastAudit(action: string) {
  const [row] = await rows<{ target: string; actor: string | null }>(
    database.db,
    sql`SELECT a.target, u.username AS actor FROM admin_audit a LEFT JOIN users u ON u.id = a.actor_id
        WHERE a.action = ${action} ORDER BY a.id DESC LIMIT 1`,
  );
  return row;
}

describe('admin area', () => {
  it('changes a category deadline', async () => {
    const { adminCategories } = await ok<{
      adminCategories: {
        id: string;
        code: string;
        deadlines: { priority: string; stage: string; minutes: number }[];
      }[];
    }>('{ adminCategories { id code deadlines { priority stage minutes workingTime } } }');
    const category = adminCategories.find((c) => c.deadlines.length > 0)!;
    await ok(
      'mutation($id: ID!) { setCategoryDeadline(categoryId: $id, priority: "NORMAL", stage: "HANDLE", minutes: 777, workingTime: true) }',
      { id: category.id },
    );
    const [row] = await rows<{ minutes: number }>(
      database.db,
      sql`SELECT minutes FROM category_deadlines WHERE category_id = ${Number(category.id)} AND priority = 'NORMAL' AND stage = 'HANDLE'`,
    );
    expect(row!.minutes).toBe(777);
    expect(await lastAudit('setCategoryDeadline')).toEqual({
      target: `category:${category.code}`,
      actor: 'admin',
    });
  });

  it('creates a department and a user of it, who can sign in until deactivated', async () => {
    const { createDepartment } = await ok<{ createDepartment: { code: string } }>(
      'mutation { createDepartment(code: "gardens-test", name: "园林测试", nameEn: "Gardens test") { code } }',
    );
    expect(createDepartment.code).toBe('gardens-test');
    const [city] = await rows<{ code: string }>(
      database.db,
      sql`SELECT code FROM regions WHERE level = 'CITY' ORDER BY id LIMIT 1`,
    );
    const { createUser } = await ok<{
      createUser: { user: { id: string; role: string; active: boolean }; password: string };
    }>(
      'mutation($r: String!) { createUser(username: "gardener1", role: "DEPARTMENT", regionCode: $r, departmentCode: "gardens-test") { user { id role active } password } }',
      { r: city!.code },
    );
    expect(createUser.user).toMatchObject({ role: 'DEPARTMENT', active: true });
    const token = await server.login('gardener1', createUser.password);
    expect(token).toBeTruthy();

    await ok('mutation($id: ID!) { setUserActive(userId: $id, active: false) }', { id: createUser.user.id });
    const refused = await server.graphql(
      'mutation($p: String!) { login(username: "gardener1", password: $p) { token } }',
      { p: createUser.password },
    );
    expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(await lastAudit('setUserActive')).toEqual({
      target: `user:${createUser.user.id}`,
      actor: 'admin',
    });
  });

  it("refuses a deactivated user's tokens at once, on every instance, and takes them again on reactivation", async () => {
    const [worker] = await rows<{ id: number }>(
      database.db,
      sql`SELECT id::int AS id FROM users WHERE username = 'worker1'`,
    );
    const token = await server.login('worker1');
    const me = (on: TestServer) => on.graphql<{ me: { username: string } }>('{ me { username } }', {}, token);
    // Both instances have verified (and remembered) the token before the change.
    for (const on of [server, server2]) expect((await me(on)).data?.me.username).toBe('worker1');
    const tiles = async (on: TestServer) =>
      (
        await fetch(`${on.url}/tiles/grid_cells/14/13161/6877.mvt`, {
          headers: { authorization: `Bearer ${token}` },
        })
      ).status;
    expect(await tiles(server2)).not.toBe(401);

    await ok('mutation($id: ID!) { setUserActive(userId: $id, active: false) }', { id: String(worker!.id) });
    // The instance that made the change refuses at once; the other once the notice arrives.
    expect((await me(server)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    await vi.waitFor(
      async () => expect((await me(server2)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED'),
      {
        timeout: 5000,
        interval: 50,
      },
    );
    expect((await me(server2)).errors?.[0]?.message).toMatch(/deactivated/);
    expect(await tiles(server2)).toBe(401);

    await ok('mutation($id: ID!) { setUserActive(userId: $id, active: true) }', { id: String(worker!.id) });
    expect((await me(server)).data?.me.username).toBe('worker1');
    await vi.waitFor(async () => expect((await me(server2)).data?.me.username).toBe('worker1'), {
      timeout: 5000,
      interval: 50,
    });
  });

  it('tunes an alarm rule, refusing a clear threshold on the wrong side', async () => {
    const { adminAlarmRules } = await ok<{
      adminAlarmRules: { id: string; condition: string; threshold: number }[];
    }>('{ adminAlarmRules { id condition threshold clearThreshold holdSeconds enabled } }');
    const rule = adminAlarmRules.find((r) => r.condition === 'ABOVE')!;
    await ok(
      'mutation($id: ID!) { updateAlarmRule(id: $id, threshold: 0.4, clearThreshold: 0.25, holdSeconds: 90, enabled: true) }',
      {
        id: rule.id,
      },
    );
    const [row] = await rows<{ threshold: number; hold: number }>(
      database.db,
      sql`SELECT threshold, hold_seconds AS hold FROM alarm_rules WHERE id = ${Number(rule.id)}`,
    );
    expect(row).toEqual({ threshold: 0.4, hold: 90 });
    const wrong = await server.graphql(
      'mutation($id: ID!) { updateAlarmRule(id: $id, threshold: 0.4, clearThreshold: 0.9, holdSeconds: 90, enabled: true) }',
      { id: rule.id },
      admin,
    );
    expect(wrong.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('adds and removes a holiday in the working calendar, which deadlines count on at once', async () => {
    // 2031-10-01 is a Wednesday: a working day until the holiday is set.
    expect(isWorkingDay('2031-10-01', await loadCalendar(database.db))).toBe(true);
    await ok('mutation { setCalendarDay(day: "2031-10-01", name: "国庆节", isWorkday: false) }');
    expect(isWorkingDay('2031-10-01', await loadCalendar(database.db))).toBe(false);
    const { calendarDays } = await ok<{ calendarDays: { day: string; name: string; isWorkday: boolean }[] }>(
      '{ calendarDays(year: 2031) { day name isWorkday } }',
    );
    expect(calendarDays).toContainEqual({ day: '2031-10-01', name: '国庆节', isWorkday: false });
    await ok('mutation { removeCalendarDay(day: "2031-10-01") }');
    expect(isWorkingDay('2031-10-01', await loadCalendar(database.db))).toBe(true);
    expect(
      (await ok<{ calendarDays: unknown[] }>('{ calendarDays(year: 2031) { day } }')).calendarDays,
    ).toEqual([]);
    const bad = await server.graphql(
      'mutation { setCalendarDay(day: "2031-02-30", name: "x", isWorkday: false) }',
      {},
      admin,
    );
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('is for admins only', async () => {
    const commander = await server.login('commander');
    for (const query of [
      '{ adminCategories { id } }',
      '{ adminUsers { id } }',
      'mutation { setCalendarDay(day: "2031-10-02", name: "x", isWorkday: false) }',
    ]) {
      const { errors } = await server.graphql(query, {}, commander);
      expect(errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
  });
});
