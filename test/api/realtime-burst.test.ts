/**
 * A burst of case changes committed at once (an escalation run, a bulk import) while a
 * `caseChanged` subscriber is not reading: the server stays up, the subscriber later gets every
 * change in commit order, once each; a burst larger than a subscriber's queue ends that
 * subscription with CONFLICT/LAGGING (and nothing after it), and subscribing again works.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CASE_CHANNEL } from '../../server/src/domain/cases/notify';
import { SUBSCRIBER_QUEUE_LIMIT } from '../../server/src/realtime/fan-out';
import { type TestDatabase, testDatabase } from '../helpers/db';
import { startTestServer, type TestServer } from '../helpers/server';
import { openSseStream, takeSseMessages } from '../helpers/sse';
import { makeWorld, seedCaseAt, type World } from './workflow-world';

interface Message {
  data?: { caseChanged: { action: string; case: { id: string } } } | null;
  errors?: { message: string; extensions?: { code?: string; reason?: string } }[];
}

/** A `caseChanged` subscription over SSE whose stream is read only when `read` is called. */
async function openSubscription(server: TestServer, token: string) {
  const controller = new AbortController();
  const reader = await openSseStream(
    server.url,
    token,
    'subscription { caseChanged { action case { id } } }',
    {},
    controller.signal,
  );
  const decoder = new TextDecoder();
  let buffer = '';
  return {
    /** Reads messages until `count` arrived, the stream completes, or nothing comes for `quietMs`. */
    async read(count: number, quietMs: number) {
      const messages: Message[] = [];
      let completed = false;
      while (messages.length < count && !completed) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const quiet = new Promise<'quiet'>((resolve) => {
          timer = setTimeout(() => resolve('quiet'), quietMs);
        });
        const chunk = await Promise.race([reader.read(), quiet]);
        clearTimeout(timer);
        if (chunk === 'quiet') break;
        if (chunk.done) break;
        const split = takeSseMessages<Message>(buffer + decoder.decode(chunk.value, { stream: true }));
        buffer = split.rest;
        messages.push(...split.messages);
        completed = split.completed;
      }
      return { messages, completed };
    },
    close: () => controller.abort(),
  };
}

let database: TestDatabase;
let server: TestServer;
let world: World;
let cases: { id: number; cityId: number; districtId: number; streetId: number; communityId: number }[];

beforeAll(async () => {
  database = await testDatabase();
  server = await startTestServer(database);
  world = await makeWorld(database.db, server);
  const ids: number[] = [];
  for (let i = 0; i < 7; i++) {
    const c = await seedCaseAt(database.db, {
      categoryId: world.category.id,
      cellId: world.city.districts.A.cells[0]!,
      status: 'REPORTED',
    });
    ids.push(c.id);
  }
  const result = await database.db.execute(
    sql`SELECT id::int AS id, city_id::int AS "cityId", district_id::int AS "districtId", street_id::int AS "streetId",
               community_id::int AS "communityId"
        FROM cases WHERE id IN (${sql.join(
          ids.map((id) => sql`${id}`),
          sql`, `,
        )}) ORDER BY id`,
  );
  cases = (result as unknown as { rows: typeof cases }).rows;
});
afterAll(async () => {
  await server?.close();
});

/**
 * Commits `count` case-change notifications in one transaction, cycling over the seeded cases.
 * Each payload differs (its version is its position): Postgres folds identical payloads.
 * Returns the case ids in the order they were announced.
 */
async function commitBurst(count: number): Promise<string[]> {
  const order: string[] = [];
  const payloads: string[] = [];
  for (let i = 0; i < count; i++) {
    const c = cases[i % cases.length]!;
    order.push(String(c.id));
    payloads.push(
      JSON.stringify({ caseId: c.id, action: 'ESCALATE', version: i + 1, departmentId: null, ...c }),
    );
  }
  await database.db.execute(
    sql`SELECT count(pg_notify(${CASE_CHANNEL}, p)) FROM json_array_elements_text(${JSON.stringify(payloads)}::json) AS p`,
  );
  return order;
}

