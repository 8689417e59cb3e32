/**
 * `GET /tiles/{layer}/{z}/{x}/{y}.mvt` for `grid_cells`, `cases` (query params `status`,
 * `category`, comma-separated or repeated; `reportedAfter`, `reportedBefore` as ISO-8601) and
 * `sensors`; `GET /tiles/grid_cells/stats.json` for the choropleth's open/overdue counts. Bearer
 * auth and the caller's region scope as in GraphQL (a DEPARTMENT user's cases tiles hold their
 * department's cases; the counts are refused to them); ETag with 304 on If-None-Match. A thin
 * transport over domain/tiles.
 */
import type { Database } from '@citygrid/db';
import express, { type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import type { TokenIssuer } from '../domain/auth/tokens';
import { BadUserInput, DomainError, httpStatusOf } from '../domain/errors';
import type { TileCaching } from '../domain/tiles/cache';
import { cellStatsBody } from '../domain/tiles/cell-stats';
import { etagOf, renderTile, type TileFilter } from '../domain/tiles/tiles';
import { listParam, requireActor } from './request-helpers';

export interface TilesOptions {
  database: Database;
  tokens: TokenIssuer;
  logger: Logger;
  /** Rendered tiles kept in memory (domain/tiles/cache.ts); without it every request renders. */
  caching?: TileCaching | undefined;
}

export const MVT_CONTENT_TYPE = 'application/vnd.mapbox-vector-tile';

/** The router; mount it at the root (`app.use(tilesRouter(…))`). */
export function tilesRouter(options: TilesOptions): Router {
  const log = options.logger.child({ module: 'tiles' });
  const router = express.Router();

  router.get('/tiles/grid_cells/stats.json', async (req, res) => {
    try {
      const actor = await requireActor(req, options.tokens);
      const body = await cellStatsBody(options.database, actor, options.caching);
      sendWithEtag(req, res, 'application/json; charset=utf-8', body.bytes, body.etag);
    } catch (error) {
      fail(res, error);
    }
  });

  router.get('/tiles/:layer/:z/:x/:file', async (req, res) => {
    try {
      const actor = await requireActor(req, options.tokens);
      const match = /^(\d+)\.mvt$/.exec(req.params.file);
      if (!match) throw new BadUserInput('a tile path ends in {y}.mvt', { field: 'y' });
      const tile = await renderTile(
        options.database,
        actor,
        { layer: req.params.layer, z: integer(req.params.z), x: integer(req.params.x), y: Number(match[1]) },
        filterFromQuery(req.query as Record<string, unknown>),
        { caching: options.caching },
      );
      sendWithEtag(req, res, MVT_CONTENT_TYPE, tile.bytes, tile.etag);
    } catch (error) {
      fail(res, error);
    }
  });

  function fail(res: Response, error: unknown): void {
    if (error instanceof DomainError) {
      res.status(httpStatusOf[error.code]).json({ error: { code: error.code, message: error.message } });
      return;
    }
    log.error({ err: error }, 'tile failed');
    res.status(500).json({ error: { code: 'INTERNAL_SERVER_ERROR', message: 'tile failed' } });
  }

  return router;
}

/** 304 when the client holds this version, else the body; the client revalidates every time. */
function sendWithEtag(
  req: Request,
  res: Response,
  type: string,
  body: Uint8Array,
  etag = etagOf(body),
): void {
  res.setHeader('etag', etag);
  // Private (scoped to the user), and revalidated on every use: the ETag makes that cheap.
  res.setHeader('cache-control', 'private, no-cache');
  res.setHeader('vary', 'Authorization');
  const held = req.headers['if-none-match'];
  if (held?.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)) {
    res.status(304).end();
    return;
  }
  res
    .status(200)
    .type(type)
    .send(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
}

function integer(text: string): number {
  return /^\d+$/.test(text) ? Number(text) : Number.NaN;
}

function time(query: Record<string, unknown>, name: string): Date | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  const parsed = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}/.test(value) ? new Date(value) : undefined;
  if (!parsed || Number.isNaN(parsed.getTime())) {
    throw new BadUserInput(`${name} must be an ISO-8601 time`, { field: name });
  }
  return parsed;
}

export function filterFromQuery(query: Record<string, unknown>): TileFilter {
  const filter: TileFilter = {};
  const status = listParam(query.status);
  if (status) filter.status = status;
  const category = listParam(query.category) ?? listParam(query.categoryCodes);
  if (category) filter.category = category;
  const after = time(query, 'reportedAfter');
  if (after) filter.reportedAfter = after;
  const before = time(query, 'reportedBefore');
  if (before) filter.reportedBefore = before;
  return filter;
}
