/** Reading cases: one by id, and filtered pages ordered newest first. Always inside the reader's scope. */
import type { Executor } from '@citygrid/db';
import { type CaseStatus, cases, categories, regions } from '@citygrid/db/schema';
import { and, desc, eq, gte, inArray, lt, type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Actor } from '../auth/actor';
import { inScope, rowInScope, type Scope, scopeOf } from '../auth/scope';
import { BadUserInput, NotFound, parseInput } from '../errors';
import type { BBox } from '../grids/cells';
import { type CaseRow, caseColumns, overdueCondition } from './view';

const idSchema = z
  .union([
    z.number(),
    z
      .string()
      .regex(/^\d{1,16}$/)
      .transform(Number),
  ])
  .pipe(z.number().int().positive().max(Number.MAX_SAFE_INTEGER));

/** Parses an `ID` argument; a malformed id is BAD_USER_INPUT. */
export function parseId(value: unknown, field = 'id'): number {
  const parsed = idSchema.safeParse(value);
  if (!parsed.success) throw new BadUserInput(`${field} must be a positive integer id`, { field });
  return parsed.data;
}

/**
 * Which cases an actor sees: those inside their region scope; a DEPARTMENT user moreover only
 * those dispatched to their department (a returned or reopened case leaves it again).
 */
export async function caseVisibility(db: Executor, actor: Actor): Promise<SQL> {
  const scope = await scopeOf(db, actor);
  if (actor.role !== 'DEPARTMENT') return inScope(scope, cases);
  // The department is read in the statement, so a user moved to another department sees its cases at once.
  return sql`(${inScope(scope, cases)} AND ${cases.dispatchedAt} IS NOT NULL
    AND ${cases.departmentId} = (SELECT u.department_id FROM users u WHERE u.id = ${actor.id}))`;
}

/** The same rule in JS, for a row already loaded (the workflow's locked case). */
export function caseVisibleTo(
  actor: Actor & { departmentId: number | null },
  scope: Scope,
  row: Pick<CaseRow, 'cityId' | 'districtId' | 'streetId' | 'communityId' | 'departmentId' | 'dispatchedAt'>,
): boolean {
  if (!rowInScope(scope, row)) return false;
  if (actor.role !== 'DEPARTMENT') return true;
  return row.dispatchedAt !== null && actor.departmentId !== null && row.departmentId === actor.departmentId;
}

/**
 * A case whoever may see it, or undefined: for the live feed, which reads each changed case once
 * for all its subscribers and checks `caseVisibleTo` (or the scope) for each of them.
 */
export async function caseRowById(db: Executor, caseId: number): Promise<CaseRow | undefined> {
  const [row] = await db.select(caseColumns).from(cases).where(eq(cases.id, caseId)).limit(1);
  return row as CaseRow | undefined;
}

/** A case the actor may see; otherwise NOT_FOUND, whether it does not exist or lies outside the scope. */
export async function getCase(db: Executor, actor: Actor, id: unknown): Promise<CaseRow> {
  const caseId = parseId(id);
  const [row] = await db
    .select(caseColumns)
    .from(cases)
    .where(and(eq(cases.id, caseId), await caseVisibility(db, actor)))
    .limit(1);
  if (!row) throw new NotFound(`case ${caseId} not found`);
  return row as CaseRow;
}

export const MAX_PAGE = 1000;
export const DEFAULT_PAGE = 50;

const bboxSchema = z
  .object({
    minLon: z.number().finite().min(-180).max(180),
    minLat: z.number().finite().min(-90).max(90),
    maxLon: z.number().finite().min(-180).max(180),
    maxLat: z.number().finite().min(-90).max(90),
  })
  .refine((b) => b.minLon <= b.maxLon && b.minLat <= b.maxLat, { message: 'min must not exceed max' });

const filterSchema = z
  .object({
    status: z
      .array(z.enum(['REPORTED', 'FILED', 'DISPATCHED', 'IN_PROGRESS', 'RESOLVED', 'CLOSED', 'REJECTED']))
      .nullish(),
    categoryCodes: z.array(z.string().min(1)).max(500).nullish(),
    gridId: z.union([z.string(), z.number()]).nullish(),
    regionId: z.union([z.string(), z.number()]).nullish(),
    bbox: bboxSchema.nullish(),
    reportedAfter: z.date().nullish(),
    reportedBefore: z.date().nullish(),
    overdue: z.boolean().nullish(),
  })
  .nullish();

