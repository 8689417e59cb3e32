/**
 * Export benchmark: `pnpm --filter @citygrid/test bench:export [cases]` (needs DATABASE_URL; makes a
 * database `citygrid_bench_export_<pid>` it drops at the end). Not part of `pnpm test`.
 *
 * Inserts N cases (default 1,000,000; generate_series in SQL) into a scratch database, then in
 * separate child processes (so each has its own peak RSS):
 *   stream — `GET /export/cases.csv` through a real server (server-side cursor, 2,000-row batches,
 *            backpressure), the client counting bytes and lines as they arrive;
 *   naive  — the same rows loaded in one go (one FETCH of everything) and turned into one CSV string.
 * Prints rows/s and peak RSS for both.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { migrate, openDatabase } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { makeCategory, makeTestCity, makeUser } from '../../api/factories';
import { testEnv } from '../../helpers/env';
import { withDatabase } from '../../helpers/global-setup';

const CASES = Number(process.argv[2] ?? 1_000_000);

if (!testEnv.databaseUrl)
  throw new Error('set DATABASE_URL (a PostgreSQL with PostGIS) to run this benchmark');
const name = `citygrid_bench_export_${process.pid}`;
const url = withDatabase(testEnv.databaseUrl, name);
const admin = new pg.Client({ connectionString: testEnv.databaseUrl });
await admin.connect();
await admin.query(`DROP DATABASE IF EXISTS ${name}`);
await admin.query(`CREATE DATABASE ${name}`);

try {
  const database = await openDatabase({ url, poolSize: 2 });
  let commander: string;
  try {
    await migrate(database);
    const db = database.db;
    const city = await makeTestCity(db, { lon: 104.0, lat: 30.5 });
    const category = await makeCategory(db);
    commander = (await makeUser(db, { role: 'COMMANDER', regionId: city.cityId })).username;
    const cells = [...city.districts.A.cells, ...city.districts.B.cells];
    const started = performance.now();
    // In chunks of 100k so no one statement's WAL and locks grow without bound.
    for (let from = 1; from <= CASES; from += 100_000) {
      const to = Math.min(CASES, from + 99_999);
      await db.execute(sql`
        INSERT INTO cases (code, status, version, category_id, description, address, location, grid_cell_id,
                           community_id, street_id, district_id, city_id, source, reported_at, handle_due_at)
        SELECT 'BX' || n, (ARRAY['REPORTED', 'FILED', 'DISPATCHED', 'IN_PROGRESS', 'RESOLVED', 'CLOSED']::case_status[])[1 + n % 6],
               1, ${category.id}::bigint,
               '路面破损, 需要修补 "第' || n || '号"', '测试路' || (n % 500) || '号',
               ST_SetSRID(ST_MakePoint(ST_X(ST_PointOnSurface(g.geom)) + (n % 97) * 1e-5,
                                       ST_Y(ST_PointOnSurface(g.geom)) + (n % 89) * 1e-5), 4326),
               g.id, g.community_id, g.street_id, g.district_id, g.city_id, 'WORKER',
               '2030-01-01T00:00:00Z'::timestamptz + make_interval(secs => n * 3),
               '2030-01-01T08:00:00Z'::timestamptz + make_interval(secs => n * 3)
        FROM generate_series(${from}::int, ${to}::int) AS n
        JOIN grid_cells g ON g.id = (${sql.raw(`ARRAY[${cells.join(',')}]::bigint[]`)})[1 + n % ${cells.length}]`);
    }
    await db.execute(sql`VACUUM ANALYZE cases`);
    console.log(
      `inserted ${CASES.toLocaleString('en')} cases in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  } finally {
    await database.close();
  }

  const child = fileURLToPath(new URL('./child.ts', import.meta.url));
  for (const mode of ['stream', 'naive'] as const) {
    const output = await new Promise<string>((resolve, reject) => {
      const p = spawn(process.execPath, ['--import', 'tsx', child, url, mode, commander], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      p.stdout.on('data', (d) => {
        out += d;
      });
      p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${mode} child exited ${code}`))));
    });
    const r = JSON.parse(output.trim().split('\n').at(-1)!) as {
      rows: number;
      bytes: number;
      seconds: number;
      peakRssMb: number;
      baselineRssMb: number;
    };
    console.log(
      `${mode.padEnd(7)} ${r.rows.toLocaleString('en').padStart(10)} rows  ${(r.bytes / 1e6).toFixed(0).padStart(5)} MB  ` +
        `${r.seconds.toFixed(1).padStart(6)} s  ${Math.round(r.rows / r.seconds)
          .toLocaleString('en')
          .padStart(8)} rows/s  ` +
        `peak RSS ${r.peakRssMb.toFixed(0)} MB (at start ${r.baselineRssMb.toFixed(0)} MB)`,
    );
  }
} finally {
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}
