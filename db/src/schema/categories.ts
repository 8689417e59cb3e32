/**
 * Case categories: 部件 (components, public assets) and 事件 (events, situations) in two-level
 * major/minor codes, each with a default department and priority, and per-priority deadlines.
 */
import {
  bigint,
  boolean,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { casePriority, categoryKind, deadlineStage } from './enums';
import { departments } from './people';

export const categories = pgTable(
  'categories',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    /** `<major>-<minor>`, e.g. `01-05`; components and events have separate code spaces. */
    code: text().notNull(),
    kind: categoryKind().notNull(),
    majorCode: text().notNull(),
    minorCode: text().notNull(),
    name: text().notNull(),
    nameEn: text().notNull(),
    majorName: text().notNull(),
    majorNameEn: text().notNull(),
    keywords: text().array().notNull().default([]),
    defaultDepartmentId: bigint({ mode: 'number' }).references(() => departments.id),
    defaultPriority: casePriority().notNull().default('NORMAL'),
    active: boolean().notNull().default(true),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('categories_code_key').on(t.code),
    index('categories_department_idx').on(t.defaultDepartmentId),
  ],
);

/**
 * Time limits per category, priority and stage. `workingTime` limits count working minutes on the
 * city's calendar; the others (urgent cases) count wall-clock minutes.
 */
export const categoryDeadlines = pgTable(
  'category_deadlines',
  {
    categoryId: bigint({ mode: 'number' })
      .notNull()
      .references(() => categories.id, { onDelete: 'cascade' }),
    priority: casePriority().notNull(),
    stage: deadlineStage().notNull(),
    minutes: integer().notNull(),
    workingTime: boolean().notNull(),
  },
  (t) => [primaryKey({ columns: [t.categoryId, t.priority, t.stage] })],
);

export type Category = typeof categories.$inferSelect;
export type CategoryDeadline = typeof categoryDeadlines.$inferSelect;
