/** Dispatch suggestions: ranked on-duty workers and the category's department for a case. */
import {
  type DispatchSuggestion,
  dispatchSuggestions,
  SUGGESTION_REASONS,
} from '../../domain/dispatch/suggestions';
import { builder } from '../builder';
import { actorOf } from '../context';
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
