/**
 * A case's clock beyond the plain workflow: extensions (延期: a department asks, a commander
 * approves or refuses), holds (缓办: a commander stops the clock and later resumes it, shifting
 * the remaining time), and what is read from it — the current stage's deadline and the time left.
 * The transitions themselves are rows of the workflow table (cases/transitions.ts) whose effects
 * live here; none of them changes the status.
 *
 * Working-time limits (ordinary cases) move on the city's working calendar; wall-clock limits
 * (urgent cases) move by elapsed time.
 */
import { type Executor, rows } from '@citygrid/db';
import type { CaseStatus, DeadlineStage } from '@citygrid/db/schema';
import { sql } from 'drizzle-orm';
import { addWorkingMinutes, type WorkingCalendar, workingMinutesBetween } from '../calendar/working-calendar';
import type { Effect, EffectContext } from '../cases/effects';
import type { CaseRow } from '../cases/view';
import { BadUserInput, InvalidTransition } from '../errors';
import { type DeadlineRule, deadlineRules } from '../reference/categories';

const MINUTE = 60_000;
/** The longest extension one request may ask for: 60 days of minutes. */
export const MAX_EXTENSION_MINUTES = 60 * 24 * 60;

/** Statuses whose clock a commander may stop (every open one). */
export const HOLDABLE: readonly CaseStatus[] = ['REPORTED', 'FILED', 'DISPATCHED', 'IN_PROGRESS', 'RESOLVED'];
/** Statuses in which a handling deadline may be extended. */
export const EXTENDABLE: readonly CaseStatus[] = ['DISPATCHED', 'IN_PROGRESS'];

/** The deadline column that runs in each status, and its stage. */
export const STAGE_OF_STATUS: Partial<Record<CaseStatus, { stage: DeadlineStage; column: DueColumn }>> = {
  REPORTED: { stage: 'FILE', column: 'fileDueAt' },
  FILED: { stage: 'DISPATCH', column: 'dispatchDueAt' },
  DISPATCHED: { stage: 'HANDLE', column: 'handleDueAt' },
  IN_PROGRESS: { stage: 'HANDLE', column: 'handleDueAt' },
  RESOLVED: { stage: 'VERIFY', column: 'verifyDueAt' },
};

type DueColumn = 'fileDueAt' | 'dispatchDueAt' | 'handleDueAt' | 'verifyDueAt';
const DUE_COLUMNS: readonly [DueColumn, DeadlineStage][] = [
  ['fileDueAt', 'FILE'],
  ['dispatchDueAt', 'DISPATCH'],
  ['handleDueAt', 'HANDLE'],
  ['verifyDueAt', 'VERIFY'],
];

/** `due` moved later by `minutes` of the stage's kind of time. */
export function extend(
  due: Date,
  minutes: number,
  rule: DeadlineRule | undefined,
  calendar: WorkingCalendar,
): Date {
  return rule?.workingTime
    ? addWorkingMinutes(due, minutes, calendar)
    : new Date(due.getTime() + minutes * MINUTE);
}

/** Minutes from `at` to `due` in the stage's kind of time; negative once past. */
export function minutesLeft(
  at: Date,
  due: Date,
  rule: DeadlineRule | undefined,
  calendar: WorkingCalendar,
): number {
  if (!rule?.workingTime) return (due.getTime() - at.getTime()) / MINUTE;
  return due.getTime() >= at.getTime()
    ? workingMinutesBetween(at, due, calendar)
    : -workingMinutesBetween(due, at, calendar);
}

/** The pending extension request of a case: the latest request not yet answered or overtaken. */
export async function pendingExtension(
  db: Executor,
  caseId: number,
): Promise<{ minutes: number } | undefined> {
  // A new dispatch, a return or a rework starts a new handling period: an older request lapses.
  const [last] = await rows<{ action: string; minutes: number | null }>(
    db,
    sql`SELECT action, (payload ->> 'minutes')::int AS minutes FROM case_events
        WHERE case_id = ${caseId}
          AND action IN ('EXTEND_REQUEST', 'EXTEND_APPROVE', 'EXTEND_REFUSE', 'DISPATCH', 'RETURN', 'VERIFY_FAIL')
        ORDER BY seq DESC LIMIT 1`,
  );
  return last?.action === 'EXTEND_REQUEST' && last.minutes !== null ? { minutes: last.minutes } : undefined;
}

const ruleFor = async (ctx: EffectContext, stage: DeadlineStage) =>
  (await deadlineRules(ctx.tx, ctx.current.categoryId, ctx.current.priority)).find((r) => r.stage === stage);

