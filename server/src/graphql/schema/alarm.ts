/** Alarms raised by the telemetry pipeline: the scoped list, acknowledging, and their rule and case. */
import { filter, map, pipe } from 'graphql-yoga';
import {
  type AlarmRuleView,
  type AlarmView,
  acknowledgeAlarm,
  alarmById,
  alarmRulesByIds,
  listAlarms,
} from '../../domain/alarms/alarms';
import { type Scope, scopeOf } from '../../domain/auth/scope';
import { getCase, parseId } from '../../domain/cases/queries';
import { NotFound } from '../../domain/errors';
import { regionArgScope } from '../../domain/reference/regions';
import { getSensor } from '../../domain/sensors/sensors';
import { type AlarmNotice, alarmFeed, alarmReads } from '../../realtime/alarm-feed';
import { builder } from '../builder';
import { actorOf, whileActive } from '../context';
import { CaseRef } from './case';
import { SensorRef } from './sensor';

export const AlarmStatusEnum = builder.enumType('AlarmStatus', {
  description: 'ACTIVE → ACKNOWLEDGED → CLEARED.',
  values: ['ACTIVE', 'ACKNOWLEDGED', 'CLEARED'] as const,
});
export const AlarmSeverityEnum = builder.enumType('AlarmSeverity', {
  values: ['INFO', 'WARNING', 'CRITICAL'] as const,
});
const AlarmKindEnum = builder.enumType('AlarmKind', { values: ['THRESHOLD', 'OFFLINE'] as const });
const AlarmConditionEnum = builder.enumType('AlarmCondition', {
  values: ['ABOVE', 'BELOW', 'OUTSIDE'] as const,
});

const AlarmRuleRef = builder.objectRef<AlarmRuleView>('AlarmRule').implement({
  description: 'A condition on one metric of a sensor kind (or of one sensor, overriding its kind).',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    sensorKind: t.exposeString('sensorKind'),
    metric: t.exposeString('metric'),
    condition: t.field({ type: AlarmConditionEnum, resolve: (r) => r.condition }),
    threshold: t.exposeFloat('threshold'),
    thresholdHigh: t.exposeFloat('thresholdHigh', { nullable: true }),
    clearThreshold: t.exposeFloat('clearThreshold', { nullable: true }),
    clearThresholdHigh: t.exposeFloat('clearThresholdHigh', { nullable: true }),
    holdSeconds: t.exposeInt('holdSeconds'),
    severity: t.field({ type: AlarmSeverityEnum, resolve: (r) => r.severity }),
    activeFrom: t.exposeString('activeFrom', { nullable: true }),
    activeTo: t.exposeString('activeTo', { nullable: true }),
    opensCase: t.exposeBoolean('opensCase'),
  }),
});

export const AlarmRef = builder.objectRef<AlarmView>('Alarm').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    sensor: t.field({
      type: SensorRef,
      resolve: (a, _args, ctx) => getSensor(ctx.db, actorOf(ctx), a.sensorId),
    }),
    kind: t.field({ type: AlarmKindEnum, resolve: (a) => a.kind }),
    metric: t.exposeString('metric', { nullable: true }),
    rule: t.field({
      type: AlarmRuleRef,
      nullable: true,
      resolve: async (a, _args, ctx) =>
        a.ruleId ? ((await alarmRulesByIds(ctx.db, [a.ruleId]))[0] ?? null) : null,
    }),
    severity: t.field({ type: AlarmSeverityEnum, resolve: (a) => a.severity }),
    status: t.field({ type: AlarmStatusEnum, resolve: (a) => a.status }),
    startedAt: t.field({ type: 'DateTime', resolve: (a) => a.startedAt }),
    acknowledgedAt: t.field({ type: 'DateTime', nullable: true, resolve: (a) => a.acknowledgedAt }),
    clearedAt: t.field({ type: 'DateTime', nullable: true, resolve: (a) => a.clearedAt }),
    peakValue: t.exposeFloat('peakValue', { nullable: true }),
    lastValue: t.exposeFloat('lastValue', { nullable: true }),
    count: t.exposeInt('count', {
      description: 'Breaching readings seen while open (repeats are not new alarms).',
    }),
    case: t.field({
      type: CaseRef,
      nullable: true,
      description: 'The case the alarm opened, if its rule asks for one.',
      resolve: async (a, _args, ctx) => {
        if (!a.caseId) return null;
        try {
          return await getCase(ctx.db, actorOf(ctx), a.caseId);
        } catch (err) {
          if (err instanceof NotFound) return null;
          throw err;
        }
      },
    }),
  }),
});

