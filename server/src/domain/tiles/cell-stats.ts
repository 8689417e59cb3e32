/**
 * Open and overdue cases per grid cell in the caller's scope: what the map's choropleth paints
 * through feature-state on the grid-cell tiles, so new counts never mean new tiles.
 */
import { type Database, rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import type { Actor } from '../auth/actor';
import { inScope, scopeOf } from '../auth/scope';

/** `[gridCellId, open, overdue]` for every cell with at least one open case. */
export type CellCounts = [id: number, open: number, overdue: number];

export async function openCasesByCell(database: Pick<Database, 'db'>, actor: Actor): Promise<CellCounts[]> {
  const scope = await scopeOf(database.db, actor);
  // Index: cases_status_reported_idx (status first) narrows to open cases; the scope is an equality
  // on the district/street/city column. Overdue as domain/cases/view.ts's overdueCondition.
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
