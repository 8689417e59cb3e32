/**
 * Deadlines from a category's limits. For now every limit counts wall-clock minutes, also those
 * the category gives in working time (a working day of 480 minutes becomes 8 hours); the working
 * calendar (`calendar_days`) replaces this approximation when the workflow stamps deadlines.
 */
import type { DeadlineRule } from '../reference/categories';

export interface ReportDeadlines {
  fileDueAt: Date | null;
  dispatchDueAt: Date | null;
  /** Provisional at report time: dispatch re-stamps it from the actual dispatch. */
  handleDueAt: Date | null;
  verifyDueAt: Date | null;
}

const MINUTE = 60_000;

/** Each stage's clock starts when the previous one is due: report → file → dispatch → handle → verify. */
export function deadlinesAtReport(rules: readonly DeadlineRule[], reportedAt: Date): ReportDeadlines {
  const minutes = (stage: DeadlineRule['stage']) => rules.find((r) => r.stage === stage)?.minutes;
  let t = reportedAt.getTime();
  const next = (stage: DeadlineRule['stage']): Date | null => {
    const m = minutes(stage);
    if (m === undefined) return null;
    t += m * MINUTE;
    return new Date(t);
  };
  const fileDueAt = next('FILE');
  const dispatchDueAt = next('DISPATCH');
  const handleDueAt = next('HANDLE');
  const verifyDueAt = next('VERIFY');
  return { fileDueAt, dispatchDueAt, handleDueAt, verifyDueAt };
}
