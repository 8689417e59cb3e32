-- Hand-written (the table from drizzle-kit): cases counted per grid cell and status, kept by
-- statement-level triggers, for the map's per-cell counts — the choropleth's open counts
-- (/tiles/grid_cells/stats.json) and the cases tiles below zoom 14.
--
-- Counted when read (0004's index-only scans), a city-wide view still read every case of the city:
-- on the bench city (a million cases) 0.13 s for the choropleth and 0.28 s for the four z11 case
-- tiles, on the path of the command center's first render. Now those read a row per cell and
-- status here, and the overdue cases' index entries: about 0.04 s and 0.05–0.08 s.
--
-- Overdue cannot be kept here: a case becomes overdue when its deadline passes, without a write.
-- It is counted when read, from cases_overdue_cell_idx below, which holds exactly the open,
-- unresolved cases by cell and deadline, so a count reads only the entries of the cases that are
-- overdue (each cell's range of deadlines before now()) rather than every open case.
--
-- Cost per write to cases: one more trigger call per statement, which aggregates the statement's
-- rows and adds the differences to their (cell, status, region) rows — a report adds one to its
-- cell's REPORTED row, a transition moves one from the old status's row to the new one's, and a
-- statement that changes none of the counted columns writes nothing. Concurrent writes to the same
-- cell and status wait on that row for each other's commit (one cell among a city's thousands).
-- Each statement takes its rows in key order, so transactions that write cases in one statement —
-- a report, a batch of reports, a transition — never deadlock on them. A row that falls to zero
-- stays (there is at most one per cell, status and region).

CREATE TABLE "case_cell_counts" (
	"grid_cell_id" bigint NOT NULL,
	"status" "case_status" NOT NULL,
	"community_id" bigint NOT NULL,
	"street_id" bigint NOT NULL,
	"district_id" bigint NOT NULL,
	"city_id" bigint NOT NULL,
	"cases" integer NOT NULL,
	CONSTRAINT "case_cell_counts_pkey" PRIMARY KEY("grid_cell_id","status","community_id","street_id","district_id","city_id")
);--> statement-breakpoint

-- No writes to cases between the count below and the triggers taking over (this runs in the
-- migration's transaction; writers wait for its commit).
LOCK TABLE cases IN SHARE ROW EXCLUSIVE MODE;--> statement-breakpoint

-- Transition tables are named per trigger (a trigger with one of them has only that one), so each
-- operation reads its own; the differences are summed per key in one statement.
CREATE FUNCTION citygrid_case_cell_counts_apply() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO case_cell_counts AS k (grid_cell_id, status, community_id, street_id, district_id, city_id, cases)
    SELECT grid_cell_id, status, community_id, street_id, district_id, city_id, count(*)::int
    FROM counted_new_cases
    GROUP BY 1, 2, 3, 4, 5, 6
    ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (grid_cell_id, status, community_id, street_id, district_id, city_id)
    DO UPDATE SET cases = k.cases + excluded.cases;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO case_cell_counts AS k (grid_cell_id, status, community_id, street_id, district_id, city_id, cases)
    SELECT grid_cell_id, status, community_id, street_id, district_id, city_id, -count(*)::int
    FROM counted_old_cases
    GROUP BY 1, 2, 3, 4, 5, 6
    ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (grid_cell_id, status, community_id, street_id, district_id, city_id)
    DO UPDATE SET cases = k.cases + excluded.cases;
  ELSE
    INSERT INTO case_cell_counts AS k (grid_cell_id, status, community_id, street_id, district_id, city_id, cases)
    SELECT grid_cell_id, status, community_id, street_id, district_id, city_id, sum(d)::int
    FROM (
      SELECT grid_cell_id, status, community_id, street_id, district_id, city_id, 1 AS d FROM counted_new_cases
      UNION ALL
      SELECT grid_cell_id, status, community_id, street_id, district_id, city_id, -1 FROM counted_old_cases
    ) changed
    GROUP BY 1, 2, 3, 4, 5, 6
    HAVING sum(d) <> 0
    ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (grid_cell_id, status, community_id, street_id, district_id, city_id)
    DO UPDATE SET cases = k.cases + excluded.cases;
  END IF;
  RETURN NULL;
END
$$;--> statement-breakpoint

CREATE TRIGGER cases_cell_counts_insert AFTER INSERT ON cases
  REFERENCING NEW TABLE AS counted_new_cases
  FOR EACH STATEMENT EXECUTE FUNCTION citygrid_case_cell_counts_apply();--> statement-breakpoint
CREATE TRIGGER cases_cell_counts_update AFTER UPDATE ON cases
  REFERENCING OLD TABLE AS counted_old_cases NEW TABLE AS counted_new_cases
  FOR EACH STATEMENT EXECUTE FUNCTION citygrid_case_cell_counts_apply();--> statement-breakpoint
CREATE TRIGGER cases_cell_counts_delete AFTER DELETE ON cases
  REFERENCING OLD TABLE AS counted_old_cases
  FOR EACH STATEMENT EXECUTE FUNCTION citygrid_case_cell_counts_apply();--> statement-breakpoint

CREATE FUNCTION citygrid_case_cell_counts_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE case_cell_counts;
  RETURN NULL;
END
$$;--> statement-breakpoint

CREATE TRIGGER cases_cell_counts_truncate AFTER TRUNCATE ON cases
  FOR EACH STATEMENT EXECUTE FUNCTION citygrid_case_cell_counts_truncate();--> statement-breakpoint

-- Rows of one cell together on a page (a tile reads them cell by cell), with room beside them for
-- their next versions, so an update stays on its page (a HOT update, as in 0005).
ALTER TABLE case_cell_counts SET (fillfactor = 50);--> statement-breakpoint
INSERT INTO case_cell_counts (grid_cell_id, status, community_id, street_id, district_id, city_id, cases)
SELECT grid_cell_id, status, community_id, street_id, district_id, city_id, count(*)::int
FROM cases
GROUP BY 1, 2, 3, 4, 5, 6
ORDER BY 1, 2, 3, 4, 5, 6;--> statement-breakpoint

-- The open, unresolved cases by cell and deadline, with what an overdue count filters on (status,
-- the hold, the region). A case on hold is overdue when its deadline fell before the hold began;
-- the hold began in the past, so such a deadline is before now() too and in the range read.
CREATE INDEX cases_overdue_cell_idx ON cases (grid_cell_id, handle_due_at)
  INCLUDE (status, on_hold_since, city_id, district_id, street_id, community_id)
  WHERE status IN ('REPORTED', 'FILED', 'DISPATCHED', 'IN_PROGRESS');--> statement-breakpoint

-- 0004's open-cases index served only the choropleth's counts, which now come from the two above.
DROP INDEX cases_open_cell_idx;--> statement-breakpoint

-- As in 0004, but without a category or time filter the counts come from case_cell_counts (and
-- overdue from cases_overdue_cell_idx); with one, cases are counted cell by cell as before.
-- PL/pgSQL so that each branch is planned for the filters it has.
CREATE OR REPLACE FUNCTION citygrid_tile_case_cells_rows(
  z integer, x integer, y integer, scope_level text, scope_region bigint,
  statuses text[], category_codes text[], reported_after timestamptz, reported_before timestamptz
) RETURNS TABLE (id bigint, geom geometry, count integer, open integer, overdue integer)
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
  IF category_codes IS NULL AND reported_after IS NULL AND reported_before IS NULL THEN
    RETURN QUERY
    SELECT cells.id, cells.geom, n.count, n.open, o.overdue
    FROM (
      SELECT g.id, citygrid_tile_geom(ST_PointOnSurface(g.geom), z, x, y, 0) AS geom
      FROM grid_cells g
      WHERE g.geom && citygrid_tile_bbox_4326(z, x, y)
        AND citygrid_in_scope(scope_level, scope_region, g.city_id, g.district_id, g.street_id, g.community_id)
    ) cells
    CROSS JOIN LATERAL (
      -- Index: case_cell_counts_pkey (the cell is its first column).
      SELECT coalesce(sum(k.cases), 0)::int AS count,
             coalesce(sum(k.cases) FILTER (WHERE k.status NOT IN ('CLOSED', 'REJECTED')), 0)::int AS open
      FROM case_cell_counts k
      WHERE k.grid_cell_id = cells.id
        AND (statuses IS NULL OR k.status::text = ANY (statuses))
    ) n
    CROSS JOIN LATERAL (
      -- Overdue as server/src/domain/cases/view.ts's overdueCondition; `handle_due_at < now()`
      -- bounds the index range (see the index above). Index: cases_overdue_cell_idx, index-only.
      SELECT count(*)::int AS overdue
      FROM cases c
      WHERE c.grid_cell_id = cells.id
        AND c.status IN ('REPORTED', 'FILED', 'DISPATCHED', 'IN_PROGRESS')
        AND c.handle_due_at < now()
        AND c.handle_due_at < coalesce(c.on_hold_since, now())
        AND (statuses IS NULL OR c.status::text = ANY (statuses))
    ) o
    -- Buffer 0 above: a label point outside the tile proper belongs to the neighbouring tile.
    WHERE cells.geom IS NOT NULL AND n.count > 0;
  ELSE
    RETURN QUERY
    SELECT cells.id, cells.geom, n.count, n.open, n.overdue
    FROM (
      SELECT g.id, citygrid_tile_geom(ST_PointOnSurface(g.geom), z, x, y, 0) AS geom
      FROM grid_cells g
      WHERE g.geom && citygrid_tile_bbox_4326(z, x, y)
        AND citygrid_in_scope(scope_level, scope_region, g.city_id, g.district_id, g.street_id, g.community_id)
    ) cells
    CROSS JOIN LATERAL (
      -- Index: cases_cell_counts_idx (0004), an index-only scan per cell.
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
    WHERE cells.geom IS NOT NULL AND n.count > 0;
  END IF;
END
$$;
