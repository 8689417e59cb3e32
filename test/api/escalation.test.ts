/**
 * Escalation (督办): with two server instances running their schedulers on one database, an
 * overdue case is escalated exactly once (ESCALATE event, version bump, priority raised,
 * escalated_at, a notification); a later deadline escalates it again; held, closed and not-yet-due
 * cases are left alone; concurrent passes never escalate twice.
 */
import { openDatabase, rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runEscalation } from '../../server/src/domain/escalation/scheduler';
import { testDatabase } from '../helpers/db';
import { startTestServer, type TestServer } from '../helpers/server';
import { cellCentre, makeCase, makeCategory, makeTestCity, type TestCity } from './factories';

const database = await testDatabase();
const db = database.db;
let city: TestCity;
let categoryId: number;

beforeAll(async () => {
  city = await makeTestCity(db, { lon: 113.5, lat: 22.5 });
  categoryId = (await makeCategory(db)).id;
});

async function overdueCase(options: { status?: string; handleDueAt?: Date; priority?: string } = {}) {
  const id = await makeCase(db, {
    categoryId,
    cellId: city.districts.A.cells[0],
    point: cellCentre(city.districts.A, 0),
    status: options.status ?? 'DISPATCHED',
    handleDueAt: options.handleDueAt ?? new Date(Date.now() - 3_600_000),
  });
  if (options.priority)
    await db.execute(sql`UPDATE cases SET priority = ${options.priority}::case_priority WHERE id = ${id}`);
  return id;
}

interface State {
  version: number;
  priority: string;
  escalatedAt: Date | null;
  escalations: number;
}

async function stateOf(id: number): Promise<State> {
  const [row] = await rows<State>(
    db,
    sql`SELECT version, priority::text AS priority, escalated_at AS "escalatedAt",
               (SELECT count(*)::int FROM case_events WHERE case_id = c.id AND action = 'ESCALATE') AS escalations
        FROM cases c WHERE id = ${id}`,
  );
  return row!;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('two server instances', () => {
  let one: TestServer;
  let two: TestServer;
  let second: Awaited<ReturnType<typeof openDatabase>> | undefined;

  beforeAll(async () => {
    // The second instance gets its own connections to the same database (one shared PGlite when embedded).
    second = database.url ? await openDatabase({ url: database.url, poolSize: 3 }) : undefined;
    one = await startTestServer(database, { escalationIntervalSeconds: 1 });
    two = await startTestServer(second ?? database, { escalationIntervalSeconds: 1 });
  });

  afterAll(async () => {
    await one?.close();
    await two?.close();
    await second?.close();
  });

  test('an overdue case is escalated exactly once, announced, and its priority raised', async () => {
    const notices: { caseId: number; action: string; version: number }[] = [];
    const unlisten = await database.listen('citygrid_case', (payload) => notices.push(JSON.parse(payload)));
    try {
      const id = await overdueCase();
      const deadline = Date.now() + 30_000;
      while ((await stateOf(id)).escalatedAt === null && Date.now() < deadline) await sleep(200);
      // Several more passes of both instances.
      await sleep(3500);
      const state = await stateOf(id);
      expect(state).toMatchObject({ version: 2, priority: 'HIGH', escalations: 1 });
      expect(state.escalatedAt).not.toBeNull();
      const [event] = await rows<{ seq: number; from: string; to: string; payload: Record<string, unknown> }>(
        db,
        sql`SELECT seq, from_status AS from, to_status AS to, payload FROM case_events
            WHERE case_id = ${id} AND action = 'ESCALATE'`,
      );
      expect(event).toMatchObject({ seq: 2, from: 'DISPATCHED', to: 'DISPATCHED' });
      expect(event!.payload).toMatchObject({ stage: 'HANDLE', priorityFrom: 'NORMAL', priorityTo: 'HIGH' });
      expect(notices.filter((n) => n.caseId === id)).toEqual([
        expect.objectContaining({ caseId: id, action: 'ESCALATE', version: 2 }),
      ]);
      // Nothing anywhere (the seeded city's overdue cases included) was escalated twice for one deadline.
      const twice = await rows<{ caseId: number }>(
        db,
        sql`SELECT case_id AS "caseId" FROM case_events WHERE action = 'ESCALATE'
            GROUP BY case_id, payload ->> 'dueAt' HAVING count(*) > 1`,
      );
      expect(twice).toEqual([]);
    } finally {
      await unlisten();
    }
  });
});

describe('one pass at a time', () => {
  test('a later deadline escalates again (HIGH → URGENT); URGENT stays URGENT', async () => {
    const now = new Date();
    const id = await overdueCase({ handleDueAt: new Date(now.getTime() - 60_000) });
    await runEscalation(db, now, 100_000);
    expect(await stateOf(id)).toMatchObject({ priority: 'HIGH', escalations: 1, version: 2 });
    // A second pass changes nothing: this deadline has been escalated.
    await runEscalation(db, new Date(now.getTime() + 60_000), 100_000);
    expect(await stateOf(id)).toMatchObject({ escalations: 1, version: 2 });
    // Resolved later, and the verification deadline passes too.
    await db.execute(sql`UPDATE cases SET status = 'RESOLVED', verify_due_at = ${new Date(now.getTime() + 120_000).toISOString()}::timestamptz
                         WHERE id = ${id}`);
    await runEscalation(db, new Date(now.getTime() + 180_000), 100_000);
    expect(await stateOf(id)).toMatchObject({ priority: 'URGENT', escalations: 2, version: 3 });
    const urgent = await overdueCase({ priority: 'URGENT' });
    await runEscalation(db, new Date(now.getTime() + 180_000), 100_000);
    expect(await stateOf(urgent)).toMatchObject({ priority: 'URGENT', escalations: 1 });
  });

  test('held, closed and not-yet-due cases are left alone', async () => {
    const now = new Date();
    const held = await overdueCase();
    await db.execute(sql`UPDATE cases SET on_hold_since = now() - interval '2 hours' WHERE id = ${held}`);
    const closed = await overdueCase({ status: 'CLOSED' });
    const future = await overdueCase({ handleDueAt: new Date(now.getTime() + 3_600_000) });
    await runEscalation(db, now, 100_000);
    for (const id of [held, closed, future])
      expect(await stateOf(id)).toMatchObject({ escalations: 0, version: 1 });
  });

  test('concurrent passes escalate a case once', async () => {
    const ids = await Promise.all(Array.from({ length: 20 }, () => overdueCase()));
    const now = new Date();
    const passes = await Promise.all(Array.from({ length: 4 }, () => runEscalation(db, now, 100_000)));
    expect(passes.some((p) => p.ran)).toBe(true);
    for (const id of ids)
      expect(await stateOf(id)).toMatchObject({ escalations: 1, version: 2, priority: 'HIGH' });
  });
});
