/**
 * Importing the place hierarchy and grid cells from GeoJSON, all or nothing.
 *
 * Each feature is a Polygon or MultiPolygon with `properties: { level, code, name, name_en?,
 * parent? }`, `level` one of CITY, DISTRICT, STREET, COMMUNITY, GRID, and `parent` the code of
 * the place one level up (in the file or already in the database; a CITY has none).
 *
 * Checks, all in one transaction over a temporary table, every problem collected before
 * deciding: the file's structure (levels, codes, parents, duplicates, codes already taken);
 * invalid polygons (ST_IsValid — refused, or repaired with ST_MakeValid when asked); overlaps
 * between siblings (the intersection's area); gaps (the part of a parent its children do not
 * cover, counting children already in the database); children reaching outside their parent.
 * Any problem rolls everything back and the report lists them all; otherwise the places go in
 * level by level with their ancestors' ids, grid cells with their area, and the import is
 * audited.
 *
 * Geometry is SRID 4326; areas are square metres through `::geography`. Overlap pairs are found
 * with `&&` on the temporary table's GiST index.
 */
import type { Db, Tx } from '@citygrid/db';
import { rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import { recordAdminAction } from './audit';

export const LEVELS = ['CITY', 'DISTRICT', 'STREET', 'COMMUNITY', 'GRID'] as const;
export type ImportLevel = (typeof LEVELS)[number];

/** Gaps, overlaps and overhangs smaller than this many square metres are float noise. */
export const AREA_TOLERANCE_M2 = 1;

export type ProblemKind =
  | 'structure'
  | 'exists'
  | 'invalid-geometry'
  | 'overlap'
  | 'gap'
  | 'outside-parent'
  | 'not-one-polygon';

export interface ImportProblem {
  kind: ProblemKind;
  /** The features concerned (for a gap: the parent). */
  codes: string[];
  message: string;
  areaM2?: number;
  /** A point inside the gap or overlap, to find it on a map. */
  at?: { lon: number; lat: number };
}

export interface ImportReport {
  imported: boolean;
  counts: Record<ImportLevel, number>;
  problems: ImportProblem[];
  /** Invalid polygons repaired with ST_MakeValid (with `repair`). */
  repaired: { code: string; reason: string }[];
}

export interface ImportOptions {
  /** Repair invalid polygons with ST_MakeValid instead of refusing them. */
  repair?: boolean;
  /** Shown in the audit log, e.g. the file name. */
  source?: string;
  /** The admin running it, or null for the CLI. */
  actorId?: number | null;
  onProgress?: (step: string, done: number, total: number) => void;
}

interface Feature {
  level: ImportLevel;
  code: string;
  name: string;
  nameEn: string;
  parent: string | null;
  geometry: unknown;
}

/** Thrown inside the transaction to roll it back with the report. */
class Refused extends Error {
  constructor(readonly report: ImportReport) {
    super('import refused');
  }
}

const STEPS = 6;

export async function importPlaces(
  db: Db,
  geojson: unknown,
  options: ImportOptions = {},
): Promise<ImportReport> {
  const progress = options.onProgress ?? (() => {});
  const problems: ImportProblem[] = [];
  const features = readFeatures(geojson, problems);
  const counts = Object.fromEntries(
    LEVELS.map((l) => [l, features.filter((f) => f.level === l).length]),
  ) as Record<ImportLevel, number>;
  const report: ImportReport = { imported: false, counts, problems, repaired: [] };
  progress('read', 1, STEPS);
  if (!features.length) {
    if (!problems.length)
      problems.push({ kind: 'structure', codes: [], message: 'the file holds no features' });
    return report;
  }

  try {
    await db.transaction(async (tx) => {
      await stage(tx, features, report, options.repair ?? false);
      progress('geometry', 2, STEPS);
      await checkParents(tx, report);
      progress('parents', 3, STEPS);
      await checkSiblings(tx, report);
      progress('siblings', 4, STEPS);
      if (report.problems.length) throw new Refused(report);
      await insertPlaces(tx);
      progress('insert', 5, STEPS);
      await recordAdminAction(tx, {
        actorId: options.actorId ?? null,
        action: 'importPlaces',
        target: options.source ?? null,
        detail: { counts, repaired: report.repaired.map((r) => r.code) },
      });
      await tx.execute(sql`DROP TABLE import_places`);
    });
  } catch (error) {
    if (error instanceof Refused) return error.report;
    throw error;
  }
  report.imported = true;
  progress('done', STEPS, STEPS);
  return report;
}

function readFeatures(geojson: unknown, problems: ImportProblem[]): Feature[] {
  const collection = geojson as { type?: unknown; features?: unknown };
  if (collection?.type !== 'FeatureCollection' || !Array.isArray(collection.features)) {
    problems.push({ kind: 'structure', codes: [], message: 'expected a GeoJSON FeatureCollection' });
    return [];
  }
  const out: Feature[] = [];
  const seen = new Set<string>();
  const readOne = (raw: unknown, index: number): void => {
    const f = raw as {
      properties?: Record<string, unknown>;
      geometry?: { type?: unknown; coordinates?: unknown };
    };
    const p = f?.properties ?? {};
    const code = typeof p.code === 'string' ? p.code.trim() : '';
    const where = code ? `"${code}"` : `feature #${index + 1}`;
    const level = String(p.level ?? '').toUpperCase() as ImportLevel;
    const bad = (message: string): void => {
      problems.push({ kind: 'structure', codes: code ? [code] : [], message });
    };
    if (!code) {
      bad(`${where}: properties.code is missing`);
      return;
    }
    if (seen.has(code)) {
      bad(`${where}: the code appears more than once in the file`);
      return;
    }
    seen.add(code);
    if (!LEVELS.includes(level)) {
      bad(`${where}: level must be one of ${LEVELS.join(', ')}`);
      return;
    }
    const name = typeof p.name === 'string' && p.name.trim() ? p.name.trim() : '';
    if (!name) {
      bad(`${where}: properties.name is missing`);
      return;
    }
    const parent = typeof p.parent === 'string' && p.parent.trim() ? p.parent.trim() : null;
    if (level === 'CITY' && parent) {
      bad(`${where}: a CITY has no parent`);
      return;
    }
    if (level !== 'CITY' && !parent) {
      bad(`${where}: properties.parent (the code one level up) is missing`);
      return;
    }
    const type = f.geometry?.type;
    if (type !== 'Polygon' && type !== 'MultiPolygon') {
      bad(`${where}: geometry must be a Polygon or MultiPolygon`);
      return;
    }
    if (!wellFormed(f.geometry!.coordinates, type === 'Polygon' ? 3 : 4)) {
      bad(`${where}: the coordinates are not a well-formed ${type} (closed rings of at least 4 positions)`);
      return;
    }
    const nameEn = typeof p.name_en === 'string' && p.name_en.trim() ? p.name_en.trim() : name;
    out.push({ level, code, name, nameEn, parent, geometry: f.geometry });
  };
  for (const [index, raw] of (collection.features as unknown[]).entries()) readOne(raw, index);
  return out;
}

/** Nested arrays of the right depth, rings closed with ≥ 4 finite positions. */
function wellFormed(coordinates: unknown, depth: number): boolean {
  if (!Array.isArray(coordinates) || coordinates.length === 0) return false;
  if (depth === 2) {
    const ring = coordinates as unknown[];
    if (ring.length < 4) return false;
    const ok = ring.every(
      (pos) => Array.isArray(pos) && pos.length >= 2 && pos.slice(0, 2).every((n) => Number.isFinite(n)),
    );
    const first = ring[0] as number[];
    const last = ring[ring.length - 1] as number[];
    return ok && first[0] === last[0] && first[1] === last[1];
  }
  return coordinates.every((c) => wellFormed(c, depth - 1));
}

/** The temporary table, its geometries checked (and repaired when asked). */
async function stage(tx: Tx, features: Feature[], report: ImportReport, repair: boolean) {
  await tx.execute(sql`
    CREATE TEMP TABLE import_places (
      code text PRIMARY KEY,
      level text NOT NULL,
      parent_code text,
      name text NOT NULL,
      name_en text NOT NULL,
      raw geometry NOT NULL,
      -- what the checks and the insert use: valid, multi, SRID 4326
      geom geometry(MultiPolygon, 4326)
    ) ON COMMIT DROP`);
  const payload = features.map((f) => ({
    code: f.code,
    level: f.level,
    parent_code: f.parent,
    name: f.name,
    name_en: f.nameEn,
    geometry: JSON.stringify(f.geometry),
  }));
  await tx.execute(sql`
    INSERT INTO import_places (code, level, parent_code, name, name_en, raw)
    SELECT x.code, x.level, x.parent_code, x.name, x.name_en, ST_SetSRID(ST_GeomFromGeoJSON(x.geometry), 4326)
    FROM json_to_recordset(${JSON.stringify(payload)}::json)
      AS x(code text, level text, parent_code text, name text, name_en text, geometry text)`);

  const invalid = await rows<{ code: string; reason: string }>(
    tx,
    sql`SELECT code, ST_IsValidReason(raw) AS reason FROM import_places WHERE NOT ST_IsValid(raw) ORDER BY code`,
  );
  for (const r of invalid) {
    if (repair) report.repaired.push(r);
    else {
      report.problems.push({
        kind: 'invalid-geometry',
        codes: [r.code],
        message: `"${r.code}": invalid polygon (${r.reason}); fix it, or import with --repair to apply ST_MakeValid`,
      });
    }
  }
  // Invalid ones are made valid for the checks either way, so one bad ring does not hide the
  // gaps and overlaps around it; only with `repair` is the repaired shape what gets imported.
  await tx.execute(sql`
    UPDATE import_places
    SET geom = ST_Multi(ST_CollectionExtract(CASE WHEN ST_IsValid(raw) THEN raw ELSE ST_MakeValid(raw) END, 3))`);
  await tx.execute(sql`CREATE INDEX ON import_places USING gist (geom)`);
  await tx.execute(sql`ANALYZE import_places`);

  const empty = await rows<{ code: string }>(tx, sql`SELECT code FROM import_places WHERE ST_IsEmpty(geom)`);
  for (const r of empty) {
    report.problems.push({
      kind: 'invalid-geometry',
      codes: [r.code],
      message: `"${r.code}": the polygon has no area`,
    });
  }
  const multi = await rows<{ code: string; parts: number }>(
    tx,
    sql`SELECT code, ST_NumGeometries(geom) AS parts FROM import_places WHERE level = 'GRID' AND ST_NumGeometries(geom) > 1`,
  );
  for (const r of multi) {
    report.problems.push({
      kind: 'not-one-polygon',
      codes: [r.code],
      message: `"${r.code}": a grid cell must be one polygon, this one has ${r.parts} parts`,
    });
  }
}

/** Codes not taken, parents that exist one level up. */
async function checkParents(tx: Tx, report: ImportReport) {
  const taken = await rows<{ code: string }>(
    tx,
    sql`SELECT i.code FROM import_places i
        WHERE EXISTS (SELECT 1 FROM regions r WHERE r.code = i.code)
           OR EXISTS (SELECT 1 FROM grid_cells g WHERE g.code = i.code)
        ORDER BY i.code`,
  );
  for (const r of taken) {
    report.problems.push({
      kind: 'exists',
      codes: [r.code],
      message: `"${r.code}": a place with this code exists already`,
    });
  }
  const orphans = await rows<{
    code: string;
    level: string;
    parent_code: string;
    parent_level: string | null;
  }>(
    tx,
    sql`SELECT i.code, i.level, i.parent_code, coalesce(p.level, r.level::text) AS parent_level
        FROM import_places i
        LEFT JOIN import_places p ON p.code = i.parent_code
        LEFT JOIN regions r ON r.code = i.parent_code
        WHERE i.parent_code IS NOT NULL
        ORDER BY i.code`,
  );
  for (const o of orphans) {
    const expected = LEVELS[LEVELS.indexOf(o.level as ImportLevel) - 1];
    if (!o.parent_level) {
      report.problems.push({
        kind: 'structure',
        codes: [o.code],
        message: `"${o.code}": parent "${o.parent_code}" is neither in the file nor in the database`,
      });
    } else if (o.parent_level !== expected) {
      report.problems.push({
        kind: 'structure',
        codes: [o.code],
        message: `"${o.code}" (${o.level}): parent "${o.parent_code}" is a ${o.parent_level}, expected a ${expected}`,
      });
    }
  }
}

/** Overlaps between siblings, gaps under each parent, children reaching outside their parent. */
async function checkSiblings(tx: Tx, report: ImportReport) {
  // Siblings: the new places and, for parents already in the database, their existing children.
  await tx.execute(sql`
    CREATE TEMP TABLE import_siblings ON COMMIT DROP AS
    SELECT i.code, i.parent_code, i.geom, true AS is_new FROM import_places i WHERE i.parent_code IS NOT NULL
    UNION ALL
    SELECT r.code, p.code, r.geom, false FROM regions r JOIN regions p ON p.id = r.parent_id
    WHERE p.code IN (SELECT parent_code FROM import_places)
    UNION ALL
    SELECT g.code, c.code, ST_Multi(g.geom), false FROM grid_cells g JOIN regions c ON c.id = g.community_id
    WHERE c.code IN (SELECT parent_code FROM import_places)`);
  await tx.execute(sql`CREATE INDEX ON import_siblings USING gist (geom)`);
  await tx.execute(sql`ANALYZE import_siblings`);

  const overlaps = await rows<{ a: string; b: string; area: number; lon: number; lat: number }>(
    tx,
    sql`SELECT a.code AS a, b.code AS b, ST_Area(x.g::geography) AS area,
               ST_X(ST_PointOnSurface(x.g)) AS lon, ST_Y(ST_PointOnSurface(x.g)) AS lat
        FROM import_siblings a
        JOIN import_siblings b ON b.parent_code = a.parent_code AND a.code < b.code AND a.geom && b.geom
        CROSS JOIN LATERAL (SELECT ST_CollectionExtract(ST_Intersection(a.geom, b.geom), 3) AS g) x
        WHERE (a.is_new OR b.is_new) AND NOT ST_IsEmpty(x.g) AND ST_Area(x.g::geography) > ${AREA_TOLERANCE_M2}
        ORDER BY a.code, b.code`,
  );
  for (const o of overlaps) {
    report.problems.push({
      kind: 'overlap',
      codes: [o.a, o.b],
      message: `"${o.a}" and "${o.b}" overlap by ${round(o.area)} m² around (${o.lon.toFixed(6)}, ${o.lat.toFixed(6)})`,
      areaM2: round(o.area),
      at: { lon: o.lon, lat: o.lat },
    });
  }

  const parents = sql`(
    SELECT code, geom FROM import_places
    UNION ALL
    SELECT code, geom FROM regions WHERE code IN (SELECT parent_code FROM import_places)
  )`;
  const gaps = await rows<{ parent: string; area: number; lon: number; lat: number }>(
    tx,
    sql`WITH kids AS (
          SELECT parent_code, ST_Union(geom) AS cover FROM import_siblings GROUP BY parent_code
        ), holes AS (
          SELECT p.code AS parent, (ST_Dump(ST_CollectionExtract(ST_Difference(p.geom, k.cover), 3))).geom AS g
          FROM ${parents} p JOIN kids k ON k.parent_code = p.code
        )
        SELECT parent, ST_Area(g::geography) AS area, ST_X(ST_PointOnSurface(g)) AS lon, ST_Y(ST_PointOnSurface(g)) AS lat
        FROM holes WHERE ST_Area(g::geography) > ${AREA_TOLERANCE_M2}
        ORDER BY parent, area DESC`,
  );
  for (const g of gaps) {
    report.problems.push({
      kind: 'gap',
      codes: [g.parent],
      message: `a gap of ${round(g.area)} m² inside "${g.parent}" that none of its children covers, around (${g.lon.toFixed(6)}, ${g.lat.toFixed(6)})`,
      areaM2: round(g.area),
      at: { lon: g.lon, lat: g.lat },
    });
  }

  const outside = await rows<{ code: string; parent: string; area: number; lon: number; lat: number }>(
    tx,
    sql`WITH out AS (
          SELECT s.code, s.parent_code AS parent, ST_CollectionExtract(ST_Difference(s.geom, p.geom), 3) AS g
          FROM import_siblings s JOIN ${parents} p ON p.code = s.parent_code
          WHERE s.is_new
        )
        SELECT code, parent, ST_Area(g::geography) AS area, ST_X(ST_PointOnSurface(g)) AS lon, ST_Y(ST_PointOnSurface(g)) AS lat
        FROM out WHERE NOT ST_IsEmpty(g) AND ST_Area(g::geography) > ${AREA_TOLERANCE_M2}
        ORDER BY code`,
  );
  for (const o of outside) {
    report.problems.push({
      kind: 'outside-parent',
      codes: [o.code, o.parent],
      message: `"${o.code}" reaches ${round(o.area)} m² outside its parent "${o.parent}" around (${o.lon.toFixed(6)}, ${o.lat.toFixed(6)})`,
      areaM2: round(o.area),
      at: { lon: o.lon, lat: o.lat },
    });
  }
}

/** Places level by level, each with its ancestors' ids; grid cells last with their area. */
async function insertPlaces(tx: Tx) {
  await tx.execute(sql`
    INSERT INTO regions (level, code, name, name_en, parent_id, city_id, district_id, street_id, geom, centroid)
    SELECT 'CITY', code, name, name_en, NULL, NULL, NULL, NULL, geom, ST_PointOnSurface(geom)
    FROM import_places WHERE level = 'CITY'`);
  await tx.execute(sql`
    UPDATE regions SET city_id = id WHERE level = 'CITY' AND city_id IS NULL AND code IN (SELECT code FROM import_places)`);
  // Each level takes its parent's ancestors, plus the parent itself at the parent's level.
  for (const level of ['DISTRICT', 'STREET', 'COMMUNITY'] as const) {
    await tx.execute(sql`
      INSERT INTO regions (level, code, name, name_en, parent_id, city_id, district_id, street_id, geom, centroid)
      SELECT ${level}::region_level, i.code, i.name, i.name_en, p.id,
             CASE WHEN p.level = 'CITY' THEN p.id ELSE p.city_id END,
             CASE WHEN p.level = 'DISTRICT' THEN p.id ELSE p.district_id END,
             CASE WHEN p.level = 'STREET' THEN p.id ELSE p.street_id END,
             i.geom, ST_PointOnSurface(i.geom)
      FROM import_places i JOIN regions p ON p.code = i.parent_code
      WHERE i.level = ${level}
      ORDER BY i.code`);
  }
  await tx.execute(sql`
    INSERT INTO grid_cells (code, name, community_id, street_id, district_id, city_id, geom, area_m_2)
    SELECT i.code, i.name, c.id, c.street_id, c.district_id, c.city_id, ST_GeometryN(i.geom, 1),
           ST_Area(ST_GeometryN(i.geom, 1)::geography)
    FROM import_places i JOIN regions c ON c.code = i.parent_code AND c.level = 'COMMUNITY'
    WHERE i.level = 'GRID'
    ORDER BY i.code`);
}

function round(n: number): number {
  return Math.round(Number(n) * 10) / 10;
}
