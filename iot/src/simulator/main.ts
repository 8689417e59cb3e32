/**
 * The device simulator on its own: `pnpm --filter @citygrid/iot simulate`. Signs in the demo
 * fleet (sensors whose secret derives from their id) against MQTT_URL and publishes until stopped.
 */
import { openDatabase } from '@citygrid/db';
import pino from 'pino';
import { loadIotConfig } from '../config';
import { databaseSql } from '../sql';
import { demoDevices } from '../start';
import { startFleet } from './fleet';

const config = loadIotConfig();
const logger = pino({ level: config.LOG_LEVEL });
if (!config.MQTT_URL) throw new Error('MQTT_URL is required for the standalone simulator');
const database = await openDatabase({ url: config.DATABASE_URL, dataDir: config.DATA_DIR, poolSize: 1 });
const devices = await demoDevices(databaseSql(database), config.SIMULATOR_DEVICES);
await database.close();
const fleet = await startFleet({
  url: config.MQTT_URL,
  devices,
  intervalMs: config.SIMULATOR_INTERVAL_MS,
  protocolVersion: config.MQTT_PROTOCOL,
  logger,
});
const report = setInterval(() => logger.info(fleet.stats, 'simulator'), 10_000);
const stop = async () => {
  clearInterval(report);
  await fleet.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
