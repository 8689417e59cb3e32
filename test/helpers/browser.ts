/**
 * Launches Debian's Chromium through playwright-core for the browser tests: headless, WebGL through
 * SwiftShader, and nothing in the browser itself that calls home (so any request to a remote host
 * that a test sees came from the page).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Request } from 'playwright-core';
import { testEnv } from './env';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // WebGL without a GPU: ANGLE on SwiftShader (newer Chromium wants the explicit opt-in).
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
];

/** Where screenshots go (gitignored). */
export const ARTIFACTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');

/** Why the browser tests cannot run here, or undefined when Chromium is installed. */
export function chromiumMissing(): string | undefined {
  if (existsSync(testEnv.chromium)) return undefined;
  return (
    `Chromium not found at ${testEnv.chromium}: install it with \`apt-get install -y chromium\` ` +
    '(or set CHROMIUM_PATH to a Chromium binary)'
  );
}

/**
 * Whether to skip the browser tests: only when Chromium is missing and we are not in CI. The
 * reason is printed; in CI a missing Chromium fails the tests with the same message instead.
 */
export function skipBrowserTests(): boolean {
  const missing = chromiumMissing();
  if (!missing) return false;
  if (testEnv.ci) return false;
  console.warn(`[browser tests skipped] ${missing}`);
  return true;
}

export interface BrowserContextSession {
  context: BrowserContext;
  /** Every request the context made (its pages and their workers), in order. */
  requests: Request[];
}

export interface BrowserSession {
  browser: Browser;
  /** A fresh context (own storage, zh-CN, Asia/Shanghai) that records its requests. */
  newContext(options?: { viewport?: { width: number; height: number } }): Promise<BrowserContextSession>;
  close(): Promise<void>;
}

/** Starts Chromium; throws with the install hint when it is missing. */
export async function launchBrowser(): Promise<BrowserSession> {
  const missing = chromiumMissing();
  if (missing) throw new Error(missing);
  const browser = await chromium.launch({
    executablePath: testEnv.chromium,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  return {
    browser,
    async newContext(options = {}) {
      const context = await browser.newContext({
        viewport: options.viewport ?? { width: 1440, height: 900 },
        deviceScaleFactor: 1,
        locale: 'zh-CN',
        timezoneId: 'Asia/Shanghai',
      });
      // A busy two-core machine can keep the page's main thread occupied (map tiles, WebGL on the
      // CPU) well past Playwright's default 30 s for a click.
      context.setDefaultTimeout(90_000);
      const requests: Request[] = [];
      context.on('request', (request) => requests.push(request));
      return { context, requests };
    },
    close: () => browser.close(),
  };
}

/** Hosts a test page may talk to. */
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** The requests that left the machine (anything but loopback, data: and blob: URLs). */
export function remoteRequests(requests: Request[]): string[] {
  return requests
    .map((request) => request.url())
    .filter((url) => {
      const parsed = new URL(url);
      if (parsed.protocol === 'data:' || parsed.protocol === 'blob:') return false;
      return !LOCAL_HOSTS.has(parsed.hostname);
    });
}

/** A path under the artifacts directory, creating the directory. */
export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  return join(ARTIFACTS_DIR, name);
}
