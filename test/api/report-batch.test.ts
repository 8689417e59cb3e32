/**
 * Concurrent reports share statements and commits (group commit): a burst of mixed reports —
 * valid, outside every cell, outside the reporter's scope, of an unknown or a stale category,
 * keys repeated within the burst — stores every valid one exactly once with its REPORT event and
 * its live notice, and refuses every invalid one with its own code, leaving its neighbours alone.
 * A batch whose statement fails is written again one report at a time.
 */
import { randomBytes } from 'node:crypto';
import { rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type TestDatabase, testDatabase } from '../helpers/db';
import { startTestServer, type TestServer } from '../helpers/server';
import { cellCentre, makeCategory, makeDepartment, makeTestCity, makeUser, type TestCity } from './factories';

let database: TestDatabase;
let server: TestServer;
let city: TestCity;
let category: { id: number; code: string };
let department: { id: number };
let worker: { id: number; token: string };
let otherWorker: { id: number; token: string };
let commander: { id: number; token: string };
let caseNotices: { caseId: number; action: string }[];
let unlisten: (() => Promise<void>) | undefined;

beforeAll(async () => {
  database = await testDatabase();
  server = await startTestServer(database);
  city = await makeTestCity(database.db);
  department = await makeDepartment(database.db, city.cityId);
  category = await makeCategory(database.db, { departmentId: department.id });
  const signIn = async (role: 'WORKER' | 'COMMANDER', regionId: number) => {
    const user = await makeUser(database.db, { role, regionId });
    return { id: user.id, token: await server.login(user.username) };
  };
  worker = await signIn('WORKER', city.districts.A.id);
  otherWorker = await signIn('WORKER', city.districts.A.id);
  commander = await signIn('COMMANDER', city.cityId);
  caseNotices = [];
  unlisten = await database.listen('citygrid_case', (payload) => {
    caseNotices.push(JSON.parse(payload) as { caseId: number; action: string });
  });
});
afterAll(async () => {
  await unlisten?.();
  await server?.close();
});

const REPORT = `mutation R($input: ReportCaseInput!) {
  reportCase(input: $input) { id version status department { id } }
}`;

interface Reported {
  id: string;
  version: number;
  status: string;
  department: { id: string } | null;
}

/** One report of a burst and what it must get: a case, or a refusal with this code. */
interface Shot {
  key: string;
  token: string;
  input: Record<string, unknown>;
  expect: 'created' | 'BAD_USER_INPUT' | 'FORBIDDEN' | 'CONFLICT' | 'created-or-conflict' | 'refused';
  /** Department the case must be routed to, when created. */
  departmentId?: number;
}

function shot(
  prefix: string,
  n: number,
  who: { token: string },
  expect: Shot['expect'],
  overrides: Record<string, unknown> = {},
): Shot {
  const key = (overrides.idempotencyKey as string | undefined) ?? `${prefix}-${n}`;
  return {
    key,
    token: who.token,
    expect,
    ...(expect === 'created' ? { departmentId: department.id } : {}),
    input: {
      idempotencyKey: key,
      categoryCode: category.code,
      description: `burst report ${n}`,
      location: cellCentre(city.districts.A, (n % 4) as 0 | 1 | 2 | 3),
      ...overrides,
    },
  };
}

/** A fixed shuffle, so that every kind of report lands among the others. */
function shuffled<T>(items: T[]): T[] {
  const out = [...items];
  let seed = 0x2545f491;
  for (let i = out.length - 1; i > 0; i--) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

async function fire(shots: Shot[]) {
  return Promise.all(
    shots.map(async (s) => ({
      shot: s,
      answer: await server.graphql<{ reportCase: Reported }>(REPORT, { input: s.input }, s.token),
    })),
  );
}

/** The server's group-commit counters, from `/metrics`. */
async function writeStats(): Promise<{ batches: number; batchedReports: number; fallbacks: number }> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? Number.NaN);
  return {
    batches: value(/^citygrid_report_statements_total\{kind="batch"\} (\S+)$/m),
    batchedReports: value(/^citygrid_report_batched_total (\S+)$/m),
    fallbacks: value(/^citygrid_report_statements_total\{kind="fallback"\} (\S+)$/m),
  };
}

