/**
 * The migrations apply on both kinds of database, twice without effect the second time, and leave
 * what the architecture promises: PostGIS 3, SRID 4326 and a GiST index on every geometry column,
 * an append-only case event log, and a partitioned readings table.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Database, type Executor, migrate, migrationsFolder, rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase } from '../helpers/db';
import { testEnv } from '../helpers/env';
import { freshDatabase } from './fresh';

const journal = JSON.parse(readFileSync(join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as {
  entries: { tag: string }[];
};

interface Target {
  name: string;
  /** Opens (and for fresh ones, migrates twice) the database; returns how to dispose of it. */
  open(): Promise<{ database: Database; dispose(): Promise<void> }>;
}

const harness = await testDatabase();

const targets: Target[] = [
  {
    name: 'the harness database (migrated template clone)',
    open: async () => ({ database: harness, dispose: async () => {} }),
  },
  {
    name: 'a fresh in-memory PGlite',
    open: async () => {
      // freshDatabase migrates once; the second run must find nothing to do.
      const fresh = await freshDatabase('embedded');
      await migrate(fresh.database);
      return fresh;
    },
  },
];
if (testEnv.databaseUrl) {
  targets.push({
    name: 'a fresh PostgreSQL database',
    open: async () => {
      const fresh = await freshDatabase('postgres');
      await migrate(fresh.database);
      return fresh;
    },
  });
}

/** The message of a failed query, including the driver's cause (drizzle wraps it). */
async function failure(query: Promise<unknown>): Promise<string> {
  try {
    await query;
  } catch (error) {
    const e = error as Error & { cause?: Error };
    return `${e.message} ${e.cause?.message ?? ''}`;
  }
  throw new Error('the statement succeeded but should have been refused');
}

/** An event id to tamper with: any existing one, or one written on a minimal place and category. */
async function someEvent(db: Executor): Promise<number> {
  const [existing] = await rows<{ id: number }>(db, sql`SELECT min(id)::int AS id FROM case_events`);
  if (existing?.id) return existing.id;
  const square = sql`ST_SetSRID(ST_MakeEnvelope(120, 30, 120.01, 30.01), 4326)`;
  const [made] = await rows<{ id: number }>(
    db,
    sql`WITH city AS (
          INSERT INTO regions (level, code, name, name_en, geom, centroid)
          VALUES ('CITY', 'M1', 'm', 'm', ST_Multi(${square}), ST_PointOnSurface(${square})) RETURNING id
        ),
        cell AS (
          INSERT INTO grid_cells (code, name, community_id, street_id, district_id, city_id, geom, area_m_2)
          SELECT 'M1-001', 'm', id, id, id, id, ${square}, 1 FROM city RETURNING *
        ),
        category AS (
          INSERT INTO categories (code, kind, major_code, minor_code, name, name_en, major_name, major_name_en)
          VALUES ('M-01', 'EVENT', 'M', '01', 'm', 'm', 'm', 'm') RETURNING id
        ),
        kase AS (
          INSERT INTO cases (code, category_id, description, location, grid_cell_id, community_id, street_id,
                             district_id, city_id, source)
          SELECT 'TRM', category.id, 'm', ST_SetSRID(ST_MakePoint(120.005, 30.005), 4326), cell.id, cell.community_id,
                 cell.street_id, cell.district_id, cell.city_id, 'HOTLINE'
          FROM cell, category RETURNING id
        )
        INSERT INTO case_events (case_id, seq, action, to_status)
        SELECT id, 1, 'REPORT', 'REPORTED' FROM kase RETURNING id::int AS id`,
  );
  if (!made) throw new Error('could not write a case event');
  return made.id;
}

describe.each(targets)('migrations on $name', (target) => {
  let database: Database;
  let dispose: () => Promise<void>;
  let db: Executor;

  beforeAll(async () => {
    ({ database, dispose } = await target.open());
    db = database.db;
    // A fresh embedded PostGIS takes 10–25 s alone, and minutes on a loaded machine.
  }, 600_000);
  afterAll(() => dispose?.());

  it('records each migration of the journal exactly once', async () => {
    const [row] = await rows<{ n: number }>(
      db,
      sql`SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations`,
    );
    expect(row?.n).toBe(journal.entries.length);
  });

  it('runs on PostGIS 3.3 or newer', async () => {
    const [row] = await rows<{ version: string }>(db, sql`SELECT postgis_lib_version() AS version`);
    const [major, minor] = (row?.version ?? '0.0').split('.').map(Number);
    expect(major).toBe(3);
    expect(minor).toBeGreaterThanOrEqual(3);
  });

  it('gives every geometry column SRID 4326 and a GiST index', async () => {
    const columns = await rows<{ table: string; column: string; srid: number | null; gist: boolean }>(
      db,
      sql`SELECT c.relname AS "table", a.attname AS "column", gc.srid,
                 EXISTS (
                   SELECT 1 FROM pg_index i
                   JOIN pg_class ic ON ic.oid = i.indexrelid
                   JOIN pg_am am ON am.oid = ic.relam
                   WHERE i.indrelid = c.oid AND am.amname = 'gist' AND a.attnum = ANY (i.indkey)
                 ) AS gist
          FROM pg_attribute a
          JOIN pg_class c ON c.oid = a.attrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
          LEFT JOIN geometry_columns gc
            ON gc.f_table_schema = n.nspname AND gc.f_table_name = c.relname AND gc.f_geometry_column = a.attname
          WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
            AND a.attnum > 0 AND NOT a.attisdropped AND a.atttypid = 'geometry'::regtype
          ORDER BY 1, 2`,
    );
    // regions.geom/centroid, grid_cells, cases, worker_positions, worker_tracks, sensors at least.
    expect(columns.length).toBeGreaterThanOrEqual(7);
    expect(columns.filter((c) => c.srid !== 4326)).toEqual([]);
    expect(columns.filter((c) => !c.gist)).toEqual([]);
  });

  it('partitions readings by time', async () => {
    const [row] = await rows<{ kind: string; partitions: number }>(
      db,
      sql`SELECT c.relkind::text AS kind, (SELECT count(*)::int FROM pg_inherits WHERE inhparent = c.oid) AS partitions
          FROM pg_class c WHERE c.relname = 'readings' AND c.relnamespace = 'public'::regnamespace`,
    );
    expect(row?.kind).toBe('p');
    expect(row?.partitions).toBeGreaterThan(0);
  });

  it('refuses UPDATE, DELETE and TRUNCATE of case events', async () => {
    const id = await someEvent(db);
    const before = await rows(db, sql`SELECT * FROM case_events WHERE id = ${id}`);
    expect(await failure(db.execute(sql`UPDATE case_events SET note = 'edited' WHERE id = ${id}`))).toMatch(
      /append-only/,
    );
    expect(await failure(db.execute(sql`DELETE FROM case_events WHERE id = ${id}`))).toMatch(/append-only/);
    expect(await failure(db.execute(sql`TRUNCATE case_events CASCADE`))).toMatch(/append-only/);
    expect(await rows(db, sql`SELECT * FROM case_events WHERE id = ${id}`)).toEqual(before);
  });
});
