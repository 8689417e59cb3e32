/**
 * The all-in-one start: config → logger → database (migrated; the demo city seeded when it is
 * empty and in demo mode) → the IoT side → HTTP. Stops cleanly on SIGINT/SIGTERM.
 */
import type { Server } from 'node:http';
import { type Database, migrate, openDatabase } from '@citygrid/db';
import { regions } from '@citygrid/db/schema';
import { seedDemoCity } from '@citygrid/db/seed';
import { DynsecSync, loadIotConfig, startIot } from '@citygrid/iot';
import type { Registry } from 'prom-client';
import { buildApp } from './app';
import { type Config, ConfigError, loadConfig } from './config';
import { startAlarmReactor } from './domain/alarms/reactor';
import { sensorHooks } from './domain/sensors/sensors';
import type { ReadinessCheck } from './http/health';
import { createLogger, type Logger } from './logger';

/** The demo logins the start-up log prints (CONTRACT.md). */
const DEMO_LOGINS = [
  'admin',
  'commander',
  'supervisor',
  'worker1 … worker20',
  'dept-sanitation',
  'dept-roads',
  'dept-water',
  'commander-<district code>',
];

async function seedIfEmpty(config: Config, database: Database, logger: Logger): Promise<void> {
  if (config.demo === 'off') return;
  if (config.demo === 'auto' && database.kind !== 'embedded') return;
  const [anyRegion] = await database.db.select({ id: regions.id }).from(regions).limit(1);
  if (anyRegion) return;
  logger.info('empty database: seeding the demo city (first start only)');
  const started = Date.now();
  const summary = await seedDemoCity(database.db, { now: new Date() });
  logger.info({ ...summary, ms: Date.now() - started }, 'demo city seeded');
}

/**
 * The IoT side in-process: the embedded broker (or MQTT_URL), one ingest worker, readings upkeep
 * and, on the embedded broker, the demo sensor fleet; plus the alarm → case reactor, which catches
 * up on alarms raised while the server was down before it listens for new ones.
 */
async function startIotSide(
  database: Database,
  logger: Logger,
): Promise<{ readiness: ReadinessCheck[]; registries: Registry[]; stop(): Promise<void> }> {
  const config = loadIotConfig(process.env);
  const dynsec =
    config.MQTT_URL && config.DYNSEC_ADMIN_USERNAME && config.DYNSEC_ADMIN_PASSWORD
      ? {
          url: config.MQTT_URL,
          username: config.DYNSEC_ADMIN_USERNAME,
          password: config.DYNSEC_ADMIN_PASSWORD,
        }
      : undefined;
  const iot = await startIot({ config, database, logger, ...(dynsec ? { dynsec } : {}) });
  if (dynsec) {
    // A sensor registered through the API gets its broker account at once (its secret is shown once).
    sensorHooks.credentials = {
      async addDevice(deviceId, secret) {
        const sync = await DynsecSync.connect({ ...dynsec, logger });
        try {
          await sync.addDevice(deviceId, secret);
        } finally {
          await sync.close();
        }
      },
    };
  }
  const reactor = await startAlarmReactor({ database, logger });
  logger.info({ broker: iot.brokerUrl, demoFleet: iot.fleet !== undefined }, 'IoT side running');
  return {
    readiness: iot.readiness,
    registries: [iot.metrics.registry],
    async stop() {
      await reactor.close();
      await iot.close();
    },
  };
}

async function main() {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config);
  logger.info(
    { database: config.databaseUrl ? 'postgres' : `embedded (${config.dataDir})`, demo: config.demo },
    'starting citygrid',
  );

  const database = await openDatabase({
    url: config.databaseUrl,
    dataDir: config.dataDir,
    applicationName: 'citygrid-server',
  });
  await migrate(database);
  await seedIfEmpty(config, database, logger);

  const iot = await startIotSide(database, logger.child({ module: 'iot' }));
  const built = await buildApp({
    config,
    database,
    logger,
    readiness: iot.readiness,
    metricsRegistries: iot.registries,
  });
  const server: Server = built.app.listen(config.port, config.host);
  // Longer than clients' idle keep-alive (undici: 4 s), so a client never reuses a socket the
  // server is closing at that moment (ECONNRESET).
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const url = `http://${shownHost}:${config.port}`;
  logger.info({ url, graphql: `${url}/graphql` }, `Citygrid is up at ${url}`);
  if (config.demo !== 'off') {
    logger.info(`demo logins (password "citygrid"): ${DEMO_LOGINS.join(', ')}`);
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.warn('forcing exit after 15 s');
      process.exit(1);
    }, 15_000);
    force.unref();
    server.close();
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 5000).unref();
    try {
      await iot.stop();
      await built.close();
      await database.close();
    } catch (error) {
      logger.error({ err: error }, 'error while shutting down');
    }
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
