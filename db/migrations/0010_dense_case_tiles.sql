-- Hand-written: a cases tile from zoom 14 on holds one point per case only while it would hold at
-- most 2,000 of them; a denser tile holds per-grid-cell counts (`case_cells`), as below zoom 14.
--
-- Where points get dense depends on the place, not only the zoom. A z14 tile (~2.4 km across) of a
-- central district can hold tens of thousands of cases: drawn one by one they are a blob on the
-- map, and ST_AsMVT alone costs ~3.5 µs a feature (0.14 s for a 40,000-case tile, the first time
-- it is asked for or after a change inside it). 2,000 dots leave each about 11 px square of a
-- 512 px tile, the size of a case dot with its stroke; beyond that the counts say more. Zooming in
-- splits a dense tile until its tiles hold few enough cases to draw. The test counts at most
-- 2,001 of the tile's rows (the same rows, filters and scope as the points), so it costs about as
-- much as a bounded index scan, ~3 ms for the densest tile of the benchmark city.

-- Whether the cases tile at z/x/y would hold more points than `max_points`.
CREATE FUNCTION citygrid_tile_case_points_dense(
  z integer, x integer, y integer, scope_level text, scope_region bigint,
  statuses text[], category_codes text[], reported_after timestamptz, reported_before timestamptz,
  max_points integer DEFAULT 2000
) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT count(*) > max_points
  FROM (
    SELECT 1
    FROM citygrid_tile_case_points_rows(z, x, y, scope_level, scope_region, statuses, category_codes,
                                        reported_after, reported_before)
    LIMIT max_points + 1
  ) t
$$;--> statement-breakpoint

-- As in 0008, with a dense tile's points counted per grid cell (see the header).
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
  ELSIF z >= 14 AND NOT citygrid_tile_case_points_dense(z, x, y, level, region, statuses, codes, after, before) THEN
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
