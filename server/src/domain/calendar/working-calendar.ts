/**
 * Working-time arithmetic on a city's calendar: working hours in a time zone, weekends, and
 * dated exceptions (public holidays off, weekend days worked in exchange, 调休).
 *
 * Ordinary case deadlines count working minutes on this calendar; urgent ones count wall-clock
 * minutes and never come here.
 */

export interface WorkingCalendar {
  /** IANA time zone the working hours are read in, e.g. `Asia/Shanghai`. */
  timeZone: string;
  /** Working periods of a working day as local `HH:MM` pairs, sorted and not overlapping. */
  hours: ReadonlyArray<readonly [string, string]>;
  /** Days of the week off by default, 0 = Sunday. */
  weekendDays: readonly number[];
  /** `YYYY-MM-DD` → true (worked) or false (off), overriding the weekly pattern. */
  exceptions: ReadonlyMap<string, boolean>;
}

export class CalendarError extends Error {}

const MINUTE = 60_000;
/** Far enough for any real limit (years of working time); a calendar with no work ends there. */
const MAX_DAYS_SCANNED = 3 * 366;

export const defaultCalendar: WorkingCalendar = {
  timeZone: 'Asia/Shanghai',
  hours: [
    ['08:30', '12:00'],
    ['14:00', '17:30'],
  ],
  weekendDays: [0, 6],
  exceptions: new Map(),
};

/** The instant `minutes` working minutes after `start`. */
export function addWorkingMinutes(start: Date, minutes: number, calendar: WorkingCalendar): Date {
  if (!Number.isFinite(minutes) || minutes < 0)
    throw new CalendarError(`working minutes must be ≥ 0, got ${minutes}`);
  if (minutes === 0) return new Date(start);
  let remaining = minutes * MINUTE;
  let cursor = start.getTime();
  for (const [from, to] of workingPeriodsFrom(start, calendar)) {
    const begin = Math.max(from, cursor);
    if (begin >= to) continue;
    const available = to - begin;
    if (remaining <= available) return new Date(begin + remaining);
    remaining -= available;
    cursor = to;
  }
  throw new CalendarError(`no working time within ${MAX_DAYS_SCANNED} days of ${start.toISOString()}`);
}

/** Working minutes between two instants (0 when `end` is not after `start`). */
export function workingMinutesBetween(start: Date, end: Date, calendar: WorkingCalendar): number {
  const stop = end.getTime();
  if (stop <= start.getTime()) return 0;
  let total = 0;
  for (const [from, to] of workingPeriodsFrom(start, calendar)) {
    if (from >= stop) break;
    total += Math.min(to, stop) - Math.max(from, start.getTime());
  }
  return total / MINUTE;
}

/** Whether a local calendar day (`YYYY-MM-DD`) is a working day. */
export function isWorkingDay(day: string, calendar: WorkingCalendar): boolean {
  const exception = calendar.exceptions.get(day);
  if (exception !== undefined) return exception;
  const weekday = new Date(`${day}T00:00:00Z`).getUTCDay();
  return !calendar.weekendDays.includes(weekday);
}

/** Working periods as [from, to) epoch-ms pairs, in order, from the local day containing `start`. */
function* workingPeriodsFrom(start: Date, calendar: WorkingCalendar): Generator<readonly [number, number]> {
  let day = localDay(start, calendar.timeZone);
  for (let i = 0; i < MAX_DAYS_SCANNED; i++) {
    const { periods, next } = dayOf(day, calendar);
    for (const period of periods) if (period[1] > start.getTime()) yield period;
    day = next;
  }
}

/**
 * A day's working periods as instants, memoised per calendar: every report stamps four deadlines
 * that walk the same few weeks of days, and each period's instant costs two time-zone
 * conversions (Intl), which made this the costliest arithmetic of a report. Calendars are
 * treated as immutable values (settings.ts builds a new one when the settings change), so the
 * calendar object is the key.
 */
const dayCaches = new WeakMap<WorkingCalendar, Map<string, MemoDay>>();
/** About ten years of days per calendar; past it the memo starts over. */
const MAX_MEMO_DAYS = 4000;

interface MemoDay {
  periods: ReadonlyArray<readonly [number, number]>;
  next: string;
}

function dayOf(day: string, calendar: WorkingCalendar): MemoDay {
  let memo = dayCaches.get(calendar);
  if (!memo) {
    memo = new Map();
    dayCaches.set(calendar, memo);
  }
  let found = memo.get(day);
  if (!found) {
    const periods = isWorkingDay(day, calendar)
      ? calendar.hours.map(
          ([a, b]) =>
            [
              localToInstant(day, parseHhmm(a), calendar.timeZone),
              localToInstant(day, parseHhmm(b), calendar.timeZone),
            ] as const,
        )
      : [];
    found = { periods, next: nextDay(day) };
    if (memo.size >= MAX_MEMO_DAYS) memo.clear();
    memo.set(day, found);
  }
  return found;
}

function parseHhmm(value: string): number {
  const match = /^(\d{2}):(\d{2})$/.exec(value);
  if (!match) throw new CalendarError(`working hours must be HH:MM, got "${value}"`);
  const minutes = Number(match[1]) * 60 + Number(match[2]);
  if (minutes > 24 * 60) throw new CalendarError(`working hours past 24:00: "${value}"`);
  return minutes;
}

const dayFormatters = new Map<string, Intl.DateTimeFormat>();
function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = dayFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    dayFormatters.set(timeZone, f);
  }
  return f;
}

function localParts(instant: number, timeZone: string) {
  const parts = Object.fromEntries(
    formatterFor(timeZone)
      .formatToParts(instant)
      .map((p) => [p.type, p.value]),
  );
  return {
    day: `${parts.year}-${parts.month}-${parts.day}`,
    asUtc: Date.UTC(
      Number(parts.year),
      Number(parts.month) - 1,
      Number(parts.day),
      Number(parts.hour),
      Number(parts.minute),
      Number(parts.second),
    ),
  };
}

/** Recently seen local days as [from, to) instants, per time zone: most instants fall in a few. */
const recentDays = new Map<string, { from: number; to: number; day: string }[]>();
const RECENT_DAYS = 16;

function localDay(instant: Date, timeZone: string): string {
  const t = instant.getTime();
  let recent = recentDays.get(timeZone);
  if (!recent) {
    recent = [];
    recentDays.set(timeZone, recent);
  }
  for (const r of recent) if (r.from <= t && t < r.to) return r.day;
  const day = localParts(t, timeZone).day;
  const from = localToInstant(day, 0, timeZone);
  const to = localToInstant(nextDay(day), 0, timeZone);
  // Only a day whose bounds check out is remembered (a zone may skip its midnight).
  if (
    from <= t &&
    t < to &&
    localParts(from, timeZone).day === day &&
    localParts(to - 1, timeZone).day === day
  ) {
    if (recent.length >= RECENT_DAYS) recent.shift();
    recent.push({ from, to, day });
  }
  return day;
}

/** The instant at local `day` + `minutes` after midnight in `timeZone` (DST-safe by two passes). */
function localToInstant(day: string, minutes: number, timeZone: string): number {
  const wallAsUtc = Date.parse(`${day}T00:00:00Z`) + minutes * MINUTE;
  let guess = wallAsUtc;
  for (let i = 0; i < 2; i++) {
    const offset = localParts(guess, timeZone).asUtc - guess;
    guess = wallAsUtc - offset;
  }
  return guess;
}

function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}
