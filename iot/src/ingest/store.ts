/**
 * The one place the ingester's write path differs between drivers: how a batch's readings get
 * into the per-connection staging table. Real Postgres streams them with COPY; the embedded
 * PGlite (one wasm connection) inserts them from one JSON parameter. Everything after staging is
 * the same SQL on both.
 */
import type { Database } from '@citygrid/db';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { databaseSql, type Sql, sqlOf } from '../sql';

export interface StagedReading {
  sensorId: number;
  metric: string;
  /** Epoch ms. */
  ts: number;
  value: number;
  seq: number | null;
}

export interface BatchTx {
  sql: Sql;
  /** Fills `readings_stage` (emptied at commit) with the batch's readings. */
  stage(readings: readonly StagedReading[]): Promise<void>;
  /**
   * Writes readings straight into `readings`, with no dedup step: a key already stored fails the
   * statement (unique violation, SQLSTATE 23505) and with it the transaction.
   */
  insert(readings: readonly StagedReading[]): Promise<void>;
}

export interface BatchStore {
  kind: 'copy' | 'insert';
  /** Runs fn in one transaction; commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: BatchTx) => Promise<T>): Promise<T>;
  /** Creates the daily partitions of readings for the given UTC days (`YYYY-MM-DD`), once per process. */
  ensurePartitions(days: readonly string[]): Promise<void>;
}

const STAGE_DDL = `CREATE TEMP TABLE IF NOT EXISTS readings_stage (
  sensor_id bigint NOT NULL, metric text NOT NULL, ts timestamptz NOT NULL,
  value float8 NOT NULL, seq bigint) ON COMMIT DELETE ROWS`;

export function createBatchStore(database: Database): BatchStore {
  const knownDays = new Set<string>();
  const autocommit = databaseSql(database);
  const ensurePartitions = async (days: readonly string[]) => {
    const missing = days.filter((d) => !knownDays.has(d)).sort();
    if (missing.length === 0) return;
    // Outside the batch transaction: creating a partition locks the parent table.
    await autocommit.query('SELECT citygrid_ensure_reading_partitions($1::date, $2::date)', [
      missing[0],
      missing.at(-1),
    ]);
    for (const d of missing) knownDays.add(d);
  };
  const pool = database.pool;
  if (pool) return { kind: 'copy', ensurePartitions, transaction: (fn) => pgTransaction(pool, fn) };
  const pglite = database.pglite;
  if (!pglite) throw new Error('database has neither a pool nor an embedded instance');
  let prepared = false;
  return {
    kind: 'insert',
    ensurePartitions,
    async transaction(fn) {
      if (!prepared) {
        await pglite.exec(STAGE_DDL);
        prepared = true;
      }
      return pglite.transaction(async (t) => {
        const tx = sqlOf(t);
        return fn({
          sql: tx,
          stage: (readings) => insertFromJson(tx, 'readings_stage', readings),
          insert: (readings) => insertFromJson(tx, 'readings', readings),
        });
      });
    },
  };
}

const preparedClients = new WeakSet<pg.PoolClient>();

async function pgTransaction<T>(pool: pg.Pool, fn: (tx: BatchTx) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    if (!preparedClients.has(client)) {
      await client.query(STAGE_DDL);
      preparedClients.add(client);
    }
    await client.query('BEGIN');
    try {
      const result = await fn({
        sql: sqlOf(client),
        stage: (readings) => copyReadings(client, 'readings_stage', readings),
        insert: (readings) => copyReadings(client, 'readings', readings),
      });
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch((e: Error) => {
        broken = e;
      });
      throw err;
    }
  } catch (err) {
    broken ??= isConnectionError(err) ? (err as Error) : undefined;
    throw err;
  } finally {
    client.release(broken);
  }
}

function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === undefined || code.startsWith('08') || code === '57P01';
}

/** COPY in text format: tab-separated, `\N` for null, backslash escapes. */
async function copyReadings(
  client: pg.PoolClient,
  table: 'readings_stage' | 'readings',
  readings: readonly StagedReading[],
): Promise<void> {
  if (readings.length === 0) return;
  const lines: string[] = new Array(readings.length);
  // A point's metrics sit side by side and share its time: format each time once.
  let lastTs = Number.NaN;
  let lastIso = '';
  for (let i = 0; i < readings.length; i++) {
    const r = readings[i]!;
    if (r.ts !== lastTs) {
      lastTs = r.ts;
      lastIso = new Date(r.ts).toISOString();
    }
    lines[i] = `${r.sensorId}\t${escapeCopy(r.metric)}\t${lastIso}\t${r.value}\t${r.seq ?? '\\N'}\n`;
  }
  // `readings.received_at` keeps its default, now(): the transaction's start.
  const stream = client.query(copyFrom(`COPY ${table} (sensor_id, metric, ts, value, seq) FROM STDIN`));
  await new Promise<void>((resolve, reject) => {
    stream.on('error', reject);
    stream.on('finish', () => resolve());
    stream.end(lines.join(''));
  });
}

const needsEscape = /[\\\t\n\r]/;
function escapeCopy(s: string): string {
  if (!needsEscape.test(s)) return s;
  return s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

async function insertFromJson(
  tx: Sql,
  table: 'readings_stage' | 'readings',
  readings: readonly StagedReading[],
): Promise<void> {
  // Chunks keep the JSON parameter moderate on the wasm side.
  for (let i = 0; i < readings.length; i += 5000) {
    const chunk = readings.slice(i, i + 5000).map((r) => [r.sensorId, r.metric, r.ts, r.value, r.seq]);
    await tx.query(
      `INSERT INTO ${table} (sensor_id, metric, ts, value, seq)
       SELECT (e->>0)::bigint, e->>1, to_timestamp(0) + (e->>2)::bigint * interval '1 millisecond',
              (e->>3)::float8, (e->>4)::bigint
       FROM json_array_elements($1::json) AS e`,
      [JSON.stringify(chunk)],
    );
  }
}
