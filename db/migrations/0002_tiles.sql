-- Hand-written: the vector-tile functions behind GET /tiles/{layer}/{z}/{x}/{y}.mvt.
--
-- Two functions per layer:
--   citygrid_tile_<layer>_rows(z, x, y, …typed filters…) → the features as ST_AsMVTGeom rows
--     (geometry already in tile coordinates, extent 4096, buffer 64). The embedded PostGIS has no
--     ST_AsMVT (built without protobuf), so the server encodes these same rows itself there.
--   citygrid_tiles_<layer>(z, x, y, query_params json) → bytea, ST_AsMVT over those rows with
--     feature ids. This is the signature Martin serves as a function source, so a Martin
--     deployment can serve the same tiles (it would have to inject the scope keys itself: Martin
--     passes the URL's query string through as query_params, and the scope must not come from
--     the caller).
--
-- Geometry is stored in 4326 and indexed there (GiST). 3857 is used only to cut the tile: the
-- tile envelope is transformed once to 4326 and compared with `&&`, so each query walks the
-- GiST index instead of transforming every row. Web Mercator maps lon/lat rectangles to
-- rectangles, so the transformed envelope is an exact lon/lat box. The envelope gets a margin of
-- 64/4096 of a tile (the MVT buffer): a point just outside the tile still draws its circle across
-- the edge, and a polygon crossing the edge is clipped to the buffer rather than dropped.
--
-- query_params keys: scope_level (CITY|DISTRICT|STREET|COMMUNITY) and scope_region (id) — the
-- caller's region scope, required (without them nothing is returned); cases also take status and
-- category (comma-separated lists), reported_after and reported_before (ISO-8601).