function parseMinutes(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_EXTENSION_MINUTES) {
    throw new BadUserInput(`minutes must be a whole number from 1 to ${MAX_EXTENSION_MINUTES}`, {
      field: 'minutes',
    });
  }
  return value;
}

/** The workflow effects of the clock's actions (merged into ACTION_EFFECTS). */
export const CLOCK_EFFECTS = {
  EXTEND_REQUEST: async (ctx) => {
    const minutes = parseMinutes(ctx.request.minutes);
    if (!ctx.current.handleDueAt) throw new InvalidTransition('the case has no handling deadline to extend');
    if (await pendingExtension(ctx.tx, ctx.current.id)) {
      throw new InvalidTransition('an extension request is already waiting for an answer');
    }
    return { payload: { minutes, handleDueAt: ctx.current.handleDueAt.toISOString() } };
  },

  EXTEND_APPROVE: async (ctx) => {
    const pending = await pendingExtension(ctx.tx, ctx.current.id);
    if (!pending) throw new InvalidTransition('no extension request is waiting for an answer');
    const from = ctx.current.handleDueAt;
    if (!from) throw new InvalidTransition('the case has no handling deadline to extend');
    const to = extend(from, pending.minutes, await ruleFor(ctx, 'HANDLE'), ctx.settings.calendar);
    return {
      set: { handleDueAt: to },
      payload: { minutes: pending.minutes, from: from.toISOString(), to: to.toISOString() },
    };
  },

  EXTEND_REFUSE: async (ctx) => {
    const pending = await pendingExtension(ctx.tx, ctx.current.id);
    if (!pending) throw new InvalidTransition('no extension request is waiting for an answer');
    return { payload: { minutes: pending.minutes } };
  },

  HOLD: (ctx) => {
    if (ctx.current.onHoldSince) throw new InvalidTransition('the case is already on hold');
    return { set: { onHoldSince: ctx.now } };
  },

  /**
   * Every deadline still ahead when the hold began gets back the time it had left then: working
   * minutes counted again from now on the calendar, or elapsed time for wall-clock limits.
   */
  RESUME: async (ctx) => {
    const since = ctx.current.onHoldSince;
    if (!since) throw new InvalidTransition('the case is not on hold');
    const rules = await deadlineRules(ctx.tx, ctx.current.categoryId, ctx.current.priority);
    const set: Partial<Record<DueColumn, Date>> & { onHoldSince: null } = { onHoldSince: null };
    const shifted: Record<string, string> = {};
    for (const [column, stage] of DUE_COLUMNS) {
      const due = ctx.current[column];
      if (!due || due.getTime() <= since.getTime()) continue;
      const rule = rules.find((r) => r.stage === stage);
      const next = rule?.workingTime
        ? addWorkingMinutes(
            ctx.now,
            workingMinutesBetween(since, due, ctx.settings.calendar),
            ctx.settings.calendar,
          )
        : new Date(due.getTime() + (ctx.now.getTime() - since.getTime()));
      set[column] = next;
      shifted[column] = next.toISOString();
    }
    return {
      set,
      payload: {
        heldSince: since.toISOString(),
        heldMinutes: Math.round((ctx.now.getTime() - since.getTime()) / MINUTE),
        shifted,
      },
    };
  },
} satisfies Record<string, Effect>;

/** The deadline that runs in the case's status now (null when none runs). */
export function currentDue(
  c: Pick<CaseRow, 'status' | DueColumn>,
): { stage: DeadlineStage; dueAt: Date } | null {
  const s = STAGE_OF_STATUS[c.status];
  const dueAt = s ? c[s.column] : null;
  return s && dueAt ? { stage: s.stage, dueAt } : null;
}

/**
 * Minutes left on the running deadline, computed when read: working minutes for working-time
 * limits, wall-clock minutes for urgent ones; frozen while on hold; negative once overdue.
 */
export async function remainingMinutes(
  db: Executor,
  c: Pick<CaseRow, 'status' | 'categoryId' | 'priority' | 'onHoldSince' | DueColumn>,
  calendar: WorkingCalendar,
  now: Date = new Date(),
  rulesOf: (categoryId: number, priority: CaseRow['priority']) => Promise<DeadlineRule[]> = (id, p) =>
    deadlineRules(db, id, p),
): Promise<number | null> {
  const running = currentDue(c);
  if (!running) return null;
  const rule = (await rulesOf(c.categoryId, c.priority)).find((r) => r.stage === running.stage);
  return Math.round(minutesLeft(c.onHoldSince ?? now, running.dueAt, rule, calendar));
}
