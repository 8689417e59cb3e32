/**
 * Vector tiles of grid cells, cases and sensors for the caller's region scope, from the SQL tile
 * functions of migrations 0002_tiles and 0003_tile_cache (ST_AsMVT there; on a database without
 * it, the same rows encoded here), kept in memory by cache.ts where given one. The ETag is a hash
 * of the tile's bytes, so it changes exactly when what the tile shows does. From zoom 14 a cases
 * tile holds points unless it would hold more than 2,000, then per-cell counts (migration
 * 0010_dense_case_tiles). A DEPARTMENT user's cases layer holds only the cases dispatched to their
 * department, as points at every zoom (migration 0008_department_case_tiles).
 */
import { createHash } from 'node:crypto';
import { type Database, type Executor, rows } from '@citygrid/db';
import type { CaseStatus } from '@citygrid/db/schema';
import { type SQL, sql } from 'drizzle-orm';
import type { Actor } from '../auth/actor';
import { type Scope, scopeOf } from '../auth/scope';
import { BadUserInput, Forbidden } from '../errors';
import type { TileCaching } from './cache';
import { encodeTile, type TileRow } from './encode';

export const TILE_LAYERS = ['grid_cells', 'cases', 'sensors'] as const;
export type TileLayer = (typeof TILE_LAYERS)[number];

/**
 * From this zoom on, a cases tile holds one point per case (`cases`) unless it would hold more than
 * CASE_POINTS_MAX_PER_TILE; below it, and in such a dense tile, counts per grid cell (`case_cells`).
 */
export const CASE_POINTS_MIN_ZOOM = 14;
/** The most case points one tile holds (the SQL default of citygrid_tile_case_points_dense, 0010). */
export const CASE_POINTS_MAX_PER_TILE = 2000;
/** Deeper than any street-level view needs; also keeps x and y small. */
export const MAX_TILE_ZOOM = 22;

const CASE_STATUSES: readonly CaseStatus[] = [
  'REPORTED',
  'FILED',
  'DISPATCHED',
  'IN_PROGRESS',
  'RESOLVED',
  'CLOSED',
  'REJECTED',
];

export interface TileAddress {
  layer: string;
  z: number;
  x: number;
  y: number;
}

/** Filters of the cases layer (ignored by the others). */
export interface TileFilter {
  status?: string[];
  category?: string[];
  reportedAfter?: Date;
  reportedBefore?: Date;
}

export interface Tile {
  bytes: Uint8Array;
  /** A strong ETag (quoted), a hash of the bytes. */
  etag: string;
}

/** Checks the address: a known layer and a tile that exists at its zoom. */
export function parseTileAddress(address: TileAddress): {
  layer: TileLayer;
  z: number;
  x: number;
  y: number;
} {
  const { layer, z, x, y } = address;
  if (!(TILE_LAYERS as readonly string[]).includes(layer)) {
    throw new BadUserInput(`unknown tile layer ${JSON.stringify(layer)}; one of ${TILE_LAYERS.join(', ')}`, {
      field: 'layer',
    });
  }
  if (!Number.isInteger(z) || z < 0 || z > MAX_TILE_ZOOM) {
    throw new BadUserInput(`zoom ${z} is outside 0–${MAX_TILE_ZOOM}`, { field: 'z' });
  }
  const size = 2 ** z;
  for (const [name, value] of [
    ['x', x],
    ['y', y],
  ] as const) {
    if (!Number.isInteger(value) || value < 0 || value >= size) {
      throw new BadUserInput(`${name} ${value} is outside 0–${size - 1} at zoom ${z}`, { field: name });
    }
  }
  return { layer: layer as TileLayer, z, x, y };
}

function checkFilter(filter: TileFilter): void {
  for (const code of filter.category ?? []) {
    // Lists travel comma-joined (as Martin's query parameters do).
    if (code.includes(',')) throw new BadUserInput('a category code has no comma', { field: 'category' });
  }
  for (const status of filter.status ?? []) {
    if (!(CASE_STATUSES as readonly string[]).includes(status)) {
      throw new BadUserInput(`unknown case status ${JSON.stringify(status)}`, { field: 'status' });
    }
  }
}

/**
 * Whose cases a cases tile holds: every case of the scope (`undefined`), or, for a DEPARTMENT
 * user, those dispatched to their department (`{ id }`; `null` for a user without a department,
 * who sees none). Read on every request, as caseVisibility reads it in its statement, so a user
 * moved to another department sees its cases at once.
 */
