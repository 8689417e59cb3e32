/**
 * The field app (/field) in Chromium with a phone viewport, granted and set geolocation and
 * emulated offline mode, against a real server on a cloned demo-city database. A grid worker
 * reports with a photo while offline, reloads, goes online: exactly one case exists, with the photo;
 * a case dispatched to them appears live and is accepted and resolved with a photo; a failed check
 * sends a resolved case back as rework; a case outside their cells is never theirs to verify.
 * Printed, not asserted: the offline shell's load time and the report screen's time to interactive
 * on a throttled connection.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type LonLat, rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import type { BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  artifactPath,
  type BrowserContextSession,
  type BrowserSession,
  launchBrowser,
  remoteRequests,
  skipBrowserTests,
} from '../helpers/browser';
import { type TestDatabase, testDatabase } from '../helpers/db';
import { startTestServer, type TestServer } from '../helpers/server';

const PHONE = { width: 390, height: 844 };
const WORKER = 'worker1';
/** A category the demo seed has: 暴露垃圾 (exposed rubbish), handled by sanitation. */
const CATEGORY = '11-01';
const BROWSER_TEST_TIMEOUT = 300_000;
/** How long a poll waits for the page: a busy two-core machine is slow, never wrong. */
const WAIT = { timeout: 30_000, interval: 100 };
const clientDist = join(import.meta.dirname, '..', '..', 'client', 'dist');
const skip = skipBrowserTests();

