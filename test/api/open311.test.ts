/**
 * Open311 GeoReport v2, driven by a client written from the specification alone
 * (test/open311-client): services, a POSTed request with an image URL found again by id, its
 * status following the case to CLOSED through GraphQL, the specification's errors, XML, API
 * keys issued and revoked by an admin, and the POST rate limit.
 */
import { rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase } from '../helpers/db';
import { startTestServer, type TestServer } from '../helpers/server';
import { GeoReportClient, GeoReportError } from '../open311-client/client';

const database = await testDatabase();
let server: TestServer;
let client: GeoReportClient;
/** A category handled by a demo department, and a point inside the demo city's grid. */
let service: { code: string; departmentId: number; departmentCode: string };
let point: { lon: number; lat: number };

beforeAll(async () => {
  server = await startTestServer(database);
  client = new GeoReportClient(`${server.url}/open311/v2`, { apiKey: 'citygrid-demo' });
  const [category] = await rows<{ code: string; department_id: number; department_code: string }>(
    database.db,
    sql`SELECT c.code, d.id::int AS department_id, d.code AS department_code
        FROM categories c JOIN departments d ON d.id = c.default_department_id
        WHERE c.active AND d.code IN ('sanitation', 'roads', 'water')
        ORDER BY c.code LIMIT 1`,
  );
  service = {
    code: category!.code,
    departmentId: category!.department_id,
    departmentCode: category!.department_code,
  };
  const [cell] = await rows<{ lon: number; lat: number }>(
    database.db,
    sql`SELECT ST_X(p)::float8 AS lon, ST_Y(p)::float8 AS lat
        FROM (SELECT ST_PointOnSurface(geom) AS p FROM grid_cells ORDER BY id LIMIT 1) s`,
  );
  point = cell!;
});
afterAll(() => server?.close());

async function expectGeoReportError(promise: Promise<unknown>, status: number): Promise<GeoReportError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GeoReportError);
  const failure = error as GeoReportError;
  expect(failure.status).toBe(status);
  expect(failure.errors).toHaveLength(1);
  expect(failure.errors[0]!.code).toBe(status);
  expect(failure.errors[0]!.description.length).toBeGreaterThan(5);
  return failure;
}

describe('services', () => {
  it('lists every active category as a service, in JSON and in XML alike', async () => {
    const json = await client.services('json');
    const [{ n }] = (await rows<{ n: number }>(
      database.db,
      sql`SELECT count(*)::int AS n FROM categories WHERE active`,
    )) as [{ n: number }];
    expect(json).toHaveLength(n);
    const mine = json.find((s) => s.service_code === service.code)!;
    expect(mine).toMatchObject({ metadata: false, type: 'realtime' });
    expect(mine.service_name.length).toBeGreaterThan(0);
    expect(mine.group?.length).toBeGreaterThan(0);

    const xml = await client.services('xml');
    expect(xml.map((s) => s.service_code)).toEqual(json.map((s) => s.service_code));
    expect(xml.find((s) => s.service_code === service.code)).toMatchObject({
      service_name: mine.service_name,
      metadata: false,
      type: 'realtime',
    });
  });

  it('gives a service definition, and 404 for an unknown service', async () => {
    expect(await client.serviceDefinition(service.code)).toEqual({
      service_code: service.code,
      attributes: [],
    });
    expect((await client.serviceDefinition(service.code, 'xml')).service_code).toBe(service.code);
    await expectGeoReportError(client.serviceDefinition('no-such-service'), 404);
    await expectGeoReportError(client.serviceDefinition('no-such-service', 'xml'), 404);
  });
});

