/** Grid workers' live positions: `updateMyPosition`, the latest positions, and `workerMoved`. */

import type { Database } from '@citygrid/db';
import { map, pipe, type Repeater } from 'graphql-yoga';
import { scopeOf } from '../../domain/auth/scope';
import { parseInput } from '../../domain/errors';
import {
  assertPositionReader,
  bboxSchema,
  listWorkerPositions,
  MOVE_BATCH_DEFAULT_MS,
  moveBatchInput,
  parseWorkerMoved,
  updateMyPosition,
  WORKER_CHANNEL,
  type WorkerMovedNotice,
  type WorkerPosition,
  workerMovedVisible,
} from '../../domain/positions/positions';
import { createFanOut } from '../../realtime/fan-out';
import { type Listen, latestBatches } from '../../realtime/latest-batches';
import { builder } from '../builder';
import { actorOf, type GraphQLContext, whileActive } from '../context';
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
      'The latest positions of the workers whose scope lies inside yours, optionally in a box or on duty only. ' +
      'COMMANDER, SUPERVISOR, ADMIN.',
    authScopes: { loggedIn: true },
    args: {
      bbox: t.arg({ type: BBoxInput, required: false }),
      onDutyOnly: t.arg.boolean({ required: false, defaultValue: false }),
    },
    resolve: async (_root, args, ctx) => {
      const actor = actorOf(ctx);
      assertPositionReader(actor);
      const scope = await scopeOf(ctx.db, actor);
      return listWorkerPositions(ctx.db, scope, {
        bbox: args.bbox ? parseInput(bboxSchema, args.bbox) : null,
        onDutyOnly: args.onDutyOnly ?? false,
      });
    },
  }),
);

interface WorkerFeed {
  /** Every move from now on that passes `accept`, one event each (bounded queue: realtime/fan-out.ts). */
  subscribe(accept: (notice: WorkerMovedNotice) => boolean): Repeater<WorkerMovedNotice>;
  /** Calls `emit` synchronously with every move from now on; returns the function that stops it. */
  listen: Listen<WorkerMovedNotice>;
}

/**
 * One LISTEN on `citygrid_worker` per database, started by the first subscriber and kept while the
 * database is open; each notification is parsed once and handed to this instance's subscribers.
 */
const workerFeeds = new WeakMap<Database, Promise<WorkerFeed>>();

function workerFeed(database: Database): Promise<WorkerFeed> {
  let feed = workerFeeds.get(database);
  if (!feed) {
    const fanOut = createFanOut<WorkerMovedNotice>();
    feed = database
      .listen(WORKER_CHANNEL, (payload) => {
        const notice = parseWorkerMoved(payload);
        if (notice) fanOut.publish(notice);
      })
      .then(() => ({
        subscribe: (accept) => fanOut.subscribe(accept),
        listen: (emit) => fanOut.listen(emit),
      }));
    feed.catch(() => workerFeeds.delete(database));
    workerFeeds.set(database, feed);
  }
  return feed;
}

function toPosition(n: WorkerMovedNotice): WorkerPosition {
  return {
    workerId: n.workerId,
    location: n.location,
    accuracyMeters: n.accuracyMeters,
    onDuty: n.onDuty,
    at: new Date(n.at),
  };
}

/** Who is watching, and the visibility test for their scope (and `bbox`, when given). */
async function moveReader(ctx: GraphQLContext, rawBbox: unknown) {
  const actor = actorOf(ctx);
  assertPositionReader(actor);
  const scope = await scopeOf(ctx.db, actor);
  const bbox = rawBbox ? parseInput(bboxSchema, rawBbox) : null;
  return {
    feed: await workerFeed(ctx.database),
    visible: (n: WorkerMovedNotice) => workerMovedVisible(n, scope, bbox),
  };
}

builder.subscriptionField('workerMoved', (t) =>
  t.field({
    type: WorkerPositionRef,
    description:
      'Every position shared by a worker whose scope lies inside yours (and inside `bbox`, when given), from any ' +
      'server instance. COMMANDER, SUPERVISOR, ADMIN.',
    authScopes: { loggedIn: true },
    args: { bbox: t.arg({ type: BBoxInput, required: false }) },
    subscribe: async (_root, args, ctx) => {
      const { feed, visible } = await moveReader(ctx, args.bbox);
      return whileActive(ctx, pipe(feed.subscribe(visible), map(toPosition)));
    },
    resolve: (position: WorkerPosition) => position,
  }),
);

builder.subscriptionField('workersMoved', (t) =>
  t.field({
    type: [WorkerPositionRef],
    description:
      'The moves `workerMoved` would send, in batches: every `everyMs` milliseconds (100–60,000; default 1,000) the ' +
      'latest position of each worker who moved since the last batch, nothing when no one did. For maps that show ' +
      'many workers at once. COMMANDER, SUPERVISOR, ADMIN.',
    authScopes: { loggedIn: true },
    args: {
      bbox: t.arg({ type: BBoxInput, required: false }),
      everyMs: t.arg.int({ required: false, defaultValue: MOVE_BATCH_DEFAULT_MS }),
    },
    subscribe: async (_root, args, ctx) => {
      const { everyMs } = parseInput(moveBatchInput, { everyMs: args.everyMs ?? MOVE_BATCH_DEFAULT_MS });
      const { feed, visible } = await moveReader(ctx, args.bbox);
      const listen: Listen<WorkerPosition> = (emit) =>
        feed.listen((n) => {
          if (visible(n)) emit(toPosition(n));
        });
      return whileActive(
        ctx,
        latestBatches(listen, (p) => p.workerId, everyMs),
      );
    },
    resolve: (batch: WorkerPosition[]) => batch,
  }),
);