const AlarmConnection = builder.connectionObject(
  { type: AlarmRef, name: 'AlarmConnection', description: 'Alarms in your region scope, newest first.' },
  { name: 'AlarmEdge' },
);

const AlarmFilter = builder.inputType('AlarmFilter', {
  fields: (t) => ({
    status: t.field({ type: [AlarmStatusEnum], required: false }),
    severity: t.field({ type: [AlarmSeverityEnum], required: false }),
    regionId: t.id({ required: false }),
  }),
});

const cursorOf = (a: AlarmView) => Buffer.from(String(a.id)).toString('base64url');

builder.queryField('alarms', (t) =>
  t.field({
    type: AlarmConnection,
    authScopes: { loggedIn: true },
    args: {
      filter: t.arg({ type: AlarmFilter, required: false }),
      first: t.arg.int({ required: false }),
      after: t.arg.string({ required: false }),
    },
    resolve: async (_root, args, ctx) => {
      const page = await listAlarms(
        ctx.db,
        actorOf(ctx),
        {
          status: args.filter?.status ?? null,
          severity: args.filter?.severity ?? null,
          regionId: args.filter?.regionId != null ? parseId(args.filter.regionId, 'regionId') : null,
        },
        {
          first: args.first ?? 50,
          after: args.after ? parseId(Buffer.from(args.after, 'base64url').toString('utf8'), 'after') : null,
        },
      );
      const edges = page.nodes.map((node) => ({ cursor: cursorOf(node), node }));
      return {
        edges,
        pageInfo: {
          hasNextPage: page.hasNextPage,
          hasPreviousPage: false,
          startCursor: edges[0]?.cursor ?? null,
          endCursor: edges.at(-1)?.cursor ?? null,
        },
      };
    },
  }),
);

builder.mutationField('acknowledgeAlarm', (t) =>
  t.field({
    type: AlarmRef,
    description: 'ACTIVE → ACKNOWLEDGED (COMMANDER). Acknowledging twice is a no-op.',
    authScopes: { loggedIn: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => acknowledgeAlarm(ctx.db, actorOf(ctx), parseId(args.id)),
  }),
);

function alarmInScope(scope: Scope, a: AlarmView): boolean {
  if (scope.level === 'CITY') return a.cityId === scope.regionId;
  if (scope.level === 'DISTRICT') return a.districtId === scope.regionId;
  if (scope.level === 'STREET') return a.streetId === scope.regionId;
  return false;
}

builder.subscriptionField('alarmChanged', (t) =>
  t.field({
    type: AlarmRef,
    description:
      'The alarm, each time one inside your scope (and inside `regionId`, when given) is raised, acknowledged or cleared.',
    authScopes: { loggedIn: true },
    args: { regionId: t.arg.id({ required: false }) },
    subscribe: async (_root, args, ctx) => {
      const actor = actorOf(ctx);
      const scope = await scopeOf(ctx.db, actor);
      const region = await regionArgScope(ctx.db, args.regionId);
      const visible = (a: AlarmView | undefined): a is AlarmView =>
        a !== undefined && alarmInScope(scope, a) && (!region || alarmInScope(region, a));
      // The notice carries only the id, so the scope test needs the alarm: read one at a time, in
      // the order the changes were announced (raised before acknowledged, never the other way),
      // once per notice for every subscriber of this instance.
      return whileActive(
        ctx,
        pipe(
          (await alarmFeed(ctx.database)).subscribe(),
          map((n: AlarmNotice) => alarmReads.read(n, () => alarmById(ctx.db, n.id)).catch(() => undefined)),
          filter(visible),
        ),
      );
    },
    resolve: (alarm) => alarm,
  }),
);
