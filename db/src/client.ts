/**
 * The connection factory: one code path above two ways to run the database.
 *
 * - `url` set: node-postgres against a real PostgreSQL + PostGIS.
 * - `url` unset: PGlite (Postgres compiled to wasm) with PostGIS, in-process, under `dataDir`.
 *
 * Both give a drizzle `Db`; callers never branch on which one they hold, except through
 * `capabilities` (the embedded PostGIS is built without protobuf, so it has no `ST_AsMVT`).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { postgis } from '@electric-sql/pglite-postgis';
import type { SQL } from 'drizzle-orm';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import pg from 'pg';
import * as schema from './schema';

export type Schema = typeof schema;
// biome-ignore lint/suspicious/noExplicitAny: the two drivers' result kinds differ; rows are read through `rows()`.
export type Db = PgDatabase<any, Schema>;
// biome-ignore lint/suspicious/noExplicitAny: as above.
export type Tx = PgTransaction<PgQueryResultHKT, Schema, any>;
/** Anything queries can run on: the database or an open transaction. */
export type Executor = Db | Tx;

export interface Capabilities {
  /** `ST_AsMVT` is available (false on the embedded build). */
  mvt: boolean;
}

export interface Database {
  kind: 'postgres' | 'embedded';
  db: Db;
  capabilities: Capabilities;
  /** Subscribes to a NOTIFY channel; resolves once listening. Returns the unsubscribe. */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  /** Present for `postgres`: the pool, for COPY and other driver-level work. */
  pool?: pg.Pool;
  /** Present for `embedded`: the PGlite instance. */
  pglite?: PGlite;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** A postgres:// URL; unset means embedded. */
  url?: string | undefined;
  /** Where the embedded database keeps its files (`<dataDir>/pg`); unset keeps it in memory. */
  dataDir?: string | undefined;
  /** Pool size for `postgres`. */
  poolSize?: number;
  /** Embedded only: start from a dump made by `dumpEmbedded` (used to clone a test template). */
  loadDataDir?: Blob | File;
  applicationName?: string;
}

/** Runs a raw SQL statement and returns its rows, whichever driver is underneath. */
export async function rows<T>(db: Executor, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as { rows: T[] };
  return result.rows;
}

export async function openDatabase(options: OpenOptions): Promise<Database> {
  return options.url ? openPostgres(options.url, options) : openEmbedded(options);
}

async function openPostgres(url: string, options: OpenOptions): Promise<Database> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    application_name: options.applicationName ?? 'citygrid',
  });
  // A broken idle connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  const db = drizzlePg(pool, { schema, casing: 'snake_case' }) as unknown as Db;
  // Debian's and the PostGIS images' builds have protobuf, hence ST_AsMVT; the migrations create
  // the extension, so ask whether it is installable rather than whether it exists yet.
  const hasMvt = await pool
    .query(`SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'`)
    .then((r) => (r.rowCount ?? 0) > 0)
    .catch(() => false);
  const listener = new PgListener(url);
  return {
    kind: 'postgres',
    db,
    pool,
    capabilities: { mvt: hasMvt },
    listen: (channel, onPayload) => listener.listen(channel, onPayload),
    async close() {
      await listener.close();
      await pool.end();
    },
  };
}

async function openEmbedded(options: OpenOptions): Promise<Database> {
  let dataDir: string | undefined;
  if (options.dataDir) {
    dataDir = join(options.dataDir, 'pg');
    mkdirSync(dataDir, { recursive: true });
  }
  const pglite = await PGlite.create({
    ...(dataDir ? { dataDir } : {}),
    ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
    extensions: { postgis },
  });
  await pglite.exec('CREATE EXTENSION IF NOT EXISTS postgis');
  const db = drizzlePglite(pglite, { schema, casing: 'snake_case' }) as unknown as Db;
  return {
    kind: 'embedded',
    db,
    pglite,
    capabilities: { mvt: false },
    listen: async (channel, onPayload) => {
      const unlisten = await pglite.listen(channel, onPayload);
      return async () => unlisten();
    },
    close: () => pglite.close(),
  };
}

/** Dumps an embedded database so another instance can start from it (`loadDataDir`). */
export async function dumpEmbedded(database: Database): Promise<Blob> {
  if (!database.pglite) throw new Error('dumpEmbedded needs an embedded database');
  return database.pglite.dumpDataDir('none');
}

/**
 * One dedicated connection that LISTENs for the whole process, reconnecting with backoff and
 * re-subscribing every channel after a drop.
 */
class PgListener {
  private client: pg.Client | undefined;
  private connecting: Promise<pg.Client> | undefined;
  private readonly handlers = new Map<string, Set<(payload: string) => void>>();
  private closed = false;

  constructor(private readonly url: string) {}

  async listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>> {
    let set = this.handlers.get(channel);
    const first = !set;
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
    }
    set.add(onPayload);
    const client = await this.connect();
    if (first) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    return async () => {
      set.delete(onPayload);
      if (set.size === 0 && this.handlers.get(channel) === set) {
        this.handlers.delete(channel);
        await this.client?.query(`UNLISTEN ${pg.escapeIdentifier(channel)}`).catch(() => {});
      }
    };
  }

  private connect(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async open(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.url, application_name: 'citygrid-listener' });
    client.on('notification', (msg) => {
      for (const handler of this.handlers.get(msg.channel) ?? []) handler(msg.payload ?? '');
    });
    client.on('error', () => this.dropped(client));
    client.on('end', () => this.dropped(client));
    await client.connect();
    for (const channel of this.handlers.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    this.client = client;
    return client;
  }

  private dropped(client: pg.Client) {
    if (this.client !== client) return;
    this.client = undefined;
    if (this.closed) return;
    const retry = (delay: number) =>
      setTimeout(() => {
        if (this.closed || this.handlers.size === 0) return;
        this.connect().catch(() => retry(Math.min(delay * 2, 10_000)));
      }, delay).unref();
    retry(250);
  }

  async close() {
    this.closed = true;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }
}