async function serverAnswers() {
  const { data, errors } = await server.graphql<{ me: { id: string } }>(
    '{ me { id } }',
    {},
    world.users.commander.token,
  );
  expect(errors).toBeUndefined();
  expect(data?.me.id).toBe(String(world.users.commander.id));
}

describe('caseChanged under a burst', () => {
  test('2,000 changes committed at once while the subscriber is not reading: all arrive, in order, once', async () => {
    const sub = await openSubscription(server, world.users.commander.token);
    try {
      // The subscription is live once one event came through.
      await commitBurst(1);
      expect((await sub.read(1, 10_000)).messages).toHaveLength(1);

      const sent = await commitBurst(2000);
      // Not reading yet: the server keeps answering others meanwhile.
      await serverAnswers();
      const { messages } = await sub.read(sent.length, 10_000);
      expect(messages.filter((m) => m.errors)).toEqual([]);
      expect(messages.map((m) => m.data?.caseChanged.case.id)).toEqual(sent);
      await serverAnswers();
    } finally {
      sub.close();
    }
  });

  test('a burst larger than the queue ends the subscription with LAGGING; a new one works', async () => {
    const lagging = await openSubscription(server, world.users.commander.token);
    const other = await openSubscription(server, world.users.commanderA.token);
    try {
      await commitBurst(1);
      expect((await lagging.read(1, 10_000)).messages).toHaveLength(1);
      expect((await other.read(1, 10_000)).messages).toHaveLength(1);

      // Each event is read from the database before it is sent, so this many committed at once
      // fill the queue long before the reader can drain it.
      const sent = await commitBurst(SUBSCRIBER_QUEUE_LIMIT * 2);
      await serverAnswers();
      const { messages, completed } = await lagging.read(sent.length + 1, 10_000);
      const data = messages.filter((m) => m.data);
      const errors = messages.flatMap((m) => m.errors ?? []);
      // What did arrive is an unbroken prefix of what was committed, then one error, then the end.
      expect(data.map((m) => m.data?.caseChanged.case.id)).toEqual(sent.slice(0, data.length));
      expect(data.length).toBeLessThan(sent.length);
      expect(errors).toHaveLength(1);
      expect(errors[0]?.extensions).toMatchObject({ code: 'CONFLICT', reason: 'LAGGING' });
      expect(messages.at(-1)?.errors).toBeDefined();
      expect(completed).toBe(true);
      await serverAnswers();

      // The reader refetches and subscribes again: the new subscription delivers.
      const again = await openSubscription(server, world.users.commander.token);
      let next: string[];
      try {
        await commitBurst(1);
        expect((await again.read(1, 10_000)).messages).toHaveLength(1);
        next = await commitBurst(3);
        const { messages: fresh } = await again.read(3, 10_000);
        expect(fresh.map((m) => m.data?.caseChanged.case.id)).toEqual(next);
      } finally {
        again.close();
      }
      // The other subscriber, behind too, has its own queue: what it got is also an unbroken
      // prefix of what was committed (it ended the same way, or kept up and saw what followed).
      const theirs = await other.read(sent.length + 5, 2_000);
      const theirData = theirs.messages.filter((m) => m.data).map((m) => m.data?.caseChanged.case.id);
      const everything = [...sent, cases[0]!.id.toString(), ...next];
      expect(theirData).toEqual(everything.slice(0, theirData.length));
      const theirErrors = theirs.messages.flatMap((m) => m.errors ?? []);
      if (theirErrors.length > 0) {
        // Ended as the first did. The prefix may be empty: the embedded database hands over a
        // whole burst at once, so both queues can fill before either subscriber is sent anything.
        expect(theirErrors).toHaveLength(1);
        expect(theirErrors[0]?.extensions).toMatchObject({ code: 'CONFLICT', reason: 'LAGGING' });
        expect(theirs.completed).toBe(true);
      } else {
        expect(theirData).toEqual(everything);
      }
    } finally {
      lagging.close();
      other.close();
    }
  });
});
