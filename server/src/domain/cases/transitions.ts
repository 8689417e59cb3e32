/**
 * The closed loop as data: every status change a case may make, who may make it, and which
 * extra rule picks the one person among them. `applyTransition` (workflow.ts) reads nothing else
 * to decide whether a step is allowed; a new step is a new row here plus, if it changes more
 * than the status, an entry in `ACTION_EFFECTS` (effects.ts).
 */
import type { CaseStatus, UserRole } from '@citygrid/db/schema';
import { EXTENDABLE, HOLDABLE } from '../escalation/clock';
import type { CaseAction } from './events';

/** Actions a transition may take (the REPORT event is written by reportCase, not by a transition). */
export type WorkflowAction = Exclude<CaseAction, 'REPORT'>;

/**
 * Who among the allowed roles may act, beyond role and region scope:
 * - `HANDLER`: the case's handler — the assigned user, or a DEPARTMENT user of the department it
 *   was dispatched to (when it was dispatched to a department);
 * - `VERIFIER`: a COMMANDER, or a WORKER answering for the case's grid cell who did not resolve it.
 */
export type ActorRule = 'HANDLER' | 'VERIFIER';

export interface Transition {
  from: CaseStatus;
  action: WorkflowAction;
  to: CaseStatus;
  roles: readonly UserRole[];
  rule?: ActorRule;
}

const HANDLERS = ['DEPARTMENT', 'WORKER'] as const satisfies readonly UserRole[];

export const TRANSITIONS: readonly Transition[] = [
  { from: 'REPORTED', action: 'FILE', to: 'FILED', roles: ['COMMANDER'] },
  { from: 'REPORTED', action: 'REJECT', to: 'REJECTED', roles: ['COMMANDER'] },
  { from: 'FILED', action: 'DISPATCH', to: 'DISPATCHED', roles: ['COMMANDER'] },
  { from: 'DISPATCHED', action: 'ACCEPT', to: 'IN_PROGRESS', roles: HANDLERS, rule: 'HANDLER' },
  { from: 'DISPATCHED', action: 'RETURN', to: 'FILED', roles: HANDLERS, rule: 'HANDLER' },
  { from: 'IN_PROGRESS', action: 'RESOLVE', to: 'RESOLVED', roles: HANDLERS, rule: 'HANDLER' },
  { from: 'RESOLVED', action: 'VERIFY_PASS', to: 'CLOSED', roles: ['WORKER', 'COMMANDER'], rule: 'VERIFIER' },
  // Rework: back to the same handler, who accepts it again.
  {
    from: 'RESOLVED',
    action: 'VERIFY_FAIL',
    to: 'DISPATCHED',
    roles: ['WORKER', 'COMMANDER'],
    rule: 'VERIFIER',
  },
  { from: 'CLOSED', action: 'REOPEN', to: 'FILED', roles: ['COMMANDER'] },
  // The case clock (escalation/clock.ts): same status before and after.
  ...EXTENDABLE.flatMap((s): Transition[] => [
    { from: s, action: 'EXTEND_REQUEST', to: s, roles: ['DEPARTMENT'], rule: 'HANDLER' },
    { from: s, action: 'EXTEND_APPROVE', to: s, roles: ['COMMANDER'] },
    { from: s, action: 'EXTEND_REFUSE', to: s, roles: ['COMMANDER'] },
  ]),
  ...HOLDABLE.flatMap((s): Transition[] => [
    { from: s, action: 'HOLD', to: s, roles: ['COMMANDER'] },
    { from: s, action: 'RESUME', to: s, roles: ['COMMANDER'] },
  ]),
];

/** Every action a transition row names. */
export const WORKFLOW_ACTIONS: readonly WorkflowAction[] = [...new Set(TRANSITIONS.map((t) => t.action))];

/** Roles that may take `action` from some status (an empty list: nobody, FORBIDDEN). */
export function rolesFor(action: WorkflowAction): UserRole[] {
  return [...new Set(TRANSITIONS.filter((t) => t.action === action).flatMap((t) => t.roles))];
}

/** The row allowing `role` to take `action` from `from`, if the table has one. */
export function findTransition(
  from: CaseStatus,
  action: WorkflowAction,
  role: UserRole,
): Transition | undefined {
  return TRANSITIONS.find((t) => t.from === from && t.action === action && t.roles.includes(role));
}
