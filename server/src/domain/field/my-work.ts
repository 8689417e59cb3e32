/**
 * What the field app shows a grid worker: the cells they answer for, the cases dispatched to them,
 * the cases in their cells waiting for their verification, and their own reports. Always inside the
 * worker's region scope (through `caseVisibility`), so a cell moved out of scope drops out too.
 */
import { asGeoJson, type Executor, type PolygonGeometry } from '@citygrid/db';
import { cases, gridCells, gridCellWorkers } from '@citygrid/db/schema';
import { and, asc, desc, eq, inArray, isNull, ne, or, sql } from 'drizzle-orm';
import type { Actor } from '../auth/actor';
import { inScope, scopeOf } from '../auth/scope';
import { caseVisibility } from '../cases/queries';
import { type CaseRow, caseColumns } from '../cases/view';
import type { GridCellView } from '../grids/cells';

/** How many of their own reports a worker sees (newest first). */
export const MY_REPORTS_LIMIT = 50;
/** A cap on each work list; a worker with more open cases than this has other problems. */
export const MY_WORK_LIMIT = 200;

export interface MyWork {
  /** DISPATCHED or IN_PROGRESS cases assigned to the worker, oldest dispatch first. */
  assigned: CaseRow[];
  /** RESOLVED cases in the worker's cells that someone else resolved, oldest first. */
  toVerify: CaseRow[];
  /** The worker's own reports, newest first. */
  reported: CaseRow[];
}

/** The grid cells the actor answers for (`grid_cell_workers`), inside their scope, with outlines. */
export async function myGridCells(db: Executor, actor: Actor): Promise<GridCellView[]> {
  const scope = await scopeOf(db, actor);
  const found = await db
    .select({
      id: gridCells.id,
      code: gridCells.code,
      name: gridCells.name,
      communityId: gridCells.communityId,
      streetId: gridCells.streetId,
      districtId: gridCells.districtId,
      cityId: gridCells.cityId,
      areaM2: gridCells.areaM2,
      geometry: asGeoJson<PolygonGeometry>(gridCells.geom, 7),
    })
    .from(gridCells)
    .innerJoin(gridCellWorkers, eq(gridCellWorkers.gridCellId, gridCells.id))
    .where(and(eq(gridCellWorkers.userId, actor.id), inScope(scope, gridCells)))
    .orderBy(asc(gridCells.code));
  return found as GridCellView[];
}

/** The worker's three lists; each one query over `cases` inside the actor's visibility. */
export async function myWork(db: Executor, actor: Actor): Promise<MyWork> {
  const visible = await caseVisibility(db, actor);
  const myCells = db
    .select({ id: gridCellWorkers.gridCellId })
    .from(gridCellWorkers)
    .where(eq(gridCellWorkers.userId, actor.id));
  const [assigned, toVerify, reported] = await Promise.all([
    db
      .select(caseColumns)
      .from(cases)
      .where(
        and(visible, eq(cases.assigneeId, actor.id), inArray(cases.status, ['DISPATCHED', 'IN_PROGRESS'])),
      )
      .orderBy(asc(sql`coalesce(${cases.dispatchedAt}, ${cases.reportedAt})`), asc(cases.id))
      .limit(MY_WORK_LIMIT),
    db
      .select(caseColumns)
      .from(cases)
      .where(
        and(
          visible,
          eq(cases.status, 'RESOLVED'),
          inArray(cases.gridCellId, myCells),
          or(isNull(cases.resolverId), ne(cases.resolverId, actor.id)),
        ),
      )
      .orderBy(asc(cases.resolvedAt), asc(cases.id))
      .limit(MY_WORK_LIMIT),
    db
      .select(caseColumns)
      .from(cases)
      .where(and(visible, eq(cases.reporterId, actor.id)))
      .orderBy(desc(cases.reportedAt), desc(cases.id))
      .limit(MY_REPORTS_LIMIT),
  ]);
  return {
    assigned: assigned as CaseRow[],
    toVerify: toVerify as CaseRow[],
    reported: reported as CaseRow[],
  };
}
