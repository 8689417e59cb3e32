/**
 * Dispatch-suggestion benchmark: `pnpm --filter @citygrid/test bench:dispatch` (needs DATABASE_URL;
 * makes a database `citygrid_bench_dispatch_<pid>` it drops at the end).
 *
 * A migrated database with a test city, 5,000 grid workers around it (60 % on duty, 60 % in the
 * case's scope, 200 of them carrying open cases, one grid worker per cell) and 200 filed cases.
 * Measures, one call at a time after a warm-up:
 *   raw KNN     — the bare index query: 20 nearest on-duty positions (`<->`, partial GiST);
 *   domain      — `dispatchSuggestions(db, actor, caseId, 5)`: the case read with scope, KNN with the
 *                 scope filter, metres via geography, workload, the cell's workers, the department;
 *   GraphQL     — the same through HTTP `POST /graphql` (auth, parsing, loaders for worker/department).
 * Prints p50/p95/p99 in milliseconds. Goal: p99 of the domain call under 10 ms.
 */
import { randomBytes } from 'node:crypto';
import { migrate, openDatabase, rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { dispatchSuggestions } from '../../../server/src/domain/dispatch/suggestions';
import {
  cellCentre,
  makeCase,
  makeCategory,
  makeDepartment,
  makeTestCity,
  makeUser,
} from '../../api/factories';
import { testEnv } from '../../helpers/env';
import { withDatabase } from '../../helpers/global-setup';
import { startTestServer } from '../../helpers/server';

const ITERATIONS = Number(process.argv[2] ?? 2000);
const WORKERS = 5000;

if (!testEnv.databaseUrl)
  throw new Error('set DATABASE_URL (a PostgreSQL with PostGIS) to run this benchmark');
const name = `citygrid_bench_dispatch_${process.pid}`;
const admin = new pg.Client({ connectionString: testEnv.databaseUrl });
await admin.connect();
await admin.query(`DROP DATABASE IF EXISTS ${name}`);
await admin.query(`CREATE DATABASE ${name}`);
const database = await openDatabase({ url: withDatabase(testEnv.databaseUrl, name), poolSize: 4 });

try {
  await migrate(database);
  const db = database.db;
  const city = await makeTestCity(db, { lon: 104.0, lat: 30.5 });
  const { A, B } = city.districts;
  const dept = await makeDepartment(db, city.cityId);
  const category = await makeCategory(db, { departmentId: dept.id });
  const commander = await makeUser(db, { role: 'COMMANDER', regionId: city.cityId });
  const [commanderRow] = await rows<{ region: number }>(
    db,
    sql`SELECT region_id::int AS region FROM users WHERE id = ${commander.id}`,
  );
  const actor = { id: commander.id, role: 'COMMANDER' as const, regionId: commanderRow!.region };

  // Workers uniformly over a 6 km square around the city, in bulk.
  const [hash] = await rows<{ h: string }>(db, sql`SELECT password_hash AS h FROM users LIMIT 1`);
  const centre = { lon: city.origin.lon + 2 / 128, lat: city.origin.lat + 1 / 128 };
  const inScope = [city.cityId, A.id, B.id, A.streetId, B.streetId];
  const outOfScope = [(await makeTestCity(db, { lon: 105, lat: 31 })).cityId];
  const tag = randomBytes(3).toString('hex');
  const specs = Array.from({ length: WORKERS }, (_, n) => {
    const scoped = Math.random() < 0.6;
    const pool = scoped ? inScope : outOfScope;
    return {
      n,
      region: pool[Math.floor(Math.random() * pool.length)]!,
      lon: centre.lon + (Math.random() - 0.5) * 0.062,
      lat: centre.lat + (Math.random() - 0.5) * 0.054,
      onDuty: Math.random() < 0.6,
    };
  });
  await db.execute(sql`
    WITH w AS (
      INSERT INTO users (username, password_hash, display_name, role, region_id)
      SELECT 'bench-' || ${tag} || '-' || n, ${hash!.h}, 'bench ' || n, 'WORKER', region
      FROM json_to_recordset(${JSON.stringify(specs)}::json) AS x(n int, region bigint)
      RETURNING id, substring(username from '[0-9]+$')::int AS n)
    INSERT INTO worker_positions (user_id, location, accuracy_meters, on_duty, at)
    SELECT w.id, ST_SetSRID(ST_MakePoint(x.lon, x.lat), 4326), 5, x."onDuty", now()
    FROM w JOIN json_to_recordset(${JSON.stringify(specs)}::json) AS x(n int, lon float8, lat float8, "onDuty" boolean)
      ON x.n = w.n`);
  // One grid worker per cell, and open cases for 200 workers.
  for (const cell of [...A.cells, ...B.cells]) {
    await db.execute(sql`
      INSERT INTO grid_cell_workers (grid_cell_id, user_id)
      SELECT ${cell}::bigint, id FROM users WHERE username LIKE ${`bench-${tag}-%`} ORDER BY random() LIMIT 1`);
  }
  const caseIds: number[] = [];
  for (let i = 0; i < 200; i++) {
    const district = i % 2 === 0 ? A : B;
    const index = (i % 4) as 0 | 1 | 2 | 3;
    const c = cellCentre(district, index);
    const point = { lon: c.lon + (Math.random() - 0.5) / 256, lat: c.lat + (Math.random() - 0.5) / 256 };
    caseIds.push(
      await makeCase(db, { categoryId: category.id, cellId: district.cells[index], point, status: 'FILED' }),
    );
  }
  // Half the cases are already dispatched to random workers: open workload to count.
  await db.execute(sql`
    UPDATE cases SET status = 'DISPATCHED',
      assignee_id = (SELECT u.id FROM users u
                     WHERE u.username LIKE ${`bench-${tag}-%`} AND cases.id > 0 ORDER BY random() LIMIT 1)
    WHERE id IN (SELECT id FROM cases ORDER BY id LIMIT 100)`);
  await db.execute(sql`ANALYZE`);

  const pick = () => caseIds[Math.floor(Math.random() * caseIds.length)]!;
  const points = await rows<{ id: number; lon: number; lat: number }>(
    db,
    sql`SELECT id::int AS id, ST_X(location) AS lon, ST_Y(location) AS lat FROM cases`,
  );
  const pointOf = new Map(points.map((p) => [p.id, p]));

  async function measure(label: string, fn: () => Promise<unknown>) {
    for (let i = 0; i < 200; i++) await fn();
    const times: number[] = [];
    for (let i = 0; i < ITERATIONS; i++) {
      const t = performance.now();
      await fn();
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!.toFixed(2);
    console.log(
      `${label.padEnd(44)} p50 ${q(0.5).padStart(6)} ms   p95 ${q(0.95).padStart(6)} ms   p99 ${q(0.99).padStart(6)} ms`,
    );
  }

  console.log(`dispatch suggestions: ${WORKERS} workers, ${caseIds.length} cases, ${ITERATIONS} calls each`);
  await measure('raw KNN (20 nearest on duty, partial GiST)', () => {
    const p = pointOf.get(pick())!;
    return rows(
      db,
      sql`SELECT user_id FROM worker_positions WHERE on_duty
          ORDER BY location <-> ST_SetSRID(ST_MakePoint(${p.lon}::float8, ${p.lat}::float8), 4326) LIMIT 20`,
    );
  });
  await measure('dispatchSuggestions (domain, limit 5)', () => dispatchSuggestions(db, actor, pick(), 5));

  const server = await startTestServer(database);
  try {
    const token = await server.login(commander.username);
    await measure('dispatchSuggestions over HTTP GraphQL', async () => {
      const { errors } = await server.graphql(
        `query S($id: ID!) { dispatchSuggestions(caseId: $id, limit: 5) {
           kind worker { id username } department { id } distanceMeters openCases score reasons } }`,
        { id: String(pick()) },
        token,
      );
      if (errors) throw new Error(JSON.stringify(errors));
    });
  } finally {
    await server.close();
  }
  const plan = await rows<{ 'QUERY PLAN': string }>(
    db,
    sql`EXPLAIN SELECT user_id FROM worker_positions WHERE on_duty
        ORDER BY location <-> ST_SetSRID(ST_MakePoint(${centre.lon}::float8, ${centre.lat}::float8), 4326) LIMIT 20`,
  );
  console.log(`raw KNN plan: ${plan.map((r) => r['QUERY PLAN'].trim()).join(' | ')}`);
} finally {
  await database.close();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}