async function caseDepartmentOf(db: Executor, actor: Actor): Promise<{ id: number | null } | undefined> {
  if (actor.role !== 'DEPARTMENT') return undefined;
  const [row] = await rows<{ id: number | null }>(
    db,
    sql`SELECT department_id::int AS id FROM users WHERE id = ${actor.id}`,
  );
  return { id: row?.id ?? null };
}

/**
 * Renders one tile for the actor. `encodeInServer` forces the server-side encoder even where
 * ST_AsMVT exists (the test compares both paths on the same data).
 */
export async function renderTile(
  database: Pick<Database, 'db' | 'capabilities'>,
  actor: Actor,
  address: TileAddress,
  filter: TileFilter = {},
  options: { encodeInServer?: boolean; caching?: Pick<TileCaching, 'cache' | 'sync'> | undefined } = {},
): Promise<Tile> {
  const { layer, z, x, y } = parseTileAddress(address);
  checkFilter(filter);
  const scope = await scopeOf(database.db, actor);
  const department = layer === 'cases' ? await caseDepartmentOf(database.db, actor) : undefined;
  const render = () =>
    renderBytes(database, layer, z, x, y, scope, department, filter, options.encodeInServer === true);
  // A department's tiles are not kept: they hold a few cases, read through cases_department_idx,
  // and are seen by that department's users alone, so memory would spare little; rendered on
  // every request they need no key or invalidation of their own.
  if (!options.caching || options.encodeInServer || department) return render();
  const { cache, sync } = options.caching;
  return cache.get({ layer, z, x, y, variant: tileVariant(scope, layer, filter) }, render, sync);
}

/**
 * The choropleth's counts (cell-stats.ts) are of every case in a region scope; a DEPARTMENT user
 * sees only the cases dispatched to their department (domain/cases/queries.ts, caseVisibility),
 * so those counts are refused to them rather than shown too wide. (Their cases tiles hold their
 * own cases instead: renderTile.)
 */
export function assertSeesWholeScope(actor: Actor): void {
  if (actor.role === 'DEPARTMENT')
    throw new Forbidden('department users see their own cases, not the city-wide case counts');
}

/** What tells apart tiles of one address: the scope, and the cases layer's filters (order-free). */
function tileVariant(scope: Scope, layer: TileLayer, filter: TileFilter): string {
  const parts = [scope.level, String(scope.regionId)];
  if (layer === 'cases') {
    parts.push(
      [...(filter.status ?? [])].sort().join(','),
      [...(filter.category ?? [])].sort().join(','),
      filter.reportedAfter?.toISOString() ?? '',
      filter.reportedBefore?.toISOString() ?? '',
    );
  }
  return parts.join('|');
}

async function renderBytes(
  database: Pick<Database, 'db' | 'capabilities'>,
  layer: TileLayer,
  z: number,
  x: number,
  y: number,
  scope: Scope,
  department: { id: number | null } | undefined,
  filter: TileFilter,
  encodeInServer: boolean,
): Promise<Tile> {
  let bytes: Uint8Array;
  if (database.capabilities.mvt && !encodeInServer) {
    const params = {
      scope_level: scope.level,
      scope_region: scope.regionId,
      ...(layer === 'cases' ? martinCaseParams(filter) : {}),
      // Present (even null) only for a department user: see migration 0008.
      ...(department ? { department: department.id } : {}),
    };
    const [row] = await rows<{ tile: Buffer | Uint8Array | null }>(
      database.db,
      sql`SELECT ${functionCall(layer)}(${z}::int, ${x}::int, ${y}::int, ${JSON.stringify(params)}::json) AS tile`,
    );
    bytes = row?.tile ? new Uint8Array(row.tile) : new Uint8Array(0);
  } else {
    const layerName = await layerNameOf(database.db, layer, z, x, y, scope, department, filter);
    const found = await rows<{ id: string | number; geom: string } & Record<string, unknown>>(
      database.db,
      rowsQuery(layer, layerName, z, x, y, scope.level, scope.regionId, department, filter),
    );
    const features: TileRow[] = found.map(({ id, geom, ...properties }) => ({
      id: Number(id),
      geometry: JSON.parse(geom),
      properties: properties as TileRow['properties'],
    }));
    bytes = encodeTile(layerName, features);
  }
  return { bytes, etag: etagOf(bytes) };
}

