/**
 * Small factories for the API tests: a test city of their own, far from the demo city so the
 * two never share a point, with two districts of four square grid cells each; categories with
 * deadlines; users of any role and scope; cases written as the report would write them.
 *
 *   x0      x0+d    x0+2d   x0+3d   x0+4d
 *   +-------+-------+-------+-------+  y0+2d      district A = west half, district B = east half;
 *   | A:c3  | A:c4  | B:c3  | B:c4  |             each district has one street holding one
 *   +-------+-------+-------+-------+  y0+d       community holding four cells (c1..c4).
 *   | A:c1  | A:c2  | B:c1  | B:c2  |
 *   +-------+-------+-------+-------+  y0
 */
import { randomBytes } from 'node:crypto';
import { type Executor, hashPassword, rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';

/** Cell size in degrees: a power of two, so every edge coordinate is exact in binary. */
export const CELL_DEG = 1 / 128;

export interface TestCity {
  code: string;
  origin: { lon: number; lat: number };
  cityId: number;
  districts: { A: TestDistrict; B: TestDistrict };
}

export interface TestDistrict {
  id: number;
  streetId: number;
  communityId: number;
  /** Cell ids c1..c4 as drawn above. */
  cells: [number, number, number, number];
  /** The south-west corner of the district. */
  origin: { lon: number; lat: number };
}

const uid = () => randomBytes(4).toString('hex');

function box(minLon: number, minLat: number, maxLon: number, maxLat: number) {
  return {
    type: 'Polygon' as const,
    coordinates: [
      [
        [minLon, minLat],
        [maxLon, minLat],
        [maxLon, maxLat],
        [minLon, maxLat],
        [minLon, minLat],
      ] as [number, number][],
    ],
  };
}

async function insertRegion(
  db: Executor,
  r: {
    level: string;
    code: string;
    parentId: number | null;
    cityId: number | null;
    districtId: number | null;
    streetId: number | null;
    geom: ReturnType<typeof box>;
  },
): Promise<number> {
  const [row] = await rows<{ id: number }>(
    db,
    sql`INSERT INTO regions (level, code, name, name_en, parent_id, city_id, district_id, street_id, geom, centroid)
        SELECT ${r.level}::region_level, ${r.code}::text, ${`测试${r.code}`}::text, ${`Test ${r.code}`}::text,
               ${r.parentId}::bigint, ${r.cityId}::bigint, ${r.districtId}::bigint, ${r.streetId}::bigint,
               g, ST_PointOnSurface(g)
        FROM (SELECT ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(${JSON.stringify(r.geom)}), 4326)) AS g) s
        RETURNING id::int AS id`,
  );
  return row!.id;
}

/**
 * A test city at `origin` (default: around 116.4 E, 39.9 N, far from the demo city). Pass a
 * distinct origin for a second city in the same file.
 */
export async function makeTestCity(db: Executor, origin = { lon: 116.375, lat: 39.875 }): Promise<TestCity> {
  const code = `T${uid()}`;
  const d = CELL_DEG;
  const { lon: x0, lat: y0 } = origin;
  const cityId = await insertRegion(db, {
    level: 'CITY',
    code,
    parentId: null,
    cityId: null,
    districtId: null,
    streetId: null,
    geom: box(x0, y0, x0 + 4 * d, y0 + 2 * d),
  });
  await db.execute(sql`UPDATE regions SET city_id = id WHERE id = ${cityId}`);

  const makeDistrict = async (name: 'A' | 'B', dx0: number): Promise<TestDistrict> => {
    const outline = box(dx0, y0, dx0 + 2 * d, y0 + 2 * d);
    const id = await insertRegion(db, {
      level: 'DISTRICT',
      code: `${code}${name}`,
      parentId: cityId,
      cityId,
      districtId: null,
      streetId: null,
      geom: outline,
    });
    const streetId = await insertRegion(db, {
      level: 'STREET',
      code: `${code}${name}S`,
      parentId: id,
      cityId,
      districtId: id,
      streetId: null,
      geom: outline,
    });
    const communityId = await insertRegion(db, {
      level: 'COMMUNITY',
      code: `${code}${name}SC`,
      parentId: streetId,
      cityId,
      districtId: id,
      streetId,
      geom: outline,
    });
    const cells: number[] = [];
    const corners = [
      [dx0, y0],
      [dx0 + d, y0],
      [dx0, y0 + d],
      [dx0 + d, y0 + d],
    ] as const;
    for (const [i, [cx, cy]] of corners.entries()) {
      const [row] = await rows<{ id: number }>(
        db,
        sql`INSERT INTO grid_cells (code, name, community_id, street_id, district_id, city_id, geom, area_m_2)
            SELECT ${`${code}${name}G${i + 1}`}::text, ${`网格${name}${i + 1}`}::text, ${communityId}::bigint,
                   ${streetId}::bigint, ${id}::bigint, ${cityId}::bigint,
                   g, ST_Area(g::geography)
            FROM (SELECT ST_SetSRID(ST_GeomFromGeoJSON(${JSON.stringify(box(cx, cy, cx + d, cy + d))}), 4326) AS g) s
            RETURNING id::int AS id`,
      );
      cells.push(row!.id);
    }
    return {
      id,
      streetId,
      communityId,
      cells: cells as TestDistrict['cells'],
      origin: { lon: dx0, lat: y0 },
    };
  };

  const A = await makeDistrict('A', x0);
  const B = await makeDistrict('B', x0 + 2 * d);
  return { code, origin, cityId, districts: { A, B } };
}

/** The centre of cell `index` (0-based, c1 = 0) of a district. */
export function cellCentre(district: TestDistrict, index: 0 | 1 | 2 | 3): { lon: number; lat: number } {
  const col = index % 2;
  const row = index >= 2 ? 1 : 0;
  return {
    lon: district.origin.lon + (col + 0.5) * CELL_DEG,
    lat: district.origin.lat + (row + 0.5) * CELL_DEG,
  };
}

export async function makeDepartment(db: Executor, regionId: number): Promise<{ id: number; code: string }> {
  const code = `dept-${uid()}`;
  const [row] = await rows<{ id: number }>(
    db,
    sql`INSERT INTO departments (code, name, name_en, region_id) VALUES (${code}, ${`部门${code}`}, ${`Dept ${code}`}, ${regionId})
        RETURNING id::int AS id`,
  );
  return { id: row!.id, code };
}

/** A category with deadlines for every priority: FILE 60, DISPATCH 30, HANDLE 480, VERIFY 240 minutes. */
export async function makeCategory(
  db: Executor,
  options: { departmentId?: number | null; kind?: 'COMPONENT' | 'EVENT' } = {},
): Promise<{ id: number; code: string }> {
  const major = `9${randomBytes(1).toString('hex')}`;
  const minor = randomBytes(2).toString('hex');
  const code = `${major}-${minor}`;
  const [row] = await rows<{ id: number }>(
    db,
    sql`INSERT INTO categories (code, kind, major_code, minor_code, name, name_en, major_name, major_name_en,
                                default_department_id)
        VALUES (${code}, ${options.kind ?? 'EVENT'}::category_kind, ${major}, ${minor}, '测试类别', 'Test category',
                '测试大类', 'Test major', ${options.departmentId ?? null})
        RETURNING id::int AS id`,
  );
  const id = row!.id;
  await db.execute(sql`
    INSERT INTO category_deadlines (category_id, priority, stage, minutes, working_time)
    SELECT ${id}::bigint, p::case_priority, s.stage::deadline_stage, s.minutes, false
    FROM unnest(ARRAY['NORMAL', 'HIGH', 'URGENT']) AS p,
         (VALUES ('FILE', 60), ('DISPATCH', 30), ('HANDLE', 480), ('VERIFY', 240)) AS s(stage, minutes)`);
  return { id, code };
}

let cachedHash: Promise<string> | undefined;

/** A user; the password is `citygrid` unless given (its hash is computed once per file). */
export async function makeUser(
  db: Executor,
  user: {
    role: 'ADMIN' | 'COMMANDER' | 'DEPARTMENT' | 'WORKER' | 'SUPERVISOR';
    regionId: number;
    departmentId?: number;
    password?: string;
  },
): Promise<{ id: number; username: string }> {
  const username = `${user.role.toLowerCase()}-${uid()}`;
  if (!cachedHash) cachedHash = hashPassword('citygrid');
  const passwordHash = user.password ? await hashPassword(user.password) : await cachedHash;
  const [row] = await rows<{ id: number }>(
    db,
    sql`INSERT INTO users (username, password_hash, display_name, role, region_id, department_id)
        VALUES (${username}, ${passwordHash}, ${username}, ${user.role}::user_role, ${user.regionId}, ${user.departmentId ?? null})
        RETURNING id::int AS id`,
  );
  return { id: row!.id, username };
}

/**
 * A case as `reportCase` writes it (case row + REPORT event), at a chosen time and status, for
 * tests that need many cases or particular ones. Status other than REPORTED is set directly
 * (with the version still 1): enough for read-side tests, which do not check the trail.
 */
export async function makeCase(
  db: Executor,
  c: {
    categoryId: number;
    cellId: number;
    point: { lon: number; lat: number };
    reportedAt?: Date;
    status?: string;
    handleDueAt?: Date | null;
    reporterId?: number | null;
  },
): Promise<number> {
  const reportedAt = c.reportedAt ?? new Date();
  const [row] = await rows<{ id: number }>(
    db,
    sql`INSERT INTO cases (code, status, version, category_id, description, location, grid_cell_id, community_id,
                           street_id, district_id, city_id, source, reporter_id, reported_at, handle_due_at)
        SELECT ${`TC${uid()}${uid()}`}::text, ${c.status ?? 'REPORTED'}::case_status, 1, ${c.categoryId}::bigint, 'test case',
               ST_SetSRID(ST_MakePoint(${c.point.lon}::float8, ${c.point.lat}::float8), 4326),
               g.id, g.community_id, g.street_id, g.district_id, g.city_id, 'WORKER', ${c.reporterId ?? null}::bigint,
               ${reportedAt.toISOString()}::timestamptz, ${c.handleDueAt ? c.handleDueAt.toISOString() : null}::timestamptz
        FROM grid_cells g WHERE g.id = ${c.cellId}
        RETURNING id::int AS id`,
  );
  const id = row!.id;
  await db.execute(sql`
    INSERT INTO case_events (case_id, seq, action, from_status, to_status, actor_id, at)
    VALUES (${id}, 1, 'REPORT', NULL, 'REPORTED', ${c.reporterId ?? null}::bigint, ${reportedAt.toISOString()}::timestamptz)`);
  return id;
}

/** A region-agnostic unique key for reports. */
export const newKey = () => `key-${randomBytes(8).toString('hex')}`;
