/** Sensors: the registry (`registerSensor`), the scoped lists, and time-bucketed readings. */
import { parseId } from '../../domain/cases/queries';
import {
  getSensor,
  listSensors,
  type ReadingBucket,
  registerSensor,
  type SensorView,
  sensorReadings,
} from '../../domain/sensors/sensors';
import { builder } from '../builder';
import { actorOf } from '../context';
import { GridCellRef } from './grid';
import { BBoxInput, PointInput, PointRef } from './scalars';

export const SensorStatusEnum = builder.enumType('SensorStatus', {
  values: ['UNKNOWN', 'ONLINE', 'OFFLINE'] as const,
});

export const SensorRef = builder.objectRef<SensorView>('Sensor').implement({
  description: 'A registered device: water level, manhole cover, air quality, noise, smoke, street lamp.',
  fields: (t) => ({
    id: t.exposeID('id'),
    deviceId: t.exposeString('deviceId', { description: 'The MQTT username and topic segment.' }),
    kind: t.exposeString('kind'),
    name: t.exposeString('name'),
    unit: t.exposeString('unit', { nullable: true }),
    location: t.field({ type: PointRef, resolve: (s) => s.location }),
    grid: t.field({
      type: GridCellRef,
      nullable: true,
      resolve: async (s, _args, ctx) =>
        s.gridCellId ? ((await ctx.loaders.gridCells.load(s.gridCellId)) ?? null) : null,
    }),
    status: t.field({ type: SensorStatusEnum, resolve: (s) => s.status }),
    lastSeenAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.lastSeenAt }),
    latest: t.field({
      type: 'JSON',
      description: 'metric → { value, at }: the newest reading of each metric.',
      resolve: (s) => s.latest,
    }),
  }),
});

const SensorConnection = builder.connectionObject(
  { type: SensorRef, name: 'SensorConnection', description: 'Sensors in your region scope, by id.' },
  { name: 'SensorEdge' },
);

const SensorFilter = builder.inputType('SensorFilter', {
  fields: (t) => ({
    kinds: t.stringList({ required: false }),
    status: t.field({ type: [SensorStatusEnum], required: false }),
    regionId: t.id({ required: false }),
    bbox: t.field({ type: BBoxInput, required: false }),
  }),
});

const RegisterSensorInput = builder.inputType('RegisterSensorInput', {
  fields: (t) => ({
    deviceId: t.string({ required: true }),
    kind: t.string({
      required: true,
      description: 'water_level, manhole, air_quality, noise, smoke, streetlight',
    }),
    name: t.string({ required: true }),
    location: t.field({ type: PointInput, required: true }),
    unit: t.string({ required: false }),
  }),
});

const RegisterSensorPayload = builder
  .objectRef<{ sensor: SensorView; secret: string }>('RegisterSensorPayload')
  .implement({
    fields: (t) => ({
      sensor: t.field({ type: SensorRef, resolve: (p) => p.sensor }),
      secret: t.exposeString('secret', {
        description: "The device's MQTT password. Shown once: only its hash is kept.",
      }),
    }),
  });

const ReadingBucketRef = builder.objectRef<ReadingBucket>('ReadingBucket').implement({
  fields: (t) => ({
    at: t.field({ type: 'DateTime', description: 'Start of the bucket.', resolve: (b) => b.at }),
    min: t.exposeFloat('min'),
    max: t.exposeFloat('max'),
    avg: t.exposeFloat('avg'),
    count: t.exposeInt('count'),
  }),
});

const cursorOf = (s: SensorView) => Buffer.from(String(s.id)).toString('base64url');
function afterId(after: string | null | undefined): number | null {
  if (!after) return null;
  return parseId(Buffer.from(after, 'base64url').toString('utf8'), 'after');
}

builder.queryField('sensors', (t) =>
  t.field({
    type: SensorConnection,
    authScopes: { loggedIn: true },
    args: {
      filter: t.arg({ type: SensorFilter, required: false }),
      first: t.arg.int({ required: false }),
      after: t.arg.string({ required: false }),
    },
    resolve: async (_root, args, ctx) => {
      const page = await listSensors(
        ctx.db,
        actorOf(ctx),
        {
          kinds: args.filter?.kinds ?? null,
          status: args.filter?.status ?? null,
          regionId: args.filter?.regionId != null ? parseId(args.filter.regionId, 'regionId') : null,
          bbox: args.filter?.bbox ?? null,
        },
        { first: args.first ?? 100, after: afterId(args.after) },
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

builder.queryField('sensor', (t) =>
  t.field({
    type: SensorRef,
    description: 'A sensor inside your region scope; NOT_FOUND otherwise.',
    authScopes: { loggedIn: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => getSensor(ctx.db, actorOf(ctx), parseId(args.id)),
  }),
);

builder.queryField('sensorReadings', (t) =>
  t.field({
    type: [ReadingBucketRef],
    description:
      'Time buckets of one metric over [from, to). Recent ranges come from raw readings; long or old ranges ' +
      'with whole-hour buckets from the hourly aggregates.',
    authScopes: { loggedIn: true },
    args: {
      sensorId: t.arg.id({ required: true }),
      metric: t.arg.string({ required: true }),
      from: t.arg({ type: 'DateTime', required: true }),
      to: t.arg({ type: 'DateTime', required: true }),
      bucketSeconds: t.arg.int({ required: false }),
    },
    resolve: async (_root, args, ctx) => {
      const result = await sensorReadings(ctx.db, actorOf(ctx), {
        sensorId: parseId(args.sensorId, 'sensorId'),
        metric: args.metric,
        from: args.from,
        to: args.to,
        bucketSeconds: args.bucketSeconds ?? null,
      });
      return result.buckets;
    },
  }),
);

builder.mutationField('registerSensor', (t) =>
  t.field({
    type: RegisterSensorPayload,
    description: 'Registers a device (ADMIN) and issues its secret, shown once.',
    authScopes: { loggedIn: true },
    args: { input: t.arg({ type: RegisterSensorInput, required: true }) },
    resolve: (_root, args, ctx) => registerSensor(ctx.db, actorOf(ctx), args.input),
  }),
);
