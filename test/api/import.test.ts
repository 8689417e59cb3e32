/**
 * The admin tools over a real database: importing places from GeoJSON (all or nothing, with a
 * report naming every invalid polygon, gap and overlap), answering `gridAt` from the imported
 * cells, splitting a community into cells, creating users — and the CLI itself, run as a process.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { rows } from '@citygrid/db';
import { createUser, importPlaces, runCli, splitCommunity } from '@citygrid/server';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase } from '../helpers/db';
import { startTestServer, type TestServer } from '../helpers/server';

const database = await testDatabase();
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer(database);
});
afterAll(() => server?.close());

const D = 1 / 128;
type Ring = [number, number][];
const square = (x: number, y: number, w = D, h = D): Ring => [
  [x, y],
  [x + w, y],
  [x + w, y + h],
  [x, y + h],
  [x, y],
];
const feature = (level: string, code: string, parent: string | null, ring: Ring) => ({
  type: 'Feature',
  properties: { level, code, name: `地点${code}`, name_en: `Place ${code}`, ...(parent ? { parent } : {}) },
  geometry: { type: 'Polygon', coordinates: [ring] },
});

/**
 * A city of two districts at (x0, y0), 4D × 2D: district A (west) down to a community cut into
 * four cells; district B down to a community without cells (for split-grid).
 */
function cityFile(x0: number, y0: number) {
  const code = `IMP${randomBytes(3).toString('hex')}`;
  const west = square(x0, y0, 2 * D, 2 * D);
  const east = square(x0 + 2 * D, y0, 2 * D, 2 * D);
  const cells = [square(x0, y0), square(x0 + D, y0), square(x0, y0 + D), square(x0 + D, y0 + D)].map(
    (ring, i) => feature('GRID', `${code}-A-G${i + 1}`, `${code}-A-S-C`, ring),
  );
  return {
    code,
    cells,
    features: [
      feature('CITY', code, null, square(x0, y0, 4 * D, 2 * D)),
      feature('DISTRICT', `${code}-A`, code, west),
      feature('DISTRICT', `${code}-B`, code, east),
      feature('STREET', `${code}-A-S`, `${code}-A`, west),
      feature('STREET', `${code}-B-S`, `${code}-B`, east),
      feature('COMMUNITY', `${code}-A-S-C`, `${code}-A-S`, west),
      feature('COMMUNITY', `${code}-B-S-C`, `${code}-B-S`, east),
      ...cells,
    ],
  };
}

const collection = (features: unknown[]) => ({ type: 'FeatureCollection', features });

async function placesCount(prefix: string): Promise<number> {
  const [r] = await rows<{ n: number }>(
    database.db,
    sql`SELECT ((SELECT count(*) FROM regions WHERE code LIKE ${`${prefix}%`})
              + (SELECT count(*) FROM grid_cells WHERE code LIKE ${`${prefix}%`}))::int AS n`,
  );
  return r!.n;
}

/** The first cell with a spike: a zero-width excursion makes the ring self-intersect. */
function withSpike(x: number, y: number): Ring {
  return [
    [x, y],
    [x + D, y],
    [x + D, y + D],
    [x, y + D],
    [x, y + D / 2],
    [x - D / 4, y + D / 2],
    [x, y + D / 2],
    [x, y],
  ];
}

