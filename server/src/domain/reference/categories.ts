/** Case categories (部件/事件, major/minor codes) and their deadlines: reference data. */
import type { Executor } from '@citygrid/db';
import { type CasePriority, type CategoryKind, categories, categoryDeadlines } from '@citygrid/db/schema';
import { and, asc, eq, inArray, sql } from 'drizzle-orm';

export interface CategoryView {
  id: number;
  code: string;
  kind: CategoryKind;
  majorCode: string;
  minorCode: string;
  name: string;
  nameEn: string;
  majorName: string;
  majorNameEn: string;
  keywords: string[];
  defaultDepartmentId: number | null;
  defaultPriority: CasePriority;
  active: boolean;
}

const columns = {
  id: categories.id,
  code: categories.code,
  kind: categories.kind,
  majorCode: categories.majorCode,
  minorCode: categories.minorCode,
  name: categories.name,
  nameEn: categories.nameEn,
  majorName: categories.majorName,
  majorNameEn: categories.majorNameEn,
  keywords: categories.keywords,
  defaultDepartmentId: categories.defaultDepartmentId,
  defaultPriority: categories.defaultPriority,
  active: categories.active,
};

export function listCategories(
  db: Executor,
  options: { includeInactive?: boolean } = {},
): Promise<CategoryView[]> {
  return db
    .select(columns)
    .from(categories)
    .where(options.includeInactive ? undefined : eq(categories.active, true))
    .orderBy(asc(categories.kind), asc(categories.code));
}

export function categoriesByIds(db: Executor, ids: readonly number[]): Promise<CategoryView[]> {
  return db
    .select(columns)
    .from(categories)
    .where(inArray(categories.id, [...ids]));
}

export async function activeCategoryByCode(db: Executor, code: string): Promise<CategoryView | undefined> {
  const [row] = await db
    .select(columns)
    .from(categories)
    .where(and(eq(categories.code, code), eq(categories.active, true)))
    .limit(1);
  return row;
}

export interface DeadlineRule {
  stage: 'FILE' | 'DISPATCH' | 'HANDLE' | 'VERIFY';
  minutes: number;
  workingTime: boolean;
}

export function deadlineRules(
  db: Executor,
  categoryId: number,
  priority: CasePriority,
): Promise<DeadlineRule[]> {
  return db
    .select({
      stage: categoryDeadlines.stage,
      minutes: categoryDeadlines.minutes,
      workingTime: categoryDeadlines.workingTime,
    })
    .from(categoryDeadlines)
    .where(and(eq(categoryDeadlines.categoryId, categoryId), eq(categoryDeadlines.priority, priority)));
}

export interface CategoryForReport {
  id: number;
  defaultPriority: CasePriority;
  defaultDepartmentId: number | null;
  /** Every priority's limits, to pick from once the case's priority is known. */
  deadlines: (DeadlineRule & { priority: CasePriority })[];
}

/** An active category and all its deadlines in one round trip (the report path is hot). */
export async function categoryForReport(db: Executor, code: string): Promise<CategoryForReport | undefined> {
  const [row] = await db
    .select({
      id: categories.id,
      defaultPriority: categories.defaultPriority,
      defaultDepartmentId: categories.defaultDepartmentId,
      deadlines: sql<CategoryForReport['deadlines']>`coalesce(
        json_agg(json_build_object('priority', ${categoryDeadlines.priority}, 'stage', ${categoryDeadlines.stage},
                                   'minutes', ${categoryDeadlines.minutes}, 'workingTime', ${categoryDeadlines.workingTime}))
          FILTER (WHERE ${categoryDeadlines.categoryId} IS NOT NULL),
        '[]'::json)`,
    })
    .from(categories)
    .leftJoin(categoryDeadlines, eq(categoryDeadlines.categoryId, categories.id))
    .where(and(eq(categories.code, code), eq(categories.active, true)))
    .groupBy(categories.id);
  return row;
}
