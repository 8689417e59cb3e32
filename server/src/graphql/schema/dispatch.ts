/**
 * Dispatch: ranked suggestions of who could handle a case, and the case clock — extension
 * requests and answers, holds, and the deadline fields computed when read.
 */

import { loadCalendar } from '../../domain/cases/settings';
import type { CaseRow } from '../../domain/cases/view';
import { applyTransition } from '../../domain/cases/workflow';
import { fileAndDispatch } from '../../domain/dispatch/auto-route';
import {
  type DispatchSuggestion,
  dispatchSuggestions,
  SUGGESTION_REASONS,
} from '../../domain/dispatch/suggestions';
import { BadUserInput } from '../../domain/errors';
import { currentDue, pendingExtension, remainingMinutes } from '../../domain/escalation/clock';
import { type DeadlineRule, deadlineRules } from '../../domain/reference/categories';
import { builder } from '../builder';
import { actorOf, type GraphQLContext } from '../context';
import { CaseRef } from './case';
import { DepartmentRef } from './department';
import { UserRef } from './user';

const SuggestionReasonEnum = builder.enumType('SuggestionReason', {
  description:
    "NEAREST: the closest candidate; NEARBY: within 500 m; GRID_WORKER: assigned to the case's grid cell; " +
    "FREE: no open cases; BUSY: 3 or more open cases; CATEGORY_DEPARTMENT: the category's default department.",
  values: SUGGESTION_REASONS,
});

const SuggestionKindEnum = builder.enumType('SuggestionKind', { values: ['WORKER', 'DEPARTMENT'] as const });

const DispatchSuggestionRef = builder.objectRef<DispatchSuggestion>('DispatchSuggestion').implement({
  description:
    'One candidate handler. Workers come first, best first (distance plus 400 m per open case, minus 800 m for ' +
    "the grid cell's own worker); then the category's department.",
  fields: (t) => ({
    kind: t.field({ type: SuggestionKindEnum, resolve: (s) => s.kind }),
    worker: t.field({
      type: UserRef,
      nullable: true,
      resolve: (s, _args, ctx) => (s.workerId === null ? null : ctx.loaders.users.load(s.workerId)),
    }),
    department: t.field({
      type: DepartmentRef,
      nullable: true,
      description: "The worker's department, or the suggested department.",
      resolve: (s, _args, ctx) =>
        s.departmentId === null ? null : ctx.loaders.departments.load(s.departmentId),
    }),
    distanceMeters: t.exposeFloat('distanceMeters', {
      nullable: true,
      description: 'Null for a department.',
    }),
    openCases: t.exposeInt('openCases', { description: 'Cases dispatched to it and not yet resolved.' }),
    score: t.exposeFloat('score', { description: 'Higher is better, in (0, 1].' }),
    reasons: t.field({ type: [SuggestionReasonEnum], resolve: (s) => s.reasons }),
    explanation: t.exposeString('explanation'),
  }),
});

builder.queryField('dispatchSuggestions', (t) =>
  t.field({
    type: [DispatchSuggestionRef],
    description:
      "Who could handle a case: up to `limit` on-duty workers who may act on it, ranked, then the category's " +
      'department. COMMANDER, ADMIN.',
    authScopes: { loggedIn: true },
    args: {
      caseId: t.arg.id({ required: true }),
      limit: t.arg.int({ required: false, defaultValue: 5 }),
    },
    resolve: (_root, args, ctx) => dispatchSuggestions(ctx.db, actorOf(ctx), args.caseId, args.limit ?? 5),
  }),
);

// ——— The case clock: extensions, holds, and the time left (domain/escalation/clock.ts) ———

/** Deadline rules per (category, priority), memoised for one request (a page of cases asks often). */
const rulesMemo = new WeakMap<object, Map<string, Promise<DeadlineRule[]>>>();
function rulesFor(ctx: GraphQLContext) {
  let memo = rulesMemo.get(ctx);
  if (!memo) {
    memo = new Map();
    rulesMemo.set(ctx, memo);
  }
  const cache = memo;
  return (categoryId: number, priority: CaseRow['priority']) => {
    const key = `${categoryId}:${priority}`;
    let hit = cache.get(key);
    if (!hit) {
      hit = deadlineRules(ctx.db, categoryId, priority);
      cache.set(key, hit);
    }
    return hit;
  };
}

