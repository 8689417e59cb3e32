/**
 * Case exports: CSV and GeoJSON with the `cases` filter and scope, across many batches (2,500+
 * cases, ties on reported_at), CSV escaping of commas, quotes, line breaks and formulas, Bearer
 * auth, and a client that leaves mid-stream never keeps a database connection.
 */
import { rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { testDatabase } from '../helpers/db';
import { type GraphQLResponse, startTestServer, type TestServer } from '../helpers/server';
import { cellCentre, makeCase, makeCategory, makeTestCity, makeUser, type TestCity } from './factories';

const database = await testDatabase();
const db = database.db;
let server: TestServer;
let city: TestCity;
let commander: string;
let commanderA: string;
let categoryCode: string;
const tricky = new Map<number, string>();

const BULK = 2600;

beforeAll(async () => {
  server = await startTestServer(database);
  city = await makeTestCity(db, { lon: 112.5, lat: 28.125 });
  const category = await makeCategory(db);
  categoryCode = category.code;
  commander = await server.login((await makeUser(db, { role: 'COMMANDER', regionId: city.cityId })).username);
  commanderA = await server.login(
    (await makeUser(db, { role: 'COMMANDER', regionId: city.districts.A.id })).username,
  );
  // Many cases, in both districts, every ten sharing one reported_at (ties for the keyset order).
  await db.execute(sql`
    INSERT INTO cases (code, status, version, category_id, description, location, grid_cell_id, community_id,
                       street_id, district_id, city_id, source, reported_at)
    SELECT 'EX' || n, (ARRAY['FILED', 'DISPATCHED', 'CLOSED']::case_status[])[1 + n % 3], 1, ${category.id}::bigint,
           '批量案卷 ' || n, ST_PointOnSurface(g.geom), g.id, g.community_id, g.street_id, g.district_id, g.city_id,
           'WORKER', '2030-01-01T00:00:00Z'::timestamptz + make_interval(mins => n / 10)
    FROM generate_series(1, ${BULK}) AS n
    JOIN grid_cells g ON g.id = (ARRAY[${city.districts.A.cells[0]}::bigint, ${city.districts.B.cells[3]}::bigint])[1 + n % 2]`);
  const descriptions = [
    'comma, inside',
    'a "quoted" word',
    'two\nlines',
    'carriage\r\nreturn',
    '=HYPERLINK("http://example.invalid")',
    '井盖缺失，行人绕行',
    '-1 minus first',
  ];
  for (const [i, text] of descriptions.entries()) {
    const id = await makeCase(db, {
      categoryId: category.id,
      cellId: city.districts.A.cells[1],
      point: cellCentre(city.districts.A, 1),
      reportedAt: new Date(Date.UTC(2030, 5, 1, 0, i)),
      status: 'FILED',
    });
    await db.execute(sql`UPDATE cases SET description = ${text} WHERE id = ${id}`);
    tricky.set(id, text);
  }
}, 120_000);

afterAll(() => server?.close());

/** RFC 4180 parser: quoted fields may hold commas, doubled quotes and line breaks. */
function parseCsv(text: string): string[][] {
  const out: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(field);
      out.push(row);
      row = [];
      field = '';
      i++;
    } else field += ch;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    out.push(row);
  }
  return out;
}

