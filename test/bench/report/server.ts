/**
 * The server under test for bench:report, in its own process so the load generator does not
 * share its event loop: buildApp on the given database, listening on a free port, which it prints
 * with the ids of the processes serving it (`{ port, pids }`), so the bench can add up their CPU.
 *
 * BENCH_PROCESSES=n (default 1) serves from n processes behind one port (node:cluster; the primary
 * accepts connections and hands them round-robin to the workers, and only does that). Each worker
 * is a whole instance with its own pool of `poolSize` connections and its own LISTEN, as separate
 * servers on one database would be.
 */
import cluster from 'node:cluster';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '@citygrid/db';
import { buildApp, createLogger, loadConfig } from '@citygrid/server';

const url = process.argv[2];
if (!url) throw new Error('usage: server.ts <database url> [pool size]');
const poolSize = Number(process.argv[3] ?? 16);
const processes = Math.max(1, Number(process.env.BENCH_PROCESSES ?? 1));

if (processes > 1 && cluster.isPrimary) {
  const ready: { port: number; pid: number }[] = [];
  for (let i = 0; i < processes; i++) {
    const worker = cluster.fork();
    worker.on('message', (m: { port?: number }) => {
      if (typeof m.port !== 'number') return;
      ready.push({ port: m.port, pid: worker.process.pid! });
      if (ready.length === processes) {
        const ports = new Set(ready.map((r) => r.port));
        if (ports.size !== 1) throw new Error(`workers listen on different ports: ${[...ports]}`);
        const pids = [process.pid, ...ready.map((r) => r.pid)];
        process.stdout.write(`${JSON.stringify({ port: ready[0]!.port, pids })}\n`);
      }
    });
  }
  cluster.on('exit', (worker, code) => {
    if (!stopping) {
      console.error(`server worker ${worker.process.pid} exited with ${code}`);
      process.exit(1);
    }
  });
  let stopping = false;
  process.on('SIGTERM', () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    let left = processes;
    cluster.on('exit', () => {
      if (--left === 0) process.exit(0);
    });
  });
} else {
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
  const database = await openDatabase({ url, poolSize, applicationName: 'citygrid-bench' });
  const logger = createLogger(config);
  const app = await buildApp({ config, database, logger });
  // In a cluster every worker's listen(0) gets the one port the primary opened.
  const server = app.app.listen(0, '127.0.0.1', () => {
    const port = (server.address() as AddressInfo).port;
    if (cluster.isWorker) process.send!({ port });
    else process.stdout.write(`${JSON.stringify({ port, pids: [process.pid] })}\n`);
  });
  server.keepAliveTimeout = 60_000;
  process.on('SIGTERM', async () => {
    server.closeAllConnections();
    server.close();
    await app.close();
    await database.close();
    process.exit(0);
  });
}