describe('a request from a citizen app', () => {
  const mediaUrl = 'https://photos.example.org/pothole/123.jpg';
  let id: string;

  it('is posted with an image URL and found again by id, open, with its fields', async () => {
    const posted = await client.postRequest({
      service_code: service.code,
      lat: point.lat,
      long: point.lon,
      description: 'Rubbish piled against the bus shelter',
      address_string: 'Bus stop on Jinjiang Road',
      media_url: mediaUrl,
      email: 'citizen@example.org',
      device_id: 'phone-42',
    });
    expect(posted).toHaveLength(1);
    id = posted[0]!.service_request_id!;
    expect(id).toMatch(/^\S+$/);

    const [found] = await client.request(id);
    expect(found).toMatchObject({
      service_request_id: id,
      status: 'open',
      service_code: service.code,
      description: 'Rubbish piled against the bus shelter',
      address: 'Bus stop on Jinjiang Road',
      media_url: mediaUrl,
    });
    expect(found!.lat).toBeCloseTo(point.lat, 6);
    expect(found!.long).toBeCloseTo(point.lon, 6);
    expect(found!.agency_responsible).toBeTruthy();
    expect(Date.parse(found!.requested_datetime)).not.toBeNaN();
    expect(found!.requested_datetime).toMatch(/(Z|[+-]\d{2}:\d{2})$/);

    // The same request through the list, in XML.
    const [viaXml] = await client.requests({ service_request_id: id }, 'xml');
    expect(viaXml).toMatchObject({ service_request_id: id, status: 'open', media_url: mediaUrl });
    expect(viaXml!.lat).toBeCloseTo(point.lat, 6);

    // It entered the workflow as any report does: an OPEN311 case with a REPORT event.
    const [row] = await rows<{
      source: string;
      status: string;
      reporter_id: number | null;
      payload: unknown;
    }>(
      database.db,
      sql`SELECT c.source::text AS source, c.status::text AS status, c.reporter_id, e.payload
          FROM cases c JOIN case_events e ON e.case_id = c.id AND e.seq = 1 WHERE c.code = ${id}`,
    );
    expect(row).toMatchObject({ source: 'OPEN311', status: 'REPORTED', reporter_id: null });
    expect(row!.payload).toMatchObject({
      open311: { mediaUrl, email: 'citizen@example.org', device_id: 'phone-42' },
    });
  });

  it('is accepted as JSON too, and listed by service and status', async () => {
    const [posted] = await client.postRequest(
      { service_code: service.code, lat: point.lat, long: point.lon, description: 'Sent as JSON' },
      { encoding: 'json', format: 'xml' },
    );
    const created = posted!.service_request_id!;
    const open = await client.requests({ service_code: service.code, status: 'open' });
    expect(open.map((r) => r.service_request_id)).toEqual(expect.arrayContaining([id, created]));
    expect(open.every((r) => r.status === 'open' && r.service_code === service.code)).toBe(true);
    const closed = await client.requests({ service_code: service.code, status: 'closed' });
    expect(closed.map((r) => r.service_request_id)).not.toContain(created);
  });

  it('closes when its case closes through the workflow', async () => {
    const [c] = await rows<{ id: number }>(
      database.db,
      sql`SELECT id::int AS id FROM cases WHERE code = ${id}`,
    );
    const caseId = String(c!.id);
    const commander = await server.login('commander');
    const handler = await server.login(`dept-${service.departmentCode}`);
    type Step = { id: string; status: string; version: number };
    const step = async (mutation: string, token: string, variables: Record<string, unknown>) => {
      const { data, errors } = await server.graphql<Record<string, Step>>(mutation, variables, token);
      expect(errors).toBeUndefined();
      return Object.values(data!)[0]!;
    };
    let s = await step(
      'mutation($id: ID!, $v: Int!) { fileCase(id: $id, expectedVersion: $v) { id status version } }',
      commander,
      { id: caseId, v: 1 },
    );
    expect(s.status).toBe('FILED');
    s = await step(
      'mutation($id: ID!, $v: Int!, $d: ID) { dispatchCase(id: $id, expectedVersion: $v, departmentId: $d) { id status version } }',
      commander,
      { id: caseId, v: s.version, d: String(service.departmentId) },
    );
    expect(s.status).toBe('DISPATCHED');
    expect((await client.request(id))[0]).toMatchObject({ status: 'open' });
    s = await step(
      'mutation($id: ID!, $v: Int!) { acceptCase(id: $id, expectedVersion: $v) { id status version } }',
      handler,
      { id: caseId, v: s.version },
    );
    s = await step(
      'mutation($id: ID!, $v: Int!) { resolveCase(id: $id, expectedVersion: $v, note: "Cleared") { id status version } }',
      handler,
      { id: caseId, v: s.version },
    );
    expect(s.status).toBe('RESOLVED');
    s = await step(
      'mutation($id: ID!, $v: Int!) { verifyCase(id: $id, expectedVersion: $v, passed: true) { id status version } }',
      commander,
      { id: caseId, v: s.version },
    );
    expect(s.status).toBe('CLOSED');

    const [closed] = await client.request(id);
    expect(closed).toMatchObject({ service_request_id: id, status: 'closed', media_url: mediaUrl });
    expect(closed!.status_notes).toBeTruthy();
    expect(closed!.expected_datetime ?? null).toBeNull();
    const [closedXml] = await client.request(id, 'xml');
    expect(closedXml!.status).toBe('closed');
    expect(
      (await client.requests({ service_code: service.code, status: 'closed' })).map(
        (r) => r.service_request_id,
      ),
    ).toContain(id);
  });
});

