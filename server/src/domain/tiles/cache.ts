/**
 * Rendered tiles kept in memory, dropped when their data changes.
 *
 * Migration 0003_tile_cache sends a notice on `citygrid_tiles` for every committed statement that
 * changes cases (with the lon/lat box it touched), grid cells or categories (everything). This
 * cache LISTENs on its own connection and drops the cached tiles the box reaches, at every zoom.
 * A tile rendering while a notice arrives is handed to its callers but not kept.
 *
 * Read-your-writes: a notice is sent when its transaction commits, but it reaches this process
 * asynchronously, so a client that has just seen its write commit could still be served the tile
 * from before it. Before serving from memory, the cache therefore makes one round trip on the
 * listening connection: Postgres sends every notice queued before that query ahead of its answer.
 * Concurrent requests share one round trip. While the connection is down nothing is served from
 * memory, and after it comes back the cache starts empty (notices may have been missed).
 *
 * Each entry also expires after `ttlMs`: the cases layer's `overdue` changes with the clock alone,
 * without a write to send a notice.
 */
import { LRUCache } from 'lru-cache';
import pg from 'pg';
import type { Logger } from 'pino';

export const TILE_CHANNEL = 'citygrid_tiles';

/** A notice from the triggers: a layer (`*` for all) and, for cases, the lon/lat box touched. */
export interface TileNotice {
  layer: string;
  bbox?: [west: number, south: number, east: number, north: number];
}

/** Parses a notice; undefined for anything malformed (which the caller treats as "drop everything"). */
export function parseTileNotice(payload: string): TileNotice | undefined {
  try {
    const n = JSON.parse(payload) as Partial<TileNotice>;
    if (typeof n.layer !== 'string') return undefined;
    if (n.bbox === undefined) return { layer: n.layer };
    if (!Array.isArray(n.bbox) || n.bbox.length !== 4 || !n.bbox.every(Number.isFinite)) return undefined;
    return { layer: n.layer, bbox: n.bbox as TileNotice['bbox'] };
  } catch {
    return undefined;
  }
}

/** The MVT buffer of the tile functions (64 of 4096), in tiles. */
const BUFFER = 64 / 4096;

/**
 * Does a change inside `bbox` (lon/lat) reach tile z/x/y? True when the box meets the tile grown by
 * its buffer (a point just outside the tile draws into it).
 */
export function boxTouchesTile(
  bbox: NonNullable<TileNotice['bbox']>,
  z: number,
  x: number,
  y: number,
): boolean {
  const n = 2 ** z;
  const [west, south, east, north] = bbox;
  const x0 = ((west + 180) / 360) * n;
  const x1 = ((east + 180) / 360) * n;
  const y0 = mercatorY(north) * n;
  const y1 = mercatorY(south) * n;
  return x1 >= x - BUFFER && x0 <= x + 1 + BUFFER && y1 >= y - BUFFER && y0 <= y + 1 + BUFFER;
}

/** Latitude as a fraction of the world's height, 0 at the top (slippy-map numbering). */
function mercatorY(lat: number): number {
  const clamped = Math.max(-85.0511287798, Math.min(85.0511287798, lat));
  const rad = (clamped * Math.PI) / 180;
  return (1 - Math.log(Math.tan(rad) + 1 / Math.cos(rad)) / Math.PI) / 2;
}

/** Where a tile lives, and the variant (scope, filters) that tells tiles of one place apart. */
export interface TileKey {
  layer: string;
  z: number;
  x: number;
  y: number;
  variant: string;
}

export interface CachedTile {
  bytes: Uint8Array;
  etag: string;
}

interface Pending {
  tile: string;
  key: TileKey;
  promise: Promise<CachedTile>;
  stale: boolean;
}

export interface TileCacheOptions {
  /** Bytes of tiles kept at most (least recently used go first). */
  maxBytes?: number;
  /** How long an entry lives without a notice, per layer (default `defaultTtlMs`). */
  ttlMs?: Partial<Record<string, number>>;
  defaultTtlMs?: number;
  /** Layers kept at all (others are rendered on every request). */
  layers: readonly string[];
}

