/**
 * Open and overdue cases per grid cell in the caller's scope: what the map's choropleth paints
 * through feature-state on the grid-cell tiles, so new counts never mean new tiles.
 */
import { type Database, rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import type { Actor } from '../auth/actor';
import { inScope, scopeOf } from '../auth/scope';
import type { CachedTile, TileCaching } from './cache';
import { assertSeesWholeScope, etagOf } from './tiles';

/** `[gridCellId, open, overdue]` for every cell with at least one open case. */
export type CellCounts = [id: number, open: number, overdue: number];

export async function openCasesByCell(database: Pick<Database, 'db'>, actor: Actor): Promise<CellCounts[]> {
  assertSeesWholeScope(actor);
  const scope = await scopeOf(database.db, actor);
  // Index: cases_open_cell_idx (migration 0004), open cases only with every column read here, so an
  // index-only scan; the scope is an equality on one of its columns. Overdue as
  // domain/cases/view.ts's overdueCondition.
  const found = await rows<{ id: string | number; open: number; overdue: number }>(
    database.db,
    sql`SELECT c.grid_cell_id AS id, count(*)::int AS open,
               (count(*) FILTER (WHERE coalesce(c.handle_due_at < coalesce(c.on_hold_since, now()), false)
                                   AND c.status <> 'RESOLVED'))::int AS overdue
        FROM cases c
        WHERE c.status NOT IN ('CLOSED', 'REJECTED')
          AND ${inScope(scope, {
            cityId: sql`c.city_id`,
            districtId: sql`c.district_id`,
            streetId: sql`c.street_id`,
            communityId: sql`c.community_id`,
          })}
        GROUP BY c.grid_cell_id`,
  );
  return found.map((r) => [Number(r.id), r.open, r.overdue]);
}

/**
 * `openCasesByCell` as the JSON body `{ cells }` with its ETag, kept by the tile cache where given
 * one. It is filed as the cases layer's one tile at zoom 0 (per scope): every change to a case
 * reaches that tile, so every notice from the cases table drops it, and its time-driven overdue
 * counts expire with the cases layer's entries.
 */
export async function cellStatsBody(
  database: Pick<Database, 'db'>,
  actor: Actor,
  caching?: Pick<TileCaching, 'cache' | 'sync'>,
): Promise<CachedTile> {
  const render = async (): Promise<CachedTile> => {
    const bytes = Buffer.from(JSON.stringify({ cells: await openCasesByCell(database, actor) }));
    return { bytes, etag: etagOf(bytes), layerName: 'cell_stats' };
  };
  assertSeesWholeScope(actor);
  if (!caching) return render();
  const scope = await scopeOf(database.db, actor);
  const key = { layer: 'cases', z: 0, x: 0, y: 0, variant: `cell-stats|${scope.level}|${scope.regionId}` };
  return caching.cache.get(key, render, caching.sync);
}
