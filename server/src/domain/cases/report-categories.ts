/**
 * The categories as the report path needs them, kept in memory per database so that a report
 * costs one statement. The copy is never trusted blindly: the report statement re-checks, in its
 * own snapshot, every fact the copy contributed (`categoryCheckSql`), and writes nothing when
 * one has changed; the caller then reloads the category and tries again. So a category edited,
 * deactivated or re-coded on another instance is seen by the very next report, with no TTL.
 */
import { type Executor, rows } from '@citygrid/db';
import type { CasePriority, DeadlineStage } from '@citygrid/db/schema';
import { sql } from 'drizzle-orm';
import type { DeadlineRule } from '../reference/categories';

export interface ReportCategory {
  id: number;
  code: string;
  defaultPriority: CasePriority;
  defaultDepartmentId: number | null;
  /** Each priority's limits. */
  rules: Record<CasePriority, DeadlineRule[]>;
  /** Each priority's limits as `rulesKeySql` spells them, to compare in the report statement. */
  rulesKeys: Record<CasePriority, string>;
}

/** Per database handle (test files hold several databases whose ids overlap). */
const caches = new WeakMap<object, Map<string, ReportCategory>>();
/** Far more than a city's catalogue (Chengdu's has 210 minor classes); a bound against junk codes. */
const MAX_CACHED = 2000;

function cacheOf(db: Executor): Map<string, ReportCategory> {
  let cache = caches.get(db);
  if (!cache) {
    cache = new Map();
    caches.set(db, cache);
  }
  return cache;
}

/**
 * One priority's limits of a category as text, e.g. `FILE:60:true,HANDLE:480:true` (stages in enum
 * order). Both the loader and the report statement use this one expression, so equal limits give
 * equal text. The arguments are SQL expressions of ours (a column, a placeholder), never input.
 */
export function rulesKeySql(categoryId: string, priority: string): string {
  return `(SELECT coalesce(string_agg(d.stage::text || ':' || d.minutes::text || ':' || d.working_time::text, ',' ORDER BY d.stage), '')
           FROM category_deadlines d WHERE d.category_id = ${categoryId} AND d.priority = ${priority})`;
}

/**
 * SQL condition for the report statement: the active category still has the code, default
 * priority, default department and (for the case's priority) the limits of the cached copy.
 * Placeholders: `$<first>` … `$<first + 5>` take `categoryCheckValues(category, priority)`.
 * Index: categories' primary key, category_deadlines' primary key (category_id, priority, stage).
 */
export function categoryCheckSql(first: number): string {
  const $ = (i: number) => `$${first + i}`;
  return categoryCheckSqlOf([
    `${$(0)}::bigint`,
    `${$(1)}::text`,
    `${$(2)}::case_priority`,
    `${$(3)}::bigint`,
    `${$(4)}::case_priority`,
    `${$(5)}::text`,
  ]);
}

/**
 * The same condition over six typed SQL expressions of ours (placeholders, or the batch
 * statement's columns), in the order of `categoryCheckValues`.
 */
export function categoryCheckSqlOf([id, code, defaultPriority, departmentId, priority, rulesKey]: readonly [
  string,
  string,
  string,
  string,
  string,
  string,
]): string {
  return `EXISTS (SELECT 1 FROM categories c
                  WHERE c.id = ${id} AND c.code = ${code} AND c.active
                    AND c.default_priority = ${defaultPriority}
                    AND c.default_department_id IS NOT DISTINCT FROM ${departmentId}
                    AND ${rulesKeySql('c.id', priority)} = ${rulesKey})`;
}

export function categoryCheckValues(category: ReportCategory, priority: CasePriority): unknown[] {
  return [
    category.id,
    category.code,
    category.defaultPriority,
    category.defaultDepartmentId,
    priority,
    category.rulesKeys[priority],
  ];
}

/** The cached copy of an active category, loading it on a miss; undefined when there is none. */
export async function reportCategory(db: Executor, code: string): Promise<ReportCategory | undefined> {
  return cacheOf(db).get(code) ?? loadReportCategory(db, code);
}

/** Reads the category afresh (after the report statement found the copy stale) and caches it. */
export async function loadReportCategory(db: Executor, code: string): Promise<ReportCategory | undefined> {
  const cache = cacheOf(db);
  const [row] = await rows<{
    id: string | number;
    default_priority: CasePriority;
    default_department_id: string | number | null;
    rules: { priority: CasePriority; stage: DeadlineStage; minutes: number; workingTime: boolean }[];
    keys: Record<CasePriority, string>;
  }>(
    db,
    sql`SELECT c.id, c.default_priority, c.default_department_id,
               (SELECT coalesce(json_agg(json_build_object('priority', d.priority, 'stage', d.stage,
                                                           'minutes', d.minutes, 'workingTime', d.working_time)
                                         ORDER BY d.priority, d.stage), '[]'::json)
                FROM category_deadlines d WHERE d.category_id = c.id) AS rules,
               (SELECT json_object_agg(p, ${sql.raw(rulesKeySql('c.id', 'p'))})
                FROM unnest(enum_range(NULL::case_priority)) p) AS keys
        FROM categories c
        WHERE c.code = ${code} AND c.active`,
  );
  if (!row) {
    cache.delete(code);
    return undefined;
  }
  const rules: Record<CasePriority, DeadlineRule[]> = { NORMAL: [], HIGH: [], URGENT: [] };
  for (const { priority, ...rule } of row.rules) rules[priority].push(rule);
  const category: ReportCategory = {
    id: Number(row.id),
    code,
    defaultPriority: row.default_priority,
    defaultDepartmentId: row.default_department_id === null ? null : Number(row.default_department_id),
    rules,
    rulesKeys: row.keys,
  };
  if (cache.size >= MAX_CACHED) cache.clear();
  cache.set(code, category);
  return category;
}
