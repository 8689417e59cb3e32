/**
 * Hardening at the edges: GraphQL depth and cost limits, no introspection in production, a
 * flood of sign-ins refused while other clients are served, security headers, CORS, body size,
 * upload rate limit, request ids, and text the database cannot store.
 */
import { randomUUID } from 'node:crypto';
import { rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMaskError } from '../../server/src/graphql/errors';
import { testDatabase } from '../helpers/db';
import { type GraphQLResponse, startTestServer, type TestServer } from '../helpers/server';

const database = await testDatabase();
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer(database);
});
afterAll(() => server?.close());

/** `{ case(id: 1) { possibleDuplicates { possibleDuplicates { … id } } } }`, `levels` deep. */
function nested(levels: number): string {
  let inner = 'id';
  for (let i = 0; i < levels - 1; i++) inner = `possibleDuplicates { ${inner} }`;
  return `{ case(id: "1") { ${inner} } }`;
}

async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: GraphQLResponse<Record<string, unknown>> }> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as never };
}

describe('GraphQL limits', () => {
  it('refuses a query nested 20 levels deep before running it, naming the limit', async () => {
    const token = await server.login('commander');
    const { body } = await post(server.url, { query: nested(20) }, { authorization: `Bearer ${token}` });
    expect(body.data ?? null).toBeNull();
    // Twenty levels of cases also cost too much; both limits are named, nothing ran.
    const depth = body.errors!.find((e) => e.extensions?.limit === 'depth');
    expect(depth?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(depth?.message).toMatch(/depth limit of 12 exceeded, found 2\d/);
    // A query within the limit runs (and reaches the resolver: NOT_FOUND for a made-up id, or data).
    const ok = await post(server.url, { query: nested(5) }, { authorization: `Bearer ${token}` });
    expect(ok.body.errors?.[0]?.extensions?.limit).toBeUndefined();
  });

  it('refuses a query whose cost exceeds the limit, with a clear error', async () => {
    const token = await server.login('commander');
    const piece =
      'cases(first: 5) { edges { node { code category { code name } grid { code name } events { action at } } } }';
    const query = `{ ${Array.from({ length: 60 }, () => piece).join(' ')} }`;
    const { body } = await post(server.url, { query }, { authorization: `Bearer ${token}` });
    expect(body.data ?? null).toBeNull();
    expect(body.errors).toHaveLength(1);
    expect(body.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', limit: 'cost' });
    expect(body.errors![0]!.message).toMatch(/cost limit of 5000 exceeded/i);
    // One piece alone is served.
    const one = await post(server.url, { query: `{ ${piece} }` }, { authorization: `Bearer ${token}` });
    expect(one.body.errors).toBeUndefined();
    expect(one.body.data).toHaveProperty('cases');
  });

  it('answers introspection in development and refuses it in production', async () => {
    const introspect = { query: '{ __schema { queryType { name } } }' };
    expect((await post(server.url, introspect)).body.data).toEqual({
      __schema: { queryType: { name: 'Query' } },
    });
    const production = await startTestServer(database, { nodeEnv: 'production' });
    try {
      const { body } = await post(production.url, introspect);
      expect(body.data ?? null).toBeNull();
      expect(body.errors![0]!.message).toMatch(/introspection/i);
      expect(body.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', limit: 'introspection' });
      // Ordinary queries still work there.
      expect(
        (await post(production.url, { query: '{ categories { code } }' })).body.errors?.[0]?.extensions?.code,
      ).toBe('UNAUTHENTICATED');
    } finally {
      await production.close();
    }
  });
});

describe('a flood of sign-in attempts', () => {
  it('1,000 attempts in a minute are refused (429, RATE_LIMITED) while another client is served', async () => {
    const proxied = await startTestServer(database, { trustProxy: 'loopback' });
    try {
      const attacker = { 'x-forwarded-for': '203.0.113.7' };
      const other = { 'x-forwarded-for': '198.51.100.20' };
      const attempt = () =>
        post(
          proxied.url,
          {
            query: 'mutation Login($u: String!, $p: String!) { login(username: $u, password: $p) { token } }',
            variables: { u: 'admin', p: 'guess' },
          },
          attacker,
        );
      const started = Date.now();
      const outcomes: { status: number; code: unknown; token: unknown; retryAfter: string | null }[] = [];
      let served = 0;
      const flood = (async () => {
        for (let round = 0; round < 40; round++) {
          const batch = await Promise.all(Array.from({ length: 25 }, attempt));
          for (const r of batch) {
            outcomes.push({
              status: r.status,
              code: r.body.errors?.[0]?.extensions?.code,
              token: (r.body.data?.login as { token?: string } | null | undefined)?.token,
              retryAfter: r.headers.get('retry-after'),
            });
          }
        }
      })();
      // Meanwhile another client signs in and queries, and is answered every time.
      const otherClient = (async () => {
        const signIn = await post(
          proxied.url,
          {
            query: 'mutation { login(username: "commander", password: "citygrid") { token } }',
          },
          other,
        );
        const token = (signIn.body.data?.login as { token?: string } | undefined)?.token;
        expect(token).toBeTruthy();
        for (let i = 0; i < 10; i++) {
          const r = await post(
            proxied.url,
            { query: '{ me { username } }' },
            { ...other, authorization: `Bearer ${token}` },
          );
          expect(r.status).toBe(200);
          expect(r.body.data).toEqual({ me: { username: 'commander' } });
          served++;
        }
      })();
      await Promise.all([flood, otherClient]);

      expect(outcomes).toHaveLength(1000);
      expect(outcomes.filter((o) => o.token)).toHaveLength(0);
      const limited = outcomes.filter((o) => o.code === 'RATE_LIMITED');
      // The per-client budget is 60 per one-minute window: everything past it is refused outright.
      // (On a loaded machine the flood can outlast a window; each window started gives 60 more.)
      const windows = Math.floor((Date.now() - started) / 60_000) + 1;
      expect(1000 - limited.length).toBeLessThanOrEqual(60 * windows);
      expect(limited.length).toBeGreaterThan(500);
      expect(limited.every((o) => o.status === 429 && Number(o.retryAfter) > 0)).toBe(true);
      // The rest were refused by the password check or the per-username lockout.
      expect(
        outcomes.filter((o) => o.code !== 'RATE_LIMITED').every((o) => o.code === 'UNAUTHENTICATED'),
      ).toBe(true);
      expect(served).toBe(10);
    } finally {
      await proxied.close();
    }
    // A thousand requests on a shared two-core machine (and the embedded database) take a while.
  }, 240_000);
});

describe('HTTP edges', () => {
  it('sends security headers and no x-powered-by', async () => {
    const response = await fetch(`${server.url}/healthz`);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    expect(response.headers.get('x-frame-options')).toBeTruthy();
    expect(response.headers.get('x-powered-by')).toBeNull();
  });

  it('allows CORS only for configured origins', async () => {
    const configured = await startTestServer(database, { corsOrigins: ['https://ops.example.org'] });
    try {
      const preflight = (origin: string) =>
        fetch(`${configured.url}/graphql`, {
          method: 'OPTIONS',
          headers: {
            origin,
            'access-control-request-method': 'POST',
            'access-control-request-headers': 'content-type,authorization',
          },
        });
      const allowed = await preflight('https://ops.example.org');
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://ops.example.org');
      const refused = await preflight('https://evil.example.com');
      expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await configured.close();
    }
    // With none configured (the default), no origin is allowed.
    const plain = await fetch(`${server.url}/graphql`, {
      method: 'OPTIONS',
      headers: { origin: 'https://ops.example.org', 'access-control-request-method': 'POST' },
    });
    expect(plain.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses a GraphQL body past the size limit with 413', async () => {
    const big = JSON.stringify({
      query: `{ categories { code } }`,
      variables: { pad: 'x'.repeat(1_200_000) },
    });
    const { status, body } = await post(server.url, big);
    expect(status).toBe(413);
    expect(body.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('limits uploads per client', async () => {
    const limited = await startTestServer(database, { uploadsPerMinute: 2 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await fetch(`${limited.url}/uploads`, { method: 'POST', body: 'x' });
        statuses.push(r.status);
      }
      expect(statuses.slice(0, 2).every((s) => s !== 429)).toBe(true);
      expect(statuses[2]).toBe(429);
    } finally {
      await limited.close();
    }
  });

  it('echoes a sane x-request-id and makes one when absent', async () => {
    const given = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'trace-abc-123' } });
    expect(given.headers.get('x-request-id')).toBe('trace-abc-123');
    const made = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('text the database cannot store', () => {
  const nul = 'blocked\u0000drain';

  it('a NUL character in a report is BAD_USER_INPUT naming the field, and nothing is stored', async () => {
    const token = await server.login('worker1');
    const [cell] = await rows<{ lon: number; lat: number }>(
      database.db,
      sql`SELECT ST_X(ST_PointOnSurface(geom)) AS lon, ST_Y(ST_PointOnSurface(geom)) AS lat
          FROM grid_cells g JOIN grid_cell_workers w ON w.grid_cell_id = g.id
          JOIN users u ON u.id = w.user_id WHERE u.username = 'worker1' LIMIT 1`,
    );
    const [category] = await rows<{ code: string }>(
      database.db,
      sql`SELECT code FROM categories WHERE active ORDER BY id LIMIT 1`,
    );
    const key = randomUUID();
    const { errors } = await server.graphql(
      'mutation R($input: ReportCaseInput!) { reportCase(input: $input) { id } }',
      { input: { idempotencyKey: key, categoryCode: category!.code, description: nul, location: cell } },
      token,
    );
    expect(errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      fields: [{ path: 'description' }],
    });
    expect(await rows(database.db, sql`SELECT 1 FROM cases WHERE idempotency_key = ${key}`)).toEqual([]);
  });

  it('an Open311 request with a NUL character is a 400, not a 500', async () => {
    const [service] = await rows<{ code: string }>(
      database.db,
      sql`SELECT code FROM categories WHERE active ORDER BY id LIMIT 1`,
    );
    const response = await fetch(`${server.url}/open311/v2/requests.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        api_key: 'citygrid-demo',
        service_code: service!.code,
        lat: 27.72,
        long: 109.19,
        description: nul,
      }),
    });
    expect(response.status).toBe(400);
    expect(JSON.stringify(await response.json())).toMatch(/NUL/);
  });

  it("PostgreSQL's own refusal of such text, reaching GraphQL some other way, is BAD_USER_INPUT", async () => {
    const refusal = await rows(database.db, sql`SELECT ${nul}::text`).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).toBeDefined();
    const masked = createMaskError(pino({ level: 'silent' }))(refusal, 'Unexpected error.') as {
      extensions?: { code?: string };
    };
    expect(masked.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
