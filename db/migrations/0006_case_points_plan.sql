-- Hand-written: the case points of 0003 behind a planner fence.
--
-- The buffer test on the computed tile point (kept as in 0003) is a condition the planner cannot
-- estimate; pushed down into the scan of cases it made the planner expect one row, and so join
-- categories by a nested loop that scanned the categories table once per case (two thirds of a
-- dense z14 tile's time). `OFFSET 0` keeps the test above the join, which is then planned on the
-- GiST scan's real estimate (a hash join).
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
    OFFSET 0
  ) p
  WHERE ST_X(p.geom) BETWEEN -64 AND 4160 AND ST_Y(p.geom) BETWEEN -64 AND 4160
$$;
