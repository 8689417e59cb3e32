/** Grid workers' live positions: `updateMyPosition`, the latest positions, and `workerMoved`. */
import { scopeOf } from '../../domain/auth/scope';
import { listWorkerPositions, updateMyPosition, type WorkerPosition } from '../../domain/positions/positions';
import { builder } from '../builder';
import { actorOf } from '../context';
import { BBoxInput, PointInput, PointRef } from './scalars';
import { UserRef } from './user';

export const WorkerPositionRef = builder.objectRef<WorkerPosition>('WorkerPosition').implement({
  description: "A grid worker's latest position (WGS84).",
  fields: (t) => ({
    workerId: t.id({ resolve: (p) => p.workerId }),
    worker: t.field({
      type: UserRef,
      nullable: true,
      resolve: (p, _args, ctx) => ctx.loaders.users.load(p.workerId),
    }),
    location: t.field({ type: PointRef, resolve: (p) => p.location }),
    accuracyMeters: t.exposeFloat('accuracyMeters', { nullable: true }),
    onDuty: t.exposeBoolean('onDuty'),
    at: t.field({ type: 'DateTime', resolve: (p) => p.at }),
  }),
});

builder.mutationField('updateMyPosition', (t) =>
  t.field({
    type: WorkerPositionRef,
    description:
      "Shares the signed-in grid worker's position (WORKER): stored as the latest, appended to the track, " +
      'announced to `workerMoved`.',
    authScopes: { loggedIn: true },
    args: {
      location: t.arg({ type: PointInput, required: true }),
      accuracyMeters: t.arg.float({ required: false }),
      onDuty: t.arg.boolean({ required: true }),
    },
    resolve: (_root, args, ctx) =>
      updateMyPosition(ctx.db, actorOf(ctx), {
        location: args.location,
        accuracyMeters: args.accuracyMeters ?? null,
        onDuty: args.onDuty,
      }),
  }),
);

builder.queryField('workerPositions', (t) =>
  t.field({
    type: [WorkerPositionRef],
    description:
      'The latest positions of the workers whose scope lies inside yours, optionally in a box or on duty only.',
    authScopes: { loggedIn: true },
    args: {
      bbox: t.arg({ type: BBoxInput, required: false }),
      onDutyOnly: t.arg.boolean({ required: false, defaultValue: false }),
    },
    resolve: async (_root, args, ctx) => {
      const scope = await scopeOf(ctx.db, actorOf(ctx));
      return listWorkerPositions(ctx.db, scope, {
        bbox: args.bbox ?? null,
        onDutyOnly: args.onDutyOnly ?? false,
      });
    },
  }),
);
