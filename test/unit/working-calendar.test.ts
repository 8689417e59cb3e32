import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addWorkingMinutes,
  CalendarError,
  defaultCalendar,
  isWorkingDay,
  type WorkingCalendar,
  workingMinutesBetween,
} from '../../server/src/domain/calendar/working-calendar';

const shanghai = (local: string) => new Date(`${local}+08:00`);

// 2026-11-27 is a Friday.
describe('addWorkingMinutes', () => {
  it('a case reported Friday 17:00 with an 8-working-hour limit is due Monday 16:30 on an 08:00–12:00, 13:00–17:30 day', () => {
    const calendar: WorkingCalendar = {
      ...defaultCalendar,
      hours: [
        ['08:00', '12:00'],
        ['13:00', '17:30'],
      ],
    };
    expect(addWorkingMinutes(shanghai('2026-11-27T17:00:00'), 8 * 60, calendar)).toEqual(
      shanghai('2026-11-30T16:30:00'),
    );
  });

  it('on the default 08:30–12:00, 14:00–17:30 day the same 8 hours end Tuesday 09:00', () => {
    // Friday 0.5 h + Monday 7 h = 7.5 h, so half an hour runs into Tuesday.
    expect(addWorkingMinutes(shanghai('2026-11-27T17:00:00'), 8 * 60, defaultCalendar)).toEqual(
      shanghai('2026-12-01T09:00:00'),
    );
  });

  it('starts counting at the next working period when reported outside working hours', () => {
    expect(addWorkingMinutes(shanghai('2026-11-28T10:00:00'), 60, defaultCalendar)).toEqual(
      shanghai('2026-11-30T09:30:00'),
    );
    expect(addWorkingMinutes(shanghai('2026-11-30T12:30:00'), 30, defaultCalendar)).toEqual(
      shanghai('2026-11-30T14:30:00'),
    );
  });

  it('skips holidays and counts weekend days worked in exchange', () => {
    const calendar: WorkingCalendar = {
      ...defaultCalendar,
      exceptions: new Map([
        ['2026-11-30', false], // Monday off
        ['2026-11-29', true], // Sunday worked
      ]),
    };
    // Friday 17:00: 0.5 h Friday, then Sunday 08:30 onwards; Monday is skipped.
    expect(addWorkingMinutes(shanghai('2026-11-27T17:00:00'), 60, calendar)).toEqual(
      shanghai('2026-11-29T09:00:00'),
    );
    expect(addWorkingMinutes(shanghai('2026-11-29T17:00:00'), 60, calendar)).toEqual(
      shanghai('2026-12-01T09:00:00'),
    );
    expect(isWorkingDay('2026-11-30', calendar)).toBe(false);
    expect(isWorkingDay('2026-11-29', calendar)).toBe(true);
  });

  it('refuses negative limits and calendars without working time', () => {
    expect(() => addWorkingMinutes(new Date(), -1, defaultCalendar)).toThrow(CalendarError);
    expect(() =>
      addWorkingMinutes(new Date(), 10, { ...defaultCalendar, weekendDays: [0, 1, 2, 3, 4, 5, 6] }),
    ).toThrow(/no working time/);
    expect(() =>
      addWorkingMinutes(new Date(), 10, { ...defaultCalendar, hours: [['8:30', '12:00']] }),
    ).toThrow(/HH:MM/);
  });

  it('is the inverse of workingMinutesBetween', () => {
    const start = Date.parse('2026-01-01T00:00:00Z');
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 365 * 24 * 60 }),
        fc.integer({ min: 1, max: 20_000 }),
        (offsetMinutes, limit) => {
          const from = new Date(start + offsetMinutes * 60_000);
          const due = addWorkingMinutes(from, limit, defaultCalendar);
          expect(due.getTime()).toBeGreaterThan(from.getTime());
          expect(workingMinutesBetween(from, due, defaultCalendar)).toBeCloseTo(limit, 6);
        },
      ),
      { numRuns: 300 },
    );
  });
  it('agrees with a minute-by-minute count in a zone with daylight saving, across its changes', () => {
    const newYork: WorkingCalendar = { ...defaultCalendar, timeZone: 'America/New_York' };
    const local = new Intl.DateTimeFormat('en-CA', {
      timeZone: 'America/New_York',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    // A working minute: on a weekday, inside 08:30–12:00 or 14:00–17:30 local time.
    const isWorkingMinute = (t: number) => {
      const p = Object.fromEntries(local.formatToParts(t).map((x) => [x.type, x.value]));
      const weekday = new Date(`${p.year}-${p.month}-${p.day}T00:00:00Z`).getUTCDay();
      const m = Number(p.hour) * 60 + Number(p.minute);
      return weekday !== 0 && weekday !== 6 && ((m >= 510 && m < 720) || (m >= 840 && m < 1050));
    };
    // Around both 2026 changes (8 March, 1 November) and ordinary days between.
    const starts = ['2026-03-05T00:00:00Z', '2026-10-29T00:00:00Z', '2026-06-10T00:00:00Z'].map(Date.parse);
    fc.assert(
      fc.property(
        fc.constantFrom(...starts),
        fc.integer({ min: 0, max: 6 * 24 * 60 }),
        fc.integer({ min: 1, max: 600 }),
        (base, offsetMinutes, limit) => {
          const from = base + offsetMinutes * 60_000;
          let t = from;
          for (let left = limit; left > 0; t += 60_000) if (isWorkingMinute(t)) left--;
          expect(addWorkingMinutes(new Date(from), limit, newYork).getTime()).toBe(t);
        },
      ),
      { numRuns: 60 },
    );
  });
});
