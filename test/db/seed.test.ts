/**
 * The demo city seed: counts in range, the demo logins, reference data, a place hierarchy whose
 * grid cells tile every community with no gaps or overlaps over the contract's bounding box, a
 * case history whose every trail is consistent, the sensor fleet, and determinism (same seed and
 * `now` on two fresh databases give the same rows).
 *
 * The seed nodes every boundary once on a fixed grid, so neighbours share edges exactly and the
 * tiling checks are exact predicates (ST_CoveredBy, ST_Relate), not area tolerances. Areas are
 * compared in the lon/lat plane of SRID 4326, where the edges are straight (a `::geography` area
 * reads a long straight edge as a great-circle arc); degree² convert to m² at the city's latitude.
 * Each geometric check counts rows and asserts the count, so an empty result cannot pass.
 */
import {
  demoDeviceSecret,
  dumpEmbedded,
  type Executor,
  hashSecret,
  openDatabase,
  rows,
  verifyPassword,
} from '@citygrid/db';
import { DEFAULT_NOW, seedDemoCity } from '@citygrid/db/seed';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase } from '../helpers/db';
import { caseViolations } from './case-invariants';
import { freshDatabase } from './fresh';

const database = await testDatabase();
const db = database.db;

/** m² per degree² at Tongren's latitude (27.72° N). */
const M2_PER_DEG2 = 111_320 * Math.cos((27.72 * Math.PI) / 180) * 110_574;
/** A square millimetre: for sums of areas, which float addition rounds. */
const TOLERANCE_DEG2 = 1e-6 / M2_PER_DEG2;

const one = async <T>(query: ReturnType<typeof sql>): Promise<T> => {
  const [row] = await rows<T>(db, query);
  if (!row) throw new Error('query returned no row');
  return row;
};

describe('counts', () => {
  it.each([
    ['CITY regions', sql`SELECT count(*)::int AS n FROM regions WHERE level = 'CITY'`, 1, 1],
    ['DISTRICT regions', sql`SELECT count(*)::int AS n FROM regions WHERE level = 'DISTRICT'`, 4, 4],
    ['STREET regions', sql`SELECT count(*)::int AS n FROM regions WHERE level = 'STREET'`, 18, 22],
    ['COMMUNITY regions', sql`SELECT count(*)::int AS n FROM regions WHERE level = 'COMMUNITY'`, 70, 95],
    ['grid cells', sql`SELECT count(*)::int AS n FROM grid_cells`, 1000, 3000],
    ['categories', sql`SELECT count(*)::int AS n FROM categories`, 25, 40],
    ['departments', sql`SELECT count(*)::int AS n FROM departments`, 7, 15],
    ['cases', sql`SELECT count(*)::int AS n FROM cases`, 1800, 2200],
    ['case events', sql`SELECT count(*)::int AS n FROM case_events`, 8000, 20000],
    ['sensors', sql`SELECT count(*)::int AS n FROM sensors`, 180, 220],
    ['sensor kinds', sql`SELECT count(DISTINCT kind)::int AS n FROM sensors`, 5, 10],
    ['alarm rules', sql`SELECT count(*)::int AS n FROM alarm_rules`, 6, 20],
  ])('%s', async (_name, query, min, max) => {
    const { n } = await one<{ n: number }>(query);
    expect(n).toBeGreaterThanOrEqual(min);
    expect(n).toBeLessThanOrEqual(max);
  });
});

