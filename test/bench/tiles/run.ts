/**
 * Vector-tile benchmark: `pnpm --filter @citygrid/test bench:tiles` (needs DATABASE_URL).
 *
 * With the bench city (the demo city plus cases up to BENCH_CASES = 1,000,000; see city.ts), for
 * each layer (grid_cells, cases with all statuses, cases_open = the cases layer with the open
 * statuses only, sensors) and zoom 10, 12, 14, 17, over every tile of the city, BENCH_CONCURRENCY (4)
 * clients and BENCH_SECONDS (4) per figure:
 *   - HTTP cold: the first request for each tile since the server's tile cache was emptied (a
 *     `citygrid_tiles` notice that drops everything before each pass over the tiles),
 *   - HTTP warm: the same tiles again, round-robin (served from memory while nothing changes),
 *   - SQL: the SQL tile function directly (`SELECT citygrid_tiles_<layer>(z, x, y, params)`),
 * printing tiles/s, p50/p99 latency and mean tile size (commander's token, no ETag sent). Goals at
 * z14: grid cells ≥ 1,000 tiles/s, cases ≥ 150 tiles/s. The machine's other load shows in the
 * numbers; the SQL column is the baseline measured in the same run.
 *
 * The `points` column counts the cases tiles that hold one point per case; the others hold counts
 * per grid cell (all below z14; from z14 those that would hold more than 2,000 cases, migration
 * 0010). Last, the z14 tiles that hold counts are drawn as points instead, in SQL, for what that
 * would cost.
 */

import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '@citygrid/db';
import { buildApp, createLogger, loadConfig } from '@citygrid/server';
import pg from 'pg';
import { tileOf } from '../../helpers/tiles';
import { ensureBenchCity } from './city';

const adminUrl = process.env.DATABASE_URL;
if (!adminUrl) throw new Error('bench:tiles needs DATABASE_URL (a real PostgreSQL + PostGIS)');
const CASES = Number(process.env.BENCH_CASES ?? 1_000_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const ZOOMS = (process.env.BENCH_ZOOMS ?? '10,12,14,17').split(',').map(Number);
const LAYERS = (process.env.BENCH_LAYERS ?? 'grid_cells,cases,cases_open,sensors').split(',');
/** What the map shows as open (the choropleth's sense: not closed, not rejected). */
const OPEN_STATUSES = 'REPORTED,FILED,DISPATCHED,IN_PROGRESS,RESOLVED';

const url = await ensureBenchCity(adminUrl, CASES, process.env.BENCH_FRESH === '1');
const pool = new pg.Pool({ connectionString: url, max: CONCURRENCY });
const { rows: extent } = await pool.query(
  'SELECT ST_XMin(e) AS w, ST_YMin(e) AS s, ST_XMax(e) AS e, ST_YMax(e) AS n FROM (SELECT ST_Extent(geom) AS e FROM grid_cells) x',
);
const box = extent[0] as { w: number; s: number; e: number; n: number };
const caseCount = Number((await pool.query('SELECT count(*) AS n FROM cases')).rows[0].n);
const { rows: cityRows } = await pool.query(
  "SELECT id FROM regions WHERE level = 'CITY' ORDER BY id LIMIT 1",
);
const scopeParams = { scope_level: 'CITY', scope_region: Number(cityRows[0].id) };

const config = {
  ...loadConfig({
    JWT_SECRET: 'citygrid-bench-secret-0123456789abcdef0123456789',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'citygrid-bench-tiles-')),
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    PORT: '0',
  }),
  escalationIntervalSeconds: null,
};
const database = await openDatabase({ url, poolSize: CONCURRENCY + 2 });
const app = await buildApp({ config, database, logger: createLogger(config) });
const server = app.app.listen(0, '127.0.0.1');
await new Promise<void>((resolve) => server.once('listening', () => resolve()));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
const login = await fetch(`${base}/graphql`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({
    query: 'mutation { login(username: "commander", password: "citygrid") { token } }',
  }),
});
const token = ((await login.json()) as { data: { login: { token: string } } }).data.login.token;

function tilesAt(z: number): { x: number; y: number }[] {
  const nw = tileOf({ lon: box.w, lat: box.n }, z);
  const se = tileOf({ lon: box.e, lat: box.s }, z);
  const out = [];
  for (let x = nw.x; x <= se.x; x++) for (let y = nw.y; y <= se.y; y++) out.push({ x, y });
  return out;
}

function getTile(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(`${base}${path}`, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
        });
        res.on('end', () =>
          res.statusCode === 200 ? resolve(bytes) : reject(new Error(`${path}: ${res.statusCode}`)),
        );
      })
      .on('error', reject);
  });
}

interface Figures {
  rate: number;
  p50: number;
  p99: number;
  size: number;
}

function summarize(latencies: number[], bytes: number, elapsed: number): Figures {
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  return { rate: latencies.length / elapsed, p50: pct(0.5), p99: pct(0.99), size: bytes / latencies.length };
}

/** Round-robin over `count` items by CONCURRENCY clients for SECONDS. */
async function measure(fetchOne: (i: number) => Promise<number>): Promise<Figures> {
  const latencies: number[] = [];
  let bytes = 0;
  let next = 0;
  const until = performance.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until) {
        const t0 = performance.now();
        bytes += await fetchOne(next++);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return summarize(latencies, bytes, (performance.now() - started) / 1000);
}

