/**
 * A standalone ingest worker: `pnpm --filter @citygrid/iot ingest`. Start several against one
 * MQTT 5 broker with INGEST_SHARED=1; give each a stable INGEST_CLIENT_ID so a restarted worker
 * picks up what it had not acknowledged.
 */
import { migrate, openDatabase } from '@citygrid/db';
import pino from 'pino';
import { loadIotConfig } from './config';
import { Ingester } from './ingest/ingester';
import { createIotMetrics } from './metrics';
import { startMaintenance } from './retention';

const config = loadIotConfig();
const logger = pino({ level: config.LOG_LEVEL }).child({ module: 'ingest' });
if (!config.MQTT_URL) throw new Error('MQTT_URL is required for a standalone ingest worker');

const database = await openDatabase({
  url: config.DATABASE_URL,
  dataDir: config.DATA_DIR,
  poolSize: config.INGEST_DB_POOL,
});
if (database.kind === 'embedded') await migrate(database);
const ingester = new Ingester({
  database,
  url: config.MQTT_URL,
  username: config.MQTT_SERVICE_PASSWORD ? config.MQTT_SERVICE_USERNAME : undefined,
  password: config.MQTT_SERVICE_PASSWORD,
  clientId: config.INGEST_CLIENT_ID,
  shared: config.INGEST_SHARED,
  protocolVersion: config.MQTT_PROTOCOL,
  batchSize: config.INGEST_BATCH_SIZE,
  batchWindowMs: config.INGEST_BATCH_WINDOW_MS,
  writers: config.INGEST_WRITERS,
  maxUnacked: config.INGEST_MAX_UNACKED,
  latestFlushMs: config.INGEST_LATEST_FLUSH_MS,
  logger,
  metrics: createIotMetrics(),
});
await ingester.start();
const stopMaintenance = startMaintenance({ database, logger, retentionDays: config.READINGS_RETENTION_DAYS });
logger.info({ shared: config.INGEST_SHARED, clientId: config.INGEST_CLIENT_ID }, 'ingest worker ready');
// For supervisors and tests: one line on stdout once subscribed, and progress if asked.
process.stdout.write('READY\n');
const printer =
  config.INGEST_PRINT_STATS_MS > 0
    ? setInterval(
        () =>
          process.stdout.write(`STATS ${JSON.stringify({ ...ingester.stats, pending: ingester.pending })}\n`),
        config.INGEST_PRINT_STATS_MS,
      )
    : undefined;

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  if (printer) clearInterval(printer);
  await ingester.close();
  await stopMaintenance();
  await database.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
