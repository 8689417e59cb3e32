/**
 * Request-scoped batch loaders: every `load(id)` made in one tick becomes one query, so a page of
 * cases asking for their grid, department and events costs a handful of queries, not one per row.
 */
import type { Db, Geometry, PolygonGeometry } from '@citygrid/db';
import type { CaseEvent } from '@citygrid/db/schema';
import { eventsByCaseIds } from '../domain/cases/events';
import { type GridCellView, gridCellGeometries, gridCellsByIds } from '../domain/grids/cells';
import { type UserView, usersByIds } from '../domain/people/users';
import { type CategoryView, categoriesByIds } from '../domain/reference/categories';
import { type DepartmentView, departmentsByIds } from '../domain/reference/departments';
import { type RegionView, regionGeometries, regionsByIds } from '../domain/reference/regions';

export class BatchLoader<K, V> {
  private pending: { key: K; resolve: (v: V | undefined) => void; reject: (e: unknown) => void }[] = [];
  private readonly cache = new Map<K, Promise<V | undefined>>();

  constructor(private readonly batch: (keys: K[]) => Promise<Map<K, V>>) {}

  load(key: K): Promise<V | undefined> {
    let promise = this.cache.get(key);
    if (!promise) {
      promise = new Promise<V | undefined>((resolve, reject) => {
        if (this.pending.length === 0) setImmediate(() => this.flush());
        this.pending.push({ key, resolve, reject });
      });
      this.cache.set(key, promise);
    }
    return promise;
  }

  private async flush() {
    const pending = this.pending;
    this.pending = [];
    try {
      const found = await this.batch([...new Set(pending.map((p) => p.key))]);
      for (const p of pending) p.resolve(found.get(p.key));
    } catch (error) {
      for (const p of pending) {
        this.cache.delete(p.key);
        p.reject(error);
      }
    }
  }
}

function byId<V extends { id: number }>(fetch: (ids: number[]) => Promise<V[]>) {
  return new BatchLoader<number, V>(async (ids) => new Map((await fetch(ids)).map((v) => [v.id, v])));
}

export function createLoaders(db: Db) {
  return {
    regions: byId<RegionView>((ids) => regionsByIds(db, ids)),
    regionGeometry: byId<{ id: number; geometry: Geometry }>((ids) => regionGeometries(db, ids)),
    gridCells: byId<GridCellView>((ids) => gridCellsByIds(db, ids)),
    gridCellGeometry: byId<{ id: number; geometry: PolygonGeometry }>((ids) => gridCellGeometries(db, ids)),
    categories: byId<CategoryView>((ids) => categoriesByIds(db, ids)),
    departments: byId<DepartmentView>((ids) => departmentsByIds(db, ids)),
    users: byId<UserView>((ids) => usersByIds(db, ids)),
    caseEvents: new BatchLoader<number, CaseEvent[]>(async (caseIds) => {
      const grouped = new Map<number, CaseEvent[]>(caseIds.map((id) => [id, []]));
      for (const event of await eventsByCaseIds(db, caseIds)) grouped.get(event.caseId)?.push(event);
      return grouped;
    }),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
