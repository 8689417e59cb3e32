/**
 * Vector-tile benchmark: `pnpm --filter @citygrid/test bench:tiles` (needs DATABASE_URL).
 *
 * With the bench city (the demo city plus cases up to BENCH_CASES = 1,000,000; see city.ts), for
 * each layer (grid_cells, cases, sensors) and zoom 10, 12, 14: every tile over the city, fetched
 * round-robin for BENCH_SECONDS (4) by BENCH_CONCURRENCY (4) clients
 *   - through HTTP (`GET /tiles/…` on a server in this process, commander's token, no ETag sent),
 *   - from the SQL tile function directly (`SELECT citygrid_tiles_<layer>(z, x, y, params)`),
 * printing tiles/s, p50/p99 latency and mean tile size. Goals at z14: grid cells ≥ 1,000 tiles/s,
 * cases ≥ 150 tiles/s. The machine's other load shows in the numbers.
 */

import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '@citygrid/db';
import { buildApp, createLogger, loadConfig } from '@citygrid/server';
import pg from 'pg';
import { ensureBenchCity } from './city';

const adminUrl = process.env.DATABASE_URL;
if (!adminUrl) throw new Error('bench:tiles needs DATABASE_URL (a real PostgreSQL + PostGIS)');
const CASES = Number(process.env.BENCH_CASES ?? 1_000_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const ZOOMS = (process.env.BENCH_ZOOMS ?? '10,12,14').split(',').map(Number);
const LAYERS = (process.env.BENCH_LAYERS ?? 'grid_cells,cases,sensors').split(',');

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
const params = JSON.stringify({ scope_level: 'CITY', scope_region: Number(cityRows[0].id) });

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

function tileOf(lon: number, lat: number, z: number) {
  const n = 2 ** z;
  const rad = (lat * Math.PI) / 180;
  return {
    x: Math.floor(((lon + 180) / 360) * n),
    y: Math.floor(((1 - Math.log(Math.tan(rad) + 1 / Math.cos(rad)) / Math.PI) / 2) * n),
  };
}

function tilesAt(z: number): { x: number; y: number }[] {
  const nw = tileOf(box.w, box.n, z);
  const se = tileOf(box.e, box.s, z);
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

async function measure(fetchOne: (i: number) => Promise<number>) {
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
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  return { rate: latencies.length / elapsed, p50: pct(0.5), p99: pct(0.99), size: bytes / latencies.length };
}

console.log(
  `\n${caseCount.toLocaleString()} cases; ${CONCURRENCY} clients, ${SECONDS} s per cell; all tiles over the city per zoom\n`,
);
console.log('layer       z  tiles |  HTTP tiles/s  p50 ms  p99 ms   KB |  SQL tiles/s  p50 ms  p99 ms');
for (const layer of LAYERS) {
  for (const z of ZOOMS) {
    const tiles = tilesAt(z);
    // Warm once (plans, caches), then measure.
    await getTile(`/tiles/${layer}/${z}/${tiles[0]!.x}/${tiles[0]!.y}.mvt`);
    const viaHttp = await measure((i) => {
      const t = tiles[i % tiles.length]!;
      return getTile(`/tiles/${layer}/${z}/${t.x}/${t.y}.mvt`);
    });
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
    console.log(
      `${layer.padEnd(10)} ${String(z).padStart(2)} ${String(tiles.length).padStart(6)} | ${viaHttp.rate.toFixed(0).padStart(13)} ${viaHttp.p50.toFixed(1).padStart(7)} ${viaHttp.p99.toFixed(1).padStart(7)} ${(viaHttp.size / 1024).toFixed(0).padStart(4)} | ${viaSql.rate.toFixed(0).padStart(12)} ${viaSql.p50.toFixed(1).padStart(7)} ${viaSql.p99.toFixed(1).padStart(7)}`,
    );
  }
}

server.closeAllConnections();
server.close();
agent.destroy();
await app.close();
await database.close();
await pool.end();
