/**
 * Cutting a community into grid cells of a target area: a square grid laid over the community
 * in its UTM zone (metres), each square clipped to the community, pieces below 1 m² dropped.
 * Cells keep to the community's outline, so squares along the edge come out smaller; a square
 * the outline cuts in two gives two cells. One transaction; audited.
 *
 * SRIDs: the community is 4326; the grid is cut in EPSG:326xx/327xx (UTM north/south) so the
 * side is in metres, and the cells go back to 4326.
 */
import { type Db, rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import { BadUserInput, Conflict, NotFound } from '../errors';
import { recordAdminAction } from './audit';

export interface SplitResult {
  communityCode: string;
  cells: number;
  /** Square metres: the target, and the smallest, mean and largest cell made. */
  targetAreaM2: number;
  minAreaM2: number;
  meanAreaM2: number;
  maxAreaM2: number;
}

export async function splitCommunity(
  db: Db,
  input: { communityCode: string; areaM2: number; actorId?: number | null },
): Promise<SplitResult> {
  const { communityCode, areaM2 } = input;
  if (!Number.isFinite(areaM2) || areaM2 < 100 || areaM2 > 10_000_000) {
    throw new BadUserInput(`the target area must be between 100 and 10,000,000 m², not ${areaM2}`);
  }
  return db.transaction(async (tx) => {
    const [community] = await rows<{ id: number; cells: number; srid: number }>(
      tx,
      sql`SELECT r.id::int AS id,
                 (SELECT count(*)::int FROM grid_cells g WHERE g.community_id = r.id) AS cells,
                 (CASE WHEN ST_Y(r.centroid) >= 0 THEN 32600 ELSE 32700 END
                  + floor((ST_X(r.centroid) + 180) / 6)::int + 1) AS srid
          FROM regions r WHERE r.code = ${communityCode} AND r.level = 'COMMUNITY'`,
    );
    if (!community) throw new NotFound(`no community with code "${communityCode}"`);
    if (community.cells > 0) {
      throw new Conflict(
        `community "${communityCode}" already has ${community.cells} grid cells; cases and workers refer to them, so they are not replaced`,
      );
    }
    const side = Math.sqrt(areaM2);
    const made = await rows<{ n: number; min: number; mean: number; max: number }>(
      tx,
      sql`WITH c AS (
            SELECT r.id, r.code, r.street_id, r.district_id, r.city_id, ST_Transform(r.geom, ${community.srid}::int) AS g
            FROM regions r WHERE r.id = ${community.id}
          ), squares AS (
            SELECT s.i, s.j, s.geom FROM c, ST_SquareGrid(${side}::float8, c.g) s WHERE ST_Intersects(s.geom, c.g)
          ), pieces AS (
            SELECT sq.i, sq.j, (ST_Dump(ST_CollectionExtract(ST_Intersection(sq.geom, c.g), 3))).geom AS g
            FROM squares sq, c
          ), cells AS (
            SELECT ST_Transform(p.g, 4326) AS g,
                   row_number() OVER (ORDER BY p.j DESC, p.i, ST_X(ST_PointOnSurface(p.g))) AS n
            FROM pieces p WHERE ST_Area(p.g) >= 1
          ), inserted AS (
            INSERT INTO grid_cells (code, name, community_id, street_id, district_id, city_id, geom, area_m_2)
            SELECT c.code || '-G' || lpad(cells.n::text, 3, '0'), '网格 ' || lpad(cells.n::text, 3, '0'),
                   c.id, c.street_id, c.district_id, c.city_id, cells.g, ST_Area(cells.g::geography)
            FROM cells, c
            RETURNING area_m_2
          )
          SELECT count(*)::int AS n, min(area_m_2)::float8 AS min, avg(area_m_2)::float8 AS mean, max(area_m_2)::float8 AS max
          FROM inserted`,
    );
    const r = made[0]!;
    const result: SplitResult = {
      communityCode,
      cells: r.n,
      targetAreaM2: areaM2,
      minAreaM2: Math.round(r.min ?? 0),
      meanAreaM2: Math.round(r.mean ?? 0),
      maxAreaM2: Math.round(r.max ?? 0),
    };
    await recordAdminAction(tx, {
      actorId: input.actorId ?? null,
      action: 'splitGrid',
      target: `community:${communityCode}`,
      detail: { ...result },
    });
    return result;
  });
}