describe('import-places', () => {
  it('reports an invalid polygon, a gap and an overlap together and imports nothing', async () => {
    const x0 = 100.5;
    const y0 = 30.25;
    const file = cityFile(x0, y0);
    const [g1, g2, g3, g4] = file.cells as [
      ReturnType<typeof feature>,
      ReturnType<typeof feature>,
      ReturnType<typeof feature>,
      ReturnType<typeof feature>,
    ];
    g1.geometry.coordinates = [withSpike(x0, y0)];
    // G2 reaches a quarter cell into G4's square (which it shares with nothing else) …
    g2.geometry.coordinates = [square(x0 + D, y0, D, D * 1.25)];
    // … and G3 is missing, leaving a gap.
    const features = file.features.filter((f) => f !== g3);
    expect(features).toContain(g4);

    const report = await importPlaces(database.db, collection(features), { source: 'bad.geojson' });
    expect(report.imported).toBe(false);
    const kinds = report.problems.map((p) => p.kind);
    expect(kinds).toContain('invalid-geometry');
    expect(kinds).toContain('gap');
    expect(kinds).toContain('overlap');

    const invalid = report.problems.find((p) => p.kind === 'invalid-geometry')!;
    expect(invalid.codes).toEqual([g1.properties.code]);
    expect(invalid.message).toMatch(/--repair/);
    const overlap = report.problems.find((p) => p.kind === 'overlap')!;
    expect(overlap.codes.sort()).toEqual([g2.properties.code, g4.properties.code].sort());
    // A quarter of a cell: about 1/4 × 868 m × 752 m at this latitude.
    expect(overlap.areaM2).toBeGreaterThan(100_000);
    expect(overlap.areaM2).toBeLessThan(250_000);
    const gap = report.problems.find((p) => p.kind === 'gap')!;
    expect(gap.codes).toEqual([`${file.code}-A-S-C`]);
    expect(gap.at!.lon).toBeGreaterThan(x0);
    expect(gap.at!.lon).toBeLessThan(x0 + D);
    expect(gap.at!.lat).toBeGreaterThan(y0 + D);

    expect(await placesCount(file.code)).toBe(0);
  });

  it('refuses bad structure: unknown parent, wrong level, a code already taken', async () => {
    const file = cityFile(100.75, 30.25);
    const orphan = feature('GRID', `${file.code}-X`, 'NO-SUCH-PARENT', square(100.75, 30.25));
    const wrongLevel = feature('GRID', `${file.code}-Y`, `${file.code}-A`, square(100.75, 30.25));
    const [{ code: taken }] = (await rows<{ code: string }>(
      database.db,
      sql`SELECT code FROM regions LIMIT 1`,
    )) as [{ code: string }];
    const clash = feature('COMMUNITY', taken, `${file.code}-A-S`, square(100.75, 30.25));
    const report = await importPlaces(database.db, collection([...file.features, orphan, wrongLevel, clash]));
    expect(report.imported).toBe(false);
    const messages = report.problems.map((p) => p.message).join('\n');
    expect(messages).toMatch(/NO-SUCH-PARENT/);
    expect(messages).toMatch(/is a DISTRICT, expected a COMMUNITY/);
    expect(report.problems.some((p) => p.kind === 'exists' && p.codes[0] === taken)).toBe(true);
    expect(await placesCount(file.code)).toBe(0);
  });

  it('imports a clean file, and gridAt answers from the new cells for a user of the new city', async () => {
    const x0 = 101.0;
    const y0 = 30.5;
    const file = cityFile(x0, y0);
    const report = await importPlaces(database.db, collection(file.features), { source: 'clean.geojson' });
    expect(report.problems).toEqual([]);
    expect(report.imported).toBe(true);
    expect(report.counts).toEqual({ CITY: 1, DISTRICT: 2, STREET: 2, COMMUNITY: 2, GRID: 4 });
    expect(await placesCount(file.code)).toBe(11);

    // Ancestors are filled in, so scope checks work on the new places.
    const [cell] = await rows<{
      city: string;
      district: string;
      street: string;
      community: string;
      area: number;
    }>(
      database.db,
      sql`SELECT city.code AS city, d.code AS district, s.code AS street, c.code AS community, g.area_m_2 AS area
          FROM grid_cells g JOIN regions c ON c.id = g.community_id JOIN regions s ON s.id = g.street_id
          JOIN regions d ON d.id = g.district_id JOIN regions city ON city.id = g.city_id
          WHERE g.code = ${`${file.code}-A-G4`}`,
    );
    expect(cell).toMatchObject({
      city: file.code,
      district: `${file.code}-A`,
      street: `${file.code}-A-S`,
      community: `${file.code}-A-S-C`,
    });
    expect(cell!.area).toBeGreaterThan(600_000);

    const user = await createUser(database.db, {
      username: `admin-${file.code}`,
      role: 'ADMIN',
      regionCode: file.code,
    });
    const token = await server.login(user.username, user.password);
    const { data, errors } = await server.graphql<{ gridAt: { code: string } | null }>(
      'query($p: PointInput!) { gridAt(location: $p) { code } }',
      { p: { lon: x0 + 1.5 * D, lat: y0 + 1.5 * D } },
      token,
    );
    expect(errors).toBeUndefined();
    expect(data!.gridAt).toEqual({ code: `${file.code}-A-G4` });

    // Importing the same file again is refused: every code is taken.
    const again = await importPlaces(database.db, collection(file.features));
    expect(again.imported).toBe(false);
    expect(again.problems.filter((p) => p.kind === 'exists')).toHaveLength(11);

    // The import is in the audit log.
    const [audit] = await rows<{ action: string; target: string }>(
      database.db,
      sql`SELECT action, target FROM admin_audit WHERE action = 'importPlaces' ORDER BY id DESC LIMIT 1`,
    );
    expect(audit).toEqual({ action: 'importPlaces', target: 'clean.geojson' });

    // split-grid: the cell-less community of district B, cut into cells of about 250,000 m².
    const split = await splitCommunity(database.db, { communityCode: `${file.code}-B-S-C`, areaM2: 250_000 });
    expect(split.cells).toBeGreaterThan(8);
    expect(split.maxAreaM2).toBeLessThanOrEqual(250_000 * 1.01);
    const [sum] = await rows<{ cells: number; community: number }>(
      database.db,
      sql`SELECT (SELECT sum(area_m_2) FROM grid_cells g JOIN regions c ON c.id = g.community_id
                  WHERE c.code = ${`${file.code}-B-S-C`})::float8 AS cells,
                 (SELECT ST_Area(geom::geography) FROM regions WHERE code = ${`${file.code}-B-S-C`})::float8 AS community`,
    );
    expect(Math.abs(sum!.cells - sum!.community) / sum!.community).toBeLessThan(0.001);
    const east = await server.graphql<{ gridAt: { code: string } | null }>(
      'query($p: PointInput!) { gridAt(location: $p) { code } }',
      { p: { lon: x0 + 3.3 * D, lat: y0 + 0.7 * D } },
      token,
    );
    expect(east.data!.gridAt!.code).toMatch(new RegExp(`^${file.code}-B-S-C-G\\d{3}$`));
    // A community that has cells is not split again.
    await expect(
      splitCommunity(database.db, { communityCode: `${file.code}-B-S-C`, areaM2: 250_000 }),
    ).rejects.toThrow(/already has/);
  });

  it('with --repair, imports the repaired polygon and says so', async () => {
    const x0 = 101.25;
    const y0 = 30.5;
    const file = cityFile(x0, y0);
    (file.cells[0] as ReturnType<typeof feature>).geometry.coordinates = [withSpike(x0, y0)];
    const report = await importPlaces(database.db, collection(file.features), { repair: true });
    expect(report.problems).toEqual([]);
    expect(report.imported).toBe(true);
    expect(report.repaired.map((r) => r.code)).toEqual([`${file.code}-A-G1`]);
    const [g] = await rows<{ valid: boolean; area: number }>(
      database.db,
      sql`SELECT ST_IsValid(geom) AS valid, area_m_2 AS area FROM grid_cells WHERE code = ${`${file.code}-A-G1`}`,
    );
    expect(g!.valid).toBe(true);
    expect(g!.area).toBeGreaterThan(600_000);
  });
});

