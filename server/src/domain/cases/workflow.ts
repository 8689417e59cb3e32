/**
 * Applying a workflow transition (立案, 派遣, 处置, 核查, 结案 …): one transaction that locks the
 * case, checks the actor against the transition table (transitions.ts), the region scope and the
 * expected version, writes the event, updates the case, attaches evidence and announces the
 * change. Checks run in a fixed order, so a refusal's code is predictable:
 *
 *   BAD_USER_INPUT (malformed arguments) → FORBIDDEN (role may never take the action) →
 *   NOT_FOUND (no such case, or not visible to the actor) → CONFLICT (stale expectedVersion) →
 *   INVALID_TRANSITION (not from this status) → FORBIDDEN (not the handler / verifier) →
 *   BAD_USER_INPUT (the action's own inputs: dispatch target, duplicate, photos).
 */
import { type Db, rows, type Tx } from '@citygrid/db';
import { cases, type RejectReason } from '@citygrid/db/schema';
import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { attachToCase } from '../attachments';
import type { Actor } from '../auth/actor';
import { scopeOf } from '../auth/scope';
import { BadUserInput, Conflict, Forbidden, InvalidTransition, NotFound, parseInput } from '../errors';
import {
  ACTION_EFFECTS,
  type ActingUser,
  ATTACHING_ACTIONS,
  NOTE_REQUIRED,
  type TransitionRequest,
} from './effects';
import { recordCaseEvent } from './events';
import { notifyCaseChanged } from './notify';
import { caseVisibleTo, parseId } from './queries';
import { loadWorkflowSettings } from './settings';
import { type ActorRule, findTransition, rolesFor, type Transition } from './transitions';
import { type CaseRow, caseColumns } from './view';

export type { TransitionRequest } from './effects';

const commonInput = z.object({
  expectedVersion: z.number().int().min(1),
  note: z.string().trim().max(4000).nullish(),
  attachmentIds: z.array(z.string()).max(50).nullish(),
});

export interface TransitionResult {
  case: CaseRow;
  transition: Transition;
}

/** Applies `request.action` to the case for `actor`, or throws the refusal (nothing written). */
export async function applyTransition(
  db: Db,
  actor: Actor,
  request: TransitionRequest,
  now: Date = new Date(),
): Promise<TransitionResult> {
  const caseId = parseId(request.caseId);
  const common = parseInput(commonInput, {
    expectedVersion: request.expectedVersion,
    note: request.note,
    attachmentIds: request.attachmentIds,
  });
  const note = common.note ? common.note : null;
  if (NOTE_REQUIRED.has(request.action) && !note) {
    throw new BadUserInput(`${request.action} needs a note`, { field: 'note' });
  }
  if (common.attachmentIds?.length && !ATTACHING_ACTIONS.has(request.action)) {
    throw new BadUserInput(`${request.action} takes no attachments`, { field: 'attachmentIds' });
  }
  const allowedRoles = rolesFor(request.action);
  if (!allowedRoles.includes(actor.role)) {
    throw new Forbidden(`a ${actor.role} may not ${request.action} a case`, { allowedRoles });
  }
  const scope = await scopeOf(db, actor);
  const settings = await loadWorkflowSettings(db);

  return db.transaction(async (tx) => {
    const acting = await actingUser(tx, actor);
    // The row lock serialises transitions of one case: a racing one waits here, then sees the
    // new version and is refused as stale.
    const [current] = (await tx
      .select(caseColumns)
      .from(cases)
      .where(eq(cases.id, caseId))
      .for('update')) as CaseRow[];
    if (!current || !caseVisibleTo(acting, scope, current)) throw new NotFound(`case ${caseId} not found`);
    if (current.version !== common.expectedVersion) {
      throw new Conflict(
        `case ${caseId} is at version ${current.version}, not ${common.expectedVersion}; reload it and retry`,
        { currentVersion: current.version },
      );
    }
    const transition = findTransition(current.status, request.action, actor.role);
    if (!transition) {
      throw new InvalidTransition(`a ${current.status} case cannot take ${request.action}`, {
        status: current.status,
        action: request.action,
      });
    }
    if (transition.rule) await ACTOR_RULES[transition.rule](tx, acting, current, transition);

    const effect = ACTION_EFFECTS[transition.action];
    const { set = {}, payload = {} } = effect
      ? await effect({
          tx,
          actor: acting,
          scope,
          current,
          transition,
          request: { ...request, note },
          now,
          settings,
        })
      : {};
    const version = current.version + 1;
    const [updated] = (await tx
      .update(cases)
      .set({ ...set, status: transition.to, version, updatedAt: now })
      .where(eq(cases.id, caseId))
      .returning(caseColumns)) as CaseRow[];
    await recordCaseEvent(tx, {
      caseId,
      seq: version,
      action: transition.action,
      fromStatus: current.status,
      toStatus: transition.to,
      actorId: actor.id,
      note,
      payload,
      at: now,
    });
    if (common.attachmentIds?.length) {
      await attachToCase(tx, { attachmentIds: common.attachmentIds, caseId, eventSeq: version, actor });
    }
    await notifyCaseChanged(tx, {
      caseId,
      action: transition.action,
      version,
      cityId: updated!.cityId,
      districtId: updated!.districtId,
      streetId: updated!.streetId,
      communityId: updated!.communityId,
      departmentId: updated!.dispatchedAt ? updated!.departmentId : null,
    });
    return { case: updated!, transition };
  });
}

