/**
 * Case exports for reporting: the rows of the `cases` filter (same filter, same scope) read in
 * batches so that memory stays flat however many cases match. On PostgreSQL a server-side cursor
 * (`DECLARE … NO SCROLL CURSOR` in a read-only REPEATABLE READ transaction, one consistent
 * snapshot); on the embedded database (one connection, shared with everything else) keyset pages
 * over (reported_at, id), the cases query's own order.
 */
import type { Database, Executor } from '@citygrid/db';
import { rows } from '@citygrid/db';
import { cases } from '@citygrid/db/schema';
import { and, type SQL, sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { Actor } from '../auth/actor';
import { type CaseFilter, caseFilterConditions } from '../cases/queries';
import { overdueCondition } from '../cases/view';

/** Exported columns, in order (also the CSV header and the GeoJSON properties). */
export const EXPORT_COLUMNS = [
  'id',
  'code',
  'status',
  'priority',
  'source',
  'category_code',
  'category_name',
  'description',
  'address',
  'lon',
  'lat',
  'grid_code',
  'district',
  'street',
  'department',
  'assignee',
  'reported_at',
  'filed_at',
  'dispatched_at',
  'resolved_at',
  'closed_at',
  'handle_due_at',
  'overdue',
  'rework_count',
] as const;
export type ExportColumn = (typeof EXPORT_COLUMNS)[number];
export type ExportRow = Record<ExportColumn, string | number | boolean | null>;

export const EXPORT_BATCH = 2000;

const dialect = new PgDialect({ casing: 'snake_case' });

/** An instant as ISO-8601 text in UTC, made in SQL so neither driver parses dates. */
const iso = (column: SQL) => sql`to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

function exportQuery(conditions: (SQL | undefined)[], now: Date, limit?: number): SQL {
  return sql`SELECT ${cases.id}::float8 AS id, ${cases.code} AS code, ${cases.status}::text AS status,
      ${cases.priority}::text AS priority, ${cases.source}::text AS source,
      cat.code AS category_code, cat.name AS category_name, ${cases.description} AS description,
      ${cases.address} AS address, ST_X(${cases.location}) AS lon, ST_Y(${cases.location}) AS lat,
      g.code AS grid_code, dist.name AS district, st.name AS street, dep.code AS department, au.username AS assignee,
      ${iso(sql`${cases.reportedAt}`)} AS reported_at, ${iso(sql`${cases.filedAt}`)} AS filed_at,
      ${iso(sql`${cases.dispatchedAt}`)} AS dispatched_at, ${iso(sql`${cases.resolvedAt}`)} AS resolved_at,
      ${iso(sql`${cases.closedAt}`)} AS closed_at, ${iso(sql`${cases.handleDueAt}`)} AS handle_due_at,
      ${overdueCondition(now)} AS overdue, ${cases.reworkCount} AS rework_count,
      ${cases.reportedAt}::text AS cursor_at
    FROM ${cases}
    JOIN categories cat ON cat.id = ${cases.categoryId}
    JOIN grid_cells g ON g.id = ${cases.gridCellId}
    LEFT JOIN regions dist ON dist.id = ${cases.districtId}
    LEFT JOIN regions st ON st.id = ${cases.streetId}
    LEFT JOIN departments dep ON dep.id = ${cases.departmentId}
    LEFT JOIN users au ON au.id = ${cases.assigneeId}
    WHERE ${and(...conditions) ?? sql`true`}
    ORDER BY ${cases.reportedAt} DESC, ${cases.id} DESC
    ${limit === undefined ? sql`` : sql`LIMIT ${limit}`}`;
}

type RawRow = ExportRow & { cursor_at: string };

function strip(row: RawRow): ExportRow {
  const { cursor_at: _cursor, ...rest } = row;
  return rest;
}

/**
 * The matching cases in batches, newest first. Stop early by leaving the loop (`break`): the
 * cursor and its transaction are closed in `finally`.
 */
export async function* exportCases(
  database: Database,
  actor: Actor,
  filter: CaseFilter | null | undefined,
  options: { batchSize?: number; now?: Date } = {},
): AsyncGenerator<ExportRow[]> {
  const batchSize = options.batchSize ?? EXPORT_BATCH;
  const now = options.now ?? new Date();
  const conditions = await caseFilterConditions(database.db, actor, filter, now);
  if (database.pool) {
    yield* cursorBatches(database, exportQuery(conditions, now), batchSize);
  } else {
    yield* keysetBatches(database.db, conditions, now, batchSize);
  }
}

async function* cursorBatches(
  database: Database,
  query: SQL,
  batchSize: number,
): AsyncGenerator<ExportRow[]> {
  const { sql: text, params } = dialect.sqlToQuery(query);
  const client = await database.pool!.connect();
  let open = false;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    open = true;
    // The export reads every row: plan for the whole result (hash joins), not for a fast first 10 %.
    await client.query('SET LOCAL cursor_tuple_fraction = 1.0');
    await client.query(`DECLARE citygrid_export NO SCROLL CURSOR FOR ${text}`, params as unknown[]);
    for (;;) {
      const result = await client.query<RawRow>(`FETCH FORWARD ${batchSize} FROM citygrid_export`);
      if (result.rows.length > 0) yield result.rows.map(strip);
      if (result.rows.length < batchSize) break;
    }
    await client.query('COMMIT');
    open = false;
  } finally {
    if (open) await client.query('ROLLBACK').catch(() => undefined);
    client.release();
  }
}

async function* keysetBatches(
  db: Executor,
  conditions: (SQL | undefined)[],
  now: Date,
  batchSize: number,
): AsyncGenerator<ExportRow[]> {
  let after: { at: string; id: number } | undefined;
  for (;;) {
    const page = after
      ? [
          ...conditions,
          sql`(${cases.reportedAt}, ${cases.id}) < (${after.at}::timestamptz, ${after.id}::bigint)`,
        ]
      : conditions;
    const batch = await rows<RawRow>(db, exportQuery(page, now, batchSize));
    if (batch.length > 0) yield batch.map(strip);
    if (batch.length < batchSize) return;
    const last = batch.at(-1)!;
    after = { at: last.cursor_at, id: Number(last.id) };
  }
}

/** Text cells that a spreadsheet would read as a formula get a leading apostrophe (CSV injection). */
const FORMULA_START = /^[=+\-@\t\r]/;
const TEXT_COLUMNS = new Set<ExportColumn>(['description', 'address', 'category_name', 'district', 'street']);

/** One CSV field (RFC 4180): quoted when it holds a quote, comma or line break; quotes doubled. */
export function csvField(value: string | number | boolean | null, column?: ExportColumn): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (column && TEXT_COLUMNS.has(column) && FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvHeader(): string {
  return `${EXPORT_COLUMNS.join(',')}\r\n`;
}

export function csvLines(batch: readonly ExportRow[]): string {
  let out = '';
  for (const row of batch) out += `${EXPORT_COLUMNS.map((c) => csvField(row[c], c)).join(',')}\r\n`;
  return out;
}

/** GeoJSON features of a batch, comma-separated, each a Point in WGS84 with the other columns as properties. */
export function geojsonFeatures(batch: readonly ExportRow[], first: boolean): string {
  const parts = batch.map((row) => {
    const { lon, lat, ...properties } = row;
    return JSON.stringify({
      type: 'Feature',
      id: row.id,
      geometry: { type: 'Point', coordinates: [lon, lat] },
      properties,
    });
  });
  return (first ? '' : ',') + parts.join(',');
}
