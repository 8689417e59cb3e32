/**
 * The per-cell case counts kept by migration 0007's triggers (case_cell_counts) against a fresh
 * count of the cases table: after random multi-row inserts, status changes, moves between cells
 * and districts, deadline and hold changes, deletes and rolled-back writes, the table, the
 * choropleth's counts (open, overdue; city and district scope) and the cases tiles' per-cell counts
 * (all statuses and a chosen few) all equal what counting every case gives.
 */
import { rows } from '@citygrid/db';
import { type CaseStatus, caseStatus } from '@citygrid/db/schema';
import { cellStatsBody } from '@citygrid/server';
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import { beforeAll, describe, expect, test } from 'vitest';
import { testDatabase } from '../helpers/db';
import { tileOf } from '../helpers/tiles';
import { makeCategory, makeTestCity, type TestCity } from './factories';

const database = await testDatabase();
const db = database.db;
let city: TestCity;
let cells: number[];
let categoryId: number;

const STATUSES = caseStatus.enumValues;
type Status = CaseStatus;

/** A case to write: its cell (index into `cells`), status, deadline and hold, in hours from now. */
interface NewCase {
  cell: number;
  status: Status;
  dueInHours: number | null;
  heldHoursAgo: number | null;
}

/**
 * What the test does to the cases it made. `pick` chooses among them by index (modulo how many
 * there are). Deadlines and holds lie whole hours from now, so no case becomes overdue while a run
 * lasts.
 */
type Step =
  | { kind: 'insert'; cases: NewCase[] }
  | { kind: 'status'; pick: number[]; status: Status }
  | { kind: 'move'; pick: number[]; cell: number }
  | { kind: 'deadline'; pick: number[]; dueInHours: number | null; heldHoursAgo: number | null }
  | { kind: 'delete'; pick: number[] }
  | { kind: 'rolled back'; cases: NewCase[]; pick: number[]; status: Status };

const status = fc.constantFrom(...STATUSES);
const dueInHours = fc.option(
  fc.integer({ min: -72, max: 72 }).filter((h) => h !== 0),
  { nil: null },
);
const heldHoursAgo = fc.option(fc.integer({ min: 1, max: 72 }), { nil: null });
const newCase = fc.record({ cell: fc.integer({ min: 0, max: 7 }), status, dueInHours, heldHoursAgo });
const pick = fc.array(fc.nat(), { minLength: 1, maxLength: 4 });
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('insert' as const),
    cases: fc.array(newCase, { minLength: 1, maxLength: 6 }),
  }),
  fc.record({ kind: fc.constant('status' as const), pick, status }),
  fc.record({ kind: fc.constant('move' as const), pick, cell: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('deadline' as const), pick, dueInHours, heldHoursAgo }),
  fc.record({ kind: fc.constant('delete' as const), pick }),
  fc.record({
    kind: fc.constant('rolled back' as const),
    cases: fc.array(newCase, { minLength: 1, maxLength: 3 }),
    pick,
    status,
  }),
);

/** Several cases in one INSERT statement, as a batch of reports writes them. */
function insertCases(cases: NewCase[]) {
  const values = cases.map(
    (c, i) =>
      sql`(${i}::int, ${cells[c.cell]}::bigint, ${c.status}::case_status, ${c.dueInHours}::int, ${c.heldHoursAgo}::int)`,
  );
  return sql`INSERT INTO cases (code, status, version, category_id, description, location, grid_cell_id, community_id,
                                street_id, district_id, city_id, source, handle_due_at, on_hold_since)
             SELECT 'CC' || gen_random_uuid(), v.status, 1, ${categoryId}::bigint, 'counted case', ST_PointOnSurface(g.geom),
                    g.id, g.community_id, g.street_id, g.district_id, g.city_id, 'WORKER',
                    now() + make_interval(hours => v.due), now() - make_interval(hours => v.held)
             FROM (VALUES ${sql.join(values, sql`, `)}) AS v(i, cell, status, due, held)
             JOIN grid_cells g ON g.id = v.cell
             ORDER BY v.i
             RETURNING id::int AS id`;
}

/** Ids as one array parameter (drizzle spreads a JS array into a list, which cannot be empty). */
function idList(ids: number[]) {
  return sql`${`{${ids.join(',')}}`}::bigint[]`;
}

function chosen(ids: number[], pick: number[]): number[] {
  return ids.length === 0 ? [] : [...new Set(pick.map((p) => ids[p % ids.length]!))];
}

