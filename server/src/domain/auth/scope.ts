/**
 * Region scope: every user sees and acts only inside their region. Region rows and region-scoped
 * rows (cases, grid cells) carry their ancestors' ids, so a scope check is one equality on an
 * indexed column chosen by the scope region's level — never a spatial test or a recursive walk.
 */
import { type Executor, rows } from '@citygrid/db';
import type { RegionLevel } from '@citygrid/db/schema';
import { type SQL, type SQLWrapper, sql } from 'drizzle-orm';
import { Forbidden } from '../errors';
import type { Actor } from './actor';

export interface Scope {
  level: RegionLevel;
  regionId: number;
}

/** The columns a scoped row carries, named by level. */
export interface ScopedColumns {
  cityId: SQLWrapper;
  districtId: SQLWrapper;
  streetId: SQLWrapper;
  communityId: SQLWrapper;
}

/**
 * Levels never change once a region exists, so they are cached, per database handle (a test
 * process may hold several databases whose ids overlap).
 */
const levelCaches = new WeakMap<object, Map<number, RegionLevel>>();

export async function scopeOf(db: Executor, actor: Actor): Promise<Scope> {
  // Pass the database rather than a transaction where possible: a transaction caches for itself.
  let levelCache = levelCaches.get(db);
  if (!levelCache) {
    levelCache = new Map();
    levelCaches.set(db, levelCache);
  }
  let level = levelCache.get(actor.regionId);
  if (!level) {
    const [row] = await rows<{ level: RegionLevel }>(
      db,
      sql`SELECT level FROM regions WHERE id = ${actor.regionId}`,
    );
    // A user whose scope region vanished sees nothing rather than everything.
    if (!row) throw new Forbidden('your region scope no longer exists');
    level = row.level;
    levelCache.set(actor.regionId, level);
  }
  return { level, regionId: actor.regionId };
}

/** SQL condition: the row lies inside the scope. */
export function inScope(scope: Scope, columns: ScopedColumns): SQL {
  const column = {
    CITY: columns.cityId,
    DISTRICT: columns.districtId,
    STREET: columns.streetId,
    COMMUNITY: columns.communityId,
  }[scope.level];
  return sql`${column} = ${scope.regionId}`;
}

/** The same test in JS, for a row already loaded. */
export function rowInScope(
  scope: Scope,
  row: { cityId: number; districtId: number; streetId: number; communityId: number },
): boolean {
  const id = {
    CITY: row.cityId,
    DISTRICT: row.districtId,
    STREET: row.streetId,
    COMMUNITY: row.communityId,
  }[scope.level];
  return id === scope.regionId;
}
