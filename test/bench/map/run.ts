/**
 * Map benchmark: `pnpm --filter @citygrid/test bench:map` (needs DATABASE_URL and a built client:
 * `pnpm --filter @citygrid/client build`).
 *
 * The bench city (demo city + cases up to BENCH_CASES = 1,000,000; see ../tiles/city.ts) behind a
 * server in this process; headless Chromium (SwiftShader WebGL, 1440×900) signs in as the
 * commander. Prints the time to first full render (sign-in click → map ready: outlines, tiles and
 * choropleth drawn and the map idle), then, while BENCH_WORKERS (5,000) workers move once a second
 * for BENCH_SECONDS (10), the page's frames per second (requestAnimationFrame) and the map's
 * redraws per second. Worker moves are injected as the `citygrid_worker` notifications that
 * `updateMyPosition` sends, so the server fans them out over `workerMoved` exactly as for real
 * devices, without 5,000 phones' HTTP requests competing for the same two cores.
 */

import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '@citygrid/db';
import { buildApp, createLogger, loadConfig } from '@citygrid/server';
import pg from 'pg';
import { launchBrowser } from '../../helpers/browser';
import { ensureBenchCity } from '../tiles/city';

const adminUrl = process.env.DATABASE_URL;
if (!adminUrl) throw new Error('bench:map needs DATABASE_URL (a real PostgreSQL + PostGIS)');
const CASES = Number(process.env.BENCH_CASES ?? 1_000_000);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 5000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const clientDist = join(import.meta.dirname, '..', '..', '..', 'client', 'dist');

const url = await ensureBenchCity(adminUrl, CASES, process.env.BENCH_FRESH === '1');
const pool = new pg.Pool({ connectionString: url, max: 2 });
const city = (
  await pool.query(
    "SELECT r.id, ST_XMin(e) AS w, ST_YMin(e) AS s, ST_XMax(e) AS e, ST_YMax(e) AS n FROM regions r, (SELECT ST_Extent(geom) AS e FROM grid_cells) x WHERE r.level = 'CITY' ORDER BY r.id LIMIT 1",
  )
).rows[0] as { id: string; w: number; s: number; e: number; n: number };

const config = {
  ...loadConfig({
    JWT_SECRET: 'citygrid-bench-secret-0123456789abcdef0123456789',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'citygrid-bench-map-')),
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    PORT: '0',
  }),
  clientDist,
  escalationIntervalSeconds: null,
};
const database = await openDatabase({ url, poolSize: 8 });
const app = await buildApp({ config, database, logger: createLogger(config) });
const server = app.app.listen(0, '127.0.0.1');
await new Promise<void>((resolve) => server.once('listening', () => resolve()));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const browser = await launchBrowser();
const { context } = await browser.newContext();
const page = await context.newPage();
page.on('pageerror', (error) => console.error('page error:', error.message));
await page.goto(base);
await page.locator('input[name=username]').fill('commander');
await page.locator('input[name=password]').fill('citygrid');
const clicked = Date.now();
await page.locator('#login-form button[type=submit]').click();
await page.waitForFunction(() => document.documentElement.dataset.mapState === 'ready', null, {
  timeout: 300_000,
});
const firstRender = Date.now() - clicked;
console.log(`first full render: ${(firstRender / 1000).toFixed(2)} s (sign-in click → map ready)`);
await page.waitForFunction(() => document.documentElement.dataset.live === 'connected', null, {
  timeout: 60_000,
});

// Workers start spread over the city and take a random step each second.
const positions = Array.from({ length: WORKERS }, () => ({
  lon: city.w + Math.random() * (city.e - city.w),
  lat: city.s + Math.random() * (city.n - city.s),
}));
let moving = true;
let moved = 0;
const mover = (async () => {
  while (moving) {
    const tick = Date.now();
    for (const p of positions) {
      p.lon += (Math.random() - 0.5) * 0.0005;
      p.lat += (Math.random() - 0.5) * 0.0005;
    }
    await pool.query(
      `SELECT pg_notify('citygrid_worker', json_build_object('workerId', 1000000 + i, 'location',
                json_build_object('lon', lon, 'lat', lat), 'accuracyMeters', 5, 'onDuty', true, 'at', now()::text,
                'cityId', $3::bigint, 'districtId', NULL, 'streetId', NULL, 'communityId', NULL)::text)
       FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS t(lon, lat, i)`,
      [positions.map((p) => p.lon), positions.map((p) => p.lat), city.id],
    );
    moved += WORKERS;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1000 - (Date.now() - tick))));
  }
})();

// A string, not a function: tsx's name-keeping helper does not exist inside the page.
const measured = (await page.evaluate(`(async (seconds) => {
  const map = window.__citygrid.map;
  let frames = 0;
  let redraws = 0;
  let longest = 0;
  let last = performance.now();
  map.on('render', () => { redraws++; });
  const started = performance.now();
  await new Promise((resolve) => {
    function frame(now) {
      frames++;
      longest = Math.max(longest, now - last);
      last = now;
      if (now - started < seconds * 1000) requestAnimationFrame(frame);
      else resolve();
    }
    requestAnimationFrame(frame);
  });
  const elapsed = (performance.now() - started) / 1000;
  return { fps: frames / elapsed, redrawsPerSecond: redraws / elapsed, longestFrameMs: longest,
           live: { ...window.__citygrid.live } };
})(${SECONDS})`)) as {
  fps: number;
  redrawsPerSecond: number;
  longestFrameMs: number;
  live: Record<string, number>;
};
moving = false;
await mover;

const cases = Number((await pool.query('SELECT count(*) AS n FROM cases')).rows[0].n);
console.log(`\n${cases.toLocaleString()} cases, ${WORKERS.toLocaleString()} workers moving once a second`);
console.log(
  `frames: ${measured.fps.toFixed(1)} fps, map redraws ${measured.redrawsPerSecond.toFixed(1)}/s, longest frame ${measured.longestFrameMs.toFixed(0)} ms over ${SECONDS} s`,
);
console.log(
  `live: ${measured.live.workerEvents?.toLocaleString()} worker events applied in ${measured.live.batches} batches (largest ${measured.live.largestBatch}); ${moved.toLocaleString()} sent`,
);

await context.close();
await browser.close();
server.closeAllConnections();
server.close();
await app.close();
await database.close();
await pool.end();
