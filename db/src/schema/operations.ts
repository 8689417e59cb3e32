/**
 * Running the platform: Open311 API keys, the working calendar, settings, the admin audit log, and
 * the sign-in attempts being counted.
 */
import {
  bigint,
  boolean,
  date,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { users } from './people';

export const apiKeys = pgTable(
  'api_keys',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    name: text().notNull(),
    /** sha256 of the key; keys are random and long, so a fast hash is enough. */
    keyHash: text().notNull(),
    createdById: bigint({ mode: 'number' }).references(() => users.id),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    revokedAt: timestamp({ withTimezone: true }),
  },
  (t) => [uniqueIndex('api_keys_hash_key').on(t.keyHash)],
);

/** Days that break the weekly pattern: holidays, and weekend days worked in exchange (调休). */
export const calendarDays = pgTable('calendar_days', {
  day: date().primaryKey(),
  name: text().notNull(),
  isWorkday: boolean().notNull(),
});

/** Small typed settings (e.g. working hours, duplicate radius) kept as JSON under a key. */
export const settings = pgTable('settings', {
  key: text().primaryKey(),
  value: jsonb().notNull(),
  updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
});

export const adminAudit = pgTable('admin_audit', {
  id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  actorId: bigint({ mode: 'number' }).references(() => users.id),
  action: text().notNull(),
  target: text(),
  detail: jsonb().$type<Record<string, unknown>>().notNull().default({}),
  at: timestamp({ withTimezone: true }).notNull().defaultNow(),
});

/**
 * Sign-in attempts per key (username and client address) in the current window, shared by every
 * server instance (server/src/domain/auth/rate-limit.ts). A success removes its key's row; rows
 * whose window has passed are pruned.
 */
export const loginAttempts = pgTable('login_attempts', {
  key: text().primaryKey(),
  attempts: integer().notNull(),
  resetAt: timestamp({ withTimezone: true }).notNull(),
});