/**
 * First requests only: passes over every tile, each tile once per pass, the server's cache emptied
 * before each pass by the same notice the triggers send (delivered before the pass's first
 * request is served: the server syncs with its notices before answering from memory).
 */
async function measureCold(count: number, fetchOne: (i: number) => Promise<number>): Promise<Figures> {
  const latencies: number[] = [];
  let bytes = 0;
  const until = performance.now() + SECONDS * 1000;
  const started = performance.now();
  do {
    await pool.query(`SELECT pg_notify('citygrid_tiles', '{"layer":"*"}')`);
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(CONCURRENCY, count) }, async () => {
        for (let i = next++; i < count; i = next++) {
          const t0 = performance.now();
          bytes += await fetchOne(i);
          latencies.push(performance.now() - t0);
        }
      }),
    );
  } while (performance.now() < until);
  return summarize(latencies, bytes, (performance.now() - started) / 1000);
}

/** The tiles that hold per-cell counts rather than case points at a zoom from 14 (migration 0010). */
async function denseTiles(
  z: number,
  tiles: { x: number; y: number }[],
  open: boolean,
): Promise<{ x: number; y: number }[]> {
  const dense = [];
  for (const t of tiles) {
    const { rows } = await pool.query(
      `SELECT citygrid_tile_case_points_dense($1, $2, $3, $4, $5, $6, null, null, null) AS dense`,
      [
        z,
        t.x,
        t.y,
        scopeParams.scope_level,
        scopeParams.scope_region,
        open ? OPEN_STATUSES.split(',') : null,
      ],
    );
    if (rows[0].dense) dense.push(t);
  }
  return dense;
}

const row = (f: Figures, withSize: boolean) =>
  `${f.rate.toFixed(0).padStart(8)} ${f.p50.toFixed(1).padStart(7)} ${f.p99.toFixed(1).padStart(7)}${withSize ? ` ${(f.size / 1024).toFixed(0).padStart(5)}` : ''}`;

console.log(
  `\n${caseCount.toLocaleString()} cases; ${CONCURRENCY} clients, ${SECONDS} s per figure; all tiles over the city per zoom\n`,
);
console.log(
  'layer       z  tiles points | HTTP cold tiles/s  p50 ms  p99 ms    KB | HTTP warm tiles/s  p50 ms  p99 ms | SQL tiles/s  p50 ms  p99 ms',
);
/** The z14 cases tiles (all statuses) that hold counts, found while measuring them. */
let dense14: { x: number; y: number }[] | undefined;
for (const name of LAYERS) {
  const layer = name === 'cases_open' ? 'cases' : name;
  const query = name === 'cases_open' ? `?status=${OPEN_STATUSES}` : '';
  const params = JSON.stringify(
    name === 'cases_open' ? { ...scopeParams, status: OPEN_STATUSES } : scopeParams,
  );
  for (const z of ZOOMS) {
    const tiles = tilesAt(z);
    const path = (i: number) => {
      const t = tiles[i % tiles.length]!;
      return `/tiles/${layer}/${z}/${t.x}/${t.y}.mvt${query}`;
    };
    // Warm the plans and the database's buffers once, then measure.
    await getTile(path(0));
    const cold = await measureCold(tiles.length, (i) => getTile(path(i)));
    const warm = await measure((i) => getTile(path(i)));
    const viaSql = await measure(async (i) => {
      const t = tiles[i % tiles.length]!;
      const { rows } = await pool.query(`SELECT citygrid_tiles_${layer}($1, $2, $3, $4::json) AS tile`, [
        z,
        t.x,
        t.y,
        params,
      ]);
      return (rows[0].tile as Buffer | null)?.length ?? 0;
    });
    const dense = layer === 'cases' && z >= 14 ? await denseTiles(z, tiles, name === 'cases_open') : [];
    if (name === 'cases' && z === 14) dense14 = dense;
    // Below z14 every cases tile holds counts.
    const points = layer === 'cases' ? String(z < 14 ? 0 : tiles.length - dense.length) : '-';
    console.log(
      `${name.padEnd(10)} ${String(z).padStart(2)} ${String(tiles.length).padStart(6)} ${points.padStart(6)} |         ${row(cold, true)} |         ${row(warm, false)} |   ${row(viaSql, false)}`,
    );
  }
}

// What the dense tiles would cost drawn as points (as before migration 0010): the z14 tiles that
// hold counts, through ST_AsMVT over every one of their cases.
dense14 ??= await denseTiles(14, tilesAt(14), false);
if (dense14.length > 0) {
  const asPoints = await measure(async (i) => {
    const t = dense14[i % dense14.length]!;
    const { rows } = await pool.query(
      `SELECT ST_AsMVT(r.*, 'cases', 4096, 'geom', 'id') AS tile
       FROM citygrid_tile_case_points_rows(14, $1, $2, $3, $4, null, null, null, null) r`,
      [t.x, t.y, scopeParams.scope_level, scopeParams.scope_region],
    );
    return (rows[0].tile as Buffer | null)?.length ?? 0;
  });
  console.log(
    `\nthe ${dense14.length} dense z14 case tiles drawn as points instead (SQL): ${asPoints.rate.toFixed(0)} tiles/s, p50 ${asPoints.p50.toFixed(1)} ms, p99 ${asPoints.p99.toFixed(1)} ms, ${(asPoints.size / 1024).toFixed(0)} KB`,
  );
}

server.closeAllConnections();
server.close();
agent.destroy();
await app.close();
await database.close();
await pool.end();
