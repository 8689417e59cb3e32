/**
 * What each workflow action changes besides status and version: handler, timestamps, deadlines,
 * rework count, the reject reason — and what it records in the event's payload. Each effect also
 * checks the inputs only it needs (a dispatch target, the case a duplicate points at) and throws
 * BAD_USER_INPUT for them. A new action adds its entry here (an action without one changes only
 * the status).
 */
import { type Executor, rows, type Tx } from '@citygrid/db';
import type { cases, DeadlineStage, RejectReason } from '@citygrid/db/schema';
import { sql } from 'drizzle-orm';
import type { Actor } from '../auth/actor';
import { rowInScope, type Scope, scopeOf } from '../auth/scope';
import { BadUserInput } from '../errors';
import { CLOCK_EFFECTS } from '../escalation/clock';
import { deadlineRules } from '../reference/categories';
import { addLimit } from './deadlines';
import { parseId } from './queries';
import type { WorkflowSettings } from './settings';
import type { Transition, WorkflowAction } from './transitions';
import type { CaseRow } from './view';

/** A transition as asked for; which fields matter depends on the action. */
export interface TransitionRequest {
  caseId: unknown;
  action: WorkflowAction;
  expectedVersion: number;
  note?: string | null;
  /** REJECT */
  reason?: RejectReason | null;
  /** REJECT as DUPLICATE: the case this one repeats. */
  duplicateOfId?: unknown;
  /** DISPATCH: a department, a worker, or a worker of a department. */
  departmentId?: unknown;
  assigneeId?: unknown;
  /** Evidence photos (RESOLVE, VERIFY_*), uploaded by the actor. */
  attachmentIds?: readonly string[] | null;
  /** EXTEND_REQUEST: how many minutes more (working minutes for working-time limits). */
  minutes?: unknown;
}

/** The acting user with what the rules need beyond the token. */
export interface ActingUser extends Actor {
  departmentId: number | null;
}

export interface EffectContext {
  tx: Tx;
  actor: ActingUser;
  scope: Scope;
  current: CaseRow;
  transition: Transition;
  request: TransitionRequest;
  now: Date;
  settings: WorkflowSettings;
}

export type CaseChanges = Partial<typeof cases.$inferInsert>;

export interface EffectResult {
  set?: CaseChanges;
  payload?: Record<string, unknown>;
}

export type Effect = (ctx: EffectContext) => Promise<EffectResult> | EffectResult;

/** Actions that may carry evidence photos. */
export const ATTACHING_ACTIONS: ReadonlySet<WorkflowAction> = new Set([
  'RESOLVE',
  'VERIFY_PASS',
  'VERIFY_FAIL',
]);

/** Actions whose note is required (the contract's `note: String!`). */
export const NOTE_REQUIRED: ReadonlySet<WorkflowAction> = new Set(['RETURN', 'RESOLVE', 'REOPEN']);

/** When a stage is due if it starts `now`, by the category's limit for the case's priority. */
export async function stageDueAt(
  db: Executor,
  current: Pick<CaseRow, 'categoryId' | 'priority'>,
  stage: DeadlineStage,
  now: Date,
  settings: WorkflowSettings,
): Promise<Date | null> {
  const rules = await deadlineRules(db, current.categoryId, current.priority);
  const rule = rules.find((r) => r.stage === stage);
  // Working-time limits count on the city's calendar; wall-clock ones (urgent cases) do not.
  return rule ? addLimit(now, rule, settings.calendar) : null;
}

const due = (ctx: EffectContext, stage: DeadlineStage) =>
  stageDueAt(ctx.tx, ctx.current, stage, ctx.now, ctx.settings);

