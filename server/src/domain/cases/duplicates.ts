/**
 * Likely duplicates (疑似重复): open cases of the same category near a case, reported within a few
 * days of it, nearest first — shown on report so a commander can reject the repeat as DUPLICATE.
 */
import { type Executor, rows } from '@citygrid/db';
import { cases } from '@citygrid/db/schema';
import { and, asc, ne, notInArray, type SQL, sql } from 'drizzle-orm';
import type { Actor } from '../auth/actor';
import { caseVisibility } from './queries';
import { loadWorkflowSettings } from './settings';
import { type CaseRow, caseColumns } from './view';

export const MAX_DUPLICATES = 20;

/** The distance condition and its ordering, for the EXPLAIN test too. */
export function nearCondition(
  point: { lon: number; lat: number },
  radiusM: number,
): { near: SQL; distance: SQL } {
  // Geography, so distances are metres on the spheroid; `ST_DWithin` on `location::geography`
  // uses the expression index cases_location_geog_gist (a plain geometry index would not serve metres).
  const here = sql`ST_SetSRID(ST_MakePoint(${point.lon}::float8, ${point.lat}::float8), 4326)::geography`;
  return {
    near: sql`ST_DWithin(${cases.location}::geography, ${here}, ${radiusM}::float8)`,
    distance: sql`ST_Distance(${cases.location}::geography, ${here})`,
  };
}

type Subject = Pick<CaseRow, 'id' | 'categoryId' | 'location' | 'reportedAt'>;

async function duplicatesQuery(db: Executor, viewer: Actor, subject: Subject) {
  const settings = await loadWorkflowSettings(db);
  const { near, distance } = nearCondition(subject.location, settings.duplicateRadiusM);
  const windowMs = settings.duplicateWindowDays * 86_400_000;
  const from = new Date(subject.reportedAt.getTime() - windowMs).toISOString();
  const to = new Date(subject.reportedAt.getTime() + windowMs).toISOString();
  // Wrapped: a query builder is thenable, and an async function's result would run it.
  const query = db
    .select(caseColumns)
    .from(cases)
    .where(
      and(
        near,
        sql`${cases.categoryId} = ${subject.categoryId}`,
        notInArray(cases.status, ['CLOSED', 'REJECTED']),
        ne(cases.id, subject.id),
        sql`${cases.reportedAt} BETWEEN ${from}::timestamptz AND ${to}::timestamptz`,
        await caseVisibility(db, viewer),
      ),
    )
    .orderBy(asc(distance), asc(cases.id))
    .limit(MAX_DUPLICATES);
  return { query };
}

/** Open cases like `subject` that `viewer` may see, nearest first (at most MAX_DUPLICATES). */
export async function possibleDuplicates(db: Executor, viewer: Actor, subject: Subject): Promise<CaseRow[]> {
  const { query } = await duplicatesQuery(db, viewer, subject);
  return (await query) as CaseRow[];
}

/** The plan of that very query (`EXPLAIN`, text lines), for the test that it uses the geography index. */
export async function explainPossibleDuplicates(
  db: Executor,
  viewer: Actor,
  subject: Subject,
): Promise<string[]> {
  const { query } = await duplicatesQuery(db, viewer, subject);
  const plan = await rows<{ 'QUERY PLAN': string }>(db, sql`EXPLAIN ${query}`);
  return plan.map((r) => r['QUERY PLAN']);
}
