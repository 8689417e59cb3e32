/**
 * The workflow's settings, read from `settings` and `calendar_days`: the working calendar that
 * deadlines count on, and the likely-duplicate radius and window. Cached briefly per database,
 * since every transition and report reads them and they change a few times a year.
 */
import { type Executor, rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import { defaultCalendar, type WorkingCalendar } from '../calendar/working-calendar';

export interface WorkflowSettings {
  calendar: WorkingCalendar;
  /** Likely duplicates lie within this many metres… */
  duplicateRadiusM: number;
  /** …and were reported within this many days of the case. */
  duplicateWindowDays: number;
}

const TTL_MS = 30_000;
const HHMM = /^\d{2}:\d{2}$/;

/** Keyed by the executor's underlying database object, so test files with their own DB never share. */
const cache = new WeakMap<object, { at: number; value: Promise<WorkflowSettings> }>();

export function loadWorkflowSettings(db: Executor, now = Date.now()): Promise<WorkflowSettings> {
  const hit = cache.get(db);
  if (hit && now - hit.at < TTL_MS) return hit.value;
  const value = readSettings(db);
  cache.set(db, { at: now, value });
  // A failed read must not stick for the TTL.
  value.catch(() => cache.delete(db));
  return value;
}

/** The working calendar alone (deadlines). */
export async function loadCalendar(db: Executor): Promise<WorkingCalendar> {
  return (await loadWorkflowSettings(db)).calendar;
}

/** Forgets the cached settings of `db` (after an admin changes them, and in tests). */
export function forgetWorkflowSettings(db: Executor): void {
  cache.delete(db);
}

async function readSettings(db: Executor): Promise<WorkflowSettings> {
  const [row] = await rows<{ settings: Record<string, unknown> | null; days: [string, boolean][] | null }>(
    db,
    sql`SELECT (SELECT json_object_agg(key, value) FROM settings
                 WHERE key IN ('working_hours', 'timezone', 'weekend_days', 'duplicate_radius_m', 'duplicate_window_days')) AS settings,
               (SELECT json_agg(json_build_array(to_char(day, 'YYYY-MM-DD'), is_workday)) FROM calendar_days) AS days`,
  );
  const s = row?.settings ?? {};
  const hours = Array.isArray(s.working_hours)
    ? (s.working_hours as unknown[]).filter(
        (p): p is [string, string] =>
          Array.isArray(p) && p.length === 2 && HHMM.test(String(p[0])) && HHMM.test(String(p[1])),
      )
    : [];
  const weekend = Array.isArray(s.weekend_days)
    ? (s.weekend_days as unknown[]).filter(
        (d): d is number => Number.isInteger(d) && (d as number) >= 0 && (d as number) <= 6,
      )
    : undefined;
  const calendar: WorkingCalendar = {
    timeZone: typeof s.timezone === 'string' && s.timezone ? s.timezone : defaultCalendar.timeZone,
    hours: hours.length > 0 ? hours : defaultCalendar.hours,
    weekendDays: weekend ?? defaultCalendar.weekendDays,
    exceptions: new Map((row?.days ?? []).map(([day, worked]) => [day, worked])),
  };
  const positive = (v: unknown, fallback: number) =>
    typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : fallback;
  return {
    calendar,
    duplicateRadiusM: positive(s.duplicate_radius_m, 50),
    duplicateWindowDays: positive(s.duplicate_window_days, 7),
  };
}