async function apply(ids: number[], s: Step): Promise<void> {
  switch (s.kind) {
    case 'insert': {
      const made = await rows<{ id: number }>(db, insertCases(s.cases));
      ids.push(...made.map((m) => m.id));
      return;
    }
    case 'status':
      await db.execute(
        sql`UPDATE cases SET status = ${s.status}::case_status WHERE id = ANY (${idList(chosen(ids, s.pick))})`,
      );
      return;
    case 'move':
      // To another cell, and with it (for half the cells) another district.
      await db.execute(sql`
        UPDATE cases c SET grid_cell_id = g.id, community_id = g.community_id, street_id = g.street_id,
                           district_id = g.district_id, city_id = g.city_id, location = ST_PointOnSurface(g.geom)
        FROM grid_cells g
        WHERE g.id = ${cells[s.cell]} AND c.id = ANY (${idList(chosen(ids, s.pick))})`);
      return;
    case 'deadline':
      await db.execute(sql`
        UPDATE cases SET handle_due_at = now() + make_interval(hours => ${s.dueInHours}::int),
                         on_hold_since = now() - make_interval(hours => ${s.heldHoursAgo}::int)
        WHERE id = ANY (${idList(chosen(ids, s.pick))})`);
      return;
    case 'delete': {
      const gone = chosen(ids, s.pick);
      await db.execute(sql`DELETE FROM cases WHERE id = ANY (${idList(gone)})`);
      ids.splice(0, ids.length, ...ids.filter((id) => !gone.includes(id)));
      return;
    }
    case 'rolled back':
      await db
        .transaction(async (tx) => {
          await tx.execute(insertCases(s.cases));
          await tx.execute(
            sql`UPDATE cases SET status = ${s.status}::case_status WHERE id = ANY (${idList(chosen(ids, s.pick))})`,
          );
          tx.rollback();
        })
        .catch((error: unknown) => {
          if (!(error instanceof Error) || !/rollback/i.test(error.message)) throw error;
        });
      return;
  }
}

/** The kept table equals a fresh count (zero rows may stay; no count is ever negative). */
async function expectTableCounted(): Promise<void> {
  const differences = await rows<Record<string, unknown>>(
    db,
    sql`WITH kept AS (
          SELECT grid_cell_id, status, community_id, street_id, district_id, city_id, cases
          FROM case_cell_counts WHERE cases <> 0
        ), counted AS (
          SELECT grid_cell_id, status, community_id, street_id, district_id, city_id, count(*)::int AS cases
          FROM cases GROUP BY 1, 2, 3, 4, 5, 6
        )
        (SELECT 'kept' AS side, * FROM kept EXCEPT SELECT 'kept', * FROM counted)
        UNION ALL
        (SELECT 'counted', * FROM counted EXCEPT SELECT 'counted', * FROM kept)`,
  );
  expect(differences).toEqual([]);
}

/** The choropleth's counts for a commander of `regionId`, beside counting the region's cases. */
async function expectStatsCounted(regionId: number, column: 'city_id' | 'district_id'): Promise<void> {
  const body = await cellStatsBody(database, { id: 1, role: 'COMMANDER', regionId });
  const served = (JSON.parse(Buffer.from(body.bytes).toString('utf8')) as { cells: number[][] }).cells;
  const counted = await rows<{ id: number; open: number; overdue: number }>(
    db,
    sql`SELECT grid_cell_id::int AS id, count(*)::int AS open,
               (count(*) FILTER (WHERE coalesce(handle_due_at < coalesce(on_hold_since, now()), false)
                                   AND status <> 'RESOLVED'))::int AS overdue
        FROM cases
        WHERE status NOT IN ('CLOSED', 'REJECTED') AND ${sql.identifier(column)} = ${regionId}
        GROUP BY grid_cell_id ORDER BY grid_cell_id`,
  );
  expect(served).toEqual(counted.map((c) => [c.id, c.open, c.overdue]));
}

