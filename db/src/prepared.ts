/**
 * Statements with a fixed text, run as named prepared statements where the driver keeps them:
 * on node-postgres each connection then parses and plans the statement once, not on every call
 * (for a report's single statement, parsing and planning took more database time than running
 * it). Elsewhere — the embedded database, or inside a transaction, whose connection drizzle keeps
 * to itself — the same text and values run as an ordinary parameterised query, with the same rows.
 */
import { type SQL, sql } from 'drizzle-orm';
import pg from 'pg';
import { type Executor, rows } from './client';

export interface PreparedStatement {
  /** Unique per text: a connection refuses one name for two texts. */
  name: string;
  /** SQL with `$1`, `$2`, … placeholders; never assembled from input. */
  text: string;
}

/** Runs `statement` with `values` (one per placeholder, in order) and returns its rows. */
export async function preparedRows<T>(
  db: Executor,
  statement: PreparedStatement,
  values: readonly unknown[],
): Promise<T[]> {
  const client = (db as { $client?: unknown }).$client;
  if (client instanceof pg.Pool) {
    const result = await client.query({ name: statement.name, text: statement.text, values: [...values] });
    return result.rows as T[];
  }
  return rows<T>(db, asSql(statement.text, values));
}

/** The statement as drizzle SQL: the text between placeholders verbatim, each placeholder a parameter. */
function asSql(text: string, values: readonly unknown[]): SQL {
  const chunks: SQL[] = [];
  let last = 0;
  for (const match of text.matchAll(/\$(\d+)/g)) {
    chunks.push(sql.raw(text.slice(last, match.index)));
    const index = Number(match[1]) - 1;
    if (index < 0 || index >= values.length)
      throw new Error(`no value for $${match[1]} in ${text.slice(0, 60)}…`);
    // One parameter per placeholder: drizzle would spread an array into a list of parameters.
    const value = values[index];
    chunks.push(Array.isArray(value) ? sql`${sql.param(value)}` : sql`${value}`);
    last = match.index + match[0].length;
  }
  chunks.push(sql.raw(text.slice(last)));
  return sql.join(chunks);
}
