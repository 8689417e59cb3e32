/**
 * What an admin tunes without touching code: categories and their deadlines, departments, users'
 * standing, alarm rules' thresholds, and the working calendar's exceptions. Each change is one
 * transaction with its audit entry; reads here are unscoped because only an ADMIN gets them.
 */
import { type Db, type Executor, rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { notifyUserChanged } from '../auth/deactivated';
import { forgetWorkflowSettings } from '../cases/settings';
import { BadUserInput, NotFound, parseInput } from '../errors';
import { type AdminCaller, requireAdmin } from './api-keys';
import { recordAdminAction } from './audit';

const PRIORITIES = ['NORMAL', 'HIGH', 'URGENT'] as const;
const STAGES = ['FILE', 'DISPATCH', 'HANDLE', 'VERIFY'] as const;

export interface CategoryDeadlineView {
  priority: (typeof PRIORITIES)[number];
  stage: (typeof STAGES)[number];
  minutes: number;
  workingTime: boolean;
}

export interface AdminCategoryView {
  id: number;
  code: string;
  kind: string;
  name: string;
  nameEn: string;
  majorName: string;
  active: boolean;
  defaultPriority: string;
  departmentId: number | null;
  deadlines: CategoryDeadlineView[];
}

export async function adminCategories(db: Executor, caller: AdminCaller): Promise<AdminCategoryView[]> {
  requireAdmin(caller);
  return rows<AdminCategoryView>(
    db,
    sql`SELECT c.id::int AS id, c.code, c.kind::text AS kind, c.name, c.name_en AS "nameEn", c.major_name AS "majorName",
               c.active, c.default_priority::text AS "defaultPriority", c.default_department_id::int AS "departmentId",
               coalesce((SELECT json_agg(json_build_object('priority', d.priority, 'stage', d.stage, 'minutes', d.minutes,
                                                          'workingTime', d.working_time) ORDER BY d.priority, d.stage)
                         FROM category_deadlines d WHERE d.category_id = c.id), '[]'::json) AS deadlines
        FROM categories c ORDER BY c.kind, c.code`,
  );
}

const deadlineInput = z.object({
  categoryId: z.number().int().positive(),
  priority: z.enum(PRIORITIES),
  stage: z.enum(STAGES),
  minutes: z
    .number()
    .int()
    .min(1)
    .max(60 * 24 * 365),
  workingTime: z.boolean(),
});

/** Sets one deadline of a category (cases reported from now on use it). */
export async function setCategoryDeadline(
  db: Db,
  caller: AdminCaller,
  raw: z.input<typeof deadlineInput>,
): Promise<void> {
  const actorId = requireAdmin(caller);
  const input = parseInput(deadlineInput, raw);
  await db.transaction(async (tx) => {
    const found = await rows<{ code: string }>(
      tx,
      sql`SELECT code FROM categories WHERE id = ${input.categoryId}`,
    );
    if (!found[0]) throw new NotFound(`no category ${input.categoryId}`);
    await tx.execute(sql`
      INSERT INTO category_deadlines (category_id, priority, stage, minutes, working_time)
      VALUES (${input.categoryId}, ${input.priority}::case_priority, ${input.stage}::deadline_stage, ${input.minutes},
              ${input.workingTime})
      ON CONFLICT (category_id, priority, stage) DO UPDATE SET minutes = EXCLUDED.minutes, working_time = EXCLUDED.working_time`);
    await recordAdminAction(tx, {
      actorId,
      action: 'setCategoryDeadline',
      target: `category:${found[0].code}`,
      detail: { ...input },
    });
  });
}

export async function setCategoryActive(db: Db, caller: AdminCaller, categoryId: number, active: boolean) {
  const actorId = requireAdmin(caller);
  await db.transaction(async (tx) => {
    const found = await rows<{ code: string }>(
      tx,
      sql`UPDATE categories SET active = ${active} WHERE id = ${categoryId} RETURNING code`,
    );
    if (!found[0]) throw new NotFound(`no category ${categoryId}`);
    await recordAdminAction(tx, {
      actorId,
      action: 'setCategoryActive',
      target: `category:${found[0].code}`,
      detail: { active },
    });
  });
}

const departmentInput = z.object({
  code: z
    .string()
    .trim()
    .regex(/^[a-z0-9][a-z0-9-]{1,39}$/, 'lower-case letters, digits and - (2 to 40)'),
  name: z.string().trim().min(1).max(100),
  nameEn: z.string().trim().min(1).max(100),
  phone: z.string().trim().max(50).optional(),
});

/** A department serving the whole city. */
export async function createDepartment(
  db: Db,
  caller: AdminCaller,
  raw: z.input<typeof departmentInput>,
): Promise<{ id: number }> {
  const actorId = requireAdmin(caller);
  const input = parseInput(departmentInput, raw);
  return db.transaction(async (tx) => {
    const inserted = await rows<{ id: number }>(
      tx,
      sql`INSERT INTO departments (code, name, name_en, region_id, phone)
          SELECT ${input.code}, ${input.name}, ${input.nameEn}, id, ${input.phone ?? null}
          FROM regions WHERE level = 'CITY' ORDER BY id LIMIT 1
          ON CONFLICT (code) DO NOTHING
          RETURNING id::int AS id`,
    );
    if (!inserted[0])
      throw new BadUserInput(`a department "${input.code}" exists already (or there is no city yet)`);
    await recordAdminAction(tx, {
      actorId,
      action: 'createDepartment',
      target: `department:${input.code}`,
      detail: { ...input },
    });
    return inserted[0];
  });
}

export interface AdminUserView {
  id: number;
  username: string;
  displayName: string;
  role: string;
  regionCode: string;
  departmentCode: string | null;
  active: boolean;
}

export async function adminUsers(db: Executor, caller: AdminCaller): Promise<AdminUserView[]> {
  requireAdmin(caller);
  return rows<AdminUserView>(
    db,
    sql`SELECT u.id::int AS id, u.username, u.display_name AS "displayName", u.role::text AS role,
               r.code AS "regionCode", d.code AS "departmentCode", u.active
        FROM users u JOIN regions r ON r.id = u.region_id LEFT JOIN departments d ON d.id = u.department_id
        ORDER BY u.role, u.username`,
  );
}

/** Deactivating a user stops new sign-ins, and every instance refuses their tokens from then on. */
export async function setUserActive(db: Db, caller: AdminCaller, userId: number, active: boolean) {
  const actorId = requireAdmin(caller);
  if (caller.kind === 'user' && caller.actor.id === userId && !active) {
    throw new BadUserInput('you cannot deactivate yourself');
  }
  await db.transaction(async (tx) => {
    const found = await rows<{ username: string }>(
      tx,
      sql`UPDATE users SET active = ${active} WHERE id = ${userId} RETURNING username`,
    );
    if (!found[0]) throw new NotFound(`no user ${userId}`);
    await notifyUserChanged(tx, userId);
    await recordAdminAction(tx, {
      actorId,
      action: 'setUserActive',
      target: `user:${userId}`,
      detail: { username: found[0].username, active },
    });
  });
}

export interface AdminAlarmRuleView {
  id: number;
  name: string;
  sensorKind: string;
  metric: string;
  condition: string;
  threshold: number;
  thresholdHigh: number | null;
  clearThreshold: number | null;
  holdSeconds: number;
  severity: string;
  opensCase: boolean;
  enabled: boolean;
}

export async function adminAlarmRules(db: Executor, caller: AdminCaller): Promise<AdminAlarmRuleView[]> {
  requireAdmin(caller);
  return rows<AdminAlarmRuleView>(
    db,
    sql`SELECT id::int AS id, name, sensor_kind AS "sensorKind", metric, condition::text AS condition, threshold,
               threshold_high AS "thresholdHigh", clear_threshold AS "clearThreshold", hold_seconds AS "holdSeconds",
               severity::text AS severity, opens_case AS "opensCase", enabled
        FROM alarm_rules WHERE sensor_id IS NULL ORDER BY sensor_kind, metric, id`,
  );
}

const alarmRuleInput = z.object({
  id: z.number().int().positive(),
  threshold: z.number().finite(),
  clearThreshold: z.number().finite().nullable(),
  holdSeconds: z.number().int().min(0).max(86_400),
  enabled: z.boolean(),
});

/** New thresholds apply to the readings evaluated after the change. */
export async function updateAlarmRule(db: Db, caller: AdminCaller, raw: z.input<typeof alarmRuleInput>) {
  const actorId = requireAdmin(caller);
  const input = parseInput(alarmRuleInput, raw);
  await db.transaction(async (tx) => {
    const found = await rows<{ name: string; condition: string }>(
      tx,
      sql`SELECT name, condition::text AS condition FROM alarm_rules WHERE id = ${input.id} FOR UPDATE`,
    );
    const rule = found[0];
    if (!rule) throw new NotFound(`no alarm rule ${input.id}`);
    // Hysteresis: an ABOVE alarm clears below its threshold, a BELOW one above it.
    if (input.clearThreshold !== null) {
      const wrong =
        (rule.condition === 'ABOVE' && input.clearThreshold > input.threshold) ||
        (rule.condition === 'BELOW' && input.clearThreshold < input.threshold);
      if (wrong)
        throw new BadUserInput(`for a ${rule.condition} rule the clear threshold must be on the safe side`);
    }
    await tx.execute(sql`
      UPDATE alarm_rules SET threshold = ${input.threshold}, clear_threshold = ${input.clearThreshold},
             hold_seconds = ${input.holdSeconds}, enabled = ${input.enabled}
      WHERE id = ${input.id}`);
    await recordAdminAction(tx, {
      actorId,
      action: 'updateAlarmRule',
      target: `alarm_rule:${input.id}`,
      detail: { ...input },
    });
  });
}

export interface CalendarDayView {
  day: string;
  name: string;
  isWorkday: boolean;
}

export async function calendarDays(
  db: Executor,
  caller: AdminCaller,
  year: number,
): Promise<CalendarDayView[]> {
  requireAdmin(caller);
  return rows<CalendarDayView>(
    db,
    sql`SELECT day::text AS day, name, is_workday AS "isWorkday" FROM calendar_days
        WHERE day >= make_date(${year}::int, 1, 1) AND day < make_date(${year}::int + 1, 1, 1) ORDER BY day`,
  );
}

const calendarInput = z.object({
  day: z.iso.date(),
  name: z.string().trim().min(1).max(100),
  isWorkday: z.boolean(),
});

/** A holiday (isWorkday false) or an exchanged working day (调休, isWorkday true). */
export async function setCalendarDay(db: Db, caller: AdminCaller, raw: z.input<typeof calendarInput>) {
  const actorId = requireAdmin(caller);
  const input = parseInput(calendarInput, raw);
  await db.transaction(async (tx) => {
    await tx.execute(sql`
      INSERT INTO calendar_days (day, name, is_workday) VALUES (${input.day}::date, ${input.name}, ${input.isWorkday})
      ON CONFLICT (day) DO UPDATE SET name = EXCLUDED.name, is_workday = EXCLUDED.is_workday`);
    await recordAdminAction(tx, {
      actorId,
      action: 'setCalendarDay',
      target: `day:${input.day}`,
      detail: { ...input },
    });
  });
  // Deadlines count on the new day from the next transition on this instance (others within the cache's TTL).
  forgetWorkflowSettings(db);
}

export async function removeCalendarDay(db: Db, caller: AdminCaller, day: string) {
  const actorId = requireAdmin(caller);
  const { day: d } = parseInput(z.object({ day: z.iso.date() }), { day });
  await db.transaction(async (tx) => {
    const found = await rows<{ day: string }>(
      tx,
      sql`DELETE FROM calendar_days WHERE day = ${d}::date RETURNING day::text AS day`,
    );
    if (!found[0]) throw new NotFound(`${d} is not in the calendar`);
    await recordAdminAction(tx, { actorId, action: 'removeCalendarDay', target: `day:${d}` });
  });
  forgetWorkflowSettings(db);
}
