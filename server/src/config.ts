/**
 * The server's environment, parsed once at start-up. Every bad key is named in one error; no other
 * file of the server reads `process.env`.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** `12h`, `30m`, `7d`, `45s` or a bare number of seconds. */
const DURATION = /^(\d+)\s*([smhd]?)$/;
const UNIT_SECONDS = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 } as const;

export function parseDurationSeconds(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  const seconds = Number(m[1]) * UNIT_SECONDS[(m[2] ?? '') as keyof typeof UNIT_SECONDS];
  return seconds > 0 ? seconds : undefined;
}

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .refine((v) => parseDurationSeconds(v) !== undefined, {
      message: 'expected a duration like 45s, 30m, 12h or 7d',
    })
    .transform((v) => parseDurationSeconds(v)!);

const emptyAsUndefined = (v: unknown) => (v === '' ? undefined : v);

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: z.preprocess(emptyAsUndefined, z.url().optional()),
  MQTT_URL: z.preprocess(emptyAsUndefined, z.url().optional()),
  MQTT_PORT: z.coerce.number().int().min(0).max(65_535).default(1883),
  DATA_DIR: z.string().min(1).default('./data'),
  JWT_SECRET: z.preprocess(emptyAsUndefined, z.string().min(32, 'must be at least 32 characters').optional()),
  DEMO: z.preprocess(emptyAsUndefined, z.enum(['0', '1']).optional()),
  TOKEN_TTL: duration('12h'),
  LOGIN_MAX_ATTEMPTS: z.coerce.number().int().min(1).default(10),
  LOGIN_WINDOW: duration('15m'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  CLIENT_DIST: z.preprocess(emptyAsUndefined, z.string().optional()),
  INIT_CWD: z.string().optional(),
  CORS_ORIGINS: z.string().default(''),
  TRUST_PROXY: z.string().default(''),
  BODY_LIMIT_KB: z.coerce.number().int().min(1).default(1024),
  GRAPHQL_MAX_DEPTH: z.coerce.number().int().min(2).default(12),
  GRAPHQL_MAX_COST: z.coerce.number().int().min(10).default(5000),
  LOGIN_ATTEMPTS_PER_MINUTE: z.coerce.number().int().min(1).default(60),
  OPEN311_POSTS_PER_MINUTE: z.coerce.number().int().min(1).default(30),
  UPLOADS_PER_MINUTE: z.coerce.number().int().min(1).default(60),
  // `off` stops the escalation scheduler; unset: every 30 s, but off under NODE_ENV=test.
  ESCALATION_INTERVAL: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === 'off' || parseDurationSeconds(v) !== undefined, {
      message: 'expected off or a duration like 10s, 1m',
    }),
  WORKER_TRACK_RETENTION: duration('30d'),
});

