/**
 * Cases (案卷): the type, its event trail, the scoped queries, `reportCase`, the workflow's
 * mutations (one line each over domain/cases/workflow.ts) and the `caseChanged` subscription.
 */

import type { CaseEvent } from '@citygrid/db/schema';
import { rejectReason } from '@citygrid/db/schema';
import { rowInScope, scopeOf } from '../../domain/auth/scope';
import { possibleDuplicates } from '../../domain/cases/duplicates';
import type { CaseChangeNotice } from '../../domain/cases/notify';
import { caseRowById, getCase, listCases } from '../../domain/cases/queries';
import { reportCase } from '../../domain/cases/report';
import { type CaseRow, isOverdue } from '../../domain/cases/view';
import { caseWorkflow } from '../../domain/cases/workflow';
import { NotFound } from '../../domain/errors';
import { regionArgScope } from '../../domain/reference/regions';
import { caseChangesFor, caseFeedOf, caseReads } from '../../realtime/case-feed';
import { builder } from '../builder';
import { actorOf, whileActive } from '../context';
import { createLoaders } from '../loaders';
import { CategoryRef } from './category';
import { DepartmentRef } from './department';
import { GridCellRef } from './grid';
import { BBoxInput, CasePriorityEnum, CaseSourceEnum, CaseStatusEnum, PointInput, PointRef } from './scalars';
import { UserRef } from './user';

export const CaseEventRef = builder.objectRef<CaseEvent>('CaseEvent').implement({
  description: 'One step of the audit trail; `seq` equals the case version after it.',
  fields: (t) => ({
    seq: t.exposeInt('seq'),
    action: t.exposeString('action', {
      description: 'REPORT, FILE, REJECT, DISPATCH, ACCEPT, RETURN, RESOLVE, VERIFY_PASS, …',
    }),
    fromStatus: t.field({ type: CaseStatusEnum, nullable: true, resolve: (e) => e.fromStatus }),
    toStatus: t.field({ type: CaseStatusEnum, resolve: (e) => e.toStatus }),
    actor: t.field({
      type: UserRef,
      nullable: true,
      resolve: (e, _args, ctx) => (e.actorId ? ctx.loaders.users.load(e.actorId) : null),
    }),
    note: t.exposeString('note', { nullable: true }),
    payload: t.field({ type: 'JSON', resolve: (e) => e.payload }),
    at: t.field({ type: 'DateTime', resolve: (e) => e.at }),
  }),
});

export const CaseRef = builder.objectRef<CaseRow>('Case');

const RejectReasonEnum = builder.enumType('RejectReason', { values: rejectReason.enumValues });

