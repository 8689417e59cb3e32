/**
 * The server under test for bench:report, in its own process so the load generator does not
 * share its event loop: buildApp on BENCH_DB_URL, listening on a free port, which it prints.
 */
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '@citygrid/db';
import { buildApp, createLogger, loadConfig } from '@citygrid/server';

const url = process.argv[2];
if (!url) throw new Error('usage: server.ts <database url>');
const config = loadConfig({
  DATABASE_URL: url,
  JWT_SECRET: 'citygrid-bench-secret-0123456789abcdef0123456789',
  DATA_DIR: mkdtempSync(join(tmpdir(), 'citygrid-bench-')),
  NODE_ENV: 'production',
  LOG_LEVEL: 'warn',
  HOST: '127.0.0.1',
  PORT: '0',
  ESCALATION_INTERVAL: 'off',
});
const database = await openDatabase({
  url,
  poolSize: Number(process.argv[3] ?? 16),
  applicationName: 'citygrid-bench',
});
const logger = createLogger(config);
const app = await buildApp({ config, database, logger });
const server = app.app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
server.keepAliveTimeout = 60_000;
process.on('SIGTERM', async () => {
  server.closeAllConnections();
  server.close();
  await app.close();
  await database.close();
  process.exit(0);
});
