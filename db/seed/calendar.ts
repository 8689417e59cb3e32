/**
 * The demo city's working calendar (Asia/Shanghai, 08:30–12:00 and 14:00–17:30 on workdays) and
 * the working-time arithmetic the seed uses to stamp due dates on historical cases.
 */

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** Asia/Shanghai has no daylight saving: local time is UTC+8 all year. */
const OFFSET_MS = 8 * 3_600_000;

export interface CalendarDay {
  day: string;
  name: string;
  isWorkday: boolean;
}

/**
 * Public holidays and the weekend days worked in exchange (调休), after the State Council's
 * schedules; the 2027 entries are an approximation until the official notice.
 */
export const HOLIDAYS: readonly CalendarDay[] = [
  ...span('2026-01-01', 3, '元旦'),
  { day: '2026-01-04', name: '元旦调休上班', isWorkday: true },
  { day: '2026-02-14', name: '春节调休上班', isWorkday: true },
  ...span('2026-02-15', 9, '春节'),
  { day: '2026-02-28', name: '春节调休上班', isWorkday: true },
  ...span('2026-04-04', 3, '清明节'),
  ...span('2026-05-01', 5, '劳动节'),
  { day: '2026-05-09', name: '劳动节调休上班', isWorkday: true },
  ...span('2026-06-19', 3, '端午节'),
  { day: '2026-09-20', name: '国庆节调休上班', isWorkday: true },
  ...span('2026-09-25', 3, '中秋节'),
  ...span('2026-10-01', 7, '国庆节'),
  { day: '2026-10-10', name: '国庆节调休上班', isWorkday: true },
  ...span('2027-01-01', 3, '元旦'),
  ...span('2027-02-06', 7, '春节'),
  ...span('2027-04-03', 3, '清明节'),
  ...span('2027-05-01', 5, '劳动节'),
  ...span('2027-06-09', 3, '端午节'),
  ...span('2027-09-15', 3, '中秋节'),
  ...span('2027-10-01', 7, '国庆节'),
];

function span(first: string, days: number, name: string): CalendarDay[] {
  const start = Date.parse(`${first}T00:00:00Z`);
  return Array.from({ length: days }, (_, i) => ({
    day: new Date(start + i * DAY_MS).toISOString().slice(0, 10),
    name,
    isWorkday: false,
  }));
}

/** Working periods in minutes after local midnight. */
const PERIODS: readonly (readonly [number, number])[] = [
  [8 * 60 + 30, 12 * 60],
  [14 * 60, 17 * 60 + 30],
];

/** Exceptions by local day number (days since the epoch, in Shanghai time). */
const exceptions = new Map(HOLIDAYS.map((d) => [Date.parse(`${d.day}T00:00:00Z`) / DAY_MS, d.isWorkday]));

/** Whether the local (Shanghai) day starting at `localDayStart` (local ms) is a workday. */
function isWorkday(localDayStart: number): boolean {
  const exception = exceptions.get(localDayStart / DAY_MS);
  if (exception !== undefined) return exception;
  // 1970-01-01 was a Thursday.
  const weekday = (localDayStart / DAY_MS + 4) % 7;
  return weekday !== 0 && weekday !== 6;
}

/** The instant `minutes` working minutes after `start` (start may fall outside working time). */
export function addWorkingMinutes(start: Date, minutes: number): Date {
  let remaining = minutes;
  let local = start.getTime() + OFFSET_MS;
  for (let guard = 0; guard < 3660; guard++) {
    const dayStart = Math.floor(local / DAY_MS) * DAY_MS;
    if (isWorkday(dayStart)) {
      for (const [from, to] of PERIODS) {
        const a = Math.max(local, dayStart + from * MINUTE_MS);
        const b = dayStart + to * MINUTE_MS;
        if (a >= b) continue;
        const available = (b - a) / MINUTE_MS;
        if (remaining <= available) return new Date(a + remaining * MINUTE_MS - OFFSET_MS);
        remaining -= available;
        local = b;
      }
    }
    local = dayStart + DAY_MS;
  }
  throw new Error(`addWorkingMinutes: ${minutes} minutes do not fit in ten years`);
}

/** Whether `at` falls inside working time. */
export function isWorkingTime(at: Date): boolean {
  const local = at.getTime() + OFFSET_MS;
  const dayStart = Math.floor(local / DAY_MS) * DAY_MS;
  if (!isWorkday(dayStart)) return false;
  const minute = (local - dayStart) / MINUTE_MS;
  return PERIODS.some(([from, to]) => minute >= from && minute < to);
}

/** The Shanghai calendar date of an instant, as `yyyymmdd`. */
export function localDateKey(at: Date): string {
  return new Date(at.getTime() + OFFSET_MS).toISOString().slice(0, 10).replaceAll('-', '');
}

/** Local hour of day (0–23) in Shanghai. */
export function localHour(at: Date): number {
  return new Date(at.getTime() + OFFSET_MS).getUTCHours();
}