builder.objectFields(CaseRef, (t) => ({
  verifyDueAt: t.field({ type: 'DateTime', nullable: true, resolve: (c) => c.verifyDueAt }),
  currentDueAt: t.field({
    type: 'DateTime',
    nullable: true,
    description:
      'The deadline of the stage the case is in (file, dispatch, handle or verify); null when none runs.',
    resolve: (c) => currentDue(c)?.dueAt ?? null,
  }),
  remainingMinutes: t.int({
    nullable: true,
    description:
      'Minutes left before `currentDueAt`, computed when read: working minutes on the city calendar for ' +
      'ordinary limits, wall-clock minutes for urgent ones; frozen while on hold; negative once overdue.',
    resolve: async (c, _args, ctx) =>
      remainingMinutes(ctx.db, c, await loadCalendar(ctx.db), new Date(), rulesFor(ctx)),
  }),
  onHoldSince: t.field({
    type: 'DateTime',
    nullable: true,
    description: 'Set while a commander holds the case (缓办); its clock is stopped.',
    resolve: (c) => c.onHoldSince,
  }),
  escalatedAt: t.field({
    type: 'DateTime',
    nullable: true,
    description: 'When the case was last escalated (督办) for crossing a deadline.',
    resolve: (c) => c.escalatedAt,
  }),
  pendingExtensionMinutes: t.int({
    nullable: true,
    description: 'The minutes a waiting extension request asks for; null when none waits.',
    resolve: async (c, _args, ctx) => (await pendingExtension(ctx.db, c.id))?.minutes ?? null,
  }),
}));

const clockArgs = (t: Parameters<Parameters<typeof builder.mutationField>[1]>[0]) => ({
  id: t.arg.id({ required: true }),
  expectedVersion: t.arg.int({ required: true, description: 'The version you read; stale ⇒ CONFLICT.' }),
});

const clockMutation = (
  name: string,
  action: 'EXTEND_REQUEST' | 'EXTEND_APPROVE' | 'EXTEND_REFUSE' | 'HOLD' | 'RESUME',
  description: string,
  noteRequired: boolean,
) =>
  builder.mutationField(name, (t) =>
    t.field({
      type: CaseRef,
      description,
      authScopes: { loggedIn: true },
      args: {
        ...clockArgs(t),
        note: t.arg.string({ required: noteRequired }),
        ...(action === 'EXTEND_REQUEST'
          ? {
              minutes: t.arg.int({
                required: true,
                description: 'How much longer: working minutes for ordinary limits, minutes for urgent ones.',
              }),
            }
          : {}),
      },
      resolve: async (_root, args, ctx) => {
        const a = args as { id: string; expectedVersion: number; note?: string | null; minutes?: number };
        if (noteRequired && !a.note?.trim())
          throw new BadUserInput(`${name} needs a note`, { field: 'note' });
        const result = await applyTransition(ctx.db, actorOf(ctx), {
          caseId: a.id,
          action,
          expectedVersion: a.expectedVersion,
          note: a.note ?? null,
          minutes: a.minutes,
        });
        return result.case;
      },
    }),
  );

clockMutation(
  'requestExtension',
  'EXTEND_REQUEST',
  'Asks for more time to handle a DISPATCHED or IN_PROGRESS case (延期申请). The DEPARTMENT it was dispatched to.',
  true,
);
clockMutation(
  'approveExtension',
  'EXTEND_APPROVE',
  'Grants the waiting extension request: the handling deadline moves by the minutes asked. COMMANDER.',
  false,
);
clockMutation('refuseExtension', 'EXTEND_REFUSE', 'Refuses the waiting extension request. COMMANDER.', true);
clockMutation(
  'holdCase',
  'HOLD',
  "Stops an open case's clock (缓办); the status does not change. COMMANDER.",
  true,
);
clockMutation(
  'resumeCase',
  'RESUME',
  "Restarts a held case's clock: each deadline gets back the time it had left when the hold began. COMMANDER.",
  false,
);

builder.mutationField('fileAndDispatchCase', (t) =>
  t.field({
    type: CaseRef,
    description:
      'REPORTED → FILED → DISPATCHED in one step (auto-routing): to the department or worker given — e.g. an ' +
      "accepted suggestion — or, when neither is given, to the category's default department. COMMANDER.",
    authScopes: { loggedIn: true },
    args: {
      ...clockArgs(t),
      departmentId: t.arg.id({ required: false }),
      assigneeId: t.arg.id({ required: false }),
      note: t.arg.string({ required: false }),
    },
    resolve: (_root, args, ctx) =>
      fileAndDispatch(ctx.db, actorOf(ctx), {
        id: args.id,
        expectedVersion: args.expectedVersion,
        departmentId: args.departmentId ?? null,
        assigneeId: args.assigneeId ?? null,
        note: args.note ?? null,
      }),
  }),
);