/** The tile (holding the whole test city) of per-cell counts, beside counting the cases of each cell. */
async function expectTileCounted(statuses: Status[] | null): Promise<void> {
  const { x, y } = tileOf(city.origin, 10);
  const list = statuses ? sql`${`{${statuses.join(',')}}`}::text[]` : sql`NULL::text[]`;
  const served = await rows<{ id: number; count: number; open: number; overdue: number }>(
    db,
    sql`SELECT id::int AS id, count, open, overdue
        FROM citygrid_tile_case_cells_rows(10, ${x}::int, ${y}::int, 'CITY', ${city.cityId}::bigint, ${list},
                                           NULL, NULL, NULL)
        ORDER BY id`,
  );
  const counted = await rows<{ id: number; count: number; open: number; overdue: number }>(
    db,
    sql`SELECT grid_cell_id::int AS id, count(*)::int AS count,
               (count(*) FILTER (WHERE status NOT IN ('CLOSED', 'REJECTED')))::int AS open,
               (count(*) FILTER (WHERE coalesce(handle_due_at < coalesce(on_hold_since, now()), false)
                                   AND status NOT IN ('RESOLVED', 'CLOSED', 'REJECTED')))::int AS overdue
        FROM cases
        WHERE grid_cell_id = ANY (${idList(cells)}) AND (${list} IS NULL OR status::text = ANY (${list}))
        GROUP BY grid_cell_id ORDER BY grid_cell_id`,
  );
  expect(served).toEqual(counted);
}

beforeAll(async () => {
  city = await makeTestCity(db);
  cells = [...city.districts.A.cells, ...city.districts.B.cells];
  categoryId = (await makeCategory(db)).id;
});

describe('case_cell_counts', () => {
  test('holds the demo city as counted when the migration ran', async () => {
    await expectTableCounted();
    const [kept] = await rows<{ n: number }>(db, sql`SELECT sum(cases)::int AS n FROM case_cell_counts`);
    expect(kept?.n).toBeGreaterThan(0);
  });

  test('matches a fresh count after any sequence of writes, and so do the choropleth and the tiles', async () => {
    const ids: number[] = [];
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: 1, maxLength: 8 }),
        fc.subarray([...STATUSES], { minLength: 1 }),
        async (steps, someStatuses) => {
          for (const s of steps) await apply(ids, s);
          await expectTableCounted();
          await expectStatsCounted(city.cityId, 'city_id');
          await expectStatsCounted(city.districts.A.id, 'district_id');
          await expectTileCounted(null);
          await expectTileCounted(someStatuses);
        },
      ),
      { numRuns: 30 },
    );
    // The runs did write: cases in several cells and statuses are being counted.
    const [made] = await rows<{ n: number }>(
      db,
      sql`SELECT count(*)::int AS n FROM cases WHERE grid_cell_id = ANY (${idList(cells)})`,
    );
    expect(made?.n).toBeGreaterThan(0);
  });

  test('concurrent reports into one cell are all counted', async () => {
    const cell = city.districts.B.cells[3];
    const before = await rows<{ n: number }>(
      db,
      sql`SELECT coalesce(sum(cases), 0)::int AS n FROM case_cell_counts WHERE grid_cell_id = ${cell}`,
    );
    await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        db.execute(
          insertCases([{ cell: 7, status: i % 2 ? 'REPORTED' : 'FILED', dueInHours: 1, heldHoursAgo: null }]),
        ),
      ),
    );
    const after = await rows<{ n: number }>(
      db,
      sql`SELECT coalesce(sum(cases), 0)::int AS n FROM case_cell_counts WHERE grid_cell_id = ${cell}`,
    );
    expect(after[0]!.n - before[0]!.n).toBe(24);
    await expectTableCounted();
  });

  test('concurrent batches over the same cells, in opposite orders, neither deadlock nor miscount', async () => {
    const [before] = await rows<{ n: number }>(db, sql`SELECT sum(cases)::int AS n FROM case_cell_counts`);
    const batch = (reversed: boolean): NewCase[] => {
      const order = [0, 1, 2, 3, 4, 5, 6, 7];
      return (reversed ? order.reverse() : order).map((cell) => ({
        cell,
        status: 'REPORTED',
        dueInHours: 2,
        heldHoursAgo: null,
      }));
    };
    // Each transaction keeps its counter rows locked a moment after its statement, so the others'
    // statements meet those locks while holding their own.
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        db.transaction(async (tx) => {
          await tx.execute(insertCases(batch(i % 2 === 1)));
          await tx.execute(sql`SELECT pg_sleep(0.05)`);
        }),
      ),
    );
    const [after] = await rows<{ n: number }>(db, sql`SELECT sum(cases)::int AS n FROM case_cell_counts`);
    expect(after!.n - before!.n).toBe(64);
    await expectTableCounted();
  });
});