export const ACTION_EFFECTS: Partial<Record<WorkflowAction, Effect>> = {
  FILE: async (ctx) => ({ set: { filedAt: ctx.now, dispatchDueAt: await due(ctx, 'DISPATCH') } }),

  REJECT: async ({ tx, scope, current, request, now }) => {
    const reason = request.reason;
    if (!reason) throw new BadUserInput('a rejection needs a reason', { field: 'reason' });
    let duplicateOfId: number | null = null;
    if (reason === 'DUPLICATE') {
      if (request.duplicateOfId == null) {
        throw new BadUserInput('rejecting as DUPLICATE needs duplicateOfId', { field: 'duplicateOfId' });
      }
      duplicateOfId = parseId(request.duplicateOfId, 'duplicateOfId');
      if (duplicateOfId === current.id) {
        throw new BadUserInput('a case cannot duplicate itself', { field: 'duplicateOfId' });
      }
      const [original] = await rows<{
        cityId: number;
        districtId: number;
        streetId: number;
        communityId: number;
      }>(
        tx,
        sql`SELECT city_id::int AS "cityId", district_id::int AS "districtId", street_id::int AS "streetId",
                   community_id::int AS "communityId"
            FROM cases WHERE id = ${duplicateOfId}`,
      );
      // One the actor cannot see reads exactly like one that does not exist.
      if (!original || !rowInScope(scope, original)) {
        throw new BadUserInput(`case ${duplicateOfId} not found`, { field: 'duplicateOfId' });
      }
    } else if (request.duplicateOfId != null) {
      throw new BadUserInput('duplicateOfId goes only with reason DUPLICATE', { field: 'duplicateOfId' });
    }
    return {
      set: { rejectedAt: now, rejectReason: reason, duplicateOfId },
      payload: { reason, ...(duplicateOfId ? { duplicateOfId } : {}) },
    };
  },

  DISPATCH: async (ctx) => {
    const target = await dispatchTarget(ctx);
    return {
      set: {
        departmentId: target.departmentId,
        assigneeId: target.assigneeId,
        dispatchedAt: ctx.now,
        acceptedAt: null,
        handleDueAt: await due(ctx, 'HANDLE'),
      },
      payload: { departmentId: target.departmentId, assigneeId: target.assigneeId },
    };
  },

  ACCEPT: ({ now }) => ({ set: { acceptedAt: now } }),

  // Misrouted: back to the command centre, which dispatches again within the dispatch limit.
  RETURN: async (ctx) => ({
    set: {
      departmentId: null,
      assigneeId: null,
      acceptedAt: null,
      dispatchDueAt: await due(ctx, 'DISPATCH'),
    },
    payload: { departmentId: ctx.current.departmentId, assigneeId: ctx.current.assigneeId },
  }),

  RESOLVE: async (ctx) => ({
    set: { resolvedAt: ctx.now, resolverId: ctx.actor.id, verifyDueAt: await due(ctx, 'VERIFY') },
  }),

  VERIFY_PASS: ({ now }) => ({ set: { closedAt: now } }),

  // Rework: the same handler (department and assignee stay), a fresh handling limit.
  VERIFY_FAIL: async (ctx) => ({
    set: {
      reworkCount: ctx.current.reworkCount + 1,
      acceptedAt: null,
      handleDueAt: await due(ctx, 'HANDLE'),
    },
    payload: { rework: ctx.current.reworkCount + 1, resolverId: ctx.current.resolverId },
  }),

  ...CLOCK_EFFECTS,

  REOPEN: async (ctx) => ({
    set: {
      departmentId: null,
      assigneeId: null,
      acceptedAt: null,
      closedAt: null,
      dispatchDueAt: await due(ctx, 'DISPATCH'),
    },
  }),
};

/**
 * Where a dispatch sends the case: a department (its DEPARTMENT users handle it), a grid worker,
 * or a worker of a department. The worker must be an active WORKER whose own scope covers the
 * case, and belong to the department when one is named.
 */
async function dispatchTarget(
  ctx: EffectContext,
): Promise<{ departmentId: number | null; assigneeId: number | null }> {
  const { tx, request, current } = ctx;
  const departmentId = request.departmentId == null ? null : parseId(request.departmentId, 'departmentId');
  const assigneeId = request.assigneeId == null ? null : parseId(request.assigneeId, 'assigneeId');
  if (departmentId === null && assigneeId === null) {
    throw new BadUserInput('dispatch to a department, a worker, or both', { field: 'departmentId' });
  }
  if (departmentId !== null) {
    const [dept] = await rows<{ id: number }>(
      tx,
      sql`SELECT id::int AS id FROM departments WHERE id = ${departmentId}`,
    );
    if (!dept) throw new BadUserInput(`unknown department ${departmentId}`, { field: 'departmentId' });
  }
  if (assigneeId !== null) {
    const [worker] = await rows<{
      id: number;
      role: string;
      regionId: number;
      departmentId: number | null;
      active: boolean;
    }>(
      tx,
      sql`SELECT id::int AS id, role::text AS role, region_id::int AS "regionId",
                 department_id::int AS "departmentId", active
          FROM users WHERE id = ${assigneeId}`,
    );
    if (!worker?.active || worker.role !== 'WORKER') {
      throw new BadUserInput(`user ${assigneeId} is not an active worker`, { field: 'assigneeId' });
    }
    const workerScope = await scopeOf(tx, { id: worker.id, role: 'WORKER', regionId: worker.regionId }).catch(
      () => undefined,
    );
    if (!workerScope || !rowInScope(workerScope, current)) {
      throw new BadUserInput(`worker ${assigneeId} does not work where the case is`, { field: 'assigneeId' });
    }
    if (departmentId !== null && worker.departmentId !== departmentId) {
      throw new BadUserInput(`worker ${assigneeId} is not in department ${departmentId}`, {
        field: 'assigneeId',
      });
    }
  }
  return { departmentId, assigneeId };
}