describe('demo users', () => {
  it('has the logins of the contract, each with its role and scope, all with password citygrid', async () => {
    const users = await rows<{
      username: string;
      role: string;
      level: string;
      department: string | null;
      passwordHash: string;
    }>(
      db,
      sql`SELECT u.username, u.role::text AS role, r.level::text AS level, d.code AS department,
                 u.password_hash AS "passwordHash"
          FROM users u JOIN regions r ON r.id = u.region_id LEFT JOIN departments d ON d.id = u.department_id`,
    );
    const byName = new Map(users.map((u) => [u.username, u]));
    const expected: [string, string, string, string | null][] = [
      ['admin', 'ADMIN', 'CITY', null],
      ['commander', 'COMMANDER', 'CITY', null],
      ['supervisor', 'SUPERVISOR', 'CITY', null],
      ['dept-sanitation', 'DEPARTMENT', 'CITY', 'sanitation'],
      ['dept-roads', 'DEPARTMENT', 'CITY', 'roads'],
      ['dept-water', 'DEPARTMENT', 'CITY', 'water'],
      ...Array.from(
        { length: 20 },
        (_, i) => [`worker${i + 1}`, 'WORKER', 'DISTRICT', null] as [string, string, string, null],
      ),
    ];
    for (const [username, role, level, department] of expected) {
      expect(byName.get(username), username).toMatchObject({ role, level, department });
    }
    const districts = await rows<{ code: string }>(
      db,
      sql`SELECT code FROM regions WHERE level = 'DISTRICT'`,
    );
    for (const { code } of districts) {
      expect(byName.get(`commander-${code}`), `commander-${code}`).toMatchObject({
        role: 'COMMANDER',
        level: 'DISTRICT',
      });
    }
    // One shared hash (argon2 runs once); it verifies the demo password and nothing else.
    const hashes = new Set(users.map((u) => u.passwordHash));
    expect(hashes.size).toBe(1);
    const [hash] = hashes;
    expect(await verifyPassword(hash ?? '', 'citygrid')).toBe(true);
    expect(await verifyPassword(hash ?? '', 'citygrid2')).toBe(false);
  });

  it('gives each worker 3–8 grid cells inside the district of his scope', async () => {
    const workers = await rows<{ username: string; cells: number; outside: number }>(
      db,
      sql`SELECT u.username, count(g.id)::int AS cells, count(g.id) FILTER (WHERE g.district_id <> u.region_id)::int AS outside
          FROM users u LEFT JOIN grid_cell_workers w ON w.user_id = u.id LEFT JOIN grid_cells g ON g.id = w.grid_cell_id
          WHERE u.role = 'WORKER' GROUP BY u.username`,
    );
    expect(workers).toHaveLength(20);
    for (const w of workers) {
      expect(w.cells, w.username).toBeGreaterThanOrEqual(3);
      expect(w.cells, w.username).toBeLessThanOrEqual(8);
      expect(w.outside, w.username).toBe(0);
    }
  });

  it('places on-duty workers inside their own cells', async () => {
    const positions = await rows<{ username: string; inOwnCell: boolean }>(
      db,
      sql`SELECT u.username, EXISTS (
                   SELECT 1 FROM grid_cell_workers w JOIN grid_cells g ON g.id = w.grid_cell_id
                   WHERE w.user_id = u.id AND ST_Intersects(g.geom, p.location)) AS "inOwnCell"
          FROM worker_positions p JOIN users u ON u.id = p.user_id WHERE p.on_duty`,
    );
    expect(positions.length).toBeGreaterThanOrEqual(10);
    expect(positions.filter((p) => !p.inOwnCell)).toEqual([]);
  });

  it('stores the Open311 demo key as its sha256', async () => {
    const { n } = await one<{ n: number }>(
      sql`SELECT count(*)::int AS n FROM api_keys WHERE key_hash = ${hashSecret('citygrid-demo')} AND revoked_at IS NULL`,
    );
    expect(n).toBe(1);
  });
});

