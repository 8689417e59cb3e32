/** Signing in, tokens and the login rate limit, over HTTP against a real database. */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type TestDatabase, testDatabase } from '../helpers/db';
import { startTestServer, TEST_JWT_SECRET, type TestServer } from '../helpers/server';
import { makeTestCity, makeUser, type TestCity } from './factories';

let database: TestDatabase;
let server: TestServer;
let city: TestCity;
let commander: { id: number; username: string };

beforeAll(async () => {
  database = await testDatabase();
  server = await startTestServer(database);
  city = await makeTestCity(database.db);
  commander = await makeUser(database.db, { role: 'COMMANDER', regionId: city.cityId });
});
afterAll(() => server?.close());

/** An HS256 JWT signed with the test server's secret, with whatever claims a test needs. */
function signToken(claims: Record<string, unknown>, secret = TEST_JWT_SECRET): string {
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const body = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(claims)}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

const LOGIN =
  'mutation L($u: String!, $p: String!) { login(username: $u, password: $p) { token user { id role } } }';
const ME = '{ me { id username role region { id level } } }';

describe('login', () => {
  test('the right password gives a token that identifies the user', async () => {
    const { data, errors } = await server.graphql<{
      login: { token: string; user: { id: string; role: string } };
    }>(LOGIN, { u: commander.username, p: 'citygrid' });
    expect(errors).toBeUndefined();
    expect(data?.login.user).toEqual({ id: String(commander.id), role: 'COMMANDER' });
    const me = await server.graphql<{
      me: { id: string; role: string; region: { id: string; level: string } };
    }>(ME, {}, data!.login.token);
    expect(me.errors).toBeUndefined();
    expect(me.data?.me).toMatchObject({
      id: String(commander.id),
      username: commander.username,
      role: 'COMMANDER',
      region: { id: String(city.cityId), level: 'CITY' },
    });
  });

  test('a wrong password and an unknown user both fail with UNAUTHENTICATED and the same message', async () => {
    const wrong = await server.graphql(LOGIN, { u: commander.username, p: 'not-the-password' });
    const unknown = await server.graphql(LOGIN, { u: 'nobody-by-this-name', p: 'citygrid' });
    expect(wrong.data).toBeNull();
    expect(wrong.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(unknown.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(unknown.errors?.[0]?.message).toBe(wrong.errors?.[0]?.message);
  });

  test('after too many failures the right password is refused too, for that username only', async () => {
    const limited = await startTestServer(database, { loginMaxAttempts: 3 });
    try {
      const victim = await makeUser(database.db, { role: 'WORKER', regionId: city.districts.A.id });
      for (let i = 0; i < 3; i++) {
        const r = await limited.graphql(LOGIN, { u: victim.username, p: `guess-${i}` });
        expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      }
      const blocked = await limited.graphql(LOGIN, { u: victim.username, p: 'citygrid' });
      expect(blocked.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(blocked.errors?.[0]?.message).toMatch(/too many/);
      expect(blocked.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThan(0);
      // Another user from the same address is not affected.
      await expect(limited.login(commander.username)).resolves.toEqual(expect.any(String));
    } finally {
      await limited.close();
    }
  });

  test('instances count against one limit, and parallel guesses cannot outrun it', async () => {
    const one = await startTestServer(database, { loginMaxAttempts: 4 });
    const two = await startTestServer(database, { loginMaxAttempts: 4 });
    try {
      const victim = await makeUser(database.db, { role: 'WORKER', regionId: city.districts.A.id });
      // Two wrong guesses through each instance use up the limit of both.
      for (const via of [one, two, one, two]) {
        const r = await via.graphql(LOGIN, { u: victim.username, p: 'wrong' });
        expect(r.errors?.[0]?.message).not.toMatch(/too many/);
      }
      for (const via of [one, two]) {
        const blocked = await via.graphql(LOGIN, { u: victim.username, p: 'citygrid' });
        expect(blocked.errors?.[0]?.message).toMatch(/too many/);
      }

      // Twenty guesses sent at once: only four are checked at all, the rest refused as too many.
      const other = await makeUser(database.db, { role: 'WORKER', regionId: city.districts.A.id });
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? one : two).graphql(LOGIN, { u: other.username, p: `guess-${i}` }),
        ),
      );
      const limited = answers.filter((r) => /too many/.test(r.errors?.[0]?.message ?? ''));
      expect(limited).toHaveLength(16);
      expect(answers.every((r) => r.errors?.[0]?.extensions?.code === 'UNAUTHENTICATED')).toBe(true);
    } finally {
      await one.close();
      await two.close();
    }
  });

  test('a success starts the count afresh', async () => {
    const limited = await startTestServer(database, { loginMaxAttempts: 2 });
    try {
      const user = await makeUser(database.db, { role: 'WORKER', regionId: city.districts.A.id });
      for (let round = 0; round < 3; round++) {
        const wrong = await limited.graphql(LOGIN, { u: user.username, p: 'wrong' });
        expect(wrong.errors?.[0]?.message).not.toMatch(/too many/);
        await expect(limited.login(user.username)).resolves.toEqual(expect.any(String));
      }
    } finally {
      await limited.close();
    }
  });
});

describe('tokens', () => {
  test('no token: signed-in fields answer UNAUTHENTICATED', async () => {
    const { data, errors } = await server.graphql(ME);
    expect(data).toBeNull();
    expect(errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  test.each([
    ['garbage', 'not-a-jwt'],
    [
      'a token signed with another secret',
      signToken({ sub: '1', role: 'ADMIN', regionId: 1, exp: 9_999_999_999 }, 'x'.repeat(40)),
    ],
    ['an expired token', 'EXPIRED'],
    [
      'a token with a forged role claim shape',
      signToken({ sub: '1', role: 'GOD', regionId: 1, exp: 9_999_999_999 }),
    ],
  ])('%s ⇒ UNAUTHENTICATED, never anonymous', async (_name, token) => {
    const bearer =
      token === 'EXPIRED'
        ? signToken({
            sub: String(commander.id),
            role: 'COMMANDER',
            regionId: city.cityId,
            iat: Math.floor(Date.now() / 1000) - 7200,
            exp: Math.floor(Date.now() / 1000) - 3600,
          })
        : token;
    // Even a field that needs no sign-in is refused: a bad token is an error, not "no token".
    const { data, errors } = await server.graphql(
      'mutation { login(username: "x", password: "y") { token } }',
      {},
      bearer,
    );
    expect(data ?? null).toBeNull();
    expect(errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  test('a well-formed token signed with the secret is accepted', async () => {
    const token = signToken({
      sub: String(commander.id),
      role: 'COMMANDER',
      regionId: city.cityId,
      exp: Math.floor(Date.now() / 1000) + 600,
    });
    const { data, errors } = await server.graphql<{ me: { id: string } }>(ME, {}, token);
    expect(errors).toBeUndefined();
    expect(data?.me.id).toBe(String(commander.id));
  });

  test('a malformed Authorization header is UNAUTHENTICATED', async () => {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Basic YWRtaW46Y2l0eWdyaWQ=' },
      body: JSON.stringify({ query: ME }),
    });
    const body = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
    expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
