/**
 * Dispatch suggestions with 5,000 workers around a case: the nearest on-duty worker who may act on
 * the case comes first; off-duty workers and workers outside the case's scope never appear; the
 * cell's own worker and open workload move the ranking, and each suggestion says why.
 */
import { rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { testDatabase } from '../helpers/db';
import { startTestServer, type TestServer } from '../helpers/server';
import {
  cellCentre,
  makeCase,
  makeCategory,
  makeDepartment,
  makeTestCity,
  makeUser,
  type TestCity,
} from './factories';

const database = await testDatabase();
const db = database.db;
let server: TestServer;
let city: TestCity;
let other: TestCity;
let caseId: number;
let commander: string;
let departmentId: number;
const casePoint = { lon: 0, lat: 0 };

/** Worker ids by what the test expects of them. */
const eligible = new Set<number>();
const ineligible = new Set<number>();
let nearestEligible: number;
/** The test's own distance to the case (metres on a local plane; close enough at these ranges). */
const expectedMeters = new Map<number, number>();

/** A deterministic PRNG (mulberry32) so the layout is the same every run. */
function rng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const M_PER_DEG_LAT = 111_320;
const offset = (dxM: number, dyM: number) => ({
  lon: casePoint.lon + dxM / (M_PER_DEG_LAT * Math.cos((casePoint.lat * Math.PI) / 180)),
  lat: casePoint.lat + dyM / M_PER_DEG_LAT,
});

interface WorkerSpec {
  region: number;
  onDuty: boolean;
  at: { lon: number; lat: number };
}

/** Inserts workers and their positions in two statements; returns their ids in order. */
async function insertWorkers(specs: WorkerSpec[]): Promise<number[]> {
  const [hash] = await rows<{ h: string }>(db, sql`SELECT password_hash AS h FROM users LIMIT 1`);
  const tag = Math.random().toString(36).slice(2, 8);
  const ids = await rows<{ id: number; n: number }>(
    db,
    sql`INSERT INTO users (username, password_hash, display_name, role, region_id)
        SELECT 'bulk-' || ${tag} || '-' || n, ${hash!.h}, '批量网格员' || n, 'WORKER', region
        FROM json_to_recordset(${JSON.stringify(specs.map((s, n) => ({ n, region: s.region })))}::json)
          AS x(n int, region bigint)
        ORDER BY n
        RETURNING id::int AS id, substring(username from '[0-9]+$')::int AS n`,
  );
  const byN = new Map(ids.map((r) => [r.n, r.id]));
  const positions = specs.map((s, n) => ({
    user: byN.get(n),
    lon: s.at.lon,
    lat: s.at.lat,
    onDuty: s.onDuty,
  }));
  await db.execute(sql`
    INSERT INTO worker_positions (user_id, location, accuracy_meters, on_duty, at)
    SELECT "user", ST_SetSRID(ST_MakePoint(lon, lat), 4326), 5, "onDuty", now()
    FROM json_to_recordset(${JSON.stringify(positions)}::json)
      AS p("user" bigint, lon float8, lat float8, "onDuty" boolean)`);
  return specs.map((_, n) => byN.get(n)!);
}

interface Suggestion {
  kind: 'WORKER' | 'DEPARTMENT';
  worker: { id: string } | null;
  department: { id: string } | null;
  distanceMeters: number | null;
  openCases: number;
  score: number;
  reasons: string[];
  explanation: string;
}

const QUERY = `query S($id: ID!, $limit: Int) {
  dispatchSuggestions(caseId: $id, limit: $limit) {
    kind worker { id } department { id } distanceMeters openCases score reasons explanation
  }
}`;

async function suggestions(limit: number, token = commander): Promise<Suggestion[]> {
  const { data, errors } = await server.graphql<{ dispatchSuggestions: Suggestion[] }>(
    QUERY,
    { id: String(caseId), limit },
    token,
  );
  expect(errors).toBeUndefined();
  return data!.dispatchSuggestions;
}

beforeAll(async () => {
  server = await startTestServer(database);
  city = await makeTestCity(db, { lon: 104.0, lat: 30.5 });
  other = await makeTestCity(db, { lon: 104.25, lat: 30.75 });
  const { A, B } = city.districts;
  Object.assign(casePoint, cellCentre(A, 0));
  const dept = await makeDepartment(db, city.cityId);
  departmentId = dept.id;
  const category = await makeCategory(db, { departmentId: dept.id });
  caseId = await makeCase(db, {
    categoryId: category.id,
    cellId: A.cells[0],
    point: casePoint,
    status: 'FILED',
  });
  commander = await server.login((await makeUser(db, { role: 'COMMANDER', regionId: city.cityId })).username);

  // Scopes that may act on a case in district A: the city, district A, its street, its community.
  const inScope = [city.cityId, A.id, A.streetId, A.communityId];
  const outOfScope = [B.id, B.streetId, other.cityId, other.districts.A.id];
  const random = rng(42);
  const specs: WorkerSpec[] = [];
  const meters: number[] = [];
  // Decoys nearer than anyone eligible: off duty, another district, another city.
  specs.push({ region: A.id, onDuty: false, at: offset(3, 0) });
  specs.push({ region: B.id, onDuty: true, at: offset(0, 6) });
  specs.push({ region: other.cityId, onDuty: true, at: offset(-8, 0) });
  specs.push({ region: A.id, onDuty: true, at: offset(12, 16) }); // the nearest eligible: 20 m
  meters.push(3, 6, 8, 20);
  while (specs.length < 5000) {
    // Uniform in a 6 km square, but never within 100 m of the case.
    const dx = (random() - 0.5) * 6000;
    const dy = (random() - 0.5) * 6000;
    const d = Math.hypot(dx, dy);
    if (d < 100) continue;
    const onDuty = random() < 0.6;
    const scoped = random() < 0.6;
    const pool = scoped ? inScope : outOfScope;
    specs.push({ region: pool[Math.floor(random() * pool.length)]!, onDuty, at: offset(dx, dy) });
    meters.push(d);
  }
  const ids = await insertWorkers(specs);
  ids.forEach((id, i) => {
    const s = specs[i]!;
    expectedMeters.set(id, meters[i]!);
    (s.onDuty && inScope.includes(s.region) ? eligible : ineligible).add(id);
  });
  nearestEligible = ids[3]!;
}, 120_000);

afterAll(() => server?.close());

describe('dispatch suggestions over 5,000 workers', () => {
  test('the nearest on-duty worker in scope comes first; off-duty and out-of-scope never appear', async () => {
    const result = await suggestions(20);
    const workers = result.filter((s) => s.kind === 'WORKER');
    expect(workers).toHaveLength(20);
    expect(Number(workers[0]!.worker!.id)).toBe(nearestEligible);
    expect(workers[0]!.distanceMeters!).toBeCloseTo(20, 0);
    expect(workers[0]!.reasons).toEqual(expect.arrayContaining(['NEAREST', 'NEARBY', 'FREE']));
    for (const w of workers) {
      const id = Number(w.worker!.id);
      expect(ineligible.has(id)).toBe(false);
      expect(eligible.has(id)).toBe(true);
      // Geography distance agrees with the test's planar one to within a metre per kilometre.
      expect(Math.abs(w.distanceMeters! - expectedMeters.get(id)!)).toBeLessThan(
        1 + w.distanceMeters! / 1000,
      );
    }
    // No loads and no cell assignments: the order is by distance, and it is the true top 20.
    const distances = workers.map((w) => w.distanceMeters!);
    expect(distances).toEqual([...distances].sort((a, b) => a - b));
    const trueTop = [...eligible]
      .sort((a, b) => expectedMeters.get(a)! - expectedMeters.get(b)!)
      .slice(0, 20);
    expect(workers.map((w) => Number(w.worker!.id))).toEqual(trueTop);
    // Then the category's department.
    const last = result.at(-1)!;
    expect(last.kind).toBe('DEPARTMENT');
    expect(Number(last.department!.id)).toBe(departmentId);
    expect(last.reasons).toEqual(['CATEGORY_DEPARTMENT']);
  });

  test("the cell's own worker is preferred and open workload is penalised, and they say so", async () => {
    // A small scene in the other city (35 km away from the crowd): a case and three workers.
    const { A } = other.districts;
    const point = cellCentre(A, 0);
    const category = await makeCategory(db);
    const scene = await makeCase(db, { categoryId: category.id, cellId: A.cells[0], point, status: 'FILED' });
    const at = (dxM: number) => ({
      lon: point.lon + dxM / (M_PER_DEG_LAT * Math.cos((point.lat * Math.PI) / 180)),
      lat: point.lat,
    });
    const [busy, plain, cellWorker] = await insertWorkers([
      { region: other.cityId, onDuty: true, at: at(50) },
      { region: other.cityId, onDuty: true, at: at(300) },
      { region: A.id, onDuty: true, at: at(900) },
    ]);
    // The nearest has three open cases (3 × 400 m); the farthest is the cell's own worker (−800 m).
    for (let i = 0; i < 3; i++) {
      const id = await makeCase(db, {
        categoryId: category.id,
        cellId: A.cells[1],
        point: cellCentre(A, 1),
        status: 'DISPATCHED',
      });
      await db.execute(sql`UPDATE cases SET assignee_id = ${busy!} WHERE id = ${id}`);
    }
    await db.execute(
      sql`INSERT INTO grid_cell_workers (grid_cell_id, user_id) VALUES (${A.cells[0]}, ${cellWorker!})`,
    );
    const token = await server.login(
      (await makeUser(db, { role: 'COMMANDER', regionId: other.cityId })).username,
    );
    const { data, errors } = await server.graphql<{ dispatchSuggestions: Suggestion[] }>(
      QUERY,
      { id: String(scene), limit: 3 },
      token,
    );
    expect(errors).toBeUndefined();
    const ranked = data!.dispatchSuggestions.filter((s) => s.kind === 'WORKER');
    // Costs: cell worker 900 − 800 = 100, plain 300, busy 50 + 1200 = 1250.
    expect(ranked.map((s) => Number(s.worker!.id))).toEqual([cellWorker, plain, busy]);
    expect(ranked[0]!.reasons).toEqual(['GRID_WORKER', 'FREE']);
    expect(ranked[0]!.explanation).toContain('assigned to this grid cell');
    expect(ranked[1]!.reasons).toEqual(['NEARBY', 'FREE']);
    expect(ranked[2]!.reasons).toEqual(['NEAREST', 'NEARBY', 'BUSY']);
    expect(ranked[2]!.openCases).toBe(3);
    expect(ranked[2]!.explanation).toContain('3 open cases');
    const scores = ranked.map((s) => s.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    // The category has no default department here: no department suggestion.
    expect(data!.dispatchSuggestions.every((s) => s.kind === 'WORKER')).toBe(true);
  });

  test('only commanders and admins ask; a case outside the scope is NOT_FOUND; limit is checked', async () => {
    const department = await makeUser(db, { role: 'DEPARTMENT', regionId: city.cityId, departmentId });
    const { errors } = await server.graphql(
      QUERY,
      { id: String(caseId) },
      await server.login(department.username),
    );
    expect(errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const commanderB = await makeUser(db, { role: 'COMMANDER', regionId: city.districts.B.id });
    const outside = await server.graphql(
      QUERY,
      { id: String(caseId) },
      await server.login(commanderB.username),
    );
    expect(outside.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const tooMany = await server.graphql(QUERY, { id: String(caseId), limit: 500 }, commander);
    expect(tooMany.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  test('the KNN query reads the partial on-duty GiST index', async () => {
    const plan = await rows<{ 'QUERY PLAN': string }>(
      db,
      sql`EXPLAIN SELECT user_id FROM worker_positions WHERE on_duty
          ORDER BY location <-> ST_SetSRID(ST_MakePoint(${casePoint.lon}::float8, ${casePoint.lat}::float8), 4326) LIMIT 5`,
    );
    expect(plan.map((r) => r['QUERY PLAN']).join('\n')).toContain('worker_positions_on_duty_gist');
  });
});
