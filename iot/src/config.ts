/** Environment of the IoT side (ingest worker, embedded broker, simulator), parsed once with zod. */
import { z } from 'zod';

const flag = z
  .enum(['0', '1', 'true', 'false', ''])
  .optional()
  .transform((v) => v === '1' || v === 'true');

const schema = z.object({
  DATABASE_URL: z.url().optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  /** A real MQTT 5 broker; unset runs the embedded one on MQTT_PORT. */
  MQTT_URL: z.url().optional(),
  MQTT_PORT: z.coerce.number().int().min(0).max(65535).default(1883),
  /** 5 for real brokers; 4 (3.1.1) to reach an aedes, which does not speak 5. */
  MQTT_PROTOCOL: z.coerce
    .number()
    .pipe(z.union([z.literal(4), z.literal(5)]))
    .default(5),
  /** The account the ingester and the server sign in with (broker-side service account). */
  MQTT_SERVICE_USERNAME: z.string().min(1).default('citygrid-service'),
  MQTT_SERVICE_PASSWORD: z.string().min(1).optional(),
  /** Mosquitto's dynamic-security admin: set, the server keeps the broker's device accounts in step. */
  DYNSEC_ADMIN_USERNAME: z.string().min(1).optional(),
  DYNSEC_ADMIN_PASSWORD: z.string().min(1).optional(),
  /** Stable client id of this ingest worker (a persistent session survives its restarts). */
  INGEST_CLIENT_ID: z.string().min(1).optional(),
  INGEST_BATCH_SIZE: z.coerce.number().int().min(1).max(50_000).default(2000),
  INGEST_BATCH_WINDOW_MS: z.coerce.number().int().min(1).max(10_000).default(100),
  /** Batches a standalone worker writes at once, each on its own database connection. */
  INGEST_WRITERS: z.coerce.number().int().min(1).max(8).default(2),
  /** Latest values are written coalesced at most this often, apart from the batches (0: in each batch). */
  INGEST_LATEST_FLUSH_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  /** Unacknowledged messages at which the worker stops reading from the broker. */
  INGEST_MAX_UNACKED: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  /** Use the broker's shared subscription (off for brokers without `$share`, e.g. the embedded one). */
  INGEST_SHARED: flag,
  /** A standalone worker prints `STATS {json}` lines on stdout this often (0: never); for tests. */
  INGEST_PRINT_STATS_MS: z.coerce.number().int().min(0).default(0),
  /** Connections of a standalone worker's pool. */
  INGEST_DB_POOL: z.coerce.number().int().min(1).max(32).default(4),
  READINGS_RETENTION_DAYS: z.coerce.number().int().min(1).default(30),
  SIMULATOR_DEVICES: z.coerce.number().int().min(0).default(200),
  SIMULATOR_INTERVAL_MS: z.coerce.number().int().min(100).default(10_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type IotConfig = z.infer<typeof schema>;

/** Parses the environment; every bad key is named in one error. */
export function loadIotConfig(env: NodeJS.ProcessEnv = process.env): IotConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid environment: ${problems}`);
  }
  return parsed.data;
}
