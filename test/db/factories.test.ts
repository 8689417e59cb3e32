/** The shared factories write cases that obey the same invariants as the seeded history. */
import { rows } from '@citygrid/db';
import type { CaseStatus } from '@citygrid/db/schema';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { makeCase, pointInGrid, someGridCode, userId } from '../factories';
import { testDatabase } from '../helpers/db';
import { caseViolations } from './case-invariants';

const database = await testDatabase();
const db = database.db;

describe('makeCase', () => {
  it.each<[CaseStatus, number]>([
    ['REPORTED', 1],
    ['REJECTED', 2],
    ['FILED', 2],
    ['DISPATCHED', 3],
    ['IN_PROGRESS', 4],
    ['RESOLVED', 5],
    ['CLOSED', 6],
  ])('writes a %s case with a consistent trail of %i events', async (status, version) => {
    const made = await makeCase(db, { status, categoryCode: '13-02', at: new Date('2026-11-20T02:00:00Z') });
    expect(made).toMatchObject({ status, version });
    expect(made.code).toMatch(/^TR20261120\d{6}$/);
    expect(await caseViolations(db, [made.id])).toEqual([]);
  });

  it('puts the case in the grid cell it was asked for', async () => {
    const gridCode = await someGridCode(db, 42);
    const made = await makeCase(db, { gridCode });
    const [cell] = await rows<{ code: string }>(
      db,
      sql`SELECT code FROM grid_cells WHERE id = ${made.gridCellId}`,
    );
    expect(cell?.code).toBe(gridCode);
  });
});

describe('pointInGrid', () => {
  it('gives a point inside the cell', async () => {
    const gridCode = await someGridCode(db, 7);
    const p = await pointInGrid(db, gridCode);
    const [row] = await rows<{ inside: boolean }>(
      db,
      sql`SELECT ST_Contains(geom, ST_SetSRID(ST_MakePoint(${p.lon}::float8, ${p.lat}::float8), 4326)) AS inside
          FROM grid_cells WHERE code = ${gridCode}`,
    );
    expect(row?.inside).toBe(true);
  });

  it('refuses an unknown cell', async () => {
    await expect(pointInGrid(db, 'no-such-cell')).rejects.toThrow(/no grid cell/);
  });
});

describe('userId', () => {
  it('finds the demo users by name', async () => {
    expect(await userId(db, 'commander')).toBeGreaterThan(0);
    await expect(userId(db, 'nobody')).rejects.toThrow(/no user/);
  });
});