/**
 * The layer inside the tile, as the SQL tile function chooses it: `cases` for a department's
 * cases, and from CASE_POINTS_MIN_ZOOM for a tile of at most CASE_POINTS_MAX_PER_TILE cases;
 * otherwise `case_cells`.
 */
async function layerNameOf(
  db: Executor,
  layer: TileLayer,
  z: number,
  x: number,
  y: number,
  scope: Scope,
  department: { id: number | null } | undefined,
  filter: TileFilter,
): Promise<string> {
  if (layer !== 'cases') return layer;
  if (department) return 'cases';
  if (z < CASE_POINTS_MIN_ZOOM) return 'case_cells';
  const [row] = await rows<{ dense: boolean }>(
    db,
    sql`SELECT citygrid_tile_case_points_dense(${z}::int, ${x}::int, ${y}::int, ${scope.level}::text,
          ${scope.regionId}::bigint, ${caseFilterArgs(filter)}, ${CASE_POINTS_MAX_PER_TILE}::int) AS dense`,
  );
  return row?.dense ? 'case_cells' : 'cases';
}

export function etagOf(bytes: Uint8Array): string {
  return `"${createHash('sha1').update(bytes).digest('base64url')}"`;
}

function functionCall(layer: TileLayer): SQL {
  switch (layer) {
    case 'grid_cells':
      return sql`citygrid_tiles_grid_cells`;
    case 'cases':
      return sql`citygrid_tiles_cases`;
    case 'sensors':
      return sql`citygrid_tiles_sensors`;
  }
}

/** The case filters as Martin-style query parameters (comma-separated lists, ISO times). */
function martinCaseParams(filter: TileFilter): Record<string, string> {
  const params: Record<string, string> = {};
  if (filter.status?.length) params.status = filter.status.join(',');
  if (filter.category?.length) params.category = filter.category.join(',');
  if (filter.reportedAfter) params.reported_after = filter.reportedAfter.toISOString();
  if (filter.reportedBefore) params.reported_before = filter.reportedBefore.toISOString();
  return params;
}

/** The rows function behind the tile, with the geometry as GeoJSON of tile coordinates. */
function rowsQuery(
  layer: TileLayer,
  layerName: string,
  z: number,
  x: number,
  y: number,
  level: string,
  regionId: number,
  department: { id: number | null } | undefined,
  filter: TileFilter,
): SQL {
  const tile = sql`${z}::int, ${x}::int, ${y}::int, ${level}::text, ${regionId}::bigint`;
  const filters = caseFilterArgs(filter);
  const cases = sql`${tile}, ${filters}`;
  switch (layer) {
    case 'grid_cells':
      return sql`SELECT id, ST_AsGeoJSON(geom) AS geom, code, name
                 FROM citygrid_tile_grid_cells_rows(${tile}) WHERE geom IS NOT NULL`;
    case 'sensors':
      return sql`SELECT id, ST_AsGeoJSON(geom) AS geom, device_id, kind, name, state
                 FROM citygrid_tile_sensors_rows(${tile}) WHERE geom IS NOT NULL`;
    case 'cases':
      if (department)
        return sql`SELECT id, ST_AsGeoJSON(geom) AS geom, code, status, priority, category, overdue
                   FROM citygrid_tile_department_case_points_rows(${tile}, ${department.id}::bigint, ${filters})
                   WHERE geom IS NOT NULL`;
      return layerName === 'cases'
        ? sql`SELECT id, ST_AsGeoJSON(geom) AS geom, code, status, priority, category, overdue
              FROM citygrid_tile_case_points_rows(${cases}) WHERE geom IS NOT NULL`
        : sql`SELECT id, ST_AsGeoJSON(geom) AS geom, count, open, overdue
              FROM citygrid_tile_case_cells_rows(${cases}) WHERE geom IS NOT NULL`;
  }
}

/** The cases rows functions' filter arguments: statuses, category codes, reported after/before. */
function caseFilterArgs(filter: TileFilter): SQL {
  return sql`
    string_to_array(${filter.status?.length ? filter.status.join(',') : null}::text, ','),
    string_to_array(${filter.category?.length ? filter.category.join(',') : null}::text, ','),
    ${filter.reportedAfter?.toISOString() ?? null}::timestamptz,
    ${filter.reportedBefore?.toISOString() ?? null}::timestamptz`;
}