export interface TileCacheStats {
  hits: number;
  misses: number;
  /** Requests that joined a render already under way. */
  joined: number;
  dropped: number;
  entries: number;
  bytes: number;
}

export class TileCache {
  private readonly entries: LRUCache<string, CachedTile & { key: TileKey }>;
  /** Cached keys by tile (`layer/z/x/y`), so a notice finds them without a scan of every variant. */
  private readonly byTile = new Map<
    string,
    { layer: string; z: number; x: number; y: number; keys: Set<string> }
  >();
  private readonly pending = new Map<string, Pending>();
  private readonly layers: Set<string>;
  private readonly stats = { hits: 0, misses: 0, joined: 0, dropped: 0 };
  private listening = false;

  constructor(private readonly options: TileCacheOptions) {
    this.layers = new Set(options.layers);
    this.entries = new LRUCache({
      maxSize: options.maxBytes ?? 256 * 1024 * 1024,
      // The bytes, and a little for the key and bookkeeping.
      sizeCalculation: (entry) => entry.bytes.byteLength + 256,
      ttl: options.defaultTtlMs ?? 60_000,
      dispose: (entry, key) => {
        const tile = tileId(entry.key);
        const held = this.byTile.get(tile);
        held?.keys.delete(key);
        if (held?.keys.size === 0) this.byTile.delete(tile);
      },
    });
  }

  /** Whether the cache may serve from memory now (it is listening for notices). */
  get active(): boolean {
    return this.listening;
  }

  /** Called by the listener: notices are arriving (true) or may be being missed (false). */
  setListening(listening: boolean): void {
    if (listening === this.listening) return;
    // Either way what is held may have missed a notice: start again.
    this.clear();
    this.listening = listening;
  }

  clear(): void {
    this.entries.clear();
    this.byTile.clear();
    for (const p of this.pending.values()) p.stale = true;
  }

  /** Drops what a notice reaches (a malformed notice drops everything). */
  apply(notice: TileNotice | undefined): void {
    if (!notice || notice.layer === '*') {
      this.stats.dropped += this.entries.size;
      this.clear();
      return;
    }
    const reaches = (t: { layer: string; z: number; x: number; y: number }) =>
      t.layer === notice.layer && (!notice.bbox || boxTouchesTile(notice.bbox, t.z, t.x, t.y));
    for (const [tile, held] of [...this.byTile]) {
      if (!reaches(held)) continue;
      for (const key of [...held.keys]) {
        this.entries.delete(key);
        this.stats.dropped++;
      }
      this.byTile.delete(tile);
    }
    for (const p of this.pending.values()) if (reaches(p.key)) p.stale = true;
  }

  /**
   * The tile from memory, or rendered (once, however many ask at the same time) and kept unless a
   * notice reached it meanwhile. `sync` is the round trip that flushes notices already sent.
   */
  async get(key: TileKey, render: () => Promise<CachedTile>, sync: () => Promise<void>): Promise<CachedTile> {
    if (!this.listening || !this.layers.has(key.layer)) return render();
    const id = `${tileId(key)}?${key.variant}`;
    // Notices already committed reach us first (see the header), then memory may answer.
    try {
      await sync();
    } catch {
      return render();
    }
    const found = this.entries.get(id);
    if (found) {
      this.stats.hits++;
      return found;
    }
    // A render that a notice reached may predate a write this caller has seen: not joined.
    const under = this.pending.get(id);
    if (under && !under.stale) {
      this.stats.joined++;
      return under.promise;
    }
    this.stats.misses++;
    const entry: Pending = { tile: tileId(key), key, stale: false, promise: render() };
    this.pending.set(id, entry);
    try {
      const tile = await entry.promise;
      if (!entry.stale && this.listening) {
        this.entries.set(id, { ...tile, key }, { ttl: this.options.ttlMs?.[key.layer] });
        let held = this.byTile.get(entry.tile);
        if (!held) {
          held = { layer: key.layer, z: key.z, x: key.x, y: key.y, keys: new Set() };
          this.byTile.set(entry.tile, held);
        }
        held.keys.add(id);
      }
      return tile;
    } finally {
      if (this.pending.get(id) === entry) this.pending.delete(id);
    }
  }

