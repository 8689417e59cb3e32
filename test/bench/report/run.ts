/**
 * reportCase benchmark: `pnpm --filter @citygrid/test bench:report` (needs DATABASE_URL; creates
 * a database `citygrid_bench_report_<pid>` with the demo city and drops it at the end).
 *
 * 1. Concurrency sweep: N clients each sending `reportCase` over HTTP (keep-alive) back to back
 *    for BENCH_SECONDS; throughput and latency percentiles per N, and how many reports each
 *    statement wrote on average (group commit, from the server's /metrics; one process only).
 * 2. Fixed rate: BENCH_RATE (200) reports/s, open loop, for BENCH_FIXED_SECONDS; latency counted
 *    from each request's scheduled send time, so a stall is not hidden (no coordinated omission).
 * 3. In the same run, the raw SQL a report costs at minimum: one INSERT of the case with its grid
 *    cell looked up by ST_Contains, autocommit, from BENCH_RAW_CONNECTIONS connections.
 * The server runs in its own process (bench/report/server.ts), or in BENCH_PROCESSES processes
 * behind one port (node:cluster); "server CPU" adds up all of them, "load generator CPU" is this
 * process's own (sending the requests and reading the answers). The machine's other load shows
 * in the numbers, so run it on a quiet machine for figures to quote.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { migrate, openDatabase } from '@citygrid/db';
import { seedDemoCity } from '@citygrid/db/seed';
import pg from 'pg';

const adminUrl = process.env.DATABASE_URL;
if (!adminUrl) throw new Error('bench:report needs DATABASE_URL (a real PostgreSQL + PostGIS)');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? '1,4,16,32,64').split(',').map(Number);
const RATE = Number(process.env.BENCH_RATE ?? 200);
const FIXED_SECONDS = Number(process.env.BENCH_FIXED_SECONDS ?? 15);
const RAW_CONNECTIONS = Number(process.env.BENCH_RAW_CONNECTIONS ?? 16);
const POOL = Number(process.env.BENCH_POOL ?? 16);

const name = `citygrid_bench_report_${process.pid}`;
const dbUrl = (() => {
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
})();

const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`DROP DATABASE IF EXISTS ${name}`);
await admin.query(`CREATE DATABASE ${name}`);
let child: ChildProcess | undefined;
let cleaned = false;
const cleanup = async () => {
  if (cleaned) return;
  cleaned = true;
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 3000));
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
  await admin.end();
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => void cleanup().finally(() => process.exit(130)));
}

try {
  console.log(`database ${name}: migrating and seeding the demo city…`);
  const setup = await openDatabase({ url: dbUrl, poolSize: 4 });
  await migrate(setup);
  await seedDemoCity(setup.db);
  await setup.close();

  const pool = new pg.Pool({
    connectionString: dbUrl,
    max: RAW_CONNECTIONS + 2,
    application_name: 'citygrid-bench-raw',
  });
  // Points inside grid cells of the demo city, and the busiest categories, as reporters would send.
  const { rows: points } = await pool.query<{ lon: number; lat: number }>(
    `SELECT ST_X(p) AS lon, ST_Y(p) AS lat
     FROM (SELECT ST_PointOnSurface(geom) AS p FROM grid_cells ORDER BY id) s`,
  );
  const { rows: cats } = await pool.query<{ code: string; id: string }>(
    `SELECT code, id FROM categories WHERE active ORDER BY code LIMIT 20`,
  );
  if (points.length === 0 || cats.length === 0)
    throw new Error('the demo city has no grid cells or categories');
  console.log(`${points.length} grid cells, ${cats.length} categories`);

  child = spawn(
    process.execPath,
    [
      // BENCH_CPU_PROF=<dir>: write a V8 CPU profile of the server (open it in Chrome's DevTools).
      ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
      '--import',
      'tsx',
      fileURLToPath(new URL('./server.ts', import.meta.url)),
      dbUrl,
      String(POOL),
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const { port, pids } = await new Promise<{ port: number; pids: number[] }>((resolve, reject) => {
    let out = '';
    child!.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line) as { port: number; pids: number[] });
    });
    child!.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  interface GraphQLBody {
    data?: { login?: { token: string }; reportCase?: { id: string } } | null;
    errors?: unknown[];
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

  // node:http with a keep-alive agent: no client library between the numbers and the server.
  function post(body: unknown, token?: string): Promise<{ status: number; json: GraphQLBody }> {
    const payload = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          path: '/graphql',
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(payload),
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            try {
              resolve({
                status: res.statusCode ?? 0,
                json: JSON.parse(Buffer.concat(chunks).toString('utf8')),
              });
            } catch (error) {
              reject(error);
            }
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  const login = await post({
    query: 'mutation { login(username: "commander", password: "citygrid") { token } }',
  });
  const token = login.json.data?.login?.token;
  if (!token) throw new Error(`login failed: ${JSON.stringify(login.json)}`);

  const REPORT = 'mutation R($input: ReportCaseInput!) { reportCase(input: $input) { id } }';
  let seq = 0;
  function reportBody() {
    const i = seq++;
    const p = points[(i * 7919) % points.length]!;
    return {
      query: REPORT,
      variables: {
        input: {
          idempotencyKey: randomUUID(),
          categoryCode: cats[i % cats.length]!.code,
          description: `bench report ${i}`,
          location: { lon: p.lon, lat: p.lat },
        },
      },
    };
  }
  let failures = 0;
  async function oneReport(): Promise<void> {
    const r = await post(reportBody(), token);
    if (r.status !== 200 || r.json.errors || !r.json.data?.reportCase?.id) {
      failures++;
      if (failures <= 3) console.error('report failed:', r.status, JSON.stringify(r.json).slice(0, 300));
    }
  }

  // The server processes' CPU time (utime + stime, clock ticks of 10 ms), to tell a CPU-bound
  // server from one waiting on the database.
  const cpuMsOf = (pid: number): number => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  };
  const serverCpuMs = (): number => pids.reduce((sum, pid) => sum + cpuMsOf(pid), 0);
  // The same for the database backends serving an application_name (PostgreSQL on this machine),
  // to show what each report costs the database beside what a raw insert costs it. A backend
  // that starts during a step counts whole; one that ends during it is missed.
  const backendsCpu = async (application: string): Promise<Map<number, number>> => {
    const { rows } = await pool.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()',
      [application],
    );
    const cpu = new Map<number, number>();
    for (const { pid } of rows) {
      try {
        cpu.set(pid, cpuMsOf(pid));
      } catch {
        // Gone since, or on another machine: not counted.
      }
    }
    return cpu;
  };
  const backendsCpuSince = async (application: string, before: Map<number, number>): Promise<number> => {
    let total = 0;
    for (const [pid, ms] of await backendsCpu(application)) total += ms - (before.get(pid) ?? 0);
    return total;
  };
  // Group commit: statements the server wrote reports with, from its /metrics. With several
  // processes a scrape reaches one of them only, so the figure is printed for one process alone.
  const writeCounts = async (): Promise<{ statements: number; reports: number; fallbacks: number }> => {
    const text = await new Promise<string>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/metrics', agent }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
          res.on('error', reject);
        })
        .on('error', reject);
    });
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
    const singles = value('citygrid_report_statements_total\\{kind="single"\\}');
    return {
      statements: singles + value('citygrid_report_statements_total\\{kind="batch"\\}'),
      reports: singles + value('citygrid_report_batched_total'),
      fallbacks: value('citygrid_report_statements_total\\{kind="fallback"\\}'),
    };
  };
  const pct = (sorted: number[], q: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  const fmt = (ms: number) => ms.toFixed(1).padStart(7);
  const results: string[] = [];

  // Warm-up: JIT, pools, plan caches.
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = 0; i < 25; i++) await oneReport();
    }),
  );

  console.log(
    `\n1. concurrency sweep, ${SECONDS} s each (server: ${pids.length > 1 ? `${pids.length - 1} processes behind one port` : 'one process'}, pool ${POOL} each)`,
  );
  console.log(
    'clients   reports/s   p50 ms   p95 ms   p99 ms   max ms   failed   server CPU ms/report   db CPU ms/report   load generator CPU ms/report   reports/statement',
  );
  let best = 0;
  for (const clients of CONCURRENCY) {
    const latencies: number[] = [];
    failures = 0;
    const cpu0 = serverCpuMs();
    const db0 = await backendsCpu('citygrid-bench');
    const writes0 = await writeCounts();
    const own0 = process.cpuUsage();
    const stopAt = performance.now() + SECONDS * 1000;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (performance.now() < stopAt) {
          const t0 = performance.now();
          await oneReport();
          latencies.push(performance.now() - t0);
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const rate = latencies.length / elapsed;
    best = Math.max(best, rate);
    const own = process.cpuUsage(own0);
    const ownMs = (own.user + own.system) / 1000;
    const cpuMs = serverCpuMs() - cpu0;
    const dbMs = await backendsCpuSince('citygrid-bench', db0);
    const writes1 = await writeCounts();
    const perStatement =
      pids.length > 1
        ? '—'
        : `${((writes1.reports - writes0.reports) / Math.max(1, writes1.statements - writes0.statements)).toFixed(1)}${writes1.fallbacks > writes0.fallbacks ? ` (${writes1.fallbacks - writes0.fallbacks} fell back)` : ''}`;
    const line = `${String(clients).padStart(7)} ${rate.toFixed(0).padStart(11)} ${fmt(pct(latencies, 0.5))}  ${fmt(pct(latencies, 0.95))}  ${fmt(pct(latencies, 0.99))}  ${fmt(latencies.at(-1) ?? NaN)}   ${String(failures).padStart(6)}   ${(cpuMs / latencies.length).toFixed(1).padStart(8)}   ${(dbMs / latencies.length).toFixed(1).padStart(20)}   ${(ownMs / latencies.length).toFixed(1).padStart(28)}   ${perStatement.padStart(17)}`;
    console.log(line);
    results.push(line);
  }

  console.log(`\n2. fixed rate ${RATE} reports/s for ${FIXED_SECONDS} s (latency from the scheduled send)`);
  {
    failures = 0;
    const latencies: number[] = [];
    const total = RATE * FIXED_SECONDS;
    const t0 = performance.now();
    const inflight: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const due = t0 + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      inflight.push(oneReport().then(() => void latencies.push(performance.now() - due)));
    }
    await Promise.all(inflight);
    const elapsed = (performance.now() - t0) / 1000;
    latencies.sort((a, b) => a - b);
    console.log(
      `sent ${total} in ${elapsed.toFixed(1)} s (${(total / elapsed).toFixed(0)}/s): p50 ${pct(latencies, 0.5).toFixed(1)} ms, p95 ${pct(latencies, 0.95).toFixed(1)} ms, p99 ${pct(latencies, 0.99).toFixed(1)} ms, max ${(latencies.at(-1) ?? NaN).toFixed(1)} ms, failed ${failures}`,
    );
  }

  console.log(
    `\n3. raw SQL: INSERT case with grid lookup (ST_Contains), autocommit, ${RAW_CONNECTIONS} connections, ${SECONDS} s`,
  );
  let raw = 0;
  {
    let n = 0;
    const catIds = cats.map((c) => c.id);
    const db0 = await backendsCpu('citygrid-bench-raw');
    const stopAt = performance.now() + SECONDS * 1000;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: RAW_CONNECTIONS }, async () => {
        const client = await pool.connect();
        try {
          while (performance.now() < stopAt) {
            const i = seq++;
            const p = points[(i * 7919) % points.length]!;
            await client.query({
              name: 'raw-report',
              text: `INSERT INTO cases (code, status, version, category_id, description, location, grid_cell_id,
                                        community_id, street_id, district_id, city_id, source, idempotency_key)
                     SELECT 'RAW' || nextval('case_code_seq'), 'REPORTED', 1, $1::bigint, 'raw', pt, g.id,
                            g.community_id, g.street_id, g.district_id, g.city_id, 'COMMANDER', $4::text
                     FROM (SELECT ST_SetSRID(ST_MakePoint($2::float8, $3::float8), 4326) AS pt) s
                     JOIN grid_cells g ON ST_Contains(g.geom, s.pt)
                     LIMIT 1`,
              values: [catIds[i % catIds.length], p.lon, p.lat, randomUUID()],
            });
            n++;
          }
        } finally {
          client.release();
        }
      }),
    );
    raw = n / ((performance.now() - started) / 1000);
    const dbMs = (await backendsCpuSince('citygrid-bench-raw', db0)) / n;
    console.log(`${raw.toFixed(0)} inserts/s, db CPU ${dbMs.toFixed(1)} ms/insert`);
  }

  console.log('\nsummary');
  console.log(`best reportCase throughput over HTTP: ${best.toFixed(0)} reports/s (goal ≥ 1,000)`);
  console.log(`raw SQL insert-with-grid-lookup:      ${raw.toFixed(0)} inserts/s`);
  console.log(`reportCase / raw:                     ${((100 * best) / raw).toFixed(0)} % (goal ≥ 30 %)`);
  await pool.end();
  agent.destroy();
} finally {
  await cleanup();
}
