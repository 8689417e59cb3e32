-- Hand-written: the cases layer for a DEPARTMENT user — the cases dispatched to their department.
--
-- A department user sees only those cases (server/src/domain/cases/queries.ts, caseVisibility: in
-- the region scope, dispatched, and dispatched to the user's department; a returned or reopened
-- case has no dispatch and leaves it again). They are few beside a city's, so they are drawn one
-- by one at every zoom: no per-cell counts, which would be counts of cases the user may not see.
--
-- query_params gains the key `department` (the user's department id, injected by the server like
-- the scope keys, never taken from the caller). When the key is present the tile holds the `cases`
-- layer of that department's cases at every zoom; present but null (a department user without a
-- department) it holds nothing. Absent, the tile is as before.

-- As citygrid_tile_case_points_rows (0006), for one department's dispatched cases. Indexes:
-- cases_department_idx or cases_location_gist, whichever the planner finds narrower (a department's
-- cases at a city-wide zoom, the tile's box at a street-level one).
CREATE FUNCTION citygrid_tile_department_case_points_rows(
  z integer, x integer, y integer, scope_level text, scope_region bigint, department bigint,
  statuses text[], category_codes text[], reported_after timestamptz, reported_before timestamptz
) RETURNS TABLE (
  id bigint, geom geometry, code text, status text, priority text, category text, overdue boolean
)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT p.* FROM (
    SELECT c.id,
           citygrid_tile_point(c.location, z, x, y) AS geom,
           c.code, c.status::text AS status, c.priority::text AS priority, cat.code AS category,
           coalesce(c.handle_due_at < coalesce(c.on_hold_since, now()), false)
             AND c.status NOT IN ('RESOLVED', 'CLOSED', 'REJECTED') AS overdue
    FROM cases c
    JOIN categories cat ON cat.id = c.category_id
    WHERE c.department_id = department
      AND c.dispatched_at IS NOT NULL
      AND c.location && citygrid_tile_bbox_4326(z, x, y)
      AND citygrid_in_scope(scope_level, scope_region, c.city_id, c.district_id, c.street_id, c.community_id)
      AND (statuses IS NULL OR c.status::text = ANY (statuses))
      AND (category_codes IS NULL OR cat.code = ANY (category_codes))
      AND (reported_after IS NULL OR c.reported_at >= reported_after)
      AND (reported_before IS NULL OR c.reported_at < reported_before)
    OFFSET 0
  ) p
  WHERE ST_X(p.geom) BETWEEN -64 AND 4160 AND ST_Y(p.geom) BETWEEN -64 AND 4160
$$;--> statement-breakpoint

-- As in 0002, with the department's points when query_params holds `department` (see the header).
CREATE OR REPLACE FUNCTION citygrid_tiles_cases(z integer, x integer, y integer, query_params json)
RETURNS bytea
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
  tile bytea;
  level text := query_params ->> 'scope_level';
  region bigint := (query_params ->> 'scope_region')::bigint;
  statuses text[] := citygrid_tile_param_list(query_params, 'status');
  codes text[] := citygrid_tile_param_list(query_params, 'category');
  after timestamptz := (query_params ->> 'reported_after')::timestamptz;
  before timestamptz := (query_params ->> 'reported_before')::timestamptz;
BEGIN
  -- `->` gives JSON null for a key holding null, SQL NULL for a missing key.
  IF query_params -> 'department' IS NOT NULL THEN
    SELECT ST_AsMVT(t.*, 'cases', 4096, 'geom', 'id') INTO tile
    FROM citygrid_tile_department_case_points_rows(z, x, y, level, region,
      (query_params ->> 'department')::bigint, statuses, codes, after, before) t;
  ELSIF z >= 14 THEN
    SELECT ST_AsMVT(t.*, 'cases', 4096, 'geom', 'id') INTO tile
    FROM citygrid_tile_case_points_rows(z, x, y, level, region, statuses, codes, after, before) t;
  ELSE
    SELECT ST_AsMVT(t.*, 'case_cells', 4096, 'geom', 'id') INTO tile
    FROM citygrid_tile_case_cells_rows(z, x, y, level, region, statuses, codes, after, before) t;
  END IF;
  RETURN tile;
END
$$;--> statement-breakpoint

-- CREATE OR REPLACE resets a function's settings: 0003's no-JIT again.
ALTER FUNCTION citygrid_tiles_cases(integer, integer, integer, json) SET jit = off;
