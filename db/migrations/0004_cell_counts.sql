-- Hand-written: case counts per grid cell from index-only scans (the per-cell counts of the cases
-- tiles below zoom 14, and the choropleth's open/overdue counts of /tiles/grid_cells/stats.json).
--
-- With a million cases both read most of the cases table for a city-wide view (a z10 tile took
-- 1–2 s, the choropleth 0.5 s). Each index below holds exactly the columns its query reads, so the
-- counts come from the index alone (once VACUUM has marked the pages all-visible, which autovacuum
-- does as cases arrive). Cost per case written: one more entry in each index (the open-cases one
-- only while the case is open) — no trigger, no counter row that concurrent reports would queue on.

-- Every case by cell, with what the tile's filters and counts read.
CREATE INDEX cases_cell_counts_idx ON cases (grid_cell_id)
  INCLUDE (status, category_id, reported_at, handle_due_at, on_hold_since);--> statement-breakpoint

-- Open cases only (in a real city a small part of all cases), by cell, with the scope columns.
CREATE INDEX cases_open_cell_idx ON cases (grid_cell_id)
  INCLUDE (status, handle_due_at, on_hold_since, city_id, district_id, street_id, community_id)
  WHERE status NOT IN ('CLOSED', 'REJECTED');--> statement-breakpoint

-- As in 0002, counted cell by cell (a LATERAL subquery, so each count is an index-only scan of
-- cases_cell_counts_idx for one cell whatever the planner guesses), and only for the cells whose
-- label point lies in this tile (the others are counted by their own tile).
CREATE OR REPLACE FUNCTION citygrid_tile_case_cells_rows(
  z integer, x integer, y integer, scope_level text, scope_region bigint,
  statuses text[], category_codes text[], reported_after timestamptz, reported_before timestamptz
) RETURNS TABLE (id bigint, geom geometry, count integer, open integer, overdue integer)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT cells.id, cells.geom, n.count, n.open, n.overdue
  FROM (
    SELECT g.id, citygrid_tile_geom(ST_PointOnSurface(g.geom), z, x, y, 0) AS geom
    FROM grid_cells g
    WHERE g.geom && citygrid_tile_bbox_4326(z, x, y)
      AND citygrid_in_scope(scope_level, scope_region, g.city_id, g.district_id, g.street_id, g.community_id)
  ) cells
  CROSS JOIN LATERAL (
    SELECT count(*)::int AS count,
           (count(*) FILTER (WHERE c.status NOT IN ('CLOSED', 'REJECTED')))::int AS open,
           (count(*) FILTER (
             WHERE coalesce(c.handle_due_at < coalesce(c.on_hold_since, now()), false)
               AND c.status NOT IN ('RESOLVED', 'CLOSED', 'REJECTED')))::int AS overdue
    FROM cases c
    WHERE c.grid_cell_id = cells.id
      AND (statuses IS NULL OR c.status::text = ANY (statuses))
      AND (category_codes IS NULL
           OR c.category_id IN (SELECT cat.id FROM categories cat WHERE cat.code = ANY (category_codes)))
      AND (reported_after IS NULL OR c.reported_at >= reported_after)
      AND (reported_before IS NULL OR c.reported_at < reported_before)
  ) n
  -- Buffer 0 above: a label point outside the tile proper belongs to the neighbouring tile.
  WHERE cells.geom IS NOT NULL AND n.count > 0
$$;
