/** Evaluation (综合评价): closed-loop metrics per area, department or worker over a window. */
import { EVALUATION_GROUPS, type EvaluationRow, evaluate } from '../../domain/evaluation/evaluation';
import { builder } from '../builder';
import { actorOf } from '../context';

export const EvaluationGroupByEnum = builder.enumType('EvaluationGroupBy', { values: EVALUATION_GROUPS });

const EvaluationRowRef = builder.objectRef<EvaluationRow>('EvaluationRow').implement({
  description:
    'Metrics of one group over [from, to). Counts of events are by event time; `due` counts cases whose ' +
    'handling deadline lies in the window, and `closed`/`closedOnTime` are those of them closed by its end. ' +
    'Rates are null when their denominator is 0.',
  fields: (t) => ({
    groupBy: t.field({ type: EvaluationGroupByEnum, resolve: (r) => r.groupBy }),
    groupId: t.id({
      nullable: true,
      description: 'Grid cell, region, department or user id; null for what has no group yet.',
      resolve: (r) => r.groupId,
    }),
    groupCode: t.exposeString('groupCode', { nullable: true }),
    groupName: t.exposeString('groupName', { nullable: true }),
    reported: t.exposeInt('reported'),
    filed: t.exposeInt('filed'),
    rejected: t.exposeInt('rejected', { description: 'Rejected as INVALID or OUT_OF_SCOPE.' }),
    filingRate: t.exposeFloat('filingRate', { nullable: true, description: 'filed ÷ (filed + rejected).' }),
    dispatched: t.exposeInt('dispatched'),
    returned: t.exposeInt('returned'),
    dispatchAccuracy: t.exposeFloat('dispatchAccuracy', {
      nullable: true,
      description: '1 − returned ÷ dispatched.',
    }),
    resolved: t.exposeInt('resolved'),
    resolvedOnTime: t.exposeInt('resolvedOnTime'),
    onTimeHandlingRate: t.exposeFloat('onTimeHandlingRate', {
      nullable: true,
      description: 'resolvedOnTime ÷ resolved.',
    }),
    verified: t.exposeInt('verified', { description: 'Verifications, passed or failed.' }),
    reworked: t.exposeInt('reworked', { description: 'Failed verifications.' }),
    reworkRate: t.exposeFloat('reworkRate', { nullable: true, description: 'reworked ÷ verified.' }),
    due: t.exposeInt('due', { description: 'Cases whose handling deadline lies in the window.' }),
    closed: t.exposeInt('closed'),
    closedOnTime: t.exposeInt('closedOnTime'),
    closureRate: t.exposeFloat('closureRate', { nullable: true, description: 'closed ÷ due.' }),
    onTimeClosureRate: t.exposeFloat('onTimeClosureRate', {
      nullable: true,
      description: 'closedOnTime ÷ due.',
    }),
    avgHoursToClose: t.exposeFloat('avgHoursToClose', {
      nullable: true,
      description: 'Mean hours from report to close over the closed cases.',
    }),
  }),
});

builder.queryField('evaluation', (t) =>
  t.field({
    type: [EvaluationRowRef],
    description:
      'Closed-loop metrics over [from, to) grouped by GRID, STREET, DISTRICT, DEPARTMENT or WORKER, inside your ' +
      'region scope (and regionId). SUPERVISOR, COMMANDER, ADMIN.',
    authScopes: { loggedIn: true },
    args: {
      from: t.arg({ type: 'DateTime', required: true }),
      to: t.arg({ type: 'DateTime', required: true }),
      groupBy: t.arg({ type: EvaluationGroupByEnum, required: true }),
      regionId: t.arg.id({ required: false }),
    },
    resolve: (_root, args, ctx) =>
      evaluate(ctx.db, actorOf(ctx), {
        from: args.from,
        to: args.to,
        groupBy: args.groupBy,
        regionId: args.regionId ?? null,
      }),
  }),
);