export interface Config {
  port: number;
  host: string;
  /** Unset: the embedded database under `dataDir`. */
  databaseUrl: string | undefined;
  /** Unset: the embedded broker on `mqttPort`. */
  mqttUrl: string | undefined;
  mqttPort: number;
  /** Absolute. */
  dataDir: string;
  jwtSecret: string;
  /**
   * `auto` (DEMO unset): seed the demo city when the database is embedded and empty;
   * `on` (DEMO=1): seed whenever the database is empty; `off` (DEMO=0): never.
   */
  demo: 'auto' | 'on' | 'off';
  tokenTtlSeconds: number;
  /** Failed logins allowed per username and client address within `loginWindowSeconds`. */
  loginMaxAttempts: number;
  loginWindowSeconds: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  nodeEnv: 'development' | 'production' | 'test';
  /** Seconds between escalation passes; null: no scheduler in this process. */
  escalationIntervalSeconds: number | null;
  /** Worker track points older than this are pruned (hourly). */
  workerTrackRetentionSeconds: number;
  /** The built web app served at `/` (absolute). */
  clientDist: string;
  /** Origins allowed to call the API from a browser (`*` for any); empty: same origin only. */
  corsOrigins: string[];
  /** express `trust proxy`: false, a hop count, or addresses/subnets (`loopback`, `10.0.0.0/8`). */
  trustProxy: boolean | number | string;
  /** Largest JSON or form body, in bytes (uploads have their own limit). */
  bodyLimitBytes: number;
  graphqlMaxDepth: number;
  graphqlMaxCost: number;
  /** Sign-in attempts per client address and minute, whatever the username. */
  loginAttemptsPerMinute: number;
  open311PostsPerMinute: number;
  uploadsPerMinute: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

const defaultClientDist = fileURLToPath(new URL('../../client/dist', import.meta.url));

/**
 * Parses the environment. In demo mode without `JWT_SECRET` (an embedded database, or DEMO=1) a
 * secret is generated once and kept in `DATA_DIR/jwt-secret`, so tokens survive restarts.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`));
  }
  const e = parsed.data;
  const base = e.INIT_CWD ?? process.cwd();
  const dataDir = isAbsolute(e.DATA_DIR) ? e.DATA_DIR : resolve(base, e.DATA_DIR);
  const demo = e.DEMO === '1' ? 'on' : e.DEMO === '0' ? 'off' : 'auto';
  const demoMode = demo === 'on' || (demo === 'auto' && !e.DATABASE_URL);
  let jwtSecret = e.JWT_SECRET;
  if (!jwtSecret) {
    if (!demoMode) {
      throw new ConfigError([
        'JWT_SECRET: required with DATABASE_URL set (unless DEMO=1); at least 32 characters',
      ]);
    }
    jwtSecret = demoJwtSecret(dataDir);
  }
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    mqttUrl: e.MQTT_URL,
    mqttPort: e.MQTT_PORT,
    dataDir,
    jwtSecret,
    demo,
    tokenTtlSeconds: e.TOKEN_TTL,
    loginMaxAttempts: e.LOGIN_MAX_ATTEMPTS,
    loginWindowSeconds: e.LOGIN_WINDOW,
    logLevel: e.LOG_LEVEL,
    nodeEnv: e.NODE_ENV,
    escalationIntervalSeconds:
      e.ESCALATION_INTERVAL === 'off'
        ? null
        : e.ESCALATION_INTERVAL === undefined
          ? e.NODE_ENV === 'test'
            ? null
            : 30
          : parseDurationSeconds(e.ESCALATION_INTERVAL)!,
    workerTrackRetentionSeconds: e.WORKER_TRACK_RETENTION,
    clientDist: e.CLIENT_DIST ? resolve(base, e.CLIENT_DIST) : defaultClientDist,
    corsOrigins: e.CORS_ORIGINS.split(',')
      .map((o) => o.trim())
      .filter(Boolean),
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
    bodyLimitBytes: e.BODY_LIMIT_KB * 1024,
    graphqlMaxDepth: e.GRAPHQL_MAX_DEPTH,
    graphqlMaxCost: e.GRAPHQL_MAX_COST,
    loginAttemptsPerMinute: e.LOGIN_ATTEMPTS_PER_MINUTE,
    open311PostsPerMinute: e.OPEN311_POSTS_PER_MINUTE,
    uploadsPerMinute: e.UPLOADS_PER_MINUTE,
  };
}

function parseTrustProxy(value: string): boolean | number | string {
  const v = value.trim();
  if (v === '' || v === 'false' || v === '0') return false;
  if (v === 'true') return true;
  return /^\d+$/.test(v) ? Number(v) : v;
}

function demoJwtSecret(dataDir: string): string {
  const file = join(dataDir, 'jwt-secret');
  if (existsSync(file)) {
    const kept = readFileSync(file, 'utf8').trim();
    if (kept.length >= 32) return kept;
  }
  const secret = randomBytes(48).toString('base64url');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}
