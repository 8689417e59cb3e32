/**
 * A thin query interface over both drivers for the IoT write path. It bypasses drizzle on
 * purpose: the hot path sends a few large JSON parameters per batch, and results are cast in SQL
 * to plain numbers (`::float8`, epoch milliseconds) so both drivers return the same JS values.
 */
import type { Database } from '@citygrid/db';
import type pg from 'pg';

export interface Sql {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
}

type Queryable = { query(text: string, params?: unknown[]): Promise<{ rows: unknown[] }> };

export function sqlOf(q: Queryable | pg.Pool | pg.PoolClient): Sql {
  return {
    async query<T>(text: string, params?: unknown[]) {
      const result = await (q as Queryable).query(text, params);
      return result.rows as T[];
    },
  };
}

/** Autocommit queries on the database (the pool, or the embedded instance). */
export function databaseSql(database: Database): Sql {
  if (database.pool) return sqlOf(database.pool);
  if (database.pglite) return sqlOf(database.pglite);
  throw new Error('database has neither a pool nor an embedded instance');
}

/** Runs fn in one transaction on either driver. */
export async function inTransaction<T>(database: Database, fn: (tx: Sql) => Promise<T>): Promise<T> {
  if (database.pglite) return database.pglite.transaction((tx) => fn(sqlOf(tx)));
  const pool = database.pool;
  if (!pool) throw new Error('database has neither a pool nor an embedded instance');
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    try {
      const result = await fn(sqlOf(client));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch((e: Error) => {
        broken = e;
      });
      throw err;
    }
  } finally {
    client.release(broken);
  }
}
