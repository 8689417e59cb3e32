/**
 * `/metrics`: the Prometheus text parses, and the listed series are there — HTTP and GraphQL
 * latencies, case events counted from the workflow's notifications, ingest (from the IoT
 * registry), active alarms, the database pool and the process.
 */
import { rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase } from '../helpers/db';
import { startTestServer, type TestServer } from '../helpers/server';

const database = await testDatabase();
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer(database);
});
afterAll(() => server?.close());

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the text format: `# TYPE` lines and `name{label="v",…} value` samples. */
function parse(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    if (!m) throw new Error(`unparsable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!;
    const value = Number(m[3] === '+Inf' ? Number.POSITIVE_INFINITY : m[3]);
    // The text format allows NaN (prom-client's event-loop lag gauges start there, and it prints "Nan");
    // anything else must be a number.
    if (m[3]!.toLowerCase() !== 'nan') expect(Number.isNaN(value), `value of ${line}`).toBe(false);
    samples.push({ name: m[1]!, labels, value });
  }
  return { types, samples };
}

async function scrape() {
  const response = await fetch(`${server.url}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
  return parse(await response.text());
}

describe('/metrics', () => {
  it('exposes the listed series in a parsable text format', async () => {
    // Some traffic first: a named GraphQL operation, a failing one, an Open311 read.
    const token = await server.login('commander');
    await server.graphql('query Categories { categories { code } }', {}, token);
    await server.graphql('query Broken { case(id: "0") { id } }', {}, token);
    await fetch(`${server.url}/open311/v2/services.json`);

    const { types, samples } = await scrape();
    const has = (name: string, labels: Record<string, string> = {}) =>
      samples.some((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

    expect(types.get('citygrid_http_request_duration_seconds')).toBe('histogram');
    expect(
      has('citygrid_http_request_duration_seconds_count', {
        route: '/graphql',
        method: 'POST',
        status: '200',
      }),
    ).toBe(true);
    expect(
      has('citygrid_http_request_duration_seconds_bucket', { route: '/open311/v2/:file', le: '+Inf' }),
    ).toBe(true);

    expect(types.get('citygrid_graphql_operation_duration_seconds')).toBe('histogram');
    expect(
      has('citygrid_graphql_operation_duration_seconds_count', { operation: 'Login', type: 'mutation' }),
    ).toBe(true);
    expect(
      has('citygrid_graphql_operation_duration_seconds_count', { operation: 'Categories', outcome: 'ok' }),
    ).toBe(true);
    expect(
      has('citygrid_graphql_operation_duration_seconds_count', { operation: 'Broken', outcome: 'error' }),
    ).toBe(true);

    for (const counter of ['citygrid_case_events_total', 'citygrid_cases_reported_total']) {
      expect(types.get(counter)).toBe('counter');
    }
    expect(has('citygrid_case_events_total', { action: 'DISPATCH' })).toBe(true);
    // Group commit of reports: statements by kind, and the reports batch statements carried.
    expect(types.get('citygrid_report_statements_total')).toBe('counter');
    for (const kind of ['single', 'batch', 'fallback'])
      expect(has('citygrid_report_statements_total', { kind })).toBe(true);
    expect(types.get('citygrid_report_batched_total')).toBe('counter');
    expect(types.get('citygrid_live_case_reads_total')).toBe('counter');

    // Ingest: points, rejects by reason, batches, queue depth (the IoT side's registry).
    for (const name of [
      'citygrid_ingest_readings_total',
      'citygrid_ingest_rejected_total',
      'citygrid_ingest_messages_total',
      'citygrid_ingest_batch_seconds',
      'citygrid_ingest_unacked_messages',
    ]) {
      expect(types.has(name), name).toBe(true);
    }

    expect(types.get('citygrid_alarms_active')).toBe('gauge');
    expect(has('citygrid_alarms_active', { severity: 'CRITICAL', status: 'ACTIVE' })).toBe(true);
    expect(types.get('citygrid_db_pool_connections')).toBe('gauge');
    for (const state of ['total', 'idle', 'waiting'])
      expect(has('citygrid_db_pool_connections', { state })).toBe(true);
    expect(has('citygrid_process_cpu_seconds_total')).toBe(true);
  });

  it('counts active alarms from the database on each scrape', async () => {
    const [row] = await rows<{ n: number }>(
      database.db,
      sql`SELECT count(*)::int AS n FROM alarms WHERE status = 'ACTIVE' AND severity = 'WARNING'`,
    );
    const n = row!.n;
    const { samples } = await scrape();
    const gauge = samples.find(
      (s) =>
        s.name === 'citygrid_alarms_active' &&
        s.labels.severity === 'WARNING' &&
        s.labels.status === 'ACTIVE',
    );
    expect(gauge?.value).toBe(n);
  });

  it('counts case events from the notifications the workflow sends on commit', async () => {
    const count = (s: { samples: Sample[] }, name: string, action?: string) =>
      s.samples.find((x) => x.name === name && (!action || x.labels.action === action))?.value ?? 0;
    const before = await scrape();
    // A citizen's report through Open311, then the commander files it.
    const [cell] = await rows<{ lon: number; lat: number; category: string }>(
      database.db,
      sql`SELECT ST_X(ST_PointOnSurface(g.geom))::float8 AS lon, ST_Y(ST_PointOnSurface(g.geom))::float8 AS lat,
                 (SELECT code FROM categories WHERE active ORDER BY code LIMIT 1) AS category
          FROM grid_cells g ORDER BY g.id LIMIT 1`,
    );
    const posted = await fetch(`${server.url}/open311/v2/requests.json`, {
      signal: AbortSignal.timeout(50_000),
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        api_key: 'citygrid-demo',
        service_code: cell!.category,
        lat: String(cell!.lat),
        long: String(cell!.lon),
        description: 'counted',
      }),
    });
    const [{ service_request_id: code }] = (await posted.json()) as [{ service_request_id: string }];
    const [c] = await rows<{ id: number }>(
      database.db,
      sql`SELECT id::int AS id FROM cases WHERE code = ${code}`,
    );
    const commander = await server.login('commander');
    const filed = await server.graphql(
      'mutation($id: ID!) { fileCase(id: $id, expectedVersion: 1) { status } }',
      {
        id: String(c!.id),
      },
      commander,
    );
    expect(filed.errors).toBeUndefined();

    let after = before;
    for (
      let i = 0;
      i < 50 &&
      count(after, 'citygrid_case_events_total', 'FILE') ===
        count(before, 'citygrid_case_events_total', 'FILE');
      i++
    ) {
      await new Promise((r) => setTimeout(r, 100));
      after = await scrape();
    }
    expect(count(after, 'citygrid_case_events_total', 'FILE')).toBe(
      count(before, 'citygrid_case_events_total', 'FILE') + 1,
    );
    expect(count(after, 'citygrid_case_events_total', 'REPORT')).toBe(
      count(before, 'citygrid_case_events_total', 'REPORT') + 1,
    );
    expect(count(after, 'citygrid_cases_reported_total')).toBe(
      count(before, 'citygrid_cases_reported_total') + 1,
    );
  });
});