describe('reference data', () => {
  it('gives every category a department, keywords, both names and a deadline per priority and stage', async () => {
    const problems = await rows<{ code: string }>(
      db,
      sql`SELECT c.code FROM categories c
          WHERE c.default_department_id IS NULL OR cardinality(c.keywords) = 0 OR c.name = '' OR c.name_en = ''
             OR c.code <> c.major_code || '-' || c.minor_code
             OR (SELECT count(*) FROM category_deadlines d
                 WHERE d.category_id = c.id AND d.minutes > 0
                   AND d.working_time = (d.priority <> 'URGENT')) <> 12`,
    );
    expect(problems).toEqual([]);
    const kinds = await rows<{ kind: string; n: number }>(
      db,
      sql`SELECT kind::text AS kind, count(*)::int AS n FROM categories GROUP BY kind ORDER BY kind`,
    );
    expect(kinds.map((k) => k.kind)).toEqual(['COMPONENT', 'EVENT']);
    for (const k of kinds) expect(k.n).toBeGreaterThanOrEqual(10);
  });

  it.each([
    ['道路不洁 (dirty road): 5 working hours', '道路不洁', 300],
    ['暴露垃圾 (exposed rubbish): 1 working day', '暴露垃圾', 480],
    ['积存渣土 (piled construction waste): 4 working days', '积存渣土', 1920],
    ['违法搭建 (illegal structure): 15 working days', '违法搭建', 7200],
  ])('handling limit of %s', async (_label, name, minutes) => {
    const row = await one<{ minutes: number; workingTime: boolean }>(
      sql`SELECT d.minutes, d.working_time AS "workingTime" FROM category_deadlines d JOIN categories c ON c.id = d.category_id
          WHERE c.name = ${name} AND d.priority = 'NORMAL' AND d.stage = 'HANDLE'`,
    );
    expect(row).toEqual({ minutes, workingTime: true });
  });

  it('has the departments the contract names', async () => {
    const codes = (await rows<{ code: string }>(db, sql`SELECT code FROM departments`)).map((d) => d.code);
    expect(codes).toEqual(expect.arrayContaining(['sanitation', 'roads', 'water', 'gardens', 'enforcement']));
  });

  it('has the settings and a working calendar with holidays and swapped workdays', async () => {
    const settings = Object.fromEntries(
      (await rows<{ key: string; value: unknown }>(db, sql`SELECT key, value FROM settings`)).map((s) => [
        s.key,
        s.value,
      ]),
    );
    expect(settings).toMatchObject({
      duplicate_radius_m: 50,
      duplicate_window_days: 7,
      working_hours: [
        ['08:30', '12:00'],
        ['14:00', '17:30'],
      ],
      timezone: 'Asia/Shanghai',
    });
    const days = await rows<{ day: string; isWorkday: boolean }>(
      db,
      sql`SELECT to_char(day, 'YYYY-MM-DD') AS day, is_workday AS "isWorkday" FROM calendar_days
          WHERE day IN ('2026-10-01', '2026-10-10', '2027-01-01') ORDER BY day`,
    );
    expect(days).toEqual([
      { day: '2026-10-01', isWorkday: false },
      { day: '2026-10-10', isWorkday: true },
      { day: '2027-01-01', isWorkday: false },
    ]);
  });
});