-- The region-scope rule of server/src/domain/auth/scope.ts (one equality on the column chosen by
-- the scope's level), for rows that carry their ancestors' ids. A missing scope sees nothing.
CREATE FUNCTION citygrid_in_scope(
  scope_level text, scope_region bigint,
  city_id bigint, district_id bigint, street_id bigint, community_id bigint
) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(CASE scope_level
    WHEN 'CITY' THEN city_id = scope_region
    WHEN 'DISTRICT' THEN district_id = scope_region
    WHEN 'STREET' THEN street_id = scope_region
    WHEN 'COMMUNITY' THEN community_id = scope_region
  END, false)
$$;--> statement-breakpoint

-- The tile's lon/lat box with the MVT buffer as margin (see the header for why 4326).
CREATE FUNCTION citygrid_tile_bbox_4326(z integer, x integer, y integer) RETURNS geometry
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ST_Transform(ST_TileEnvelope(z, x, y, margin => 64.0 / 4096), 4326)
$$;--> statement-breakpoint

-- A geometry in tile coordinates (extent 4096, y downwards), clipped to the tile plus `buffer`:
-- ST_AsMVTGeom where PostGIS has it. The embedded PostGIS is built without protobuf-c, and there
-- ST_AsMVTGeom raises too, so it gets the same steps spelled out (clip by the buffered envelope,
-- scale to the extent with y flipped, snap to whole units, drop repeated points, MVT ring
-- orientation). Points come out identical; polygon rings may start at another vertex and differ by
-- one unit where the two round differently. Decided once, when the migration runs.
DO $$
DECLARE
  has_mvt boolean;
BEGIN
  BEGIN
    PERFORM ST_AsMVTGeom('POINT(0.5 0.5)'::geometry, ST_MakeEnvelope(0, 0, 1, 1)::box2d);
    has_mvt := true;
  EXCEPTION WHEN OTHERS THEN
    has_mvt := false;
  END;
  IF has_mvt THEN
    CREATE FUNCTION citygrid_tile_geom(g geometry, z integer, x integer, y integer, buffer integer)
    RETURNS geometry LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
    'SELECT ST_AsMVTGeom(ST_Transform(g, 3857), ST_TileEnvelope(z, x, y), 4096, buffer, true)';
  ELSE
    CREATE FUNCTION citygrid_tile_geom(g geometry, z integer, x integer, y integer, buffer integer)
    RETURNS geometry LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
      SELECT CASE WHEN c IS NULL OR ST_IsEmpty(c) THEN NULL ELSE c END
      FROM (
        SELECT ST_ForcePolygonCCW(ST_RemoveRepeatedPoints(ST_SnapToGrid(ST_TransScale(
                 ST_ClipByBox2D(ST_Transform(g, 3857), ST_Expand(env, buffer * (ST_XMax(env) - ST_XMin(env)) / 4096)),
                 -ST_XMin(env), -ST_YMax(env),
                 4096 / (ST_XMax(env) - ST_XMin(env)), -4096 / (ST_YMax(env) - ST_YMin(env))), 1))) AS c
        FROM (SELECT ST_TileEnvelope(z, x, y) AS env) e
      ) t
    $f$;
  END IF;
END
$$;--> statement-breakpoint

-- Grid cells: outline, code, name. Index: grid_cells_geom_gist.
CREATE FUNCTION citygrid_tile_grid_cells_rows(
  z integer, x integer, y integer, scope_level text, scope_region bigint
) RETURNS TABLE (id bigint, geom geometry, code text, name text)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT g.id,
         citygrid_tile_geom(g.geom, z, x, y, 64),
         g.code, g.name
  FROM grid_cells g
  WHERE g.geom && citygrid_tile_bbox_4326(z, x, y)
    AND citygrid_in_scope(scope_level, scope_region, g.city_id, g.district_id, g.street_id, g.community_id)
$$;--> statement-breakpoint

-- Cases one by one (zoom 14 and closer). Index: cases_location_gist. `overdue` is
-- server/src/domain/cases/view.ts's overdueCondition.
CREATE FUNCTION citygrid_tile_case_points_rows(
  z integer, x integer, y integer, scope_level text, scope_region bigint,
  statuses text[], category_codes text[], reported_after timestamptz, reported_before timestamptz
) RETURNS TABLE (
  id bigint, geom geometry, code text, status text, priority text, category text, overdue boolean
)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT c.id,
         citygrid_tile_geom(c.location, z, x, y, 64),
         c.code, c.status::text, c.priority::text, cat.code,
         coalesce(c.handle_due_at < coalesce(c.on_hold_since, now()), false)
           AND c.status NOT IN ('RESOLVED', 'CLOSED', 'REJECTED')
  FROM cases c
  JOIN categories cat ON cat.id = c.category_id
  WHERE c.location && citygrid_tile_bbox_4326(z, x, y)
    AND citygrid_in_scope(scope_level, scope_region, c.city_id, c.district_id, c.street_id, c.community_id)
    AND (statuses IS NULL OR c.status::text = ANY (statuses))
    AND (category_codes IS NULL OR cat.code = ANY (category_codes))
    AND (reported_after IS NULL OR c.reported_at >= reported_after)
    AND (reported_before IS NULL OR c.reported_at < reported_before)
$$;--> statement-breakpoint

-- Cases counted per grid cell (below zoom 14, where points get dense): one point per cell at
-- its label point with `count`, `open` and `overdue`. A cell belongs to the one tile holding its
-- label point, so a count is never split between tiles. Indexes: grid_cells_geom_gist, then
-- cases_grid_idx per cell.
CREATE FUNCTION citygrid_tile_case_cells_rows(
  z integer, x integer, y integer, scope_level text, scope_region bigint,
  statuses text[], category_codes text[], reported_after timestamptz, reported_before timestamptz
) RETURNS TABLE (id bigint, geom geometry, count integer, open integer, overdue integer)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  WITH cells AS (
    SELECT g.id, ST_PointOnSurface(g.geom) AS label
    FROM grid_cells g
    WHERE g.geom && citygrid_tile_bbox_4326(z, x, y)
      AND citygrid_in_scope(scope_level, scope_region, g.city_id, g.district_id, g.street_id, g.community_id)
  ), counted AS (
    SELECT c.grid_cell_id AS id,
           count(*)::int AS count,
           (count(*) FILTER (WHERE c.status NOT IN ('CLOSED', 'REJECTED')))::int AS open,
           (count(*) FILTER (
             WHERE coalesce(c.handle_due_at < coalesce(c.on_hold_since, now()), false)
               AND c.status NOT IN ('RESOLVED', 'CLOSED', 'REJECTED')))::int AS overdue
    FROM cases c
    JOIN categories cat ON cat.id = c.category_id
    WHERE c.grid_cell_id IN (SELECT cells.id FROM cells)
      AND (statuses IS NULL OR c.status::text = ANY (statuses))
      AND (category_codes IS NULL OR cat.code = ANY (category_codes))
      AND (reported_after IS NULL OR c.reported_at >= reported_after)
      AND (reported_before IS NULL OR c.reported_at < reported_before)
    GROUP BY c.grid_cell_id
  )
  SELECT cells.id,
         citygrid_tile_geom(cells.label, z, x, y, 0),
         counted.count, counted.open, counted.overdue
  FROM cells JOIN counted ON counted.id = cells.id
  -- Buffer 0 above: a label point outside the tile proper belongs to the neighbouring tile.
$$;--> statement-breakpoint

-- Sensors by state: `alarm` (a threshold alarm not yet cleared), `offline` (the device is
-- offline, or an offline alarm is open), `normal` (online), `unknown` (never heard from).
-- Indexes: sensors_location_gist, alarms_one_open_key for the per-sensor alarm test.
CREATE FUNCTION citygrid_tile_sensors_rows(
  z integer, x integer, y integer, scope_level text, scope_region bigint
) RETURNS TABLE (id bigint, geom geometry, device_id text, kind text, name text, state text)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT s.id,
         citygrid_tile_geom(s.location, z, x, y, 64),
         s.device_id, s.kind, s.name,
         CASE
           WHEN EXISTS (SELECT 1 FROM alarms a WHERE a.sensor_id = s.id AND a.status <> 'CLEARED'
                          AND a.kind = 'THRESHOLD') THEN 'alarm'
           WHEN s.status = 'OFFLINE' OR EXISTS (SELECT 1 FROM alarms a WHERE a.sensor_id = s.id
                          AND a.status <> 'CLEARED' AND a.kind = 'OFFLINE') THEN 'offline'
           WHEN s.status = 'ONLINE' THEN 'normal'
           ELSE 'unknown'
         END
  FROM sensors s
  WHERE s.location && citygrid_tile_bbox_4326(z, x, y)
    -- Sensors carry no community id (a community scope sees none, as in domain/sensors).
    AND citygrid_in_scope(scope_level, scope_region, s.city_id, s.district_id, s.street_id, NULL)
$$;--> statement-breakpoint

-- A comma-separated query parameter as a text array; NULL when absent or empty.
CREATE FUNCTION citygrid_tile_param_list(query_params json, key text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT nullif(array_remove(string_to_array(query_params ->> key, ','), ''), '{}')
$$;--> statement-breakpoint

CREATE FUNCTION citygrid_tiles_grid_cells(z integer, x integer, y integer, query_params json)
RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT ST_AsMVT(t.*, 'grid_cells', 4096, 'geom', 'id')
  FROM citygrid_tile_grid_cells_rows(z, x, y,
    query_params ->> 'scope_level', (query_params ->> 'scope_region')::bigint) t
$$;--> statement-breakpoint

-- Below zoom 14 the `case_cells` layer (counts per grid cell), from 14 on the `cases` layer.
-- PL/pgSQL rather than SQL: a SQL function's body is planned once with its arguments unknown, and
-- that generic plan for the per-cell counts (a nested loop over every cell's cases) took minutes
-- with a million cases; PL/pgSQL plans with the values when that is cheaper (1–2 s).
CREATE FUNCTION citygrid_tiles_cases(z integer, x integer, y integer, query_params json)
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
  IF z >= 14 THEN
    SELECT ST_AsMVT(t.*, 'cases', 4096, 'geom', 'id') INTO tile
    FROM citygrid_tile_case_points_rows(z, x, y, level, region, statuses, codes, after, before) t;
  ELSE
    SELECT ST_AsMVT(t.*, 'case_cells', 4096, 'geom', 'id') INTO tile
    FROM citygrid_tile_case_cells_rows(z, x, y, level, region, statuses, codes, after, before) t;
  END IF;
  RETURN tile;
END
$$;--> statement-breakpoint

CREATE FUNCTION citygrid_tiles_sensors(z integer, x integer, y integer, query_params json)
RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT ST_AsMVT(t.*, 'sensors', 4096, 'geom', 'id')
  FROM citygrid_tile_sensors_rows(z, x, y,
    query_params ->> 'scope_level', (query_params ->> 'scope_region')::bigint) t
$$;
