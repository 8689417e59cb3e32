/**
 * Grid workers' live positions: `updateMyPosition` keeps the latest one per worker
 * (`worker_positions`), appends the track (`worker_tracks`, pruned by age) and announces the move
 * on `citygrid_worker` in the same transaction, so a rolled-back update is never announced.
 */
import { type Db, type Executor, rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Actor } from '../auth/actor';
import type { Scope } from '../auth/scope';
import { Forbidden, parseInput } from '../errors';
import { type Crs, toWgs84 } from '../geo/crs';
import type { BBox } from '../grids/cells';

export const WORKER_CHANNEL = 'citygrid_worker';

/** Who may watch where workers are: the command centre, not other workers or departments. */
export const POSITION_READERS: readonly Actor['role'][] = ['COMMANDER', 'SUPERVISOR', 'ADMIN'];

export function assertPositionReader(actor: Actor): void {
  if (!POSITION_READERS.includes(actor.role))
    throw new Forbidden(`a ${actor.role} may not watch worker positions`);
}

export const positionInput = z.object({
  location: z.object({
    lon: z.number().finite().min(-180).max(180),
    lat: z.number().finite().min(-90).max(90),
    crs: z.enum(['WGS84', 'GCJ02', 'BD09']).nullish(),
  }),
  accuracyMeters: z.number().finite().min(0).max(100_000).nullish(),
  onDuty: z.boolean(),
});
export type PositionInput = z.input<typeof positionInput>;

/** A WGS84 box for filtering positions (degrees). */
export const bboxSchema = z
  .object({
    minLon: z.number().finite().min(-180).max(180),
    minLat: z.number().finite().min(-90).max(90),
    maxLon: z.number().finite().min(-180).max(180),
    maxLat: z.number().finite().min(-90).max(90),
  })
  .refine((b) => b.minLon <= b.maxLon && b.minLat <= b.maxLat, { message: 'min must not exceed max' });

/**
 * How often a batched subscriber (`workersMoved`) hears of moves: a second matches phones that
 * report once a second; below 100 ms batching stops paying for itself.
 */
export const MOVE_BATCH_DEFAULT_MS = 1000;
export const moveBatchInput = z.object({ everyMs: z.number().int().min(100).max(60_000) });

/** A worker's position as the API and the `citygrid_worker` notification carry it. */
export interface WorkerPosition {
  workerId: number;
  location: { lon: number; lat: number };
  accuracyMeters: number | null;
  onDuty: boolean;
  at: Date;
}

/** What is announced: the position plus the worker's scope region and its ancestors, for filtering. */
export interface WorkerMovedNotice extends Omit<WorkerPosition, 'at'> {
  at: string;
  cityId: number | null;
  districtId: number | null;
  streetId: number | null;
  communityId: number | null;
}

/** Stores the signed-in worker's position (WGS84; GCJ-02/BD-09 are converted) and announces it. */
export async function updateMyPosition(
  db: Db,
  actor: Actor,
  rawInput: PositionInput,
  now: Date = new Date(),
): Promise<WorkerPosition> {
  if (actor.role !== 'WORKER') throw new Forbidden('only grid workers share their position');
  const input = parseInput(positionInput, rawInput);
  const point = toWgs84(input.location, (input.location.crs ?? 'WGS84') as Crs);
  const accuracy = input.accuracyMeters ?? null;
  const at = now.toISOString();
  await db.transaction(async (tx) => {
    const geom = sql`ST_SetSRID(ST_MakePoint(${point.lon}::float8, ${point.lat}::float8), 4326)`;
    await tx.execute(sql`
      INSERT INTO worker_positions (user_id, location, accuracy_meters, on_duty, at)
      VALUES (${actor.id}::bigint, ${geom}, ${accuracy}::float8, ${input.onDuty}, ${at}::timestamptz)
      ON CONFLICT (user_id) DO UPDATE
        SET location = excluded.location, accuracy_meters = excluded.accuracy_meters,
            on_duty = excluded.on_duty, at = excluded.at
        -- a delayed request never moves the worker back in time
        WHERE worker_positions.at <= excluded.at`);
    await tx.execute(sql`
      INSERT INTO worker_tracks (user_id, location, accuracy_meters, on_duty, at)
      VALUES (${actor.id}::bigint, ${geom}, ${accuracy}::float8, ${input.onDuty}, ${at}::timestamptz)`);
    await tx.execute(sql`
      SELECT pg_notify(${WORKER_CHANNEL}, json_build_object(
        'workerId', u.id, 'location', json_build_object('lon', ${point.lon}::float8, 'lat', ${point.lat}::float8),
        'accuracyMeters', ${accuracy}::float8, 'onDuty', ${input.onDuty}::boolean, 'at', ${at}::text,
        'cityId', coalesce(r.city_id, CASE WHEN r.level = 'CITY' THEN r.id END),
        'districtId', CASE WHEN r.level = 'DISTRICT' THEN r.id ELSE r.district_id END,
        'streetId', CASE WHEN r.level = 'STREET' THEN r.id ELSE r.street_id END,
        'communityId', CASE WHEN r.level = 'COMMUNITY' THEN r.id END)::text)
      FROM users u JOIN regions r ON r.id = u.region_id
      WHERE u.id = ${actor.id}::bigint`);
  });
  return { workerId: actor.id, location: point, accuracyMeters: accuracy, onDuty: input.onDuty, at: now };
}