describe('places', () => {
  it('gives every region valid geometry, a label point inside, hierarchical codes and its ancestor ids', async () => {
    const problems = await rows<{ code: string; problem: string }>(
      db,
      sql`SELECT r.code, 'geometry' AS problem FROM regions r
            WHERE NOT ST_IsValid(r.geom) OR ST_GeometryType(r.geom) <> 'ST_MultiPolygon' OR ST_SRID(r.geom) <> 4326
               OR NOT ST_Intersects(r.geom, r.centroid)
          UNION ALL SELECT r.code, 'code' FROM regions r JOIN regions p ON p.id = r.parent_id
            WHERE r.code NOT LIKE p.code || '___' AND NOT (p.level = 'CITY' AND r.code LIKE left(p.code, 4) || '__')
          UNION ALL SELECT r.code, 'parent level' FROM regions r LEFT JOIN regions p ON p.id = r.parent_id
            WHERE (r.level, p.level) NOT IN (('DISTRICT', 'CITY'), ('STREET', 'DISTRICT'), ('COMMUNITY', 'STREET'))
              AND NOT (r.level = 'CITY' AND p.id IS NULL)
          UNION ALL SELECT r.code, 'ancestors' FROM regions r LEFT JOIN regions p ON p.id = r.parent_id
            WHERE r.city_id IS DISTINCT FROM CASE WHEN r.level = 'CITY' THEN r.id ELSE p.city_id END
               OR r.district_id IS DISTINCT FROM CASE r.level WHEN 'CITY' THEN NULL WHEN 'DISTRICT' THEN r.id ELSE p.district_id END
               OR r.street_id IS DISTINCT FROM CASE r.level WHEN 'STREET' THEN r.id WHEN 'COMMUNITY' THEN p.street_id END`,
    );
    expect(problems).toEqual([]);
  });

  it('cuts every region into children that cover it exactly', async () => {
    const children = await one<{ n: number; outside: number }>(
      sql`SELECT count(*)::int AS n, count(*) FILTER (WHERE NOT ST_CoveredBy(c.geom, p.geom))::int AS outside
          FROM regions c JOIN regions p ON p.id = c.parent_id`,
    );
    expect(children).toEqual({ n: expect.any(Number), outside: 0 });
    expect(children.n).toBeGreaterThanOrEqual(90);
    const siblings = await one<{ n: number; overlapping: number }>(
      sql`SELECT count(*)::int AS n, count(*) FILTER (WHERE ST_Relate(a.geom, b.geom, '2********'))::int AS overlapping
          FROM regions a JOIN regions b ON b.parent_id = a.parent_id AND a.id < b.id AND a.geom && b.geom`,
    );
    expect(siblings.n).toBeGreaterThan(0);
    expect(siblings.overlapping).toBe(0);
    const parents = await one<{ n: number; unequal: number }>(
      sql`SELECT count(*)::int AS n, count(*) FILTER (WHERE NOT ST_Equals(p.geom, u.g))::int AS unequal
          FROM regions p JOIN LATERAL (SELECT ST_Union(c.geom) AS g FROM regions c WHERE c.parent_id = p.id) u ON true
          WHERE p.level <> 'COMMUNITY'`,
    );
    expect(parents).toEqual({ n: 25, unequal: 0 });
  });

  it('makes every grid cell a valid polygon in 4326 with its community, ancestors, code and area', async () => {
    const problems = await rows<{ code: string }>(
      db,
      sql`SELECT g.code FROM grid_cells g JOIN regions c ON c.id = g.community_id
          WHERE NOT ST_IsValid(g.geom) OR ST_GeometryType(g.geom) <> 'ST_Polygon' OR ST_SRID(g.geom) <> 4326
             OR c.level <> 'COMMUNITY' OR g.code !~ ('^' || c.code || '-[0-9]{3}$')
             OR (g.street_id, g.district_id, g.city_id) IS DISTINCT FROM (c.street_id, c.district_id, c.city_id)
             OR abs(g.area_m_2 - ST_Area(g.geom::geography)) > 1e-6 * g.area_m_2
             OR g.area_m_2 < 1000`,
    );
    expect(problems).toEqual([]);
  });

  it('tiles every community with its grid cells: each inside, together equal to it', async () => {
    const cells = await one<{ n: number; outside: number }>(
      sql`SELECT count(*)::int AS n, count(*) FILTER (WHERE NOT ST_CoveredBy(g.geom, c.geom))::int AS outside
          FROM grid_cells g JOIN regions c ON c.id = g.community_id`,
    );
    expect(cells.n).toBeGreaterThanOrEqual(1000);
    expect(cells.outside).toBe(0);
    const communities = await one<{ n: number; unequal: number; areaMismatch: number }>(
      sql`SELECT count(*)::int AS n, count(*) FILTER (WHERE u.g IS NULL OR NOT ST_Equals(c.geom, u.g))::int AS unequal,
                 count(*) FILTER (WHERE abs(ST_Area(c.geom) - u.summed) > ${TOLERANCE_DEG2})::int AS "areaMismatch"
          FROM regions c
          JOIN LATERAL (SELECT ST_Union(g.geom) AS g, sum(ST_Area(g.geom)) AS summed
                        FROM grid_cells g WHERE g.community_id = c.id) u ON true
          WHERE c.level = 'COMMUNITY'`,
    );
    expect(communities.n).toBeGreaterThanOrEqual(70);
    expect(communities).toMatchObject({ unequal: 0, areaMismatch: 0 });
  });

  it('lets no two grid cells overlap', async () => {
    // Candidate pairs come through the GiST index; neighbours touch along edges, never inside.
    const pairs = await one<{ n: number; overlapping: number }>(
      sql`SELECT count(*)::int AS n, count(*) FILTER (WHERE ST_Relate(a.geom, b.geom, '2********'))::int AS overlapping
          FROM grid_cells a JOIN grid_cells b ON a.id < b.id AND a.geom && b.geom AND ST_Intersects(a.geom, b.geom)`,
    );
    expect(pairs.n).toBeGreaterThan(2000);
    expect(pairs.overlapping).toBe(0);
    const totals = await one<{ cells: number; city: number }>(
      sql`SELECT (SELECT sum(ST_Area(geom)) FROM grid_cells) AS cells,
                 (SELECT ST_Area(geom) FROM regions WHERE level = 'CITY') AS city`,
    );
    expect(Math.abs(totals.cells - totals.city)).toBeLessThan(TOLERANCE_DEG2);
  });

  it('covers 109.15–109.23 E × 27.69–27.75 N with grid cells', async () => {
    const { covered } = await one<{ covered: boolean }>(
      sql`SELECT ST_Covers(ST_Union(geom), ST_MakeEnvelope(109.15, 27.69, 109.23, 27.75, 4326)) AS covered
          FROM grid_cells WHERE geom && ST_MakeEnvelope(109.15, 27.69, 109.23, 27.75, 4326)`,
    );
    expect(covered).toBe(true);
    // And point by point, edges of the box included: every point of a 41 × 31 lattice is in one
    // cell (none of these points falls on a cell edge, which would count two).
    const lattice = await rows<{ lon: number; lat: number; cells: number }>(
      db,
      sql`SELECT p.lon, p.lat, (SELECT count(*)::int FROM grid_cells g
                                WHERE ST_Intersects(g.geom, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326))) AS cells
          FROM (SELECT 109.15 + i * 0.002 AS lon, 27.69 + j * 0.002 AS lat
                FROM generate_series(0, 40) i, generate_series(0, 30) j) p`,
    );
    expect(lattice).toHaveLength(41 * 31);
    expect(lattice.filter((p) => p.cells !== 1)).toEqual([]);
  });
});

