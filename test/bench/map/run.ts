/**
 * Map benchmark: `pnpm --filter @citygrid/test bench:map` (needs DATABASE_URL and a built client:
 * `pnpm --filter @citygrid/client build`).
 *
 * The bench city (demo city + cases up to BENCH_CASES = 1,000,000; see ../tiles/city.ts) behind a
 * server in this process; headless Chromium (SwiftShader WebGL, 1440×900 at device pixel ratio 1)
 * signs in as the commander.
 *
 * First full render: from the sign-in click until the page reports the map ready — district and
 * street outlines, the grid-cell, case and sensor tiles of the whole city drawn, the choropleth's
 * counts painted, and the map idle (nothing left to load or draw). The panels (queue, alarms,
 * KPIs, trend) load after that and are not part of it.
 *
 * Frames: while BENCH_WORKERS (5,000) workers move once a second for BENCH_SECONDS (10), the page's
 * frames per second (requestAnimationFrame), the map's redraws per second and the longest frame,
 * beside the same figures for the same map with the workers standing still (the baseline: what the
 * page costs without the live feed), with the page main thread's and the server process's CPU.
 * Worker moves are injected as the `citygrid_worker` notifications that `updateMyPosition` sends,
 * so the server fans them out exactly as for real devices, without 5,000 phones' HTTP requests
 * competing for the same two cores.
 *
 * Diagnostics: BENCH_VERBOSE=1 lists every request until the first render (start → end, ms after
 * the click); BENCH_TRACE=<prefix> writes Chromium traces (<prefix>.load.json, <prefix>.live.json);
 * BENCH_PAGE_PROFILE=<prefix> writes the page's CPU profiles; BENCH_DB=<name> uses an existing
 * seeded database instead of the bench city, for short development runs; BENCH_CLIENT_DIST=<dir>
 * serves another build of the client (an older one, to compare).
 */

import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '@citygrid/db';
import { buildApp, createLogger, loadConfig } from '@citygrid/server';
import pg from 'pg';
import { launchBrowser } from '../../helpers/browser';
import { databaseUrl, ensureBenchCity } from '../tiles/city';

const adminUrl = process.env.DATABASE_URL;
if (!adminUrl) throw new Error('bench:map needs DATABASE_URL (a real PostgreSQL + PostGIS)');
const CASES = Number(process.env.BENCH_CASES ?? 1_000_000);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 5000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const clientDist =
  process.env.BENCH_CLIENT_DIST ?? join(import.meta.dirname, '..', '..', '..', 'client', 'dist');

// BENCH_DB: an existing, seeded database to use instead of the bench city (short development runs).
const url = process.env.BENCH_DB
  ? databaseUrl(adminUrl, process.env.BENCH_DB)
  : await ensureBenchCity(adminUrl, CASES, process.env.BENCH_FRESH === '1');
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
// Where the first render's time goes: every request's start and end, relative to the click.
const VERBOSE = process.env.BENCH_VERBOSE === '1';
const requestTimes = new Map<import('playwright-core').Request, { start: number; end?: number }>();
page.on('request', (r) => requestTimes.set(r, { start: Date.now() }));
const ended = (r: import('playwright-core').Request) => {
  const t = requestTimes.get(r);
  if (t) t.end = Date.now();
};
page.on('requestfinished', ended);
page.on('requestfailed', ended);
const cdp = await context.newCDPSession(page);
await cdp.send('Performance.enable');
const pageProfile = process.env.BENCH_PAGE_PROFILE;
if (pageProfile) {
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.start');
}
await page.goto(base);
await page.locator('input[name=username]').fill('commander');
await page.locator('input[name=password]').fill('citygrid');
// BENCH_TRACE=<prefix>: Chromium traces of the first render and of the moving window.
const trace = process.env.BENCH_TRACE;
if (trace) await browser.browser.startTracing(page, { path: `${trace}.load.json` });
const clicked = Date.now();
await page.locator('#login-form button[type=submit]').click();
await page.waitForFunction(() => document.documentElement.dataset.mapState === 'ready', null, {
  timeout: 300_000,
});
const firstRender = Date.now() - clicked;
console.log(`first full render: ${(firstRender / 1000).toFixed(2)} s (sign-in click → map ready)`);
if (trace) await browser.browser.stopTracing();
if (VERBOSE) {
  const rows = [...requestTimes]
    .filter(([, t]) => t.start >= clicked)
    .map(([r, t]) => ({
      url: r.url().replace(base, ''),
      from: t.start - clicked,
      to: (t.end ?? NaN) - clicked,
    }))
    .sort((a, b) => a.from - b.from);
  for (const r of rows)
    console.log(`  ${String(r.from).padStart(6)} → ${String(r.to).padStart(6)} ms  ${r.url.slice(0, 120)}`);
}
if (pageProfile) {
  const { profile } = await cdp.send('Profiler.stop');
  writeFileSync(`${pageProfile}.load.cpuprofile`, JSON.stringify(profile));
  await cdp.send('Profiler.start');
}
await page.waitForFunction(() => document.documentElement.dataset.live === 'connected', null, {
  timeout: 60_000,
});

