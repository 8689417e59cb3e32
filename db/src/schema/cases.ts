/**
 * Cases (案卷) and their append-only event log, the audit trail of the closed loop. A case's status
 * and derived fields are written in the same transaction as the event that explains them; the
 * database refuses any UPDATE or DELETE of an event (see the migration's trigger).
 */
import { sql } from 'drizzle-orm';
import {
  type AnyPgColumn,
  bigint,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { pointColumn } from '../spatial';
import { categories } from './categories';
import { casePriority, caseSource, caseStatus, rejectReason } from './enums';
import { departments, users } from './people';
import { gridCells } from './places';

export const cases = pgTable(
  'cases',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    /** Human-facing case number, e.g. `TR20261127000123`. */
    code: text().notNull(),
    status: caseStatus().notNull().default('REPORTED'),
    /** Optimistic lock: equals the number of events written for the case. */
    version: integer().notNull().default(1),
    categoryId: bigint({ mode: 'number' })
      .notNull()
      .references(() => categories.id),
    description: text().notNull(),
    location: pointColumn().notNull(),
    address: text(),
    gridCellId: bigint({ mode: 'number' })
      .notNull()
      .references(() => gridCells.id),
    communityId: bigint({ mode: 'number' }).notNull(),
    streetId: bigint({ mode: 'number' }).notNull(),
    districtId: bigint({ mode: 'number' }).notNull(),
    cityId: bigint({ mode: 'number' }).notNull(),
    priority: casePriority().notNull().default('NORMAL'),
    source: caseSource().notNull(),
    reporterId: bigint({ mode: 'number' }).references(() => users.id),
    /** Client-made key; a repeated report with the same key returns the first case. */
    idempotencyKey: text(),
    departmentId: bigint({ mode: 'number' }).references(() => departments.id),
    assigneeId: bigint({ mode: 'number' }).references(() => users.id),
    resolverId: bigint({ mode: 'number' }).references(() => users.id),
    rejectReason: rejectReason(),
    duplicateOfId: bigint({ mode: 'number' }).references((): AnyPgColumn => cases.id),
    alarmId: bigint({ mode: 'number' }),
    reworkCount: integer().notNull().default(0),
    reportedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    filedAt: timestamp({ withTimezone: true }),
    dispatchedAt: timestamp({ withTimezone: true }),
    acceptedAt: timestamp({ withTimezone: true }),
    resolvedAt: timestamp({ withTimezone: true }),
    closedAt: timestamp({ withTimezone: true }),
    rejectedAt: timestamp({ withTimezone: true }),
    fileDueAt: timestamp({ withTimezone: true }),
    dispatchDueAt: timestamp({ withTimezone: true }),
    handleDueAt: timestamp({ withTimezone: true }),
    verifyDueAt: timestamp({ withTimezone: true }),
    escalatedAt: timestamp({ withTimezone: true }),
    /** Set while a commander holds the case; its clocks stop. */
    onHoldSince: timestamp({ withTimezone: true }),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('cases_code_key').on(t.code),
    uniqueIndex('cases_idempotency_key').on(t.idempotencyKey),
    uniqueIndex('cases_alarm_key').on(t.alarmId),
    index('cases_status_reported_idx').on(t.status, t.reportedAt),
    index('cases_reported_at_idx').on(t.reportedAt),
    index('cases_grid_idx').on(t.gridCellId),
    index('cases_street_idx').on(t.streetId),
    index('cases_district_idx').on(t.districtId),
    index('cases_category_idx').on(t.categoryId),
    index('cases_department_idx').on(t.departmentId),
    index('cases_assignee_idx').on(t.assigneeId),
    index('cases_handle_due_idx').on(t.handleDueAt),
    // bbox filters and tiles
    index('cases_location_gist').using('gist', t.location),
    // "same category within 50 m": metres need geography, so the index is on the cast.
    index('cases_location_geog_gist').using('gist', sql`(${t.location}::geography)`),
    check('cases_version_positive', sql`${t.version} >= 1`),
  ],
);

export const caseEvents = pgTable(
  'case_events',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    caseId: bigint({ mode: 'number' })
      .notNull()
      .references(() => cases.id),
    /** The case's version after this event: 1 for the report, then 2, 3, … */
    seq: integer().notNull(),
    action: text().notNull(),
    fromStatus: caseStatus(),
    toStatus: caseStatus().notNull(),
    actorId: bigint({ mode: 'number' }).references(() => users.id),
    note: text(),
    payload: jsonb().$type<Record<string, unknown>>().notNull().default({}),
    at: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('case_events_case_seq_key').on(t.caseId, t.seq),
    index('case_events_action_at_idx').on(t.action, t.at),
    index('case_events_actor_idx').on(t.actorId),
  ],
);

/** Photos and other evidence, stored content-addressed under DATA_DIR. */
export const attachments = pgTable(
  'attachments',
  {
    id: uuid().primaryKey().defaultRandom(),
    sha256: text().notNull(),
    mime: text().notNull(),
    bytes: integer().notNull(),
    width: integer(),
    height: integer(),
    uploaderId: bigint({ mode: 'number' }).references(() => users.id),
    caseId: bigint({ mode: 'number' }).references(() => cases.id),
    /** The event (by seq) that attached it: the report, a resolution or a verification. */
    eventSeq: integer(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('attachments_case_idx').on(t.caseId), index('attachments_sha_idx').on(t.sha256)],
);

/**
 * How many cases each grid cell holds in each status (per region, as the cases carry it), kept by
 * statement-level triggers on `cases` (migration 0007_case_cell_counts): the map's per-cell counts
 * read these few thousand rows instead of counting every case. Written by the triggers only.
 */
export const caseCellCounts = pgTable(
  'case_cell_counts',
  {
    gridCellId: bigint({ mode: 'number' }).notNull(),
    status: caseStatus().notNull(),
    communityId: bigint({ mode: 'number' }).notNull(),
    streetId: bigint({ mode: 'number' }).notNull(),
    districtId: bigint({ mode: 'number' }).notNull(),
    cityId: bigint({ mode: 'number' }).notNull(),
    cases: integer().notNull(),
  },
  (t) => [
    primaryKey({
      name: 'case_cell_counts_pkey',
      columns: [t.gridCellId, t.status, t.communityId, t.streetId, t.districtId, t.cityId],
    }),
  ],
);

export type Case = typeof cases.$inferSelect;
export type CaseEvent = typeof caseEvents.$inferSelect;
export type Attachment = typeof attachments.$inferSelect;
