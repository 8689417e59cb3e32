/**
 * The place hierarchy (city → district → street → community) as reference data. Region outlines
 * are public knowledge, so listing them is not region-scoped; what lies inside them is.
 */
import { asGeoJson, type Executor, type Geometry, type LonLat, lonLatOf } from '@citygrid/db';
import { type RegionLevel, regions } from '@citygrid/db/schema';
import { and, asc, eq, inArray, isNull } from 'drizzle-orm';
import type { Scope } from '../auth/scope';
import { parseId } from '../cases/queries';
import { BadUserInput } from '../errors';

export interface RegionView {
  id: number;
  level: RegionLevel;
  code: string;
  name: string;
  nameEn: string;
  parentId: number | null;
  cityId: number | null;
  districtId: number | null;
  streetId: number | null;
  /** Label point inside the outline. */
  centroid: LonLat;
}

const columns = {
  id: regions.id,
  level: regions.level,
  code: regions.code,
  name: regions.name,
  nameEn: regions.nameEn,
  parentId: regions.parentId,
  cityId: regions.cityId,
  districtId: regions.districtId,
  streetId: regions.streetId,
  centroid: lonLatOf(regions.centroid),
};

/** Regions of a level and/or parent; `parentId: null` asks for the roots (the cities). */
export function listRegions(
  db: Executor,
  filter: { level?: RegionLevel | null | undefined; parentId?: number | null | undefined },
): Promise<RegionView[]> {
  const conditions = [
    filter.level ? eq(regions.level, filter.level) : undefined,
    filter.parentId === null
      ? isNull(regions.parentId)
      : filter.parentId !== undefined
        ? eq(regions.parentId, filter.parentId)
        : undefined,
  ];
  return db
    .select(columns)
    .from(regions)
    .where(and(...conditions))
    .orderBy(asc(regions.code));
}

export function regionsByIds(db: Executor, ids: readonly number[]): Promise<RegionView[]> {
  return db
    .select(columns)
    .from(regions)
    .where(inArray(regions.id, [...ids]));
}

/**
 * An optional `regionId` argument (a subscription's narrowing of what it follows) as a scope:
 * undefined when not given; an unknown region is BAD_USER_INPUT.
 */
export async function regionArgScope(db: Executor, rawId: unknown): Promise<Scope | undefined> {
  if (rawId == null) return undefined;
  const regionId = parseId(rawId, 'regionId');
  const [found] = await regionsByIds(db, [regionId]);
  if (!found) throw new BadUserInput(`unknown region ${regionId}`, { field: 'regionId' });
  return { level: found.level, regionId };
}

/** Outlines as GeoJSON, simplified to 6 decimals (≈ 0.1 m). */
export function regionGeometries(
  db: Executor,
  ids: readonly number[],
): Promise<{ id: number; geometry: Geometry }[]> {
  return db
    .select({ id: regions.id, geometry: asGeoJson(regions.geom, 6) })
    .from(regions)
    .where(inArray(regions.id, [...ids]));
}
