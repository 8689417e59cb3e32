/**
 * Smoke test of the all-in-one start on the embedded default: what `pnpm start` runs, with no
 * DATABASE_URL or MQTT_URL, on a fresh DATA_DIR. It must come up, seed the demo city, let the
 * commander log in and see cases, and come back up on the same data without seeding again.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'citygrid-smoke-'));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

function start(port: number, mqttPort: number): ChildProcess {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    MQTT_PORT: String(mqttPort),
    DATA_DIR: dataDir,
  };
  delete env.DATABASE_URL;
  delete env.MQTT_URL;
  delete env.DEMO;
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts'], {
    cwd: root,
    env,
    stdio: 'inherit',
  });
  return child;
}

async function waitReady(base: string, child: ChildProcess, seconds: number) {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited early with ${child.exitCode}`);
    const ok = await fetch(`${base}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`server not ready within ${seconds}s`);
}

async function gql<T>(base: string, query: string, variables: object = {}, token?: string): Promise<T> {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown[] };
  if (body.errors?.length || !body.data) throw new Error(`GraphQL error: ${JSON.stringify(body.errors)}`);
  return body.data;
}

async function stop(child: ChildProcess) {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

async function countCases(base: string): Promise<number> {
  const { login } = await gql<{ login: { token: string } }>(
    base,
    'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }',
    { u: 'commander', p: 'citygrid' },
  );
  let total = 0;
  let after: string | null = null;
  for (;;) {
    const page: {
      cases: { edges: unknown[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
    } = await gql(
      base,
      'query($first: Int!, $after: String) { cases(first: $first, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }',
      { first: 1000, after },
      login.token,
    );
    total += page.cases.edges.length;
    if (!page.cases.pageInfo.hasNextPage) return total;
    after = page.cases.pageInfo.endCursor;
  }
}

let failed = false;
const port = await freePort();
const mqttPort = await freePort();
const base = `http://127.0.0.1:${port}`;
let child = start(port, mqttPort);
try {
  const t0 = Date.now();
  await waitReady(base, child, 300);
  console.log(`smoke: first start ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const html = await fetch(`${base}/`).then((r) => r.text());
  if (!html.includes('<div id="app"') && !html.includes('<html'))
    throw new Error('the web app is not served at /');
  const first = await countCases(base);
  if (first < 1000) throw new Error(`expected the demo city's ~2,000 cases, found ${first}`);
  await stop(child);

  child = start(port, mqttPort);
  const t1 = Date.now();
  await waitReady(base, child, 180);
  console.log(`smoke: restart on the same DATA_DIR ready in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
  const second = await countCases(base);
  if (second !== first) throw new Error(`restart changed the data: ${first} cases before, ${second} after`);
  console.log(`smoke: ${first} demo cases served, kept across a restart`);
} catch (error) {
  failed = true;
  console.error('smoke: FAILED:', error);
} finally {
  await stop(child);
  rmSync(dataDir, { recursive: true, force: true });
}
console.log(failed ? 'smoke: 0 passed, 1 failed' : 'smoke: 1 passed, 0 failed');
process.exit(failed ? 1 : 0);
