/**
 * The case event log: the audit trail of the closed loop. Every change of a case's status is one
 * event written by `recordCaseEvent` inside the transaction that changes the case, with
 * `seq` = the case's version after it. The database refuses updates and deletes of events.
 */
import type { Executor } from '@citygrid/db';
import { type CaseEvent, type CaseStatus, caseEvents } from '@citygrid/db/schema';
import { asc, inArray } from 'drizzle-orm';

/** Event action names (case_events.action); later issues add the extension, hold and escalation ones. */
export const CASE_ACTIONS = [
  'REPORT',
  'FILE',
  'REJECT',
  'DISPATCH',
  'ACCEPT',
  'RETURN',
  'RESOLVE',
  'VERIFY_PASS',
  'VERIFY_FAIL',
  'REOPEN',
  // The case clock (issue 4): none of these changes the status.
  'EXTEND_REQUEST',
  'EXTEND_APPROVE',
  'EXTEND_REFUSE',
  'HOLD',
  'RESUME',
  // Written by the escalation scheduler, never by a person.
  'ESCALATE',
] as const;
export type CaseAction = (typeof CASE_ACTIONS)[number];

export interface NewCaseEvent {
  caseId: number;
  /** The case's version after this event (1 for the report). */
  seq: number;
  action: CaseAction;
  fromStatus: CaseStatus | null;
  toStatus: CaseStatus;
  actorId: number | null;
  note?: string | null;
  payload?: Record<string, unknown>;
  at: Date;
}

/**
 * Appends one event. Call it inside the transaction that writes the case row, so the status and
 * the event that explains it commit together. (The workflow's change notification belongs here
 * too, as `pg_notify` in the same transaction, so a rolled-back change is never announced.)
 */
export async function recordCaseEvent(tx: Executor, event: NewCaseEvent): Promise<CaseEvent> {
  const [row] = await tx
    .insert(caseEvents)
    .values({
      caseId: event.caseId,
      seq: event.seq,
      action: event.action,
      fromStatus: event.fromStatus,
      toStatus: event.toStatus,
      actorId: event.actorId,
      note: event.note ?? null,
      payload: event.payload ?? {},
      at: event.at,
    })
    .returning();
  return row!;
}

/** Events of several cases, each case's in order. */
export function eventsByCaseIds(db: Executor, caseIds: readonly number[]): Promise<CaseEvent[]> {
  return db
    .select()
    .from(caseEvents)
    .where(inArray(caseEvents.caseId, [...caseIds]))
    .orderBy(asc(caseEvents.caseId), asc(caseEvents.seq));
}