export interface CaseFilter {
  status?: CaseStatus[] | null;
  categoryCodes?: string[] | null;
  gridId?: string | number | null;
  regionId?: string | number | null;
  bbox?: BBox | null;
  /** Inclusive. */
  reportedAfter?: Date | null;
  /** Exclusive. */
  reportedBefore?: Date | null;
  overdue?: boolean | null;
}

export interface CasePage {
  edges: { cursor: string; node: CaseRow }[];
  hasNextPage: boolean;
}

/** Cursor: the position (reported_at as exact text, id) of the last case seen, base64url. */
export function encodeCursor(row: Pick<CaseRow, 'cursorAt' | 'id'>): string {
  return Buffer.from(JSON.stringify([row.cursorAt, row.id])).toString('base64url');
}

const TIMESTAMP_TEXT = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}(:?\d{2}){0,2}|Z)?$/;

function decodeCursor(cursor: string): { at: string; id: number } {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof at === 'string' && TIMESTAMP_TEXT.test(at) && Number.isSafeInteger(id) && (id as number) > 0) {
      return { at, id: id as number };
    }
  } catch {
    // fall through
  }
  throw new BadUserInput('invalid cursor', { field: 'after' });
}

/**
 * The WHERE conditions of a `cases` filter inside the actor's scope, for every reader of the
 * filtered list (the paged query, the CSV/GeoJSON export). Conditions are over `cases` columns.
 */
export async function caseFilterConditions(
  db: Executor,
  actor: Actor,
  rawFilter: CaseFilter | null | undefined,
  now: Date = new Date(),
): Promise<(SQL | undefined)[]> {
  const filter = parseInput(filterSchema, rawFilter) ?? {};
  const conditions: (SQL | undefined)[] = [await caseVisibility(db, actor)];

  if (filter.status?.length) conditions.push(inArray(cases.status, filter.status));
  if (filter.categoryCodes?.length) {
    conditions.push(
      inArray(
        cases.categoryId,
        db
          .select({ id: categories.id })
          .from(categories)
          .where(inArray(categories.code, filter.categoryCodes)),
      ),
    );
  }
  if (filter.gridId != null) conditions.push(eq(cases.gridCellId, parseId(filter.gridId, 'gridId')));
  if (filter.regionId != null) {
    const regionId = parseId(filter.regionId, 'regionId');
    const [region] = await db.select({ level: regions.level }).from(regions).where(eq(regions.id, regionId));
    if (!region) throw new BadUserInput(`unknown region ${regionId}`, { field: 'regionId' });
    conditions.push(inScope({ level: region.level, regionId }, cases));
  }
  if (filter.bbox) {
    const b = filter.bbox;
    // `&&` against the envelope uses cases_location_gist (geometry, 4326; degrees).
    conditions.push(
      sql`${cases.location} && ST_MakeEnvelope(${b.minLon}::float8, ${b.minLat}::float8, ${b.maxLon}::float8, ${b.maxLat}::float8, 4326)`,
    );
  }
  if (filter.reportedAfter) conditions.push(gte(cases.reportedAt, filter.reportedAfter));
  if (filter.reportedBefore) conditions.push(lt(cases.reportedAt, filter.reportedBefore));
  if (filter.overdue === true) conditions.push(overdueCondition(now));
  if (filter.overdue === false) conditions.push(sql`NOT ${overdueCondition(now)}`);
  return conditions;
}

/** Newest first: (reported_at, id) descending, which is also the cursor order. */
export async function listCases(
  db: Executor,
  actor: Actor,
  rawFilter: CaseFilter | null | undefined,
  page: { first?: number | null; after?: string | null },
  now: Date = new Date(),
): Promise<CasePage> {
  const first = page.first ?? DEFAULT_PAGE;
  if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE) {
    throw new BadUserInput(`first must be between 0 and ${MAX_PAGE}`, { field: 'first' });
  }
  const conditions = await caseFilterConditions(db, actor, rawFilter, now);
  if (page.after) {
    const c = decodeCursor(page.after);
    conditions.push(sql`(${cases.reportedAt}, ${cases.id}) < (${c.at}::timestamptz, ${c.id}::bigint)`);
  }

  const found = (await db
    .select(caseColumns)
    .from(cases)
    .where(and(...conditions))
    .orderBy(desc(cases.reportedAt), desc(cases.id))
    .limit(first + 1)) as CaseRow[];
  const hasNextPage = found.length > first;
  const nodes = hasNextPage ? found.slice(0, first) : found;
  return { edges: nodes.map((node) => ({ cursor: encodeCursor(node), node })), hasNextPage };
}
