/** Departments, users with their role and region scope, grid assignments, and worker positions. */
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  doublePrecision,
  index,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { pointColumn } from '../spatial';
import { userRole } from './enums';
import { gridCells, regions } from './places';

export const departments = pgTable(
  'departments',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    code: text().notNull(),
    name: text().notNull(),
    nameEn: text().notNull(),
    /** The area the department serves; it sees the cases dispatched to it there. */
    regionId: bigint({ mode: 'number' })
      .notNull()
      .references(() => regions.id),
    phone: text(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('departments_code_key').on(t.code)],
);

export const users = pgTable(
  'users',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    username: text().notNull(),
    passwordHash: text().notNull(),
    displayName: text().notNull(),
    role: userRole().notNull(),
    /** Region scope: a city, district or street; the user sees and acts only inside it. */
    regionId: bigint({ mode: 'number' })
      .notNull()
      .references(() => regions.id),
    departmentId: bigint({ mode: 'number' }).references(() => departments.id),
    phone: text(),
    active: boolean().notNull().default(true),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('users_username_key').on(t.username),
    index('users_department_idx').on(t.departmentId),
    index('users_region_idx').on(t.regionId),
  ],
);

/** Which grid workers answer for which cells (a cell may have several, a worker several cells). */
export const gridCellWorkers = pgTable(
  'grid_cell_workers',
  {
    gridCellId: bigint({ mode: 'number' })
      .notNull()
      .references(() => gridCells.id, { onDelete: 'cascade' }),
    userId: bigint({ mode: 'number' })
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
  },
  (t) => [
    primaryKey({ columns: [t.gridCellId, t.userId] }),
    index('grid_cell_workers_user_idx').on(t.userId),
  ],
);

/** The latest known position of each worker. */
export const workerPositions = pgTable(
  'worker_positions',
  {
    userId: bigint({ mode: 'number' })
      .primaryKey()
      .references(() => users.id, { onDelete: 'cascade' }),
    location: pointColumn().notNull(),
    accuracyMeters: doublePrecision(),
    onDuty: boolean().notNull(),
    at: timestamp({ withTimezone: true }).notNull(),
  },
  (t) => [
    // KNN over on-duty workers only (dispatch suggestions): a partial GiST index.
    index('worker_positions_on_duty_gist').using('gist', t.location).where(sql`${t.onDuty}`),
  ],
);

/** Position history, pruned by age. */
export const workerTracks = pgTable(
  'worker_tracks',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    userId: bigint({ mode: 'number' })
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    location: pointColumn().notNull(),
    accuracyMeters: doublePrecision(),
    onDuty: boolean().notNull(),
    at: timestamp({ withTimezone: true }).notNull(),
  },
  (t) => [
    index('worker_tracks_user_at_idx').on(t.userId, t.at),
    index('worker_tracks_geom_gist').using('gist', t.location),
  ],
);

export type Department = typeof departments.$inferSelect;
export type User = typeof users.$inferSelect;
