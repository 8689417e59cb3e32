/** How a case is read: the row minus its raw geometry, plus derived fields computed at read time. */
import { type LonLat, lonLatOf } from '@citygrid/db';
import { type CaseStatus, cases } from '@citygrid/db/schema';
import { getTableColumns, type SQL, sql } from 'drizzle-orm';

const { location: _geometry, ...plainColumns } = getTableColumns(cases);

/** Select shape for a case; `cursorAt` is `reported_at` as exact text (microseconds) for cursors. */
export const caseColumns = {
  ...plainColumns,
  location: lonLatOf(cases.location),
  cursorAt: sql<string>`${cases.reportedAt}::text`,
};

export type CaseRow = Omit<typeof cases.$inferSelect, 'location'> & { location: LonLat; cursorAt: string };

/** Statuses in which the handling clock no longer runs. */
export const HANDLING_DONE: readonly CaseStatus[] = ['RESOLVED', 'CLOSED', 'REJECTED'];

/**
 * Overdue: still being worked on and past its handling deadline. A held case's clock stopped when
 * the hold began, so it is overdue only if it already was then.
 */
export function isOverdue(c: Pick<CaseRow, 'status' | 'handleDueAt' | 'onHoldSince'>, now: Date): boolean {
  const at = c.onHoldSince ?? now;
  return (
    c.handleDueAt !== null && !HANDLING_DONE.includes(c.status) && c.handleDueAt.getTime() < at.getTime()
  );
}

/** The same test in SQL, for filters. */
export function overdueCondition(now: Date): SQL {
  return sql`(coalesce(${cases.handleDueAt} < coalesce(${cases.onHoldSince}, ${now.toISOString()}::timestamptz), false) AND ${cases.status} NOT IN ('RESOLVED', 'CLOSED', 'REJECTED'))`;
}