describe('case history', () => {
  it('keeps every event trail consistent with its case', async () => {
    expect(await caseViolations(db)).toEqual([]);
  });

  it('has cases in every status, over the 90 days before now, numbered by day', async () => {
    const statuses = await rows<{ status: string; n: number }>(
      db,
      sql`SELECT status::text AS status, count(*)::int AS n FROM cases GROUP BY status`,
    );
    expect(statuses.map((s) => s.status).sort()).toEqual([
      'CLOSED',
      'DISPATCHED',
      'FILED',
      'IN_PROGRESS',
      'REJECTED',
      'REPORTED',
      'RESOLVED',
    ]);
    const now = DEFAULT_NOW.toISOString();
    const span = await one<{
      early: number;
      late: number;
      badCodes: number;
      events: number;
      seq: number;
      n: number;
    }>(
      sql`SELECT count(*) FILTER (WHERE reported_at < ${now}::timestamptz - interval '90 days')::int AS early,
                 count(*) FILTER (WHERE reported_at > ${now}::timestamptz)::int AS late,
                 count(*) FILTER (WHERE code <> 'TR' || to_char(reported_at + interval '8 hours', 'YYYYMMDD')
                                          || lpad(substr(code, 11), 6, '0') OR code !~ '^TR[0-9]{14}$')::int AS "badCodes",
                 (SELECT count(*)::int FROM case_events WHERE at > ${now}::timestamptz) AS events,
                 (SELECT last_value::int FROM case_code_seq) AS seq, count(*)::int AS n
          FROM cases`,
    );
    expect(span).toMatchObject({ early: 0, late: 0, badCodes: 0, events: 0 });
    expect(span.seq).toBe(span.n);
  });

  it('has duplicates, misrouted returns, rework, reopened cases and overdue ones', async () => {
    const now = DEFAULT_NOW.toISOString();
    const mix = await one<Record<string, number>>(
      sql`SELECT count(*) FILTER (WHERE reject_reason = 'DUPLICATE')::int AS duplicates,
                 count(*) FILTER (WHERE reject_reason IN ('INVALID', 'OUT_OF_SCOPE'))::int AS invalid,
                 count(*) FILTER (WHERE rework_count > 0)::int AS reworked,
                 count(*) FILTER (WHERE EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = cases.id AND e.action = 'RETURN'))::int AS returned,
                 count(*) FILTER (WHERE EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = cases.id AND e.action = 'REOPEN'))::int AS reopened,
                 count(*) FILTER (WHERE resolved_at > handle_due_at)::int AS "resolvedLate",
                 count(*) FILTER (WHERE status IN ('DISPATCHED', 'IN_PROGRESS') AND handle_due_at < ${now}::timestamptz)::int AS "openOverdue",
                 count(*) FILTER (WHERE department_id IS NULL AND assignee_id IS NOT NULL)::int AS "toGridWorkers",
                 count(DISTINCT source)::int AS sources,
                 count(DISTINCT priority)::int AS priorities
          FROM cases`,
    );
    for (const key of [
      'duplicates',
      'invalid',
      'reworked',
      'returned',
      'reopened',
      'resolvedLate',
      'openOverdue',
      'toGridWorkers',
    ]) {
      expect(mix[key], key).toBeGreaterThan(0);
    }
    expect(mix.sources).toBeGreaterThanOrEqual(3);
    expect(mix.priorities).toBe(3);
  });

  it('clusters reports: the busiest tenth of the grid cells holds far more than a tenth of the cases', async () => {
    const { share } = await one<{ share: number }>(
      sql`WITH per AS (SELECT g.id, count(c.id) AS n FROM grid_cells g LEFT JOIN cases c ON c.grid_cell_id = g.id GROUP BY g.id),
               ranked AS (SELECT n, ntile(10) OVER (ORDER BY n DESC, id) AS decile FROM per)
          SELECT (sum(n) FILTER (WHERE decile = 1) / sum(n))::float8 AS share FROM ranked`,
    );
    expect(share).toBeGreaterThan(0.3);
  });
});