describe("the specification's errors", () => {
  const valid = () => ({ service_code: service.code, lat: point.lat, long: point.lon, description: 'x' });

  it('403 for a missing or unknown api_key', async () => {
    await expectGeoReportError(client.postRequest(valid(), { apiKey: null }), 403);
    await expectGeoReportError(client.postRequest(valid(), { apiKey: 'not-a-key' }), 403);
    const xml = await expectGeoReportError(
      client.postRequest(valid(), { apiKey: 'not-a-key', format: 'xml' }),
      403,
    );
    expect(xml.errors[0]!.description).toMatch(/api_key/);
  });

  it('400 for a missing service_code, a missing location or a bad number', async () => {
    const { service_code: _drop, ...noService } = valid();
    expect((await expectGeoReportError(client.postRequest(noService), 400)).errors[0]!.description).toMatch(
      /service_code/,
    );
    const { lat: _lat, long: _long, ...noPlace } = valid();
    await expectGeoReportError(client.postRequest(noPlace), 400);
    await expectGeoReportError(
      client.postRequest({ ...noPlace, address_string: 'Somewhere' }, { format: 'xml' }),
      400,
    );
    await expectGeoReportError(client.postRequest({ ...valid(), lat: 'north' }), 400);
    await expectGeoReportError(client.postRequest({ ...valid(), media_url: 'not a url' }), 400);
  });

  it('404 for an unknown service or request, 400 for a bad query', async () => {
    await expectGeoReportError(client.postRequest({ ...valid(), service_code: 'no-such-service' }), 404);
    await expectGeoReportError(client.request('NO-SUCH-REQUEST'), 404);
    await expectGeoReportError(client.request('NO-SUCH-REQUEST', 'xml'), 404);
    await expectGeoReportError(client.requests({ start_date: 'yesterday' }), 400);
    await expectGeoReportError(client.requests({ status: 'pending' as 'open' }), 400);
  });

  it('400 for a point outside the city', async () => {
    await expectGeoReportError(client.postRequest({ ...valid(), lat: 0.5, long: 0.5 }), 400);
  });
});