/** Parses a `citygrid_worker` payload; undefined when it is not one of ours. */
export function parseWorkerMoved(payload: string): WorkerMovedNotice | undefined {
  try {
    const n = JSON.parse(payload) as WorkerMovedNotice;
    if (typeof n.workerId === 'number' && typeof n.location?.lon === 'number') return n;
  } catch {
    // not ours
  }
  return undefined;
}

/** Whether a subscriber with `scope` (and an optional box) should see the move. */
export function workerMovedVisible(notice: WorkerMovedNotice, scope: Scope, bbox?: BBox | null): boolean {
  const ancestor = {
    CITY: notice.cityId,
    DISTRICT: notice.districtId,
    STREET: notice.streetId,
    COMMUNITY: notice.communityId,
  }[scope.level];
  if (ancestor !== scope.regionId) return false;
  if (!bbox) return true;
  const { lon, lat } = notice.location;
  return lon >= bbox.minLon && lon <= bbox.maxLon && lat >= bbox.minLat && lat <= bbox.maxLat;
}

/** The latest positions of the workers the actor may see (scope by the worker's region), optionally in a box. */
export async function listWorkerPositions(
  db: Executor,
  scope: Scope,
  options: { bbox?: BBox | null; onDutyOnly?: boolean } = {},
): Promise<WorkerPosition[]> {
  const b = options.bbox;
  const found = await rows<{
    workerId: number;
    lon: number;
    lat: number;
    accuracyMeters: number | null;
    onDuty: boolean;
    at: Date | string;
  }>(
    db,
    sql`SELECT p.user_id::int AS "workerId", ST_X(p.location) AS lon, ST_Y(p.location) AS lat,
               p.accuracy_meters AS "accuracyMeters", p.on_duty AS "onDuty", p.at
        FROM worker_positions p
        JOIN users u ON u.id = p.user_id
        JOIN regions r ON r.id = u.region_id
        WHERE ${workerRegionInScope(scope)}
          ${options.onDutyOnly ? sql`AND p.on_duty` : sql``}
          ${
            b
              ? sql`AND p.location && ST_MakeEnvelope(${b.minLon}::float8, ${b.minLat}::float8, ${b.maxLon}::float8, ${b.maxLat}::float8, 4326)`
              : sql``
          }
        ORDER BY p.user_id`,
  );
  return found.map((r) => ({
    workerId: r.workerId,
    location: { lon: r.lon, lat: r.lat },
    accuracyMeters: r.accuracyMeters,
    onDuty: r.onDuty,
    at: new Date(r.at),
  }));
}

/** SQL: the worker's scope region (alias r) lies inside `scope`. */
export function workerRegionInScope(scope: Scope) {
  const column = {
    CITY: sql`coalesce(r.city_id, CASE WHEN r.level = 'CITY' THEN r.id END)`,
    DISTRICT: sql`CASE WHEN r.level = 'DISTRICT' THEN r.id ELSE r.district_id END`,
    STREET: sql`CASE WHEN r.level = 'STREET' THEN r.id ELSE r.street_id END`,
    COMMUNITY: sql`CASE WHEN r.level = 'COMMUNITY' THEN r.id END`,
  }[scope.level];
  return sql`${column} = ${scope.regionId}::bigint`;
}

/**
 * Deletes track points older than `retentionSeconds`, in batches so that no one statement holds
 * many row locks. Returns how many were deleted.
 */
export async function pruneWorkerTracks(
  db: Executor,
  retentionSeconds: number,
  now: Date = new Date(),
  batch = 5000,
): Promise<number> {
  const cutoff = new Date(now.getTime() - retentionSeconds * 1000).toISOString();
  let total = 0;
  for (;;) {
    const [row] = await rows<{ n: number }>(
      db,
      sql`WITH gone AS (
            DELETE FROM worker_tracks WHERE id IN (
              SELECT id FROM worker_tracks WHERE at < ${cutoff}::timestamptz LIMIT ${batch})
            RETURNING 1)
          SELECT count(*)::int AS n FROM gone`,
    );
    const n = row?.n ?? 0;
    total += n;
    if (n < batch) return total;
  }
}
