/**
 * The benchmark city: the demo city with its cases topped up to a million (or BENCH_CASES), in a
 * database kept between runs (`citygrid_bench_city`; BENCH_FRESH=1 builds it again). Shared by the
 * tile and map benchmarks.
 */
import { migrate, openDatabase } from '@citygrid/db';
import { seedDemoCity } from '@citygrid/db/seed';
import pg from 'pg';

export const BENCH_CITY_DB = 'citygrid_bench_city';

export function databaseUrl(adminUrl: string, name: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Makes sure the bench city exists with at least `cases` cases; returns its URL. */
export async function ensureBenchCity(adminUrl: string, cases: number, fresh: boolean): Promise<string> {
  const url = databaseUrl(adminUrl, BENCH_CITY_DB);
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [BENCH_CITY_DB]))
    .rowCount;
  if (fresh || !exists) {
    await admin.query(`DROP DATABASE IF EXISTS ${BENCH_CITY_DB} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${BENCH_CITY_DB}`);
    const database = await openDatabase({ url, poolSize: 2 });
    await migrate(database);
    console.log('seeding the demo city…');
    await seedDemoCity(database.db);
    await database.close();
  } else {
    // An existing bench city may predate the newest migrations.
    const database = await openDatabase({ url, poolSize: 2 });
    await migrate(database);
    await database.close();
  }
  await admin.end();

  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const have = Number((await client.query('SELECT count(*) AS n FROM cases')).rows[0].n);
  if (have < cases) {
    const missing = cases - have;
    console.log(`adding ${missing.toLocaleString()} cases (${have.toLocaleString()} there)…`);
    const started = Date.now();
    // Cases spread over every grid cell at its label point ± ~100 m, in every status, over a year;
    // about one open case in five is past its handling deadline. Deadlines are spread (the past ones
    // over the last 30 days, the others over the next 7), as a city's are: all at one instant, a
    // single day would hold the evaluation's whole `due` cohort. In chunks, so progress shows.
    const chunk = 200_000;
    for (let done = 0; done < missing; done += chunk) {
      const n = Math.min(chunk, missing - done);
      await client.query(
        `WITH cells AS (
           SELECT row_number() OVER (ORDER BY id) AS k, id, community_id, street_id, district_id, city_id,
                  ST_PointOnSurface(geom) AS p
           FROM grid_cells),
         total AS (SELECT count(*) AS n FROM cells),
         cats AS (SELECT array_agg(id ORDER BY id) AS ids FROM categories)
         INSERT INTO cases (code, status, version, category_id, description, location, grid_cell_id, community_id,
                            street_id, district_id, city_id, source, reported_at, handle_due_at, priority)
         SELECT 'BN' || ($2::bigint + g.n), st.status::case_status, 1, cats.ids[1 + (g.n % array_length(cats.ids, 1))],
                'bench case', ST_SetSRID(ST_MakePoint(ST_X(c.p) + (random() - 0.5) * 0.002,
                                                       ST_Y(c.p) + (random() - 0.5) * 0.002), 4326),
                c.id, c.community_id, c.street_id, c.district_id, c.city_id, 'WORKER',
                now() - random() * interval '365 days',
                CASE WHEN g.n % 5 = 0 THEN now() - random() * interval '30 days'
                     ELSE now() + random() * interval '7 days' END,
                (ARRAY['NORMAL', 'NORMAL', 'NORMAL', 'HIGH', 'URGENT'])[1 + g.n % 5]::case_priority
         FROM generate_series(1, $1::int) AS g(n)
         CROSS JOIN total CROSS JOIN cats
         JOIN cells c ON c.k = 1 + (hashint8(g.n + $2::bigint) & 2147483647) % total.n
         CROSS JOIN LATERAL (SELECT (ARRAY['REPORTED','FILED','DISPATCHED','IN_PROGRESS','RESOLVED','CLOSED','CLOSED',
                                           'CLOSED','CLOSED','REJECTED'])[1 + (g.n * 7) % 10] AS status) st`,
        [n, have + done],
      );
      process.stdout.write(`  ${(done + n).toLocaleString()} / ${missing.toLocaleString()}\n`);
    }
    // VACUUM too: the per-cell counts are index-only scans, which need the pages marked all-visible.
    await client.query('VACUUM (ANALYZE)');
    console.log(`  done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  await client.end();
  return url;
}
