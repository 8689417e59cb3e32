/**
 * Latest values per (sensor, metric), written apart from the batches that carried them.
 *
 * Upserting `sensor_latest` in every batch transaction cost about as much database time as
 * copying the readings themselves (one row update per key, and at these batch sizes about one key
 * per reading). A sensor reporting every second updated its rows every second whoever read them.
 * So a worker keeps the newest committed value per key in memory and writes the accumulated set
 * at most every `flushMs`, in one statement of its own: one update per key per flush however many
 * batches touched it. Only a newer value wins (`sensor_latest.ts < excluded.ts`), so a late value
 * never overwrites, and flushes of several workers may interleave in any order.
 *
 * What this gives up: `sensor_latest` may trail `readings` by up to `flushMs`, and a worker killed
 * before flushing loses its pending values. `repairLatest` runs at start to catch those up from
 * `readings`, so neither the API's latest values nor the watermarks seeded from them stay behind.
 * Nothing else depends on `sensor_latest` being current: the rules evaluate the batch's own
 * readings, and a stale watermark only sends a stored reading into the direct copy, whose unique
 * violation makes the batch fall back to the deduplicating path.
 */
import type { Sql } from '../sql';

/** A (sensor, metric)'s newest value: the fields of a reading that `sensor_latest` keeps. */
export interface LatestValue {
  sensorId: number;
  metric: string;
  value: number;
  /** Epoch ms. */
  ts: number;
}

/** Keys grouped per sensor, without building string keys (this runs for every reading). */
type Pending = Map<number, Map<string, LatestValue>>;

function merge(into: Pending, v: LatestValue): void {
  let metrics = into.get(v.sensorId);
  if (!metrics) {
    metrics = new Map();
    into.set(v.sensorId, metrics);
  }
  const had = metrics.get(v.metric);
  if (!had || had.ts < v.ts) metrics.set(v.metric, v);
}

/** The newest value per key among `values`. */
export function newestPerKey(values: Iterable<LatestValue>): Pending {
  const out: Pending = new Map();
  for (const v of values) merge(out, v);
  return out;
}

/**
 * Writes the newest values; a key's row changes only if the value is newer than the stored one.
 * Rows go sorted by key, so concurrent writers lock `sensor_latest` rows in one order. Numeric
 * columns go as array literals joined here (a number's string form needs no quoting), metrics as
 * indexes into their few distinct names: the driver's per-element array escaping cost more than
 * the statement.
 */
export async function upsertLatest(sql: Sql, pending: Pending): Promise<number> {
  const names: string[] = [];
  const nameIndex = new Map<string, number>();
  const sensorIds: number[] = [];
  const metricIndexes: number[] = [];
  const values: number[] = [];
  const ts: number[] = [];
  for (const sensorId of [...pending.keys()].sort((a, b) => a - b)) {
    const metrics = pending.get(sensorId)!;
    for (const metric of [...metrics.keys()].sort()) {
      const v = metrics.get(metric)!;
      let i = nameIndex.get(metric);
      if (i === undefined) {
        i = names.push(metric); // the new length: PostgreSQL arrays count from 1
        nameIndex.set(metric, i);
      }
      sensorIds.push(sensorId);
      metricIndexes.push(i);
      values.push(v.value);
      ts.push(v.ts);
    }
  }
  if (sensorIds.length === 0) return 0;
  const literal = (xs: number[]) => `{${xs.join(',')}}`;
  await sql.query(
    `INSERT INTO sensor_latest (sensor_id, metric, value, ts)
     SELECT sensor_id, ($2::text[])[metric], value, to_timestamp(0) + ts * interval '1 millisecond'
     FROM unnest($1::bigint[], $3::int[], $4::float8[], $5::float8[]) AS l(sensor_id, metric, value, ts)
     ON CONFLICT (sensor_id, metric) DO UPDATE SET value = excluded.value, ts = excluded.ts
     WHERE sensor_latest.ts < excluded.ts`,
    [literal(sensorIds), names, literal(metricIndexes), literal(values), literal(ts)],
  );
  return sensorIds.length;
}

/**
 * Catches `sensor_latest` up with readings stored after its row (values a worker had not flushed
 * when it died). One index probe per key into the partitions newer than its row, usually today's
 * alone. A key that never got its first row is not found this way; its next reading adds it.
 */
export async function repairLatest(sql: Sql): Promise<number> {
  const rows = await sql.query<{ n: number }>(
    `WITH newer AS (
       SELECT l.sensor_id, l.metric, r.value, r.ts
       FROM sensor_latest l
       CROSS JOIN LATERAL (
         SELECT value, ts FROM readings r
         WHERE r.sensor_id = l.sensor_id AND r.metric = l.metric AND r.ts > l.ts
         ORDER BY r.ts DESC LIMIT 1) r
     ), upd AS (
       UPDATE sensor_latest l SET value = newer.value, ts = newer.ts
       FROM newer WHERE l.sensor_id = newer.sensor_id AND l.metric = newer.metric AND l.ts < newer.ts
       RETURNING 1
     )
     SELECT count(*)::int AS n FROM upd`,
  );
  return rows[0]?.n ?? 0;
}

/** A worker's pending latest values and the timer that writes them. */
export class LatestValues {
  private pending: Pending = new Map();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly sql: Sql,
    private readonly flushMs: number,
    private readonly onError: (err: Error) => void = () => {},
  ) {}

  /** Takes the values of a committed batch; they are written within `flushMs`. */
  add(values: Iterable<LatestValue>): void {
    for (const v of values) merge(this.pending, v);
    if (this.pending.size > 0 && !this.timer) this.schedule();
  }

  private schedule() {
    // Failures are reported through onError and retried by the next timer.
    this.timer = setTimeout(() => void this.flush().catch(() => {}), this.flushMs);
    this.timer.unref();
  }

  /** Keys waiting to be written. */
  get size(): number {
    let n = 0;
    for (const metrics of this.pending.values()) n += metrics.size;
    return n;
  }

  /**
   * Writes everything taken so far; resolves once it is stored (after any write already under
   * way). On failure the values stay pending, newer ones taken meanwhile still winning, and the
   * timer tries again.
   */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.flushing) await this.flushing.catch(() => {});
    if (this.pending.size === 0) return;
    const taking = this.pending;
    this.pending = new Map();
    const run = upsertLatest(this.sql, taking).then(
      () => {},
      (err: Error) => {
        for (const metrics of taking.values()) for (const v of metrics.values()) merge(this.pending, v);
        this.onError(err);
        if (!this.timer) this.schedule();
        throw err;
      },
    );
    this.flushing = run;
    try {
      await run;
    } finally {
      this.flushing = undefined;
    }
  }

  /** Stops the timer without writing (after a final `flush`). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
