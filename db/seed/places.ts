/**
 * The place hierarchy of the demo city, built top-down in PostGIS: a city outline, then for each
 * level a Voronoi diagram of seeded points clipped to the parent, then a lattice of near-square
 * grid cells over each community. Clipping each piece separately would leave float slivers between
 * neighbours, so all dividing lines of all levels are finally noded together on one precision grid
 * and polygonized; cells are unions of those faces, and every region is rebuilt as the union of its
 * cells. Neighbours therefore share edges vertex for vertex: no gaps, no overlaps, exactly.
 */
import { sql } from 'drizzle-orm';
import { type Executor, rows } from '../src/client';
import type { MultiPolygonGeometry, Position } from '../src/spatial';
import { CENTRE, CITY, COMMUNITY_NAMES, DISTRICTS, STREET_NAMES } from './names';
import { gaussian, int, type Rng, shuffle, uniform } from './random';

/** The rectangle the city outline always contains; it covers the contract's 109.15–109.23 × 27.69–27.75. */
const CORE = { minLon: 109.14, minLat: 27.68, maxLon: 109.24, maxLat: 27.76 };

/** Grid cells per community the lattice aims for; small (downtown) communities get small cells. */
const CELLS_PER_COMMUNITY = 16;
const MIN_CELL_M = 140;
const MAX_CELL_M = 500;
/** Lattice pieces smaller than this share of a full square merge into a neighbour. */
const SLIVER_SHARE = 0.3;
/**
 * Every boundary is noded once, snapped to this grid (degrees, ~0.1 mm), so neighbouring cells and
 * regions share exactly the same vertices: no float slivers between them, and overlays on them
 * never need GEOS's exception-driven fallbacks (which the wasm build of the embedded mode lacks).
 */
const GRID = 1e-9;
/** Dividing lines reach this far (degrees, ~1 m) past the area they divide, so noding cuts them cleanly. */
const OVERHANG = 1e-5;

export interface PlaceSummary {
  cityId: number;
  regions: number;
  gridCells: number;
}