/** Cases and REPORT events stored under the burst's keys. */
async function storedUnder(prefix: string) {
  return rows<{
    key: string;
    id: number;
    version: number;
    status: string;
    reporter_id: number;
    department_id: number | null;
    events: number;
    report_events: number;
    event_actor: number | null;
  }>(
    database.db,
    sql`SELECT c.idempotency_key AS key, c.id::int AS id, c.version, c.status::text AS status,
               c.reporter_id::int AS reporter_id, c.department_id::int AS department_id,
               (SELECT count(*)::int FROM case_events e WHERE e.case_id = c.id) AS events,
               (SELECT count(*)::int FROM case_events e
                 WHERE e.case_id = c.id AND e.seq = 1 AND e.action = 'REPORT' AND e.to_status = 'REPORTED') AS report_events,
               (SELECT e.actor_id::int FROM case_events e WHERE e.case_id = c.id AND e.seq = 1) AS event_actor
        FROM cases c WHERE c.idempotency_key LIKE ${`${prefix}-%`}`,
  );
}

/** Waits (bounded) until every case in `ids` has had its notice, then answers how many each had. */
async function noticesFor(ids: number[]): Promise<Map<number, number>> {
  const wanted = new Set(ids);
  for (let i = 0; i < 100; i++) {
    const heard = new Set(caseNotices.filter((n) => wanted.has(n.caseId)).map((n) => n.caseId));
    if (heard.size === wanted.size) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const counts = new Map<number, number>();
  for (const n of caseNotices) {
    if (wanted.has(n.caseId) && n.action === 'REPORT') counts.set(n.caseId, (counts.get(n.caseId) ?? 0) + 1);
  }
  return counts;
}

describe('reports written together', () => {
  test('a burst of 300 mixed reports: every valid one once with its event and notice, every invalid one refused alone', async () => {
    const prefix = `burst-${randomBytes(4).toString('hex')}`;
    // A category the server has cached, then changed around it (as another instance would): the
    // batch finds the copy stale and those reports are written again with the category as it is.
    const changing = await makeCategory(database.db, { departmentId: department.id });
    const warm = await server.graphql<{ reportCase: Reported }>(
      REPORT,
      { input: shot(`warm-${prefix}`, 0, worker, 'created', { categoryCode: changing.code }).input },
      worker.token,
    );
    expect(warm.errors).toBeUndefined();
    const rerouted = await makeDepartment(database.db, city.cityId);
    await database.db.execute(
      sql`UPDATE categories SET default_department_id = ${rerouted.id} WHERE id = ${changing.id}`,
    );

    const shots: Shot[] = [];
    let n = 0;
    for (let i = 0; i < 150; i++) shots.push(shot(prefix, n++, worker, 'created'));
    for (let i = 0; i < 50; i++) {
      shots.push(
        shot(prefix, n++, commander, 'created', {
          location: cellCentre(city.districts.B, (i % 4) as 0 | 1 | 2 | 3),
        }),
      );
    }
    for (let i = 0; i < 20; i++) {
      shots.push(
        shot(prefix, n++, commander, 'BAD_USER_INPUT', { location: { lon: 120.5 + i / 1000, lat: 30.25 } }),
      );
    }
    for (let i = 0; i < 20; i++) {
      shots.push(
        shot(prefix, n++, worker, 'FORBIDDEN', {
          location: cellCentre(city.districts.B, (i % 4) as 0 | 1 | 2 | 3),
        }),
      );
    }
    for (let i = 0; i < 10; i++) {
      shots.push(shot(prefix, n++, worker, 'BAD_USER_INPUT', { categoryCode: `no-such-${i}` }));
    }
    for (let i = 0; i < 20; i++) {
      shots.push({
        ...shot(prefix, n++, worker, 'created', { categoryCode: changing.code }),
        departmentId: rerouted.id,
      });
    }
    // Ten keys sent three times each by their reporter: one case, and all three get it.
    for (let i = 0; i < 10; i++) {
      const key = `${prefix}-again-${i}`;
      for (let k = 0; k < 3; k++) shots.push(shot(prefix, n++, worker, 'created', { idempotencyKey: key }));
    }
    // Two keys sent by two reporters at once: one of them gets the case, the other CONFLICT.
    for (let i = 0; i < 2; i++) {
      const key = `${prefix}-contested-${i}`;
      shots.push(shot(prefix, n++, worker, 'created-or-conflict', { idempotencyKey: key }));
      shots.push(shot(prefix, n++, otherWorker, 'created-or-conflict', { idempotencyKey: key }));
    }
    expect(shots.length).toBe(304);

    const before = await writeStats();
    const answers = await fire(shuffled(shots));
    const after = await writeStats();
    // Reports did share statements. (The embedded database runs each statement to its end on the
    // server's own thread, so no report waits behind another there and each is written alone.)
    if (database.kind === 'postgres') {
      expect(after.batches).toBeGreaterThan(before.batches);
      expect(after.batchedReports - before.batchedReports).toBeGreaterThan(after.batches - before.batches);
    }

    const idsByKey = new Map<string, Set<string>>();
    for (const { shot: s, answer } of answers) {
      const code = answer.errors?.[0]?.extensions?.code;
      if (s.expect === 'created' || (s.expect === 'created-or-conflict' && !answer.errors)) {
        expect(answer.errors, `${s.key}: ${JSON.stringify(answer.errors)}`).toBeUndefined();
        const c = answer.data!.reportCase;
        expect(c).toMatchObject({ version: 1, status: 'REPORTED' });
        if (s.departmentId !== undefined) expect(c.department).toEqual({ id: String(s.departmentId) });
        const ids = idsByKey.get(s.key) ?? new Set();
        ids.add(c.id);
        idsByKey.set(s.key, ids);
      } else if (s.expect === 'created-or-conflict') {
        expect(code).toBe('CONFLICT');
      } else {
        expect(code, `${s.key}: ${JSON.stringify(answer.errors)}`).toBe(s.expect);
        expect(answer.data).toBeNull();
      }
    }
    // Repeats got the one case of their key; each contested key went to exactly one reporter.
    for (const ids of idsByKey.values()) expect(ids.size).toBe(1);
    for (let i = 0; i < 2; i++) {
      const contested = answers.filter((a) => a.shot.key === `${prefix}-contested-${i}`);
      expect(contested.filter((a) => !a.answer.errors)).toHaveLength(1);
    }

    const stored = await storedUnder(prefix);
    const createdKeys = [...idsByKey.keys()].sort();
    expect(stored.map((r) => r.key).sort()).toEqual(createdKeys);
    expect(createdKeys).toHaveLength(150 + 50 + 20 + 10 + 2);
    for (const row of stored) {
      expect(String(row.id)).toBe([...idsByKey.get(row.key)!][0]);
      // version == number of events, the first being REPORT by the reporter.
      expect(row).toMatchObject({ version: 1, status: 'REPORTED', events: 1, report_events: 1 });
      expect(row.event_actor).toBe(row.reporter_id);
    }
    const notices = await noticesFor(stored.map((r) => r.id));
    for (const row of stored) expect(notices.get(row.id), `notices of case ${row.id}`).toBe(1);
  });

  test('a batch whose statement fails is written again one by one: the good reports are stored, the bad one fails alone', async () => {
    const prefix = `fallback-${randomBytes(4).toString('hex')}`;
    // A reporter whose user row is gone while their token is still good: the database refuses
    // their case (reporter foreign key), which fails the whole batch statement.
    const ghostUser = await makeUser(database.db, { role: 'WORKER', regionId: city.districts.A.id });
    const ghost = { id: ghostUser.id, token: await server.login(ghostUser.username) };
    await database.db.execute(sql`DELETE FROM users WHERE id = ${ghost.id}`);

    const shots: Shot[] = [];
    for (let n = 0; n < 200; n++) {
      shots.push(n % 20 === 10 ? shot(prefix, n, ghost, 'refused') : shot(prefix, n, worker, 'created'));
    }
    const before = await writeStats();
    const answers = await fire(shots);
    const after = await writeStats();
    if (database.kind === 'postgres') expect(after.fallbacks).toBeGreaterThan(before.fallbacks);

    for (const { shot: s, answer } of answers) {
      if (s.expect === 'created') {
        expect(answer.errors, `${s.key}: ${JSON.stringify(answer.errors)}`).toBeUndefined();
        expect(answer.data!.reportCase).toMatchObject({ version: 1, status: 'REPORTED' });
      } else {
        expect(answer.data).toBeNull();
        expect(answer.errors).toHaveLength(1);
      }
    }
    const stored = await storedUnder(prefix);
    const good = shots.filter((s) => s.expect === 'created').map((s) => s.key);
    expect(stored.map((r) => r.key).sort()).toEqual(good.sort());
    for (const row of stored) expect(row).toMatchObject({ version: 1, events: 1, report_events: 1 });
    const notices = await noticesFor(stored.map((r) => r.id));
    for (const row of stored) expect(notices.get(row.id), `notices of case ${row.id}`).toBe(1);
  });
});