describe('reading requests', () => {
  it('answers the last 90 days by default, newest first, and honours start_date and end_date', async () => {
    const recent = await client.requests();
    expect(recent.length).toBeGreaterThan(0);
    expect(recent.length).toBeLessThanOrEqual(1000);
    const since = Date.now() - 91 * 86_400_000;
    expect(recent.every((r) => Date.parse(r.requested_datetime) >= since)).toBe(true);
    const times = recent.map((r) => Date.parse(r.requested_datetime));
    expect([...times].sort((a, b) => b - a)).toEqual(times);

    const end = new Date(Date.now() - 10 * 86_400_000);
    const start = new Date(end.getTime() - 5 * 86_400_000);
    const window = await client.requests({ start_date: start.toISOString(), end_date: end.toISOString() });
    for (const r of window) {
      const at = Date.parse(r.requested_datetime);
      expect(at).toBeGreaterThanOrEqual(start.getTime() - 1000);
      expect(at).toBeLessThanOrEqual(end.getTime() + 1000);
    }
  });

  it('shows closed cases of the demo city as closed', async () => {
    const [c] = await rows<{ code: string }>(
      database.db,
      sql`SELECT code FROM cases WHERE status IN ('CLOSED', 'REJECTED') ORDER BY reported_at DESC LIMIT 1`,
    );
    const [r] = await client.request(c!.code);
    expect(r!.status).toBe('closed');
  });
});

describe('API keys', () => {
  it('an admin issues a key that works at once and revokes it; both are audited', async () => {
    const admin = await server.login('admin');
    const issued = await server.graphql<{
      issueApiKey: { key: string; apiKey: { id: string; name: string } };
    }>('mutation { issueApiKey(name: "Citizen app") { key apiKey { id name revokedAt } } }', {}, admin);
    expect(issued.errors).toBeUndefined();
    const { key, apiKey } = issued.data!.issueApiKey;
    const posted = await client.postRequest(
      { service_code: service.code, lat: point.lat, long: point.lon, description: 'With the new key' },
      { apiKey: key },
    );
    expect(posted[0]!.service_request_id).toBeTruthy();

    const revoked = await server.graphql<{ revokeApiKey: { revokedAt: string | null } }>(
      'mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }',
      { id: apiKey.id },
      admin,
    );
    expect(revoked.data?.revokeApiKey.revokedAt).toBeTruthy();
    await expectGeoReportError(
      client.postRequest({ service_code: service.code, lat: point.lat, long: point.lon }, { apiKey: key }),
      403,
    );

    const audit = await server.graphql<{
      adminAudit: { action: string; target: string; actor: { username: string } }[];
    }>('{ adminAudit(limit: 10) { action target actor { username } } }', {}, admin);
    expect(audit.data!.adminAudit.slice(0, 2)).toEqual([
      { action: 'revokeApiKey', target: `api_key:${apiKey.id}`, actor: { username: 'admin' } },
      { action: 'issueApiKey', target: `api_key:${apiKey.id}`, actor: { username: 'admin' } },
    ]);
    // The key is stored only as its hash.
    const stored = await rows<{ n: number }>(
      database.db,
      sql`SELECT count(*)::int AS n FROM api_keys WHERE key_hash = ${key} OR name = ${key}`,
    );
    expect(stored[0]!.n).toBe(0);
  });

  it('only an admin may issue keys', async () => {
    const commander = await server.login('commander');
    const { errors } = await server.graphql('mutation { issueApiKey(name: "x") { key } }', {}, commander);
    expect(errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('POST rate limit', () => {
  it('refuses POSTs past the per-client limit with 429 in the error format, while reads go on', async () => {
    const limited = await startTestServer(database, { open311PostsPerMinute: 3 });
    try {
      const c = new GeoReportClient(`${limited.url}/open311/v2`, { apiKey: 'citygrid-demo' });
      const fields = { service_code: service.code, lat: point.lat, long: point.lon, description: 'again' };
      for (let i = 0; i < 3; i++) await c.postRequest(fields);
      const refused = await expectGeoReportError(c.postRequest(fields), 429);
      expect(refused.errors[0]!.description).toMatch(/try again/);
      expect((await c.services()).length).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });
});
