/**
 * The place hierarchy: city → district → street → community, and the grid cells (网格) that tile
 * each community. Every region row carries its ancestors' ids so that a region scope is one
 * equality on an indexed column, never a recursive walk.
 */
import {
  type AnyPgColumn,
  bigint,
  doublePrecision,
  index,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { multiPolygonColumn, pointColumn, polygonColumn } from '../spatial';
import { regionLevel } from './enums';

export const regions = pgTable(
  'regions',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    level: regionLevel().notNull(),
    code: text().notNull(),
    name: text().notNull(),
    nameEn: text().notNull(),
    parentId: bigint({ mode: 'number' }).references((): AnyPgColumn => regions.id),
    cityId: bigint({ mode: 'number' }),
    districtId: bigint({ mode: 'number' }),
    streetId: bigint({ mode: 'number' }),
    geom: multiPolygonColumn().notNull(),
    /** Label point, inside the polygon (ST_PointOnSurface). */
    centroid: pointColumn().notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('regions_code_key').on(t.code),
    index('regions_parent_idx').on(t.parentId),
    index('regions_level_idx').on(t.level),
    index('regions_geom_gist').using('gist', t.geom),
    index('regions_centroid_gist').using('gist', t.centroid),
  ],
);

export const gridCells = pgTable(
  'grid_cells',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    code: text().notNull(),
    name: text().notNull(),
    communityId: bigint({ mode: 'number' })
      .notNull()
      .references(() => regions.id),
    streetId: bigint({ mode: 'number' }).notNull(),
    districtId: bigint({ mode: 'number' }).notNull(),
    cityId: bigint({ mode: 'number' }).notNull(),
    geom: polygonColumn().notNull(),
    areaM2: doublePrecision().notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('grid_cells_code_key').on(t.code),
    index('grid_cells_community_idx').on(t.communityId),
    index('grid_cells_street_idx').on(t.streetId),
    index('grid_cells_district_idx').on(t.districtId),
    // Point-in-cell lookups (gridAt, reportCase) and tile envelopes use this.
    index('grid_cells_geom_gist').using('gist', t.geom),
  ],
);

export type Region = typeof regions.$inferSelect;
export type GridCell = typeof gridCells.$inferSelect;

/** Columns of a region-scoped row that a scope check compares, by the scope's level. */
export const scopeColumnByLevel = {
  CITY: 'city_id',
  DISTRICT: 'district_id',
  STREET: 'street_id',
  COMMUNITY: 'community_id',
} as const;
