/**
 * Deadlines at report time from a category's limits. Limits in working time count working
 * minutes on the city's calendar (office hours, weekends; `calendar_days` holidays are not loaded
 * yet, so the default calendar has no exceptions); the others (urgent cases) count wall-clock
 * minutes. The workflow re-stamps each stage's deadline when the stage actually starts.
 */
import { addWorkingMinutes, defaultCalendar, type WorkingCalendar } from '../calendar/working-calendar';
import type { DeadlineRule } from '../reference/categories';

export interface ReportDeadlines {
  fileDueAt: Date | null;
  dispatchDueAt: Date | null;
  /** Provisional at report time: dispatch re-stamps it from the actual dispatch. */
  handleDueAt: Date | null;
  verifyDueAt: Date | null;
}

const MINUTE = 60_000;

/** Adds one stage's limit to `from`, in working or wall-clock minutes as the rule says. */
export function addLimit(from: Date, rule: DeadlineRule, calendar: WorkingCalendar = defaultCalendar): Date {
  return rule.workingTime
    ? addWorkingMinutes(from, rule.minutes, calendar)
    : new Date(from.getTime() + rule.minutes * MINUTE);
}

/** Each stage's clock starts when the previous one is due: report → file → dispatch → handle → verify. */
export function deadlinesAtReport(
  rules: readonly DeadlineRule[],
  reportedAt: Date,
  calendar: WorkingCalendar = defaultCalendar,
): ReportDeadlines {
  let t = reportedAt;
  const next = (stage: DeadlineRule['stage']): Date | null => {
    const rule = rules.find((r) => r.stage === stage);
    if (!rule) return null;
    t = addLimit(t, rule, calendar);
    return t;
  };
  const fileDueAt = next('FILE');
  const dispatchDueAt = next('DISPATCH');
  const handleDueAt = next('HANDLE');
  const verifyDueAt = next('VERIFY');
  return { fileDueAt, dispatchDueAt, handleDueAt, verifyDueAt };
}