describe('sensors', () => {
  it('names devices by kind, derives their secrets from the id and places them in a grid cell', async () => {
    const sensors = await rows<{
      deviceId: string;
      kind: string;
      secretHash: string;
      inCell: boolean;
      ancestors: boolean;
    }>(
      db,
      sql`SELECT s.device_id AS "deviceId", s.kind, s.secret_hash AS "secretHash",
                 ST_Intersects(g.geom, s.location) AS "inCell",
                 (s.street_id, s.district_id, s.city_id) IS NOT DISTINCT FROM (g.street_id, g.district_id, g.city_id) AS ancestors
          FROM sensors s LEFT JOIN grid_cells g ON g.id = s.grid_cell_id`,
    );
    const prefix: Record<string, string> = {
      water_level: 'wl',
      manhole: 'mh',
      air_quality: 'aq',
      noise: 'ns',
      smoke: 'sm',
      streetlight: 'sl',
    };
    for (const s of sensors) {
      expect(s.deviceId, s.kind).toMatch(new RegExp(`^${prefix[s.kind]}-\\d{4}$`));
      expect(s.secretHash, s.deviceId).toBe(hashSecret(demoDeviceSecret(s.deviceId)));
      expect(s.inCell, s.deviceId).toBe(true);
      expect(s.ancestors, s.deviceId).toBe(true);
    }
    expect(new Set(sensors.map((s) => s.kind))).toEqual(new Set(Object.keys(prefix)));
  });

  it.each([
    ['water_level', 'level', 'ABOVE', 0.3, 0.2, 60, true],
    ['manhole', 'tilt', 'ABOVE', 15, 5, 0, true],
    ['air_quality', 'pm25', 'ABOVE', 75, 60, 300, false],
    ['noise', 'laeq', 'ABOVE', 70, null, 0, false],
    ['smoke', 'smoke', 'ABOVE', 0.5, null, 0, true],
    ['streetlight', 'power', 'OUTSIDE', 20, null, 0, true],
  ])('alarm rule for %s.%s', async (kind, metric, condition, threshold, clear, hold, opensCase) => {
    const rule = await one<Record<string, unknown>>(
      sql`SELECT r.condition::text AS condition, r.threshold, r.clear_threshold AS clear, r.hold_seconds AS hold,
                 r.opens_case AS "opensCase", c.kind::text AS "categoryKind"
          FROM alarm_rules r LEFT JOIN categories c ON c.id = r.case_category_id
          WHERE r.sensor_kind = ${kind} AND r.metric = ${metric} AND r.sensor_id IS NULL`,
    );
    expect(rule).toMatchObject({ condition, threshold, clear, hold, opensCase });
    expect(rule.categoryKind === null).toBe(!opensCase);
  });
});