CaseRef.implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    code: t.exposeString('code', { description: 'The human-facing case number.' }),
    status: t.field({ type: CaseStatusEnum, resolve: (c) => c.status }),
    version: t.exposeInt('version', { description: 'Optimistic lock: the number of events so far.' }),
    category: t.field({
      type: CategoryRef,
      resolve: async (c, _args, ctx) => (await ctx.loaders.categories.load(c.categoryId))!,
    }),
    description: t.exposeString('description'),
    location: t.field({ type: PointRef, resolve: (c) => c.location }),
    address: t.exposeString('address', { nullable: true }),
    grid: t.field({
      type: GridCellRef,
      resolve: async (c, _args, ctx) => (await ctx.loaders.gridCells.load(c.gridCellId))!,
    }),
    priority: t.field({ type: CasePriorityEnum, resolve: (c) => c.priority }),
    source: t.field({ type: CaseSourceEnum, resolve: (c) => c.source }),
    reporter: t.field({
      type: UserRef,
      nullable: true,
      resolve: (c, _args, ctx) => (c.reporterId ? ctx.loaders.users.load(c.reporterId) : null),
    }),
    reportedAt: t.field({ type: 'DateTime', resolve: (c) => c.reportedAt }),
    filedAt: t.field({ type: 'DateTime', nullable: true, resolve: (c) => c.filedAt }),
    dispatchedAt: t.field({ type: 'DateTime', nullable: true, resolve: (c) => c.dispatchedAt }),
    resolvedAt: t.field({ type: 'DateTime', nullable: true, resolve: (c) => c.resolvedAt }),
    closedAt: t.field({ type: 'DateTime', nullable: true, resolve: (c) => c.closedAt }),
    fileDueAt: t.field({ type: 'DateTime', nullable: true, resolve: (c) => c.fileDueAt }),
    dispatchDueAt: t.field({ type: 'DateTime', nullable: true, resolve: (c) => c.dispatchDueAt }),
    handleDueAt: t.field({ type: 'DateTime', nullable: true, resolve: (c) => c.handleDueAt }),
    overdue: t.boolean({
      description: 'Still being worked on and past its handling deadline (computed when read).',
      resolve: (c) => isOverdue(c, new Date()),
    }),
    reworkCount: t.exposeInt('reworkCount'),
    rejectReason: t.field({ type: RejectReasonEnum, nullable: true, resolve: (c) => c.rejectReason }),
    duplicateOf: t.field({
      type: CaseRef,
      nullable: true,
      description: 'The case this one repeats (rejected as DUPLICATE), if you may see it.',
      resolve: (c, _args, ctx) =>
        c.duplicateOfId ? getCase(ctx.db, actorOf(ctx), c.duplicateOfId).catch(() => null) : null,
    }),
    department: t.field({
      type: DepartmentRef,
      nullable: true,
      resolve: (c, _args, ctx) => (c.departmentId ? ctx.loaders.departments.load(c.departmentId) : null),
    }),
    assignee: t.field({
      type: UserRef,
      nullable: true,
      resolve: (c, _args, ctx) => (c.assigneeId ? ctx.loaders.users.load(c.assigneeId) : null),
    }),
    events: t.field({
      type: [CaseEventRef],
      description: 'The whole trail, in order.',
      resolve: async (c, _args, ctx) => (await ctx.loaders.caseEvents.load(c.id)) ?? [],
    }),
    possibleDuplicates: t.field({
      type: [CaseRef],
      description:
        'Open cases of the same category within `duplicate_radius_m` (50 m), reported within `duplicate_window_days` (7) of this one, nearest first.',
      resolve: (c, _args, ctx) => possibleDuplicates(ctx.db, actorOf(ctx), c),
    }),
  }),
});

// Through the relay plugin, so every connection in the schema shares one PageInfo type.
const CaseConnection = builder.connectionObject(
  { type: CaseRef, name: 'CaseConnection', description: 'A Relay connection of cases, newest report first.' },
  { name: 'CaseEdge' },
);

const CaseFilter = builder.inputType('CaseFilter', {
  fields: (t) => ({
    status: t.field({ type: [CaseStatusEnum], required: false }),
    categoryCodes: t.stringList({ required: false }),
    gridId: t.id({ required: false }),
    regionId: t.id({ required: false, description: 'A city, district, street or community.' }),
    bbox: t.field({ type: BBoxInput, required: false }),
    reportedAfter: t.field({ type: 'DateTime', required: false, description: 'Inclusive.' }),
    reportedBefore: t.field({ type: 'DateTime', required: false, description: 'Exclusive.' }),
    overdue: t.boolean({ required: false }),
  }),
});

const ReportCaseInput = builder.inputType('ReportCaseInput', {
  fields: (t) => ({
    idempotencyKey: t.string({
      required: true,
      description: 'Made by the client once per report; a repeat returns the first case.',
    }),
    categoryCode: t.string({ required: true }),
    description: t.string({ required: true }),
    location: t.field({ type: PointInput, required: true }),
    address: t.string({ required: false }),
    priority: t.field({ type: CasePriorityEnum, required: false }),
    attachmentIds: t.idList({ required: false }),
  }),
});

