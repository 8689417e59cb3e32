/**
 * The all-in-one IoT side: the embedded broker on MQTT_PORT when MQTT_URL is unset (aedes speaks
 * MQTT 3.1.1 and has no shared subscriptions, so one ingester), otherwise one ingest worker on the
 * real broker's shared subscription; the partition/roll-up/presence upkeep; and, in demo mode,
 * the demo fleet (every sensor whose secret is the derived demo secret) publishing live.
 */
import { randomBytes } from 'node:crypto';
import { type Database, demoDeviceSecret, hashSecret } from '@citygrid/db';
import type { Logger } from 'pino';
import { DynsecSync } from './broker/dynsec';
import { type EmbeddedBroker, startEmbeddedBroker } from './broker/embedded';
import type { IotConfig } from './config';
import { Ingester } from './ingest/ingester';
import { SENSOR_KINDS, type SensorKind } from './kinds';
import { createIotMetrics, type IotMetrics } from './metrics';
import { startMaintenance } from './retention';
import { type Fleet, type SimDevice, startFleet } from './simulator/fleet';
import { databaseSql, type Sql } from './sql';

export interface StartIotOptions {
  config: IotConfig;
  database: Database;
  logger: Logger;
  /** Run the demo fleet (default: when the broker is embedded). */
  demoFleet?: boolean;
  /** Share a metrics registry with the server's `/metrics`; a new one otherwise. */
  metrics?: IotMetrics;
  /** Dynamic-security admin for a real Mosquitto: keeps the service account and demo fleet in it. */
  dynsec?: { username: string; password: string };
}

export interface IotSide {
  metrics: IotMetrics;
  brokerUrl: string;
  /** `/readyz` probes: the ingester's broker connection. */
  readiness: { name: string; check(): Promise<void> }[];
  fleet: Fleet | undefined;
  ingester: Ingester;
  close(): Promise<void>;
}

/** The demo devices: sensors whose secret is the one derived from their id. */
export async function demoDevices(sql: Sql, limit: number): Promise<SimDevice[]> {
  const rows = await sql.query<{ device_id: string; kind: string; secret_hash: string }>(
    'SELECT device_id, kind, secret_hash FROM sensors ORDER BY id',
  );
  const devices: SimDevice[] = [];
  for (const r of rows) {
    if (devices.length >= limit) break;
    if (!(r.kind in SENSOR_KINDS)) continue;
    const secret = demoDeviceSecret(r.device_id);
    if (hashSecret(secret) === r.secret_hash)
      devices.push({ deviceId: r.device_id, kind: r.kind as SensorKind, secret });
  }
  return devices;
}

export async function startIot(options: StartIotOptions): Promise<IotSide> {
  const { config, database } = options;
  const logger = options.logger;
  const metrics = options.metrics ?? createIotMetrics();
  const service = {
    username: config.MQTT_SERVICE_USERNAME,
    // Embedded: a per-process password nobody else needs to know.
    password: config.MQTT_SERVICE_PASSWORD ?? randomBytes(18).toString('base64url'),
  };
  let broker: EmbeddedBroker | undefined;
  let url = config.MQTT_URL;
  if (!url) {
    broker = await startEmbeddedBroker({ database, port: config.MQTT_PORT, logger, service });
    url = `mqtt://127.0.0.1:${broker.port}`;
  } else if (options.dynsec) {
    const sync = await DynsecSync.connect({ url, ...options.dynsec, logger });
    try {
      await sync.ensureService(service.username, service.password);
      const added = await sync.syncDemoFleet(databaseSql(database));
      logger.info({ added }, 'dynamic security in step with the registry');
    } finally {
      await sync.close();
    }
  }
  const embedded = broker !== undefined;
  const ingester = new Ingester({
    database,
    url,
    username: embedded || config.MQTT_SERVICE_PASSWORD ? service.username : undefined,
    password: embedded || config.MQTT_SERVICE_PASSWORD ? service.password : undefined,
    clientId: config.INGEST_CLIENT_ID,
    shared: embedded ? false : config.INGEST_SHARED,
    protocolVersion: embedded ? 4 : config.MQTT_PROTOCOL,
    batchSize: config.INGEST_BATCH_SIZE,
    batchWindowMs: config.INGEST_BATCH_WINDOW_MS,
    maxUnacked: config.INGEST_MAX_UNACKED,
    latestFlushMs: config.INGEST_LATEST_FLUSH_MS,
    logger: logger.child({ module: 'ingest' }),
    metrics,
  });
  await ingester.start();
  const stopMaintenance = startMaintenance({
    database,
    logger: logger.child({ module: 'readings-upkeep' }),
    retentionDays: config.READINGS_RETENTION_DAYS,
  });
  let fleet: Fleet | undefined;
  if ((options.demoFleet ?? embedded) && config.SIMULATOR_DEVICES > 0) {
    const devices = await demoDevices(databaseSql(database), config.SIMULATOR_DEVICES);
    fleet = await startFleet({
      url,
      devices,
      intervalMs: config.SIMULATOR_INTERVAL_MS,
      protocolVersion: embedded ? 4 : config.MQTT_PROTOCOL,
      logger,
    });
  }
  return {
    metrics,
    brokerUrl: url,
    fleet,
    ingester,
    readiness: [
      {
        name: 'mqtt',
        check: async () => {
          if (!ingester.connected) throw new Error('the ingester is not connected to the broker');
        },
      },
    ],
    async close() {
      await fleet?.close();
      await ingester.close();
      await stopMaintenance();
      await broker?.close();
    },
  };
}