describe('determinism', () => {
  const seeded: string[] = [];
  const options = { seed: 7, now: new Date('2027-03-15T06:00:00.000Z') };

  /** A digest of the seeded content, ordered by id, leaving out only `created_at` (the clock at insert). */
  async function contentHash(target: Executor): Promise<string> {
    const tables = [
      'regions',
      'grid_cells',
      'departments',
      'categories',
      'category_deadlines',
      'users',
      'grid_cell_workers',
      'worker_positions',
      'cases',
      'case_events',
      'sensors',
      'alarm_rules',
      'settings',
      'calendar_days',
      'api_keys',
    ];
    const parts: string[] = [];
    for (const table of tables) {
      const [row] = await rows<{ digest: string }>(
        target,
        sql`SELECT md5(coalesce(string_agg(x.doc, '|' ORDER BY x.doc), '')) AS digest
            FROM (SELECT (to_jsonb(t) - 'created_at' - 'updated_at')::text AS doc FROM ${sql.identifier(table)} t) x`,
      );
      parts.push(`${table}:${row?.digest}`);
    }
    return parts.join(' ');
  }

  beforeAll(async () => {
    // One database at a time: an embedded one holds about a gigabyte. The second embedded one
    // starts from a dump of the first taken before seeding (empty and migrated, like a fresh one),
    // which saves the slow PostGIS start-up.
    let emptyDump: Blob | undefined;
    for (let i = 0; i < 2; i++) {
      const fresh =
        emptyDump === undefined
          ? await freshDatabase()
          : await openDatabase({ loadDataDir: emptyDump }).then((database) => ({
              database,
              dispose: () => database.close(),
            }));
      try {
        if (fresh.database.kind === 'embedded' && i === 0) emptyDump = await dumpEmbedded(fresh.database);
        const { n } =
          (await rows<{ n: number }>(fresh.database.db, sql`SELECT count(*)::int AS n FROM regions`))[0] ??
          {};
        expect(n).toBe(0);
        await seedDemoCity(fresh.database.db, options);
        seeded.push(await contentHash(fresh.database.db));
        if (i === 0) expect(await caseViolations(fresh.database.db)).toEqual([]);
      } finally {
        await fresh.dispose();
      }
    }
  }, 900_000);
  afterAll(() => {
    seeded.length = 0;
  });

  it('gives identical rows for the same seed and now', () => {
    expect(seeded).toHaveLength(2);
    expect(seeded[1]).toBe(seeded[0]);
  });

  it('gives a different city for another seed', async () => {
    expect(await contentHash(db)).not.toBe(seeded[0]);
  });
});
