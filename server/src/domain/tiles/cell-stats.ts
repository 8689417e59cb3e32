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
  // Open cases from case_cell_counts (migration 0007, kept by triggers on cases): a few rows per
  // cell, the scope an equality on one of their columns. Overdue changes with the clock, so it is
  // counted here, per cell with open cases, from cases_overdue_cell_idx (0007): an index-only scan
  // of that cell's overdue cases alone. Overdue as domain/cases/view.ts's overdueCondition, with
  // `handle_due_at < now()` bounding the index range (a hold began in the past).
  const found = await rows<{ id: string | number; open: number; overdue: number }>(
    database.db,
    sql`SELECT cell.id, cell.open, o.overdue
        FROM (
          SELECT k.grid_cell_id AS id, sum(k.cases)::int AS open
          FROM case_cell_counts k
          WHERE k.status NOT IN ('CLOSED', 'REJECTED')
            AND ${inScope(scope, {
              cityId: sql`k.city_id`,
              districtId: sql`k.district_id`,
              streetId: sql`k.street_id`,
              communityId: sql`k.community_id`,
            })}
          GROUP BY k.grid_cell_id
          HAVING sum(k.cases) > 0
        ) cell
        CROSS JOIN LATERAL (
          SELECT count(*)::int AS overdue
          FROM cases c
          WHERE c.grid_cell_id = cell.id
            AND c.status IN ('REPORTED', 'FILED', 'DISPATCHED', 'IN_PROGRESS')
            AND c.handle_due_at < now()
            AND c.handle_due_at < coalesce(c.on_hold_since, now())
            AND ${inScope(scope, {
              cityId: sql`c.city_id`,
              districtId: sql`c.district_id`,
              streetId: sql`c.street_id`,
              communityId: sql`c.community_id`,
            })}
        ) o
        ORDER BY cell.id`,
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
    return { bytes, etag: etagOf(bytes) };
  };
  assertSeesWholeScope(actor);
  if (!caching) return render();
  const scope = await scopeOf(database.db, actor);
  const key = { layer: 'cases', z: 0, x: 0, y: 0, variant: `cell-stats|${scope.level}|${scope.regionId}` };
  return caching.cache.get(key, render, caching.sync);
}
