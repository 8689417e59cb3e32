-- Hand-written: what lets the server keep vector tiles in memory, and leaner case tiles.
--
-- Change notices. A statement-level trigger on cases sends `pg_notify('citygrid_tiles', …)` with
-- the lon/lat box the statement touched (the cases' old and new locations and their grid cells,
-- whose label points place the per-cell counts); those on grid_cells and categories send a notice
-- without a box (everything). NOTIFY is delivered on COMMIT only, so a rolled-back change drops no
-- tile, and every server instance hears every change whoever wrote it (the CLI, bulk SQL, another
-- instance). Statement-level, so a report pays one trigger call and one notice per statement —
-- never a lock on a shared counter row — and identical notices within a transaction are sent once.
-- Sensors have no trigger: their state follows the ingester's writes, which must stay cheap, and
-- their tiles are small enough to render on every request.

CREATE FUNCTION citygrid_cases_tile_notice() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  box box2d;
BEGIN
  -- Transition tables are named per trigger (a trigger with one of them has only that one).
  IF TG_OP = 'INSERT' THEN
    SELECT ST_Extent(g) INTO box FROM (
      SELECT n.location AS g FROM tile_new_cases n
      UNION ALL SELECT c.geom FROM grid_cells c WHERE c.id IN (SELECT grid_cell_id FROM tile_new_cases)) t;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT ST_Extent(g) INTO box FROM (
      SELECT o.location AS g FROM tile_old_cases o
      UNION ALL SELECT c.geom FROM grid_cells c WHERE c.id IN (SELECT grid_cell_id FROM tile_old_cases)) t;
  ELSE
    SELECT ST_Extent(g) INTO box FROM (
      SELECT n.location AS g FROM tile_new_cases n
      UNION ALL SELECT o.location FROM tile_old_cases o
      UNION ALL SELECT c.geom FROM grid_cells c
        WHERE c.id IN (SELECT grid_cell_id FROM tile_new_cases UNION SELECT grid_cell_id FROM tile_old_cases)) t;
  END IF;
  IF box IS NOT NULL THEN
    PERFORM pg_notify('citygrid_tiles', json_build_object(
      'layer', 'cases', 'bbox', json_build_array(ST_XMin(box), ST_YMin(box), ST_XMax(box), ST_YMax(box)))::text);
  END IF;
  RETURN NULL;
END
$$;--> statement-breakpoint

CREATE TRIGGER cases_tile_notice_insert AFTER INSERT ON cases
  REFERENCING NEW TABLE AS tile_new_cases
  FOR EACH STATEMENT EXECUTE FUNCTION citygrid_cases_tile_notice();--> statement-breakpoint
CREATE TRIGGER cases_tile_notice_update AFTER UPDATE ON cases
  REFERENCING OLD TABLE AS tile_old_cases NEW TABLE AS tile_new_cases
  FOR EACH STATEMENT EXECUTE FUNCTION citygrid_cases_tile_notice();--> statement-breakpoint
CREATE TRIGGER cases_tile_notice_delete AFTER DELETE ON cases
  REFERENCING OLD TABLE AS tile_old_cases
  FOR EACH STATEMENT EXECUTE FUNCTION citygrid_cases_tile_notice();--> statement-breakpoint

-- Grid cells and regions change rarely (imports, splits): drop every tile.
CREATE FUNCTION citygrid_all_tiles_notice() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('citygrid_tiles', json_build_object('layer', '*')::text);
  RETURN NULL;
END
$$;--> statement-breakpoint

CREATE TRIGGER grid_cells_tile_notice AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON grid_cells
  FOR EACH STATEMENT EXECUTE FUNCTION citygrid_all_tiles_notice();--> statement-breakpoint
CREATE TRIGGER categories_tile_notice AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON categories
  FOR EACH STATEMENT EXECUTE FUNCTION citygrid_all_tiles_notice();--> statement-breakpoint
CREATE TRIGGER cases_tile_notice_truncate AFTER TRUNCATE ON cases
  FOR EACH STATEMENT EXECUTE FUNCTION citygrid_all_tiles_notice();--> statement-breakpoint

-- A point in tile coordinates (extent 4096, y downwards), as ST_AsMVTGeom(ST_Transform(g, 3857), …)
-- gives it, by the spherical Mercator formulas rather than a PROJ call per row: a tile at zoom 14
-- of a dense city holds tens of thousands of cases, and ST_Transform was most of its time. Callers
-- select the points inside the buffered tile box and keep those within the 64-unit buffer, as
-- ST_AsMVTGeom does (the box, transformed back from 3857, reaches a unit or two further). On the
-- bench city's tiles it gives the same points as ST_AsMVTGeom, every one. SQL and IMMUTABLE, so it
-- is inlined into the query.
CREATE FUNCTION citygrid_tile_point(g geometry, z integer, x integer, y integer) RETURNS geometry
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ST_MakePoint(
    round((ST_X(g) / 360.0 + 0.5) * 2 ^ z * 4096 - x * 4096.0),
    round((0.5 - ln(tan(radians(45 + ST_Y(g) / 2))) / (2 * pi())) * 2 ^ z * 4096 - y * 4096.0))
$$;--> statement-breakpoint

-- As in 0002, with the point arithmetic above.
CREATE OR REPLACE FUNCTION citygrid_tile_case_points_rows(
  z integer, x integer, y integer, scope_level text, scope_region bigint,
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
  WHERE c.location && citygrid_tile_bbox_4326(z, x, y)
    AND citygrid_in_scope(scope_level, scope_region, c.city_id, c.district_id, c.street_id, c.community_id)
    AND (statuses IS NULL OR c.status::text = ANY (statuses))
    AND (category_codes IS NULL OR cat.code = ANY (category_codes))
    AND (reported_after IS NULL OR c.reported_at >= reported_after)
    AND (reported_before IS NULL OR c.reported_at < reported_before)
  ) p
  WHERE ST_X(p.geom) BETWEEN -64 AND 4160 AND ST_Y(p.geom) BETWEEN -64 AND 4160
$$;--> statement-breakpoint

-- No JIT for tiles: PostGIS functions carry high costs, so a dense tile's plan crosses
-- jit_above_cost, and compiling it took longer (~300 ms) than running it.
ALTER FUNCTION citygrid_tiles_cases(integer, integer, integer, json) SET jit = off;--> statement-breakpoint
ALTER FUNCTION citygrid_tiles_grid_cells(integer, integer, integer, json) SET jit = off;--> statement-breakpoint
ALTER FUNCTION citygrid_tiles_sensors(integer, integer, integer, json) SET jit = off;