async function actingUser(tx: Tx, actor: Actor): Promise<ActingUser> {
  const [row] = await rows<{ departmentId: number | null; active: boolean }>(
    tx,
    sql`SELECT department_id::int AS "departmentId", active FROM users WHERE id = ${actor.id}`,
  );
  if (!row?.active) throw new Forbidden('your account is not active');
  return { ...actor, departmentId: row.departmentId };
}

type RuleCheck = (tx: Tx, actor: ActingUser, current: CaseRow, transition: Transition) => Promise<void>;

/** The person rules of the table's `rule` column. */
export const ACTOR_RULES: Record<ActorRule, RuleCheck> = {
  async HANDLER(_tx, actor, current, transition) {
    if (isHandler(actor, current)) return;
    throw new Forbidden(`only the case's handler may ${transition.action} it`);
  },
  async VERIFIER(tx, actor, current, transition) {
    if (actor.role === 'COMMANDER') return;
    if (actor.role === 'WORKER') {
      if (current.resolverId === actor.id) {
        throw new Forbidden('a worker never verifies their own work');
      }
      const [cell] = await rows<{ ok: number }>(
        tx,
        sql`SELECT 1 AS ok FROM grid_cell_workers WHERE grid_cell_id = ${current.gridCellId} AND user_id = ${actor.id}`,
      );
      if (cell) return;
    }
    throw new Forbidden(`only a worker of the case's grid cell or a commander may ${transition.action} it`);
  },
};

/** The assigned user, or a DEPARTMENT user of the department the case was dispatched to. */
export function isHandler(
  actor: Pick<ActingUser, 'id' | 'role' | 'departmentId'>,
  current: Pick<CaseRow, 'assigneeId' | 'departmentId'>,
): boolean {
  if (current.assigneeId !== null && current.assigneeId === actor.id) return true;
  return (
    actor.role === 'DEPARTMENT' && actor.departmentId !== null && current.departmentId === actor.departmentId
  );
}

/** The mutations' entry points, named as in the contract. */
export const caseWorkflow = {
  fileCase: (db: Db, actor: Actor, a: { id: unknown; expectedVersion: number; note?: string | null }) =>
    applyTransition(db, actor, {
      caseId: a.id,
      action: 'FILE',
      expectedVersion: a.expectedVersion,
      note: a.note,
    }),
  rejectCase: (
    db: Db,
    actor: Actor,
    a: {
      id: unknown;
      expectedVersion: number;
      reason: RejectReason;
      duplicateOfId?: unknown;
      note?: string | null;
    },
  ) =>
    applyTransition(db, actor, {
      caseId: a.id,
      action: 'REJECT',
      expectedVersion: a.expectedVersion,
      reason: a.reason,
      duplicateOfId: a.duplicateOfId,
      note: a.note,
    }),
  dispatchCase: (
    db: Db,
    actor: Actor,
    a: {
      id: unknown;
      expectedVersion: number;
      departmentId?: unknown;
      assigneeId?: unknown;
      note?: string | null;
    },
  ) =>
    applyTransition(db, actor, {
      caseId: a.id,
      action: 'DISPATCH',
      expectedVersion: a.expectedVersion,
      departmentId: a.departmentId,
      assigneeId: a.assigneeId,
      note: a.note,
    }),
  acceptCase: (db: Db, actor: Actor, a: { id: unknown; expectedVersion: number }) =>
    applyTransition(db, actor, { caseId: a.id, action: 'ACCEPT', expectedVersion: a.expectedVersion }),
  returnCase: (db: Db, actor: Actor, a: { id: unknown; expectedVersion: number; note: string }) =>
    applyTransition(db, actor, {
      caseId: a.id,
      action: 'RETURN',
      expectedVersion: a.expectedVersion,
      note: a.note,
    }),
  resolveCase: (
    db: Db,
    actor: Actor,
    a: { id: unknown; expectedVersion: number; note: string; attachmentIds?: readonly string[] | null },
  ) =>
    applyTransition(db, actor, {
      caseId: a.id,
      action: 'RESOLVE',
      expectedVersion: a.expectedVersion,
      note: a.note,
      attachmentIds: a.attachmentIds,
    }),
  verifyCase: (
    db: Db,
    actor: Actor,
    a: {
      id: unknown;
      expectedVersion: number;
      passed: boolean;
      note?: string | null;
      attachmentIds?: readonly string[] | null;
    },
  ) =>
    applyTransition(db, actor, {
      caseId: a.id,
      action: a.passed ? 'VERIFY_PASS' : 'VERIFY_FAIL',
      expectedVersion: a.expectedVersion,
      note: a.note,
      attachmentIds: a.attachmentIds,
    }),
  reopenCase: (db: Db, actor: Actor, a: { id: unknown; expectedVersion: number; note: string }) =>
    applyTransition(db, actor, {
      caseId: a.id,
      action: 'REOPEN',
      expectedVersion: a.expectedVersion,
      note: a.note,
    }),
};
