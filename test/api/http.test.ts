/** Health probes, the web app with its SPA fallback, and configuration parsing. */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '@citygrid/server';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type TestDatabase, testDatabase } from '../helpers/db';
import { startTestServer, type TestServer } from '../helpers/server';

let database: TestDatabase;
let server: TestServer;
const webDir = mkdtempSync(join(tmpdir(), 'citygrid-web-'));

beforeAll(async () => {
  mkdirSync(join(webDir, 'assets'));
  writeFileSync(join(webDir, 'index.html'), '<!doctype html><title>Citygrid</title><div id="app"></div>');
  writeFileSync(join(webDir, 'assets', 'app.js'), 'console.log("citygrid")');
  database = await testDatabase();
  server = await startTestServer(database, { clientDist: webDir });
});
afterAll(async () => {
  await server?.close();
  rmSync(webDir, { recursive: true, force: true });
});

describe('health', () => {
  test('/healthz answers while the process runs; /readyz checks the database', async () => {
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ok', checks: { database: 'ok' } });
  });

  test('/readyz is 503 and names the failing dependency', async () => {
    const failing = await startTestServer(
      database,
      {},
      {
        readiness: [{ name: 'broker', check: () => Promise.reject(new Error('connection refused')) }],
      },
    );
    try {
      const ready = await fetch(`${failing.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({
        status: 'unavailable',
        checks: { database: 'ok', broker: 'failed: connection refused' },
      });
    } finally {
      await failing.close();
    }
  });
});

describe('web app', () => {
  test('serves files and falls back to index.html for app routes', async () => {
    const root = await fetch(`${server.url}/`);
    expect(root.status).toBe(200);
    expect(await root.text()).toContain('<div id="app">');
    const asset = await fetch(`${server.url}/assets/app.js`);
    expect(await asset.text()).toContain('citygrid');
    const route = await fetch(`${server.url}/cases/42`, { headers: { accept: 'text/html' } });
    expect(route.status).toBe(200);
    expect(await route.text()).toContain('<div id="app">');
  });

  test('a missing asset is a 404, and API paths never get index.html', async () => {
    expect((await fetch(`${server.url}/assets/missing.js`)).status).toBe(404);
    const tiles = await fetch(`${server.url}/tiles/grid_cells/1/2/3.mvt`, {
      headers: { accept: 'text/html' },
    });
    // The tiles route exists and asks for a token; what matters is that it is never the web app.
    expect(tiles.status).toBe(401);
    expect(await tiles.text()).not.toContain('<div id="app">');
    const open311 = await fetch(`${server.url}/open311/v2/nothing-here.json`, {
      headers: { accept: 'text/html' },
    });
    expect(open311.status).toBe(404);
    expect(await open311.text()).not.toContain('<div id="app">');
  });

  test('GraphiQL is served at /graphql to a browser', async () => {
    const page = await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/graphiql/i);
  });
});

describe('config', () => {
  test('names every bad key at once', () => {
    try {
      loadConfig({ PORT: 'eighty', DATABASE_URL: 'not a url', LOG_LEVEL: 'loud', TOKEN_TTL: 'forever' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      for (const key of ['PORT', 'DATABASE_URL', 'LOG_LEVEL', 'TOKEN_TTL']) expect(message).toContain(key);
    }
  });

  test('JWT_SECRET is required with a real database unless DEMO=1', () => {
    expect(() => loadConfig({ DATABASE_URL: 'postgres://x@localhost/db' })).toThrow(/JWT_SECRET/);
    const dir = mkdtempSync(join(tmpdir(), 'citygrid-cfg-'));
    try {
      const demo = loadConfig({ DATABASE_URL: 'postgres://x@localhost/db', DEMO: '1', DATA_DIR: dir });
      expect(demo.demo).toBe('on');
      expect(demo.jwtSecret.length).toBeGreaterThanOrEqual(32);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('embedded demo mode keeps one generated secret in DATA_DIR, resolved against INIT_CWD', () => {
    const base = mkdtempSync(join(tmpdir(), 'citygrid-cfg-'));
    try {
      const first = loadConfig({ DATA_DIR: './data', INIT_CWD: base });
      expect(first.dataDir).toBe(join(base, 'data'));
      expect(first.databaseUrl).toBeUndefined();
      expect(readFileSync(join(base, 'data', 'jwt-secret'), 'utf8').trim()).toBe(first.jwtSecret);
      expect(loadConfig({ DATA_DIR: './data', INIT_CWD: base }).jwtSecret).toBe(first.jwtSecret);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  test('defaults follow the contract', () => {
    const c = loadConfig({ JWT_SECRET: 'x'.repeat(40), DATABASE_URL: 'postgres://x@localhost/db' });
    expect(c).toMatchObject({
      port: 3000,
      host: '0.0.0.0',
      mqttPort: 1883,
      demo: 'auto',
      tokenTtlSeconds: 12 * 3600,
    });
  });
});
