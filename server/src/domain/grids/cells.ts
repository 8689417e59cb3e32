/**
 * Grid cells (网格): locating the one cell a point belongs to, and listing cells for the map.
 *
 * Spatial SQL here relies on `grid_cells_geom_gist` (GiST on `grid_cells.geom`, SRID 4326);
 * coordinates are degrees, nothing here measures distance.
 */
import { asGeoJson, type Executor, type LonLat, makePoint, type PolygonGeometry, rows } from '@citygrid/db';
import { gridCells } from '@citygrid/db/schema';
import { and, asc, inArray, sql } from 'drizzle-orm';
import type { Actor } from '../auth/actor';
import { inScope, rowInScope, scopeOf } from '../auth/scope';

export interface GridCellView {
  id: number;
  code: string;
  name: string;
  communityId: number;
  streetId: number;
  districtId: number;
  cityId: number;
  areaM2: number;
  /** Present when the query asked for outlines. */
  geometry?: PolygonGeometry;
}

export interface BBox {
  minLon: number;
  minLat: number;
  maxLon: number;
  maxLat: number;
}

const columns = {
  id: gridCells.id,
  code: gridCells.code,
  name: gridCells.name,
  communityId: gridCells.communityId,
  streetId: gridCells.streetId,
  districtId: gridCells.districtId,
  cityId: gridCells.cityId,
  areaM2: gridCells.areaM2,
};

/**
 * The cell a WGS84 point lies in, or undefined outside every cell. Cells tile without overlap,
 * but a point exactly on a shared edge or corner is covered by two to four of them; the rule is
 * the lowest id among the cells that `ST_Covers` the point, so the answer never depends on plan
 * or row order.
 *
 * Index: `grid_cells_geom_gist` answers the `ST_Covers` bbox pre-filter. The CTE is MATERIALIZED
 * so the planner cannot turn `ORDER BY id LIMIT 1` into a walk of the primary key that tests
 * every cell.
 */
export async function locateGridCell(db: Executor, point: LonLat): Promise<GridCellView | undefined> {
  const [row] = await rows<Record<string, unknown>>(
    db,
    sql`WITH hits AS MATERIALIZED (
          SELECT id, code, name, community_id, street_id, district_id, city_id, area_m_2
          FROM grid_cells
          WHERE ST_Covers(geom, ${makePoint(point)})
        )
        SELECT * FROM hits ORDER BY id LIMIT 1`,
  );
  if (!row) return undefined;
  return {
    id: Number(row.id),
    code: String(row.code),
    name: String(row.name),
    communityId: Number(row.community_id),
    streetId: Number(row.street_id),
    districtId: Number(row.district_id),
    cityId: Number(row.city_id),
    areaM2: Number(row.area_m_2),
  };
}

/**
 * `gridAt` for a user: the point's cell if it lies inside the user's region scope, else null.
 * Outside every cell is also null (not an error): "no cell here" is a valid answer to a lookup;
 * `reportCase` is where a point outside the city is refused.
 */
export async function gridAt(db: Executor, actor: Actor, point: LonLat): Promise<GridCellView | null> {
  const [cell, scope] = await Promise.all([locateGridCell(db, point), scopeOf(db, actor)]);
  return cell && rowInScope(scope, cell) ? cell : null;
}

/** Cells inside the user's scope, optionally those intersecting a bbox, with their outlines. */
export async function listGridCells(
  db: Executor,
  actor: Actor,
  options: { bbox?: BBox | null | undefined; withGeometry?: boolean },
): Promise<GridCellView[]> {
  const scope = await scopeOf(db, actor);
  const { bbox } = options;
  const inBox = bbox
    ? // `&&` against the envelope uses grid_cells_geom_gist.
      sql`${gridCells.geom} && ST_MakeEnvelope(${bbox.minLon}::float8, ${bbox.minLat}::float8, ${bbox.maxLon}::float8, ${bbox.maxLat}::float8, 4326)`
    : undefined;
  const found = await db
    .select({
      ...columns,
      ...(options.withGeometry ? { geometry: asGeoJson<PolygonGeometry>(gridCells.geom, 7) } : {}),
    })
    .from(gridCells)
    .where(and(inScope(scope, gridCells), inBox))
    .orderBy(asc(gridCells.id));
  return found as GridCellView[];
}

export function gridCellsByIds(db: Executor, ids: readonly number[]): Promise<GridCellView[]> {
  return db
    .select(columns)
    .from(gridCells)
    .where(inArray(gridCells.id, [...ids]));
}

export function gridCellGeometries(
  db: Executor,
  ids: readonly number[],
): Promise<{ id: number; geometry: PolygonGeometry }[]> {
  return db
    .select({ id: gridCells.id, geometry: asGeoJson<PolygonGeometry>(gridCells.geom, 7) })
    .from(gridCells)
    .where(inArray(gridCells.id, [...ids]));
}