export async function seedPlaces(db: Executor, rng: Rng): Promise<PlaceSummary> {
  // The planner's estimates for set-returning PostGIS functions are huge, so real Postgres would
  // spend seconds JIT-compiling these one-off statements.
  await db.execute(sql`SET LOCAL jit = off`);
  // Every dividing line of every level, noded together at the end (see insertGridCells).
  await db.execute(sql`CREATE TEMP TABLE seed_linework (geom geometry) ON COMMIT DROP`);
  const outline = cityOutline(rng);
  const [city] = await rows<{ id: number }>(
    db,
    sql`INSERT INTO regions (level, code, name, name_en, geom, centroid)
        SELECT 'CITY', ${CITY.code}, ${CITY.name}, ${CITY.nameEn}, g, ST_PointOnSurface(g)
        FROM (SELECT ST_Multi(ST_MakeValid(ST_SetSRID(ST_GeomFromGeoJSON(${JSON.stringify(outline)}), 4326))) AS g) s
        RETURNING id::int AS id`,
  );
  if (!city) throw new Error('seedPlaces: city insert returned nothing');
  await db.execute(
    sql`INSERT INTO seed_linework SELECT ST_Boundary(geom) FROM regions WHERE id = ${city.id}`,
  );

  const districtSeeds: Seed[] = DISTRICTS.map((d, i) => ({
    parentId: city.id,
    ord: i,
    lon: d.anchor[0] + uniform(rng, -0.004, 0.004),
    lat: d.anchor[1] + uniform(rng, -0.003, 0.003),
    code: d.code,
    name: d.name,
    nameEn: d.nameEn,
  }));
  await insertVoronoiChildren(db, 'DISTRICT', districtSeeds);

  const districts = await parentsOf(db, 'DISTRICT');
  const streetNames = shuffle(rng, STREET_NAMES);
  const streetSeeds: Seed[] = [];
  for (const district of districts) {
    const spec = DISTRICTS.find((d) => d.code === district.code);
    const points = scatterIn(rng, district.geom, spec?.streets ?? 5);
    points.forEach(([lon, lat], i) => {
      const [name, nameEn] = streetNames[streetSeeds.length % streetNames.length] ?? ['新区', 'Xinqu'];
      streetSeeds.push({
        parentId: district.id,
        ord: streetSeeds.length,
        lon,
        lat,
        code: `${district.code}${pad(i + 1, 3)}`,
        name: `${name}街道`,
        nameEn: `${nameEn} Subdistrict`,
      });
    });
  }
  await insertVoronoiChildren(db, 'STREET', streetSeeds);

  const streets = await parentsOf(db, 'STREET');
  const communityNames = shuffle(rng, COMMUNITY_NAMES);
  const communitySeeds: Seed[] = [];
  for (const street of streets) {
    const points = scatterIn(rng, street.geom, int(rng, 3, 5));
    points.forEach(([lon, lat], i) => {
      const [name, nameEn] = communityNames[communitySeeds.length % communityNames.length] ?? [
        '新村',
        'Xincun',
      ];
      communitySeeds.push({
        parentId: street.id,
        ord: communitySeeds.length,
        lon,
        lat,
        code: `${street.code}${pad(i + 1, 3)}`,
        name: `${name}社区`,
        nameEn: `${nameEn} Community`,
      });
    });
  }
  await insertVoronoiChildren(db, 'COMMUNITY', communitySeeds);

  const gridCells = await insertGridCells(db);
  await rebuildRegionsFromCells(db);

  // Every region carries the ids of its ancestors and of itself at its own level.
  await db.execute(sql`
    UPDATE regions SET
      city_id = CASE WHEN level = 'CITY' THEN id ELSE city_id END,
      district_id = CASE WHEN level = 'DISTRICT' THEN id ELSE district_id END,
      street_id = CASE WHEN level = 'STREET' THEN id ELSE street_id END
    WHERE level IN ('CITY', 'DISTRICT', 'STREET')`);

  const [count] = await rows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM regions`);
  return { cityId: city.id, regions: count?.n ?? 0, gridCells };
}

interface Seed {
  parentId: number;
  ord: number;
  lon: number;
  lat: number;
  code: string;
  name: string;
  nameEn: string;
}

/**
 * Cuts each parent into the Voronoi cells of its seeds and inserts them as regions of `level`.
 * The diagram is extended past the parent's envelope so its cells cover the whole parent; each
 * cell is then clipped to the parent, so siblings tile it. Ancestor ids come from the parent.
 */
async function insertVoronoiChildren(
  db: Executor,
  level: 'DISTRICT' | 'STREET' | 'COMMUNITY',
  seeds: Seed[],
) {
  await db.execute(sql`
    WITH seeds AS (
      SELECT s.*, ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326) AS pt
      FROM json_to_recordset(${JSON.stringify(seeds)}::json)
        AS s("parentId" bigint, ord int, lon float8, lat float8, code text, name text, "nameEn" text)
    ),
    diagrams AS (
      SELECT p.id AS parent_id,
             (ST_Dump(ST_VoronoiPolygons(ST_Collect(s.pt ORDER BY s.ord), 0, ST_Expand(p.geom, 0.05)))).geom AS cell
      FROM regions p JOIN seeds s ON s."parentId" = p.id
      GROUP BY p.id, p.geom
    ),
    children AS (
      SELECT s.ord, s.code, s.name, s."nameEn" AS name_en, p.id AS parent_id,
             CASE WHEN p.level = 'CITY' THEN p.id ELSE p.city_id END AS city_id,
             CASE WHEN p.level = 'DISTRICT' THEN p.id ELSE p.district_id END AS district_id,
             CASE WHEN p.level = 'STREET' THEN p.id ELSE p.street_id END AS street_id,
             ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Intersection(d.cell, p.geom)), 3)) AS geom
      FROM seeds s
      JOIN regions p ON p.id = s."parentId"
      JOIN diagrams d ON d.parent_id = p.id AND ST_Contains(d.cell, s.pt)
    )
    INSERT INTO regions (level, code, name, name_en, parent_id, city_id, district_id, street_id, geom, centroid)
    SELECT ${level}::region_level, code, name, name_en, parent_id, city_id,
           CASE WHEN ${level} = 'DISTRICT' THEN NULL ELSE district_id END,
           CASE WHEN ${level} IN ('DISTRICT', 'STREET') THEN NULL ELSE street_id END,
           geom, ST_PointOnSurface(geom)
    FROM children
    WHERE NOT ST_IsEmpty(geom)
    ORDER BY ord`);
  // The same diagram's edges, for the final noding: clipped a little past the parent so they
  // cross its boundary, not run along or stop short of it.
  await db.execute(sql`
    WITH seeds AS (
      SELECT s.*, ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326) AS pt
      FROM json_to_recordset(${JSON.stringify(seeds)}::json) AS s("parentId" bigint, ord int, lon float8, lat float8)
    )
    INSERT INTO seed_linework
    SELECT ST_Intersection(ST_VoronoiLines(ST_Collect(s.pt ORDER BY s.ord), 0, ST_Expand(p.geom, 0.05)),
                           ST_Buffer(p.geom, ${OVERHANG}::float8))
    FROM regions p JOIN seeds s ON s."parentId" = p.id
    GROUP BY p.id, p.geom`);
}

/**
 * Grid cells: a lattice of near-square cells (edge sized so each community gets about
 * CELLS_PER_COMMUNITY) over each community. The lattice lines and every Voronoi edge are noded
 * together and polygonized; faces are grouped by community and lattice square. A piece too small
 * to be a useful cell merges into the lattice neighbour it shares the longest edge with; multi-part
 * results are split so every cell is one Polygon. Codes number cells north to south, west to east.
 */
async function insertGridCells(db: Executor): Promise<number> {
  const result = await rows<{ n: number }>(
    db,
    sql`
    WITH communities AS (
      SELECT id, code, name, geom, city_id, district_id, street_id,
             ST_XMin(geom) AS x0, ST_YMin(geom) AS y0, ST_XMax(geom) AS x1, ST_YMax(geom) AS y1,
             greatest(${MIN_CELL_M}::float8, least(${MAX_CELL_M}::float8,
               sqrt(ST_Area(geom::geography) / ${CELLS_PER_COMMUNITY}))) AS edge_m
      FROM regions WHERE level = 'COMMUNITY'
    ),
    lattices AS (
      -- Metres to degrees at the community's latitude; cells come out square on the ground.
      SELECT c.*, edge_m / (111320 * cos(radians((y0 + y1) / 2))) AS dx, edge_m / 110574.0 AS dy
      FROM communities c
    ),
    lattice_lines AS (
      SELECT ST_Intersection(
               ST_SetSRID(ST_MakeLine(ST_MakePoint(l.x0 + i * l.dx, l.y0 - l.dy), ST_MakePoint(l.x0 + i * l.dx, l.y1 + l.dy)), 4326),
               ST_Buffer(l.geom, ${OVERHANG}::float8)) AS g
      FROM lattices l, generate_series(1, ceil((l.x1 - l.x0) / l.dx)::int) AS i
      UNION ALL
      SELECT ST_Intersection(
               ST_SetSRID(ST_MakeLine(ST_MakePoint(l.x0 - l.dx, l.y0 + j * l.dy), ST_MakePoint(l.x1 + l.dx, l.y0 + j * l.dy)), 4326),
               ST_Buffer(l.geom, ${OVERHANG}::float8))
      FROM lattices l, generate_series(1, ceil((l.y1 - l.y0) / l.dy)::int) AS j
    ),
    -- All dividing lines of all levels noded at once on one precision grid, then polygonized:
    -- faces that share an edge share it exactly. Overhangs are dangles and make no face.
    linework AS (
      SELECT ST_UnaryUnion(ST_Collect(g), ${GRID}::float8) AS g
      FROM (SELECT geom AS g FROM seed_linework UNION ALL SELECT g FROM lattice_lines) x
      WHERE NOT ST_IsEmpty(g)
    ),
    faces AS (
      SELECT d.path[1] AS fid, d.geom AS g, ST_PointOnSurface(d.geom) AS p
      FROM (SELECT ST_Polygonize(g) AS fc FROM linework) s, LATERAL ST_Dump(s.fc) AS d
    ),
    -- A face lies inside one community (and one lattice square of it); faces outside the city go.
    labelled AS (
      SELECT DISTINCT ON (f.fid) f.fid, l.id AS community_id, l.dx * l.dy AS full_area, f.g,
             floor((ST_X(f.p) - l.x0) / l.dx)::int AS i, floor((ST_Y(f.p) - l.y0) / l.dy)::int AS j
      FROM faces f JOIN lattices l ON ST_Intersects(l.geom, f.p)
      ORDER BY f.fid, l.id
    ),
    pieces AS (
      SELECT row_number() OVER (ORDER BY community_id, j, i, d.path[1]) AS pid, community_id, i, j, full_area, d.geom AS g
      FROM (
        SELECT community_id, i, j, max(full_area) AS full_area, ST_UnaryUnion(ST_Collect(g), ${GRID}::float8) AS g
        FROM labelled GROUP BY community_id, i, j
      ) u, LATERAL ST_Dump(u.g) AS d
      WHERE ST_Area(d.geom) > 0
    ),
    slivers AS (
      SELECT * FROM pieces WHERE ST_Area(g) < ${SLIVER_SHARE} * full_area
    ),
    -- The big lattice neighbour each sliver shares the longest edge with.
    adoption AS (
      SELECT DISTINCT ON (s.pid) s.pid, b.pid AS target
      FROM slivers s
      JOIN pieces b ON b.community_id = s.community_id AND b.pid <> s.pid
        AND abs(b.i - s.i) + abs(b.j - s.j) <= 1
        AND ST_Area(b.g) >= ${SLIVER_SHARE} * b.full_area
      CROSS JOIN LATERAL (
        SELECT ST_Length(ST_CollectionExtract(ST_Intersection(ST_Boundary(s.g), ST_Boundary(b.g)), 2)) AS shared
      ) e
      WHERE e.shared > 0
      ORDER BY s.pid, e.shared DESC, b.pid
    ),
    merged AS (
      SELECT coalesce(a.target, p.pid) AS cell_pid, p.community_id, max(p.full_area) AS full_area,
             ST_UnaryUnion(ST_Collect(p.g), ${GRID}::float8) AS g
      FROM pieces p LEFT JOIN adoption a ON a.pid = p.pid
      GROUP BY coalesce(a.target, p.pid), p.community_id
    ),
    -- A sliver whose lattice neighbours were all slivers is still small: it joins whichever
    -- merged cell of its community it shares the longest edge with.
    adoption2 AS (
      SELECT DISTINCT ON (s.cell_pid) s.cell_pid, b.cell_pid AS target
      FROM merged s
      JOIN merged b ON b.community_id = s.community_id AND b.cell_pid <> s.cell_pid
        AND ST_Intersects(s.g, b.g) AND ST_Area(b.g) >= ${SLIVER_SHARE} * b.full_area
      CROSS JOIN LATERAL (
        SELECT ST_Length(ST_CollectionExtract(ST_Intersection(ST_Boundary(s.g), ST_Boundary(b.g)), 2)) AS shared
      ) e
      WHERE ST_Area(s.g) < ${SLIVER_SHARE} * s.full_area AND e.shared > 0
      ORDER BY s.cell_pid, e.shared DESC, b.cell_pid
    ),
    merged2 AS (
      SELECT coalesce(a.target, m.cell_pid) AS cell_pid, m.community_id,
             ST_UnaryUnion(ST_Collect(m.g), ${GRID}::float8) AS g
      FROM merged m LEFT JOIN adoption2 a ON a.cell_pid = m.cell_pid
      GROUP BY coalesce(a.target, m.cell_pid), m.community_id
    ),
    cells AS (
      SELECT m.community_id, d.geom AS g,
             row_number() OVER (
               PARTITION BY m.community_id
               ORDER BY round(ST_Y(ST_PointOnSurface(d.geom))::numeric, 6) DESC,
                        round(ST_X(ST_PointOnSurface(d.geom))::numeric, 6), m.cell_pid, d.path[1]
             ) AS n
      FROM merged2 m, LATERAL ST_Dump(ST_CollectionExtract(m.g, 3)) AS d
      WHERE ST_Area(d.geom) > 0
    ),
    inserted AS (
      INSERT INTO grid_cells (code, name, community_id, street_id, district_id, city_id, geom, area_m_2)
      SELECT c.code || '-' || lpad(x.n::text, 3, '0'), c.name || '第' || x.n || '网格',
             c.id, c.street_id, c.district_id, c.city_id, x.g, ST_Area(x.g::geography)
      FROM cells x JOIN regions c ON c.id = x.community_id
      ORDER BY c.code, x.n
      RETURNING 1
    )
    SELECT count(*)::int AS n FROM inserted`,
  );
  return result[0]?.n ?? 0;
}

/**
 * Replaces each region's outline by the union of its grid cells (then of its children), so every
 * level is made of the same noded edges: regions, cells and their neighbours agree exactly.
 */
async function rebuildRegionsFromCells(db: Executor) {
  await db.execute(sql`
    UPDATE regions r SET geom = u.g
    FROM (SELECT community_id AS id, ST_Multi(ST_Union(geom, ${GRID}::float8)) AS g FROM grid_cells GROUP BY community_id) u
    WHERE r.id = u.id`);
  for (const level of ['STREET', 'DISTRICT', 'CITY'] as const) {
    await db.execute(sql`
      UPDATE regions r SET geom = u.g
      FROM (SELECT c.parent_id AS id, ST_Multi(ST_Union(c.geom, ${GRID}::float8)) AS g
            FROM regions c JOIN regions p ON p.id = c.parent_id
            WHERE p.level = ${level}::region_level GROUP BY c.parent_id) u
      WHERE r.id = u.id`);
  }
  await db.execute(sql`UPDATE regions SET centroid = ST_PointOnSurface(geom)`);
}

interface Parent {
  id: number;
  code: string;
  geom: MultiPolygonGeometry;
}

async function parentsOf(db: Executor, level: 'DISTRICT' | 'STREET'): Promise<Parent[]> {
  return rows<Parent>(
    db,
    sql`SELECT id::int AS id, code, ST_AsGeoJSON(geom, 9)::json AS geom
        FROM regions WHERE level = ${level}::region_level ORDER BY code`,
  );
}

/**
 * The city outline: the core rectangle, its edges pushed outward by a smooth random amount, so
 * it always contains the core and looks drawn rather than ruled.
 */
function cityOutline(rng: Rng) {
  const perSide = 24;
  const waves = Array.from({ length: 3 }, (_, k) => ({
    amp: uniform(rng, 0.001, 0.004) / (k + 1),
    freq: (k + 1) * int(rng, 2, 4),
    phase: uniform(rng, 0, 2 * Math.PI),
  }));
  const offset = (t: number) =>
    0.003 + waves.reduce((sum, w) => sum + w.amp * (1 + Math.sin(w.freq * 2 * Math.PI * t + w.phase)), 0);
  const { minLon, minLat, maxLon, maxLat } = CORE;
  const ring: Position[] = [];
  const perimeter = 4 * perSide;
  const sides: { base: (f: number) => Position; normal: Position; corner: Position }[] = [
    { base: (f) => [minLon + f * (maxLon - minLon), minLat], normal: [0, -1], corner: [-1, -1] }, // south
    { base: (f) => [maxLon, minLat + f * (maxLat - minLat)], normal: [1, 0], corner: [1, -1] }, // east
    { base: (f) => [maxLon - f * (maxLon - minLon), maxLat], normal: [0, 1], corner: [1, 1] }, // north
    { base: (f) => [minLon, maxLat - f * (maxLat - minLat)], normal: [-1, 0], corner: [-1, 1] }, // west
  ];
  for (let k = 0; k < perimeter; k++) {
    const side = sides[Math.floor(k / perSide)];
    if (!side) break;
    const f = (k % perSide) / perSide;
    const o = offset(k / perimeter);
    // Points move along their side's outward normal; corners move diagonally.
    const [bx, by] = side.base(f);
    const [nx, ny] = f === 0 ? side.corner : side.normal;
    ring.push([bx + o * nx, by + o * ny]);
  }
  ring.push(ring[0] as Position);
  return { type: 'Polygon', coordinates: [ring] };
}

/**
 * `n` points inside `geom`, drawn around downtown (so central regions come out smaller) and
 * kept apart so no two Voronoi cells are slivers.
 */
function scatterIn(rng: Rng, geom: MultiPolygonGeometry, n: number): Position[] {
  const box = bbox(geom);
  const areaDeg = (box.maxLon - box.minLon) * (box.maxLat - box.minLat);
  let minDist = 0.5 * Math.sqrt(areaDeg / n);
  const points: Position[] = [];
  for (let attempt = 0; points.length < n; attempt++) {
    if (attempt > 0 && attempt % 500 === 0) minDist *= 0.8;
    if (attempt > 20_000) break;
    const p: Position =
      rng() < 0.5
        ? [CENTRE[0] + 0.02 * gaussian(rng), CENTRE[1] + 0.016 * gaussian(rng)]
        : [uniform(rng, box.minLon, box.maxLon), uniform(rng, box.minLat, box.maxLat)];
    if (!inMultiPolygon(p, geom)) continue;
    if (points.some((q) => Math.hypot(q[0] - p[0], q[1] - p[1]) < minDist)) continue;
    points.push(p);
  }
  return points;
}

function bbox(geom: MultiPolygonGeometry) {
  const box = { minLon: Infinity, minLat: Infinity, maxLon: -Infinity, maxLat: -Infinity };
  for (const polygon of geom.coordinates)
    for (const [lon, lat] of polygon[0] ?? []) {
      box.minLon = Math.min(box.minLon, lon);
      box.maxLon = Math.max(box.maxLon, lon);
      box.minLat = Math.min(box.minLat, lat);
      box.maxLat = Math.max(box.maxLat, lat);
    }
  return box;
}

/** Even-odd ray casting over every ring (holes included). Only used to place Voronoi seeds. */
function inMultiPolygon([x, y]: Position, geom: MultiPolygonGeometry): boolean {
  let inside = false;
  for (const polygon of geom.coordinates)
    for (const ring of polygon)
      for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        const [xi, yi] = ring[i] as Position;
        const [xj, yj] = ring[j] as Position;
        if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
      }
  return inside;
}

export const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/** A grid cell as the rest of the seed sees it: ids, names, outline and bounding box. */
export interface CellInfo {
  id: number;
  code: string;
  communityId: number;
  streetId: number;
  districtId: number;
  cityId: number;
  ring: Position[];
  box: { minLon: number; minLat: number; maxLon: number; maxLat: number };
  /** A point inside the cell (ST_PointOnSurface). */
  inside: Position;
}

export interface RegionInfo {
  id: number;
  level: string;
  code: string;
  name: string;
  parentId: number | null;
}

export interface CityMap {
  cells: CellInfo[];
  regions: Map<number, RegionInfo>;
}

/** Loads the seeded places into memory once, so cases and workers can be placed without round trips. */
export async function loadCityMap(db: Executor): Promise<CityMap> {
  const cellRows = await rows<{
    id: number;
    code: string;
    communityId: number;
    streetId: number;
    districtId: number;
    cityId: number;
    geom: { coordinates: Position[][] };
    inside: { coordinates: Position };
  }>(
    db,
    sql`SELECT id::int AS id, code, community_id::int AS "communityId", street_id::int AS "streetId",
               district_id::int AS "districtId", city_id::int AS "cityId",
               ST_AsGeoJSON(geom, 15)::json AS geom, ST_AsGeoJSON(ST_PointOnSurface(geom), 15)::json AS inside
        FROM grid_cells ORDER BY id`,
  );
  const cells = cellRows.map((r) => {
    const ring = r.geom.coordinates[0] ?? [];
    const box = { minLon: Infinity, minLat: Infinity, maxLon: -Infinity, maxLat: -Infinity };
    for (const [lon, lat] of ring) {
      box.minLon = Math.min(box.minLon, lon);
      box.maxLon = Math.max(box.maxLon, lon);
      box.minLat = Math.min(box.minLat, lat);
      box.maxLat = Math.max(box.maxLat, lat);
    }
    const { geom: _geom, inside, ...ids } = r;
    return { ...ids, ring, box, inside: inside.coordinates };
  });
  const regionRows = await rows<RegionInfo>(
    db,
    sql`SELECT id::int AS id, level::text AS level, code, name, parent_id::int AS "parentId" FROM regions ORDER BY id`,
  );
  return { cells, regions: new Map(regionRows.map((r) => [r.id, r])) };
}

/** The cell containing a point, or undefined outside the city (holes are not possible in cells here). */
export function cellAt(map: CityMap, [lon, lat]: Position): CellInfo | undefined {
  return map.cells.find(
    (c) =>
      lon >= c.box.minLon &&
      lon <= c.box.maxLon &&
      lat >= c.box.minLat &&
      lat <= c.box.maxLat &&
      inMultiPolygon([lon, lat], { type: 'MultiPolygon', coordinates: [[c.ring]] }),
  );
}

/** A uniformly random point inside a cell. */
export function randomPointIn(rng: Rng, cell: CellInfo): Position {
  const geom: MultiPolygonGeometry = { type: 'MultiPolygon', coordinates: [[cell.ring]] };
  for (let i = 0; i < 200; i++) {
    const p: Position = [
      uniform(rng, cell.box.minLon, cell.box.maxLon),
      uniform(rng, cell.box.minLat, cell.box.maxLat),
    ];
    if (inMultiPolygon(p, geom)) return p;
  }
  return cell.inside;
}