// Skipped only where /usr/bin/chromium is missing outside CI, with the reason printed; CI always runs it.
describe.skipIf(skip)('field app in Chromium', () => {
  let database: TestDatabase;
  let server: TestServer;
  let browser: BrowserSession;
  let commanderToken: string;
  let workerId: string;
  /** A point inside one of worker1's cells, and one inside a cell of their district that is not theirs. */
  let myPoint: LonLat;
  let foreignPoint: LonLat;

  beforeAll(async () => {
    if (!existsSync(join(clientDist, 'field', 'index.html'))) {
      throw new Error(
        `${clientDist}/field/index.html is missing: build the web app first with ` +
          '`pnpm --filter @citygrid/client build` (the root `pnpm test` does it)',
      );
    }
    database = await testDatabase();
    server = await startTestServer(database);
    browser = await launchBrowser();
    commanderToken = await server.login('commander');
    const [worker] = await rows<{ id: number; regionId: number }>(
      database.db,
      sql`SELECT id::int AS id, region_id::int AS "regionId" FROM users WHERE username = ${WORKER}`,
    );
    workerId = String(worker!.id);
    const points = await rows<{ mine: boolean; lon: number; lat: number }>(
      database.db,
      sql`SELECT DISTINCT ON (mine) mine, ST_X(p) AS lon, ST_Y(p) AS lat FROM (
            SELECT EXISTS (SELECT 1 FROM grid_cell_workers w WHERE w.grid_cell_id = g.id AND w.user_id = ${worker!.id}) AS mine,
                   ST_PointOnSurface(g.geom) AS p, g.code
            FROM grid_cells g WHERE ${worker!.regionId} IN (g.district_id, g.street_id, g.city_id)
          ) s ORDER BY mine, code`,
    );
    const mine = points.find((p) => p.mine);
    const foreign = points.find((p) => !p.mine);
    expect(mine, 'worker1 answers for a grid cell').toBeDefined();
    expect(foreign, 'worker1 has a cell in scope that is not theirs').toBeDefined();
    myPoint = { lon: mine!.lon, lat: mine!.lat };
    foreignPoint = { lon: foreign!.lon, lat: foreign!.lat };
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  test(
    'a report with a photo made offline survives a reload and reaches the server exactly once',
    async () => {
      const session = await phoneContext(browser, server.url, myPoint);
      const { page, pageErrors } = await openField(session, server.url);
      await signIn(page, WORKER);
      // The service worker installs and takes the page; a reload under it fills its data cache.
      await waitForServiceWorker(page);
      await page.reload();
      await expect.poll(() => page.getByTestId('tab-report').isVisible(), WAIT).toBe(true);

      await session.context.setOffline(true);
      await expect.poll(() => page.getByTestId('network').getAttribute('class'), WAIT).toContain('offline');
      const description = `offline report ${Date.now()}`;
      const photo = await sharp({
        create: { width: 2400, height: 1800, channels: 3, background: { r: 90, g: 140, b: 60 } },
      })
        .jpeg({ quality: 95 })
        .toBuffer();
      await page
        .getByTestId('report-photo')
        .setInputFiles({ name: 'street.jpg', mimeType: 'image/jpeg', buffer: photo });
      await expect.poll(() => page.getByTestId('report-photo-preview').textContent(), WAIT).toMatch(/KB/);
      // The GPS fix with its accuracy; offline, the cell comes from the worker's own cached cells.
      await expect.poll(() => page.getByTestId('report-location').textContent(), WAIT).toContain('±12 m');
      await expect.poll(() => page.getByTestId('report-grid').textContent(), WAIT).toMatch(/我的网格/);
      await page.getByTestId('report-category-search').fill('垃圾');
      await page.locator(`[data-testid=report-category-options] [data-category="${CATEGORY}"]`).click();
      await page.getByTestId('report-note').fill(description);
      await page.getByTestId('report-send').click();

      // Kept in the outbox, not sent: the server has nothing.
      const item = page.locator('[data-outbox-key]').first();
      await expect.poll(() => item.getAttribute('data-state'), WAIT).toMatch(/queued|retrying/);
      const key = await item.getAttribute('data-outbox-key');
      expect(key).toMatch(/^[0-9a-f-]{36}$/);
      const kept = await page.evaluate(readOutboxPhoto, key!);
      expect(Math.max(kept.width, kept.height), 'the photo was shrunk on the phone').toBeLessThanOrEqual(
        1600,
      );
      expect(kept.type).toBe('image/jpeg');
      expect(await casesWith(description)).toEqual([]);

      // Reload with no connection: the shell comes from the service worker, the outbox from IndexedDB.
      const offlineStart = Date.now();
      await page.reload();
      await expect.poll(() => page.getByTestId('tab-queue').isVisible(), WAIT).toBe(true);
      const offlineShellMs = Date.now() - offlineStart;
      const navigation = await page.evaluate(() => {
        const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
        return { fromServiceWorker: nav.workerStart > 0, domInteractive: Math.round(nav.domInteractive) };
      });
      expect(navigation.fromServiceWorker).toBe(true);
      console.log(
        `[field] app shell reloaded offline: tabs visible after ${offlineShellMs} ms, ` +
          `domInteractive ${navigation.domInteractive} ms, served by the service worker: ${navigation.fromServiceWorker}`,
      );
      await page.getByTestId('tab-queue').click();
      const again = page.locator(`[data-outbox-key="${key}"]`);
      await expect.poll(() => again.getAttribute('data-state'), WAIT).toMatch(/queued|retrying/);
      expect(await casesWith(description)).toEqual([]);

      // Back online: sent once, with the photo.
      await session.context.setOffline(false);
      await expect.poll(() => again.getAttribute('data-state'), { ...WAIT, timeout: 60_000 }).toBe('sent');
      const sent = await casesWith(description);
      expect(sent).toHaveLength(1);
      expect(sent[0]!.attachments).toBe(1);
      expect(sent[0]!.status).toBe('REPORTED');
      expect(await again.getByTestId('outbox-case-code').textContent()).toBe(sent[0]!.code);

      // Sending the same item again (as after a lost answer) finds the same case, never a second.
      await page.evaluate(requeueOutboxItem, key!);
      await page.getByTestId('outbox-retry').click();
      await expect.poll(() => again.getAttribute('data-state'), { ...WAIT, timeout: 60_000 }).toBe('sent');
      const afterRetry = await casesWith(description);
      expect(afterRetry).toHaveLength(1);
      expect(afterRetry[0]!.id).toBe(sent[0]!.id);
      expect(afterRetry[0]!.attachments).toBe(1);
      await page.screenshot({ path: artifactPath('field-outbox.png') });

      expect(pageErrors).toEqual([]);
      expect(remoteRequests(session.requests)).toEqual([]);
      await session.context.close();
    },
    BROWSER_TEST_TIMEOUT,
  );

  test(
    'a case dispatched to the worker appears live, is accepted and resolved with a photo; another is returned as misrouted',
    async () => {
      const session = await phoneContext(browser, server.url, myPoint);
      const { page, pageErrors } = await openField(session, server.url);
      await signIn(page, WORKER);
      await page.getByTestId('tab-work').click();
      await page.waitForFunction(() => document.documentElement.dataset.live === 'connected', null, {
        timeout: 30_000,
      });

      const made = await reportAndFile(`dispatched to the worker ${Date.now()}`, myPoint);
      await gql(
        'mutation ($id: ID!, $v: Int!, $a: ID) { dispatchCase(id: $id, expectedVersion: $v, assigneeId: $a) { version } }',
        { id: made.id, v: made.version, a: workerId },
        commanderToken,
      );
      const card = page.locator(`[data-testid=work-assigned] [data-case-id="${made.id}"]`);
      await expect.poll(() => card.getAttribute('data-status'), WAIT).toBe('DISPATCHED');
      await expect.poll(() => page.getByTestId('toasts').textContent(), WAIT).toContain(made.code);
      expect(await card.locator('[data-action=navigate]').getAttribute('href')).toMatch(
        /^geo:27\.\d+,109\.\d+/,
      );

      await card.locator('[data-action=accept]').click();
      await expect.poll(() => card.getAttribute('data-status'), WAIT).toBe('IN_PROGRESS');
      await card.locator('[data-action=resolve]').click();
      await card
        .getByTestId('action-photo')
        .setInputFiles({ name: 'after.jpg', mimeType: 'image/jpeg', buffer: await testPhoto(1200, 900) });
      await card.getByTestId('action-note').fill('cleared and swept');
      await card.getByTestId('action-submit').click();
      await expect.poll(() => card.count(), WAIT).toBe(0);

      const [row] = await rows<{ status: string; attachments: number; actions: string }>(
        database.db,
        sql`SELECT c.status::text AS status,
                   (SELECT count(*)::int FROM attachments a WHERE a.case_id = c.id) AS attachments,
                   (SELECT string_agg(action, ',' ORDER BY seq) FROM case_events e WHERE e.case_id = c.id) AS actions
            FROM cases c WHERE c.id = ${Number(made.id)}`,
      );
      expect(row).toEqual({
        status: 'RESOLVED',
        attachments: 1,
        actions: 'REPORT,FILE,DISPATCH,ACCEPT,RESOLVE',
      });

      // Another one is not the worker's kind of job: returned as misrouted, with a note.
      const misrouted = await reportAndFile(`misrouted ${Date.now()}`, myPoint);
      await gql(
        'mutation ($id: ID!, $v: Int!, $a: ID) { dispatchCase(id: $id, expectedVersion: $v, assigneeId: $a) { version } }',
        { id: misrouted.id, v: misrouted.version, a: workerId },
        commanderToken,
      );
      const other = page.locator(`[data-testid=work-assigned] [data-case-id="${misrouted.id}"]`);
      await expect.poll(() => other.count(), WAIT).toBe(1);
      await other.locator('[data-action=return]').click();
      await other.getByTestId('action-submit').click();
      // A return needs its reason.
      await expect.poll(() => other.getByTestId('action-error').textContent(), WAIT).toBe('请填写说明');
      await other.getByTestId('action-note').fill('needs a road crew');
      await other.getByTestId('action-submit').click();
      await expect.poll(() => other.count(), WAIT).toBe(0);
      const returned = await gql<{
        case: { status: string; events: { action: string; note: string | null }[] };
      }>(
        'query ($id: ID!) { case(id: $id) { status events { action note } } }',
        { id: misrouted.id },
        commanderToken,
      );
      expect(returned.case.status).toBe('FILED');
      expect(returned.case.events.at(-1)).toEqual({ action: 'RETURN', note: 'needs a road crew' });
      await page.screenshot({ path: artifactPath('field-work.png') });
      expect(pageErrors).toEqual([]);
      await session.context.close();
    },
    BROWSER_TEST_TIMEOUT,
  );

  test(
    'a failed check sends a resolved case back as rework; a case outside the worker’s cells is not theirs to verify',
    async () => {
      const session = await phoneContext(browser, server.url, myPoint);
      const { page, pageErrors } = await openField(session, server.url);
      await signIn(page, WORKER);
      await page.getByTestId('tab-work').click();
      await page.waitForFunction(() => document.documentElement.dataset.live === 'connected', null, {
        timeout: 30_000,
      });

      const mine = await resolvedBySanitation(`to verify in my cell ${Date.now()}`, myPoint);
      const foreign = await resolvedBySanitation(`to verify elsewhere ${Date.now()}`, foreignPoint);
      const card = page.locator(`[data-testid=work-verify] [data-case-id="${mine.id}"]`);
      await expect.poll(() => card.count(), WAIT).toBe(1);
      // The other cell's case is in the worker's district (they may see it) but not theirs to check.
      expect(await page.locator(`[data-case-id="${foreign.id}"]`).count()).toBe(0);

      await card.locator('[data-action=fail]').click();
      await card.getByTestId('action-photo').setInputFiles({
        name: 'still-there.jpg',
        mimeType: 'image/jpeg',
        buffer: await testPhoto(800, 600),
      });
      await card.getByTestId('action-note').fill('rubbish still there');
      await card.getByTestId('action-submit').click();
      await expect.poll(() => card.count(), WAIT).toBe(0);

      const after = await gql<{
        case: { status: string; reworkCount: number; events: { action: string; note: string | null }[] };
      }>(
        'query ($id: ID!) { case(id: $id) { status reworkCount events { action note } } }',
        { id: mine.id },
        commanderToken,
      );
      expect(after.case.status).toBe('DISPATCHED');
      expect(after.case.reworkCount).toBe(1);
      expect(after.case.events.at(-1)).toEqual({ action: 'VERIFY_FAIL', note: 'rubbish still there' });
      const [photos] = await rows<{ n: number }>(
        database.db,
        sql`SELECT count(*)::int AS n FROM attachments WHERE case_id = ${Number(mine.id)} AND event_seq = 6`,
      );
      expect(photos!.n).toBe(1);

      // Asked directly with the worker's own session, the server refuses the foreign case.
      const refused = await page.evaluate(
        async ({ id, version }) => {
          const response = await fetch('/graphql', {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              authorization: `Bearer ${localStorage.getItem('citygrid.token')}`,
            },
            body: JSON.stringify({
              query:
                'mutation ($id: ID!, $v: Int!) { verifyCase(id: $id, expectedVersion: $v, passed: true) { status } }',
              variables: { id, v: version },
            }),
          });
          return (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
        },
        { id: foreign.id, version: foreign.version },
      );
      expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const still = await gql<{ case: { status: string } }>(
        'query ($id: ID!) { case(id: $id) { status } }',
        { id: foreign.id },
        commanderToken,
      );
      expect(still.case.status).toBe('RESOLVED');
      expect(pageErrors).toEqual([]);
      await session.context.close();
    },
    BROWSER_TEST_TIMEOUT,
  );

  test(
    'online, the report screen names the grid cell and nearby duplicates; on duty shares the position; English on request',
    async () => {
      const session = await phoneContext(browser, server.url, myPoint);
      const { page, pageErrors } = await openField(session, server.url);
      await signIn(page, WORKER);
      // An open case of the same category 10 m away is offered as a likely duplicate.
      const nearby = await reportAndFile(`open case nearby ${Date.now()}`, {
        lon: myPoint.lon,
        lat: myPoint.lat + 0.00009,
      });
      const { gridAt } = await gql<{ gridAt: { code: string } }>(
        'query ($p: PointInput!) { gridAt(location: $p) { code } }',
        { p: myPoint },
        commanderToken,
      );
      await expect
        .poll(() => page.getByTestId('report-grid').getAttribute('data-grid-code'), WAIT)
        .toBe(gridAt.code);
      // Search by code this time (the offline report searched by name).
      await page.getByTestId('report-category-search').fill(CATEGORY);
      await page.locator(`[data-testid=report-category-options] [data-category="${CATEGORY}"]`).click();
      const duplicate = page.locator(`[data-testid=report-duplicates] [data-duplicate-id="${nearby.id}"]`);
      await expect.poll(() => duplicate.count(), WAIT).toBe(1);
      expect(await duplicate.textContent()).toContain(nearby.code);

      await page.getByTestId('duty').click();
      await expect.poll(() => page.getByTestId('duty').getAttribute('class'), WAIT).toContain('on');
      const position = () =>
        rows<{ onDuty: boolean; meters: number }>(
          database.db,
          sql`SELECT on_duty AS "onDuty",
                     ST_Distance(location::geography, ST_SetSRID(ST_MakePoint(${myPoint.lon}::float8, ${myPoint.lat}::float8), 4326)::geography) AS meters
              FROM worker_positions WHERE user_id = ${Number(workerId)}`,
        ).then((found) => found[0]);
      await expect.poll(position, WAIT).toMatchObject({ onDuty: true });
      expect((await position())!.meters).toBeLessThan(1);
      await page.getByTestId('duty').click();
      await expect.poll(position, WAIT).toMatchObject({ onDuty: false });

      await page.getByTestId('language').click();
      await expect.poll(() => page.getByTestId('tab-work').textContent(), WAIT).toBe('My work');
      expect(await page.getByTestId('report-send').textContent()).toBe('Send report');
      await page.screenshot({ path: artifactPath('field-report-en.png') });
      expect(pageErrors).toEqual([]);
      expect(remoteRequests(session.requests)).toEqual([]);
      await session.context.close();
    },
    BROWSER_TEST_TIMEOUT,
  );

  test(
    'measured: the report screen on a throttled connection, first visit and installed',
    async () => {
      const session = await phoneContext(browser, server.url, myPoint);
      const { page } = await openField(session, server.url);
      await signIn(page, WORKER);
      await waitForServiceWorker(page);
      const cdp = await session.context.newCDPSession(page);
      await cdp.send('Network.enable');
      // Lighthouse's mobile throttling ("slow 4G"): 150 ms RTT, 1.6 Mbps down, 750 kbps up.
      await cdp.send('Network.emulateNetworkConditions', {
        offline: false,
        latency: 150,
        downloadThroughput: (1.6 * 1024 * 1024) / 8,
        uploadThroughput: (750 * 1024) / 8,
      });
      const timings: Record<string, number> = {};
      // Installed: the service worker answers the shell.
      for (const round of ['installed-1', 'installed-2']) {
        await page.goto('about:blank');
        await page.goto(`${server.url}/field/#report`);
        await page.waitForFunction(() => document.documentElement.dataset.reportReady === '1', null, {
          timeout: 60_000,
        });
        timings[round] = await page.evaluate(() =>
          Math.round(performance.getEntriesByName('field-report-interactive')[0]!.startTime),
        );
      }
      // First visit: no service worker, no HTTP cache.
      await page.evaluate(async () => {
        for (const r of await navigator.serviceWorker.getRegistrations()) await r.unregister();
        for (const name of await caches.keys()) await caches.delete(name);
      });
      await cdp.send('Network.clearBrowserCache');
      await page.goto('about:blank');
      await page.goto(`${server.url}/field/#report`);
      await page.waitForFunction(() => document.documentElement.dataset.reportReady === '1', null, {
        timeout: 60_000,
      });
      timings['first-visit'] = await page.evaluate(() =>
        Math.round(performance.getEntriesByName('field-report-interactive')[0]!.startTime),
      );
      const transferred = await page.evaluate(() =>
        Math.round(
          (performance.getEntriesByType('resource') as PerformanceResourceTiming[])
            .filter((r) => !r.name.includes('maplibre'))
            .reduce((sum, r) => sum + r.transferSize, 0) / 1024,
        ),
      );
      console.log(
        `[field] report screen interactive under slow-4G throttling (150 ms RTT, 1.6 Mbps): first visit ${timings['first-visit']} ms ` +
          `(${transferred} KB before the lazy map), installed ${timings['installed-1']} / ${timings['installed-2']} ms (target < 2000 ms)`,
      );
      for (const value of Object.values(timings)) expect(value).toBeGreaterThan(0);
      await session.context.close();
    },
    BROWSER_TEST_TIMEOUT,
  );

  async function gql<T>(query: string, variables: Record<string, unknown>, token: string): Promise<T> {
    const { data, errors } = await server.graphql<T>(query, variables, token);
    if (!data) throw new Error(`${query.slice(0, 60)}… failed: ${JSON.stringify(errors)}`);
    return data;
  }

  /** The commander reports a case at the point and files it. */
  async function reportAndFile(description: string, at: LonLat) {
    const reported = await gql<{ reportCase: { id: string; code: string; version: number } }>(
      'mutation ($input: ReportCaseInput!) { reportCase(input: $input) { id code version } }',
      {
        input: {
          idempotencyKey: `field-e2e-${description}`,
          categoryCode: CATEGORY,
          description,
          location: { lon: at.lon, lat: at.lat },
        },
      },
      commanderToken,
    );
    const filed = await gql<{ fileCase: { version: number } }>(
      'mutation ($id: ID!, $v: Int!) { fileCase(id: $id, expectedVersion: $v) { version } }',
      { id: reported.reportCase.id, v: reported.reportCase.version },
      commanderToken,
    );
    return { ...reported.reportCase, version: filed.fileCase.version };
  }

  /** A case at the point, dispatched to sanitation, accepted and resolved by its department user. */
  async function resolvedBySanitation(description: string, at: LonLat) {
    const made = await reportAndFile(description, at);
    const { departments } = await gql<{ departments: { id: string; code: string }[] }>(
      '{ departments { id code } }',
      {},
      commanderToken,
    );
    const sanitation = departments.find((d) => d.code === 'sanitation')!;
    const dispatched = await gql<{ dispatchCase: { version: number } }>(
      'mutation ($id: ID!, $v: Int!, $d: ID) { dispatchCase(id: $id, expectedVersion: $v, departmentId: $d) { version } }',
      { id: made.id, v: made.version, d: sanitation.id },
      commanderToken,
    );
    const department = await server.login('dept-sanitation');
    const accepted = await gql<{ acceptCase: { version: number } }>(
      'mutation ($id: ID!, $v: Int!) { acceptCase(id: $id, expectedVersion: $v) { version } }',
      { id: made.id, v: dispatched.dispatchCase.version },
      department,
    );
    const resolved = await gql<{ resolveCase: { version: number } }>(
      'mutation ($id: ID!, $v: Int!) { resolveCase(id: $id, expectedVersion: $v, note: "done") { version } }',
      { id: made.id, v: accepted.acceptCase.version },
      department,
    );
    return { id: made.id, code: made.code, version: resolved.resolveCase.version };
  }

  async function casesWith(description: string) {
    return rows<{ id: number; code: string; status: string; attachments: number }>(
      database.db,
      sql`SELECT c.id::int AS id, c.code, c.status::text AS status,
                 (SELECT count(*)::int FROM attachments a WHERE a.case_id = c.id) AS attachments
          FROM cases c WHERE c.description = ${description}`,
    );
  }
});

/** A phone-sized context with geolocation granted and set near `at` (±12 m). */
async function phoneContext(
  browser: BrowserSession,
  url: string,
  at: LonLat,
): Promise<BrowserContextSession> {
  const session = await browser.newContext({ viewport: PHONE });
  const context: BrowserContext = session.context;
  await context.grantPermissions(['geolocation', 'notifications'], { origin: url });
  await context.setGeolocation({ longitude: at.lon, latitude: at.lat, accuracy: 12 });
  return session;
}

async function openField(session: BrowserContextSession, url: string) {
  const page = await session.context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`${url}/field`);
  return { page, pageErrors };
}

async function signIn(page: Page, username: string): Promise<void> {
  await expect.poll(() => page.locator('#field-login').isVisible(), WAIT).toBe(true);
  await page.locator('#field-login input[name=username]').fill(username);
  await page.locator('#field-login input[name=password]').fill('citygrid');
  await page.locator('#field-login button[type=submit]').click();
  await expect.poll(() => page.getByTestId('tab-report').isVisible(), WAIT).toBe(true);
}

/** Waits until the field app's service worker is installed and controls the page. */
async function waitForServiceWorker(page: Page): Promise<void> {
  await page.waitForFunction(
    () => ['ready', 'failed'].includes(document.documentElement.dataset.sw ?? ''),
    null,
    {
      timeout: 120_000,
    },
  );
  expect(await page.evaluate(() => document.documentElement.dataset.sw)).toBe('ready');
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 30_000 });
}

function testPhoto(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 160, g: 120, b: 80 } } })
    .jpeg()
    .toBuffer();
}

/** In the page: the kept photo of an outbox item, decoded. */
async function readOutboxPhoto(key: string): Promise<{ width: number; height: number; type: string }> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const open = indexedDB.open('citygrid-field');
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  const item = await new Promise<{ photo: Blob }>((resolve, reject) => {
    const req = db.transaction('outbox').objectStore('outbox').get(key);
    req.onsuccess = () => resolve(req.result as { photo: Blob });
    req.onerror = () => reject(req.error);
  });
  const bitmap = await createImageBitmap(item.photo);
  db.close();
  return { width: bitmap.width, height: bitmap.height, type: item.photo.type };
}

/** In the page: marks a sent outbox item as not sent, as if its answer had been lost. */
async function requeueOutboxItem(key: string): Promise<void> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const open = indexedDB.open('citygrid-field');
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  await new Promise<void>((resolve, reject) => {
    const tx = db.transaction('outbox', 'readwrite');
    const store = tx.objectStore('outbox');
    const req = store.get(key);
    req.onsuccess = () =>
      store.put({ ...req.result, state: 'queued', caseId: null, caseCode: null, nextAttemptAt: 0 });
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
  db.close();
}