// Workers start spread over the city and take a random step each second.
const positions = Array.from({ length: WORKERS }, () => ({
  lon: city.w + Math.random() * (city.e - city.w),
  lat: city.s + Math.random() * (city.n - city.s),
}));
let moving = false;
let moved = 0;
async function moveAll(): Promise<void> {
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
}

interface Frames {
  fps: number;
  redrawsPerSecond: number;
  longestFrameMs: number;
  /** Main-thread busy share of the page (CDP TaskDuration over the window) and of this process (server). */
  pageBusy: number;
  serverBusy: number;
  live: Record<string, number>;
}

/** Frames per second (requestAnimationFrame) and map redraws over `seconds`, with CPU shares. */
async function measureFrames(seconds: number): Promise<Frames> {
  const metric = async () =>
    (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'TaskDuration')?.value ?? 0;
  const task0 = await metric();
  const cpu0 = process.cpuUsage();
  const wall0 = Date.now();
  // A string, not a function: tsx's name-keeping helper does not exist inside the page.
  const inPage = (await page.evaluate(`(async (seconds) => {
    const map = window.__citygrid.map;
    let frames = 0;
    let redraws = 0;
    let longest = 0;
    let last = performance.now();
    const onRender = () => { redraws++; };
    map.on('render', onRender);
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
    map.off('render', onRender);
    const elapsed = (performance.now() - started) / 1000;
    return { fps: frames / elapsed, redrawsPerSecond: redraws / elapsed, longestFrameMs: longest,
             live: { ...window.__citygrid.live } };
  })(${seconds})`)) as Omit<Frames, 'pageBusy' | 'serverBusy'>;
  const wall = (Date.now() - wall0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return {
    ...inPage,
    pageBusy: ((await metric()) - task0) / wall,
    serverBusy: (cpu.user + cpu.system) / 1e6 / wall,
  };
}

// Baseline: the same map with the workers drawn but standing still.
await moveAll();
await page.waitForFunction(
  (n) =>
    (window as unknown as { __citygrid: { live: { workerEvents: number } } }).__citygrid.live.workerEvents >=
    n,
  WORKERS,
  { timeout: 120_000 },
);
const still = await measureFrames(SECONDS);

moving = true;
const mover = (async () => {
  while (moving) {
    const tick = Date.now();
    await moveAll();
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1000 - (Date.now() - tick))));
  }
})();
if (trace) await browser.browser.startTracing(page, { path: `${trace}.live.json` });
const measured = await measureFrames(SECONDS);
if (trace) await browser.browser.stopTracing();
moving = false;
await mover;
if (pageProfile) {
  const { profile } = await cdp.send('Profiler.stop');
  writeFileSync(`${pageProfile}.live.cpuprofile`, JSON.stringify(profile));
}

const cases = Number((await pool.query('SELECT count(*) AS n FROM cases')).rows[0].n);
console.log(`\n${cases.toLocaleString()} cases, ${WORKERS.toLocaleString()} workers moving once a second`);
const framesLine = (f: Frames) =>
  `${f.fps.toFixed(1)} fps, map redraws ${f.redrawsPerSecond.toFixed(1)}/s, longest frame ${f.longestFrameMs.toFixed(0)} ms; ` +
  `page main thread busy ${(f.pageBusy * 100).toFixed(0)} %, server process ${(f.serverBusy * 100).toFixed(0)} % of a core`;
console.log(`frames, workers moving:      ${framesLine(measured)} (over ${SECONDS} s)`);
console.log(`baseline, workers standing:  ${framesLine(still)}`);
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
