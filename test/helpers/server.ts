/**
 * A real server for a test file: `buildApp` on the file's database, listening on a free port.
 *
 *   const database = await testDatabase();
 *   const server = await startTestServer(database);
 *   afterAll(() => server.close());
 *   const token = await server.login('commander');
 *   const { data, errors } = await server.graphql<{ me: { id: string } }>('{ me { id } }', {}, token);
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from '@citygrid/db';
import {
  type App,
  buildApp,
  type Config,
  createLogger,
  loadConfig,
  type ReadinessCheck,
} from '@citygrid/server';

export interface GraphQLErrorBody {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; [key: string]: unknown };
}

export interface GraphQLResponse<T> {
  data?: T | null;
  errors?: GraphQLErrorBody[];
}

export interface TestServer {
  /** Base URL, e.g. `http://127.0.0.1:43121` (GraphQL is at `${url}/graphql`). */
  url: string;
  app: App;
  config: Config;
  graphql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string,
  ): Promise<GraphQLResponse<T>>;
  /** Signs in (demo password by default) and returns the token; throws if sign-in fails. */
  login(username: string, password?: string): Promise<string>;
  close(): Promise<void>;
}

export interface TestServerOptions {
  /** Extra `/readyz` probes, e.g. the broker. */
  readiness?: ReadinessCheck[];
}

export const TEST_JWT_SECRET = 'citygrid-test-secret-0123456789abcdef0123456789';

export async function startTestServer(
  database: Database,
  overrides: Partial<Config> = {},
  options: TestServerOptions = {},
): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'citygrid-server-'));
  const config: Config = {
    ...loadConfig({
      JWT_SECRET: TEST_JWT_SECRET,
      DATA_DIR: dataDir,
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      HOST: '127.0.0.1',
      PORT: '0',
    }),
    ...overrides,
  };
  const logger = createLogger(config);
  const app = await buildApp({ config, database, logger, readiness: options.readiness ?? [] });
  const server = app.app.listen(0, '127.0.0.1');
  // Longer than clients' idle keep-alive (undici: 4 s), so a client never reuses a socket the
  // server is closing at that moment (ECONNRESET).
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  async function graphql<T>(query: string, variables?: Record<string, unknown>, token?: string) {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({ query, variables: variables ?? {} }),
    });
    const text = await response.text();
    try {
      return JSON.parse(text) as GraphQLResponse<T>;
    } catch {
      throw new Error(`POST /graphql answered ${response.status} with non-JSON: ${text.slice(0, 300)}`);
    }
  }

  return {
    url,
    app,
    config,
    graphql,
    async login(username, password = 'citygrid') {
      const { data, errors } = await graphql<{ login: { token: string } }>(
        'mutation Login($u: String!, $p: String!) { login(username: $u, password: $p) { token } }',
        { u: username, p: password },
      );
      if (!data?.login) throw new Error(`login ${username} failed: ${JSON.stringify(errors)}`);
      return data.login.token;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