async function get(path: string, token?: string) {
  return fetch(`${server.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
}

async function csv(query: string, token = commander): Promise<Record<string, string>[]> {
  const response = await get(`/export/cases.csv?${query}`, token);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/csv');
  // Decoded keeping the BOM (`text()` would drop it).
  const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(await response.arrayBuffer());
  expect(text.startsWith('\uFEFF')).toBe(true);
  const [header, ...body] = parseCsv(text.slice(1));
  return body.map((cells) => Object.fromEntries(header!.map((h, i) => [h, cells[i]!])));
}

interface CasesPage {
  cases: { edges: { node: { id: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } };
}

/** Ids of the cases the GraphQL `cases` query returns for a filter, paging to the end. */
async function caseIds(filter: Record<string, unknown>, token = commander): Promise<number[]> {
  const ids: number[] = [];
  let after: string | null = null;
  for (;;) {
    const { data, errors }: GraphQLResponse<CasesPage> = await server.graphql<CasesPage>(
      `query C($f: CaseFilter, $a: String) { cases(filter: $f, first: 200, after: $a) {
         edges { node { id } } pageInfo { hasNextPage endCursor } } }`,
      { f: filter, a: after },
      token,
    );
    expect(errors).toBeUndefined();
    ids.push(...data!.cases.edges.map((e) => Number(e.node.id)));
    if (!data!.cases.pageInfo.hasNextPage) return ids;
    after = data!.cases.pageInfo.endCursor;
  }
}

/**
 * After a long stretch without HTTP (embedded PGlite work blocks this process's event loop), the
 * client's pooled keep-alive socket may already be closed by the server's 5 s idle timeout; the
 * first request on it fails with ECONNRESET. One throwaway request discards such a socket.
 */
async function freshConnection(): Promise<void> {
  await fetch(`${server.url}/healthz`).catch(() => undefined);
}

describe('GET /export/cases.csv', () => {
  test('all cases of the scope, across batches, in the cases query order', async () => {
    await freshConnection();
    const exported = await csv(`categoryCodes=${categoryCode}`);
    expect(exported).toHaveLength(BULK + tricky.size);
    const ids = exported.map((r) => Number(r.id));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(await caseIds({ categoryCodes: [categoryCode] }));
  });

  test('filters as the cases query does: status, region, bbox, time', async () => {
    const { B } = city.districts;
    const filters: [string, Record<string, unknown>][] = [
      ['status=CLOSED,DISPATCHED', { status: ['CLOSED', 'DISPATCHED'] }],
      [`regionId=${B.id}&status=FILED`, { regionId: String(B.id), status: ['FILED'] }],
      [
        `bbox=${B.origin.lon},${B.origin.lat},${B.origin.lon + 0.02},${B.origin.lat + 0.02}`,
        {
          bbox: {
            minLon: B.origin.lon,
            minLat: B.origin.lat,
            maxLon: B.origin.lon + 0.02,
            maxLat: B.origin.lat + 0.02,
          },
        },
      ],
      [
        'reportedAfter=2030-01-01T01:00:00Z&reportedBefore=2030-01-01T02:00:00Z',
        { reportedAfter: '2030-01-01T01:00:00Z', reportedBefore: '2030-01-01T02:00:00Z' },
      ],
    ];
    for (const [query, filter] of filters) {
      const exported = (await csv(`${query}&categoryCodes=${categoryCode}`)).map((r) => Number(r.id));
      const expected = await caseIds({ ...filter, categoryCodes: [categoryCode] });
      expect(expected.length).toBeGreaterThan(0);
      expect(exported).toEqual(expected);
    }
  });

  test('a district commander exports only its district', async () => {
    const exported = await csv(`categoryCodes=${categoryCode}`, commanderA);
    const expected = await caseIds({ categoryCodes: [categoryCode] }, commanderA);
    expect(exported.map((r) => Number(r.id))).toEqual(expected);
    expect(new Set(exported.map((r) => r.district))).toEqual(new Set([`测试${city.code}A`]));
    expect(exported.length).toBeLessThan(BULK);
  });

  test('commas, quotes, line breaks and Chinese survive; formulas are defused', async () => {
    const exported = await csv(`reportedAfter=2030-06-01T00:00:00Z&categoryCodes=${categoryCode}`);
    expect(exported).toHaveLength(tricky.size);
    for (const row of exported) {
      const original = tricky.get(Number(row.id))!;
      const defused = /^[=+\-@]/.test(original) ? `'${original}` : original;
      expect(row.description).toBe(defused);
      expect(row.category_code).toBe(categoryCode);
      expect(row.status).toBe('FILED');
    }
  });

  test('without a token 401; a bad filter 400', async () => {
    expect((await get('/export/cases.csv')).status).toBe(401);
    const badBox = await get('/export/cases.csv?bbox=1,2,3', commander);
    expect(badBox.status).toBe(400);
    expect(((await badBox.json()) as { error: { code: string } }).error.code).toBe('BAD_USER_INPUT');
    expect((await get('/export/cases.csv?status=NOPE', commander)).status).toBe(400);
    expect((await get('/export/cases.geojson?overdue=maybe', commander)).status).toBe(400);
  });

  test('clients that leave mid-stream release their connection', async () => {
    // More aborted exports than the pool has connections: a leak would hang the last export.
    for (let i = 0; i < 8; i++) {
      const controller = new AbortController();
      const response = await fetch(`${server.url}/export/cases.csv`, {
        headers: { authorization: `Bearer ${commander}` },
        signal: controller.signal,
      });
      const reader = response.body!.getReader();
      await reader.read();
      controller.abort();
      await reader.read().catch(() => undefined);
    }
    const exported = await csv(`categoryCodes=${categoryCode}&status=CLOSED`);
    // n ≡ 2 (mod 3) for n in 1..2600
    expect(exported.length).toBe(867);
  });
});

describe('GET /export/cases.geojson', () => {
  test('a FeatureCollection of WGS84 points with the same rows', async () => {
    const response = await get(
      `/export/cases.geojson?categoryCodes=${categoryCode}&regionId=${city.districts.A.id}`,
      commander,
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/geo+json');
    const collection = (await response.json()) as {
      type: string;
      features: {
        id: number;
        geometry: { type: string; coordinates: [number, number] };
        properties: Record<string, unknown>;
      }[];
    };
    expect(collection.type).toBe('FeatureCollection');
    const expected = await caseIds({ categoryCodes: [categoryCode], regionId: String(city.districts.A.id) });
    expect(collection.features.map((f) => f.id)).toEqual(expected);
    const [stored] = await rows<{ lon: number; lat: number }>(
      db,
      sql`SELECT ST_X(location) AS lon, ST_Y(location) AS lat FROM cases WHERE id = ${expected[0]!}`,
    );
    expect(collection.features[0]!.geometry).toEqual({
      type: 'Point',
      coordinates: [stored!.lon, stored!.lat],
    });
    const trickyFeature = collection.features.find((f) => tricky.has(f.id))!;
    expect(trickyFeature.properties.description).toBe(tricky.get(trickyFeature.id));
  });

  test('an empty result is an empty, valid collection', async () => {
    const response = await get('/export/cases.geojson?reportedAfter=2099-01-01T00:00:00Z', commander);
    expect(await response.json()).toEqual({ type: 'FeatureCollection', features: [] });
  });
});