builder.queryField('case', (t) =>
  t.field({
    type: CaseRef,
    description: 'A case inside your region scope; NOT_FOUND otherwise.',
    authScopes: { loggedIn: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => getCase(ctx.db, actorOf(ctx), args.id),
  }),
);

builder.queryField('cases', (t) =>
  t.field({
    type: CaseConnection,
    description: 'Cases inside your region scope, newest first; `first` at most 1000 (default 50).',
    authScopes: { loggedIn: true },
    args: {
      filter: t.arg({ type: CaseFilter, required: false }),
      first: t.arg.int({ required: false }),
      after: t.arg.string({ required: false }),
    },
    resolve: async (_root, args, ctx) => {
      const page = await listCases(ctx.db, actorOf(ctx), args.filter, {
        first: args.first ?? null,
        after: args.after ?? null,
      });
      return {
        edges: page.edges,
        pageInfo: {
          hasNextPage: page.hasNextPage,
          hasPreviousPage: false,
          startCursor: page.edges[0]?.cursor ?? null,
          endCursor: page.edges.at(-1)?.cursor ?? null,
        },
      };
    },
  }),
);

builder.mutationField('reportCase', (t) =>
  t.field({
    type: CaseRef,
    description:
      'Reports a case (WORKER, COMMANDER, ADMIN). A repeated idempotencyKey returns the first case.',
    authScopes: { loggedIn: true },
    args: { input: t.arg({ type: ReportCaseInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const actor = actorOf(ctx);
      const { caseId, row } = await reportCase(ctx.db, actor, {
        ...args.input,
        attachmentIds: args.input.attachmentIds?.map(String) ?? null,
      });
      return row ?? getCase(ctx.db, actor, caseId);
    },
  }),
);

// The workflow. Each mutation is one transition of domain/cases/transitions.ts; refusals carry
// FORBIDDEN, NOT_FOUND, CONFLICT (with `currentVersion`), INVALID_TRANSITION or BAD_USER_INPUT.
const transitionArgs = (t: Parameters<Parameters<typeof builder.mutationField>[1]>[0]) => ({
  id: t.arg.id({ required: true }),
  expectedVersion: t.arg.int({ required: true, description: 'The version you read; stale ⇒ CONFLICT.' }),
});

builder.mutationField('fileCase', (t) =>
  t.field({
    type: CaseRef,
    description: 'REPORTED → FILED (立案). COMMANDER.',
    authScopes: { loggedIn: true },
    args: { ...transitionArgs(t), note: t.arg.string({ required: false }) },
    resolve: async (_root, args, ctx) => (await caseWorkflow.fileCase(ctx.db, actorOf(ctx), args)).case,
  }),
);

builder.mutationField('rejectCase', (t) =>
  t.field({
    type: CaseRef,
    description: 'REPORTED → REJECTED. COMMANDER. DUPLICATE needs `duplicateOfId`, which it links.',
    authScopes: { loggedIn: true },
    args: {
      ...transitionArgs(t),
      reason: t.arg({ type: RejectReasonEnum, required: true }),
      duplicateOfId: t.arg.id({ required: false }),
      note: t.arg.string({ required: false }),
    },
    resolve: async (_root, args, ctx) => (await caseWorkflow.rejectCase(ctx.db, actorOf(ctx), args)).case,
  }),
);

builder.mutationField('dispatchCase', (t) =>
  t.field({
    type: CaseRef,
    description:
      'FILED → DISPATCHED (派遣) to a department, a grid worker, or a worker of a department. COMMANDER.',
    authScopes: { loggedIn: true },
    args: {
      ...transitionArgs(t),
      departmentId: t.arg.id({ required: false }),
      assigneeId: t.arg.id({ required: false }),
      note: t.arg.string({ required: false }),
    },
    resolve: async (_root, args, ctx) => (await caseWorkflow.dispatchCase(ctx.db, actorOf(ctx), args)).case,
  }),
);

builder.mutationField('acceptCase', (t) =>
  t.field({
    type: CaseRef,
    description: 'DISPATCHED → IN_PROGRESS. The department or worker it was dispatched to.',
    authScopes: { loggedIn: true },
    args: transitionArgs(t),
    resolve: async (_root, args, ctx) => (await caseWorkflow.acceptCase(ctx.db, actorOf(ctx), args)).case,
  }),
);

builder.mutationField('returnCase', (t) =>
  t.field({
    type: CaseRef,
    description: 'DISPATCHED → FILED (misrouted). The department or worker it was dispatched to.',
    authScopes: { loggedIn: true },
    args: { ...transitionArgs(t), note: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => (await caseWorkflow.returnCase(ctx.db, actorOf(ctx), args)).case,
  }),
);

builder.mutationField('resolveCase', (t) =>
  t.field({
    type: CaseRef,
    description: 'IN_PROGRESS → RESOLVED (处置), with evidence photos. The handler.',
    authScopes: { loggedIn: true },
    args: {
      ...transitionArgs(t),
      note: t.arg.string({ required: true }),
      attachmentIds: t.arg.idList({ required: false }),
    },
    resolve: async (_root, args, ctx) =>
      (
        await caseWorkflow.resolveCase(ctx.db, actorOf(ctx), {
          ...args,
          attachmentIds: args.attachmentIds?.map(String) ?? null,
        })
      ).case,
  }),
);

builder.mutationField('verifyCase', (t) =>
  t.field({
    type: CaseRef,
    description:
      "RESOLVED → CLOSED (核查通过, 结案), or → DISPATCHED to the same handler (rework). A worker of the case's grid cell who did not resolve it, or a COMMANDER.",
    authScopes: { loggedIn: true },
    args: {
      ...transitionArgs(t),
      passed: t.arg.boolean({ required: true }),
      note: t.arg.string({ required: false }),
      attachmentIds: t.arg.idList({ required: false }),
    },
    resolve: async (_root, args, ctx) =>
      (
        await caseWorkflow.verifyCase(ctx.db, actorOf(ctx), {
          ...args,
          attachmentIds: args.attachmentIds?.map(String) ?? null,
        })
      ).case,
  }),
);

builder.mutationField('reopenCase', (t) =>
  t.field({
    type: CaseRef,
    description: 'CLOSED → FILED. COMMANDER.',
    authScopes: { loggedIn: true },
    args: { ...transitionArgs(t), note: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => (await caseWorkflow.reopenCase(ctx.db, actorOf(ctx), args)).case,
  }),
);

interface CaseChange {
  case: CaseRow;
  action: string;
}

const CaseChangeRef = builder.objectRef<CaseChange>('CaseChange').implement({
  description: 'A committed change of a case: the case as it is now, and the action that changed it.',
  fields: (t) => ({
    case: t.field({ type: CaseRef, resolve: (c) => c.case }),
    action: t.exposeString('action', { description: 'The event action: REPORT, FILE, DISPATCH, …' }),
  }),
});

builder.subscriptionField('caseChanged', (t) =>
  t.field({
    type: CaseChangeRef,
    description:
      'Every committed case change inside your scope (and inside `regionId`, when given), from any server instance.',
    authScopes: { loggedIn: true },
    args: { regionId: t.arg.id({ required: false }) },
    subscribe: async (_root, args, ctx) => {
      const actor = actorOf(ctx);
      const scope = await scopeOf(ctx.db, actor);
      const region = await regionArgScope(ctx.db, args.regionId);
      const accept = (n: CaseChangeNotice) => rowInScope(scope, n) && (!region || rowInScope(region, n));
      // The case is read once per notice for every subscriber whose scope is all they see, and
      // checked against that scope here; a department user's read applies the department rule
      // (caseVisibility reads their department in the statement, so a move shows at once).
      const read =
        actor.role === 'DEPARTMENT'
          ? (n: CaseChangeNotice) => getCase(ctx.db, actor, n.caseId)
          : async (n: CaseChangeNotice) => {
              const row = await caseReads.read(n, () => caseRowById(ctx.db, n.caseId));
              if (!row || !rowInScope(scope, row)) throw new NotFound(`case ${n.caseId} not found`);
              return row;
            };
      const load = async (n: CaseChangeNotice): Promise<CaseChange> => {
        const row = await read(n);
        // The context lives as long as the subscription: fresh loaders per event, or the second
        // event of a case would show the first one's cached trail.
        ctx.loaders = createLoaders(ctx.db);
        return { case: row, action: n.action };
      };
      return whileActive(ctx, caseChangesFor(caseFeedOf(ctx.database), accept, load));
    },
    resolve: (change) => change,
  }),
);