describe('the CLI', () => {
  const exec = promisify(execFile);
  const serverDir = resolve(import.meta.dirname, '../../server');

  /** Runs a command line in-process against the test's database, capturing its output. */
  async function cli(argv: string[], cwd: string) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(argv, async () => ({ database, cwd }), {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      tty: false,
    });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  it('import-places: a refused file exits 1 with every problem listed; a clean one imports', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'citygrid-cli-'));
    try {
      const x0 = 101.5;
      const y0 = 30.5;
      const file = cityFile(x0, y0);
      const spiked = structuredClone(file.features);
      (
        spiked.find((f) => f.properties.code === `${file.code}-A-G1`) as ReturnType<typeof feature>
      ).geometry.coordinates = [withSpike(x0, y0)];
      writeFileSync(
        join(dir, 'bad.geojson'),
        JSON.stringify(collection(spiked.filter((f) => f.properties.code !== `${file.code}-A-G4`))),
      );
      const refused = await cli(['import-places', 'bad.geojson'], dir);
      expect(refused.code).toBe(1);
      expect(refused.err).toMatch(/refused: nothing was imported from bad\.geojson/);
      expect(refused.err).toMatch(/\[invalid-geometry\]/);
      expect(refused.err).toMatch(/\[gap\]/);
      expect(refused.err).toMatch(/import: \d\/6/);
      expect(await placesCount(file.code)).toBe(0);

      writeFileSync(join(dir, 'good.geojson'), JSON.stringify(collection(file.features)));
      const imported = await cli(['import-places', 'good.geojson'], dir);
      expect(imported).toMatchObject({ code: 0 });
      expect(imported.out).toMatch(
        /imported 1 CITY, 2 DISTRICT, 2 STREET, 2 COMMUNITY, 4 GRID from good\.geojson/,
      );
      expect(await placesCount(file.code)).toBe(11);

      const key = await cli(['issue-api-key', '--name', 'CLI test app'], dir);
      expect(key.code).toBe(0);
      expect(key.out).toMatch(/API key \d+ for "CLI test app" \(shown once\):\n\S{40,}/);
      expect(
        (await cli(['split-grid', '--community', `${file.code}-A-S-C`, '--area', '5000'], dir)).code,
      ).toBe(1);
      expect((await cli(['create-user', '--username', 'x'], dir)).code).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs as a process: usage errors exit 2 before touching any database', async () => {
    const env = { ...process.env, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' };
    const status = (argv: string[]) =>
      exec('npx', ['tsx', 'src/cli/main.ts', ...argv], { cwd: serverDir, env, timeout: 120_000 }).then(
        (r) => ({ code: 0, stdout: r.stdout, stderr: '' }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    const unknown = await status(['no-such-command']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "no-such-command"/);
    const help = await status(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/import-places <file\.geojson> \[--repair\]/);
  }, 240_000);
});