  /** The ETag held for a tile, without rendering (for a cheap 304); undefined when not held. */
  peekEtag(key: TileKey): string | undefined {
    if (!this.listening || !this.layers.has(key.layer)) return undefined;
    return this.entries.get(`${tileId(key)}?${key.variant}`, { updateAgeOnGet: false })?.etag;
  }

  snapshot(): TileCacheStats {
    return { ...this.stats, entries: this.entries.size, bytes: this.entries.calculatedSize };
  }
}

function tileId(key: Pick<TileKey, 'layer' | 'z' | 'x' | 'y'>): string {
  return `${key.layer}/${key.z}/${key.x}/${key.y}`;
}

/**
 * The listening connection for a cache: LISTEN on `citygrid_tiles`, feed notices to the cache,
 * and offer the shared round trip (`sync`). Reconnects with backoff; the cache serves from memory
 * only while it listens.
 */
export class TileNoticeListener {
  private client: pg.Client | undefined;
  private closed = false;
  private inFlight: Promise<void> | undefined;
  private next: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly connection: pg.ClientConfig,
    private readonly cache: TileCache,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    await this.connect().catch((error) => {
      this.log.warn({ err: error }, 'tile notices: cannot listen yet; tiles are rendered on every request');
      this.retry(1000);
    });
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ ...this.connection, application_name: 'citygrid-tile-cache' });
    client.on('notification', (msg) => {
      if (msg.channel === TILE_CHANNEL) this.cache.apply(parseTileNotice(msg.payload ?? ''));
    });
    const dropped = () => {
      if (this.client !== client) return;
      this.client = undefined;
      this.cache.setListening(false);
      if (!this.closed) this.retry(250);
    };
    client.on('error', dropped);
    client.on('end', dropped);
    await client.connect();
    try {
      await client.query(`LISTEN ${TILE_CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
    if (this.closed) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.cache.setListening(true);
  }

  private retry(delay: number): void {
    this.retryTimer = setTimeout(() => {
      if (this.closed) return;
      this.connect().catch(() => this.retry(Math.min(delay * 2, 10_000)));
    }, delay);
    this.retryTimer.unref();
  }

  /**
   * Resolves once every notice sent before the call has been applied. One query at a time, and
   * every caller arriving while one runs shares the next (it must start after they arrived).
   */
  sync = (): Promise<void> => {
    if (!this.inFlight) {
      this.inFlight = this.roundTrip().finally(() => {
        this.inFlight = undefined;
      });
      return this.inFlight;
    }
    this.next ??= this.inFlight
      .catch(() => {})
      .then(() => {
        this.next = undefined;
        return this.sync();
      });
    return this.next;
  };

  private async roundTrip(): Promise<void> {
    const client = this.client;
    if (!client) throw new Error('tile notices are not being received');
    await client.query('SELECT 1');
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    this.cache.setListening(false);
    await client?.end().catch(() => {});
  }
}

/** A cache and its listener, started together; `undefined` pieces where there is nothing to cache. */
export interface TileCaching {
  cache: TileCache;
  sync: () => Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the tile cache for a PostgreSQL database (the embedded one is a single connection in this
 * process, and a demo: its tiles are rendered on every request). Grid cells and cases are kept;
 * sensors change with the ingester's writes, which send no notices, and are cheap to render.
 */
export async function startTileCaching(
  database: { kind: string; pool?: pg.Pool },
  logger: Logger,
  options: Partial<TileCacheOptions> = {},
): Promise<TileCaching | undefined> {
  if (database.kind !== 'postgres' || !database.pool) return undefined;
  const cache = new TileCache({
    layers: ['grid_cells', 'cases'],
    // Grid cells change only with their notices; cases also grow overdue with the clock.
    ttlMs: { grid_cells: 10 * 60_000, cases: 60_000 },
    ...options,
  });
  const listener = new TileNoticeListener(
    database.pool.options,
    cache,
    logger.child({ module: 'tile-cache' }),
  );
  await listener.start();
  return { cache, sync: listener.sync, close: () => listener.close() };
}
