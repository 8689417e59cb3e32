/**
 * `GET /export/cases.csv` and `GET /export/cases.geojson`: the `cases` filter as query parameters,
 * the same Bearer auth and region scope, streamed batch by batch with backpressure (a million rows
 * never sit in memory). A thin transport over domain/evaluation/case-export.
 *
 * Query parameters: `status` (comma-separated or repeated), `categoryCodes` (or `category`),
 * `gridId`, `regionId`, `bbox=minLon,minLat,maxLon,maxLat`, `reportedAfter`, `reportedBefore`
 * (ISO-8601), `overdue=true|false`.
 */
import type { Database } from '@citygrid/db';
import type { CaseStatus } from '@citygrid/db/schema';
import express, { type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import type { TokenIssuer } from '../domain/auth/tokens';
import type { CaseFilter } from '../domain/cases/queries';
import { BadUserInput, DomainError, httpStatusOf } from '../domain/errors';
import {
  csvHeader,
  csvLines,
  type ExportRow,
  exportCases,
  geojsonFeatures,
} from '../domain/evaluation/case-export';
import { listParam, requireActor } from './request-helpers';

export interface ExportOptions {
  database: Database;
  tokens: TokenIssuer;
  logger: Logger;
}

type Format = 'csv' | 'geojson';

const CONTENT_TYPES: Record<Format, string> = {
  csv: 'text/csv; charset=utf-8',
  geojson: 'application/geo+json; charset=utf-8',
};

/** The router; mount it at the root (`app.use(exportRouter(…))`). */
export function exportRouter(options: ExportOptions): Router {
  const log = options.logger.child({ module: 'export' });
  const router = express.Router();
  router.get('/export/cases.csv', (req, res) => send(req, res, 'csv'));
  router.get('/export/cases.geojson', (req, res) => send(req, res, 'geojson'));

  async function send(req: Request, res: Response, format: Format): Promise<void> {
    let batches: AsyncGenerator<ExportRow[]> | undefined;
    let rowsSent = 0;
    try {
      const actor = await requireActor(req, options.tokens);
      const filter = filterFromQuery(req.query as Record<string, unknown>);
      batches = exportCases(options.database, actor, filter);
      // Pull the first batch before answering, so a refused filter is still a clean 4xx.
      const first = await batches.next();
      const stamp = new Date().toISOString().slice(0, 10).replaceAll('-', '');
      res.status(200);
      res.setHeader('content-type', CONTENT_TYPES[format]);
      res.setHeader('content-disposition', `attachment; filename="cases-${stamp}.${format}"`);
      res.setHeader('cache-control', 'no-store');
      let gone = false;
      res.once('close', () => {
        gone = true;
      });
      // CSV starts with a BOM so spreadsheet programs read the UTF-8 (Chinese) text right.
      await write(
        res,
        format === 'csv' ? `\uFEFF${csvHeader()}` : '{"type":"FeatureCollection","features":[',
      );
      let batch = first.done ? undefined : first.value;
      while (batch && !gone) {
        await write(res, format === 'csv' ? csvLines(batch) : geojsonFeatures(batch, rowsSent === 0));
        rowsSent += batch.length;
        const next = await batches.next();
        batch = next.done ? undefined : next.value;
      }
      if (gone) {
        log.info({ rowsSent }, 'export stopped: the client left');
        return;
      }
      if (format === 'geojson') await write(res, ']}');
      res.end();
    } catch (error) {
      if (res.headersSent) {
        // Mid-stream: the only honest signal left is to cut the response short.
        log.error({ err: error, rowsSent }, 'export failed mid-stream');
        res.destroy(error as Error);
        return;
      }
      if (error instanceof DomainError) {
        res.status(httpStatusOf[error.code]).json({ error: { code: error.code, message: error.message } });
        return;
      }
      log.error({ err: error }, 'export failed');
      res.status(500).json({ error: { code: 'INTERNAL_SERVER_ERROR', message: 'export failed' } });
    } finally {
      // Closes the cursor (or stops the pages) when the loop ended early.
      await batches?.return(undefined).catch(() => undefined);
    }
  }

  return router;
}

/** Writes with backpressure: waits for `drain` when the socket's buffer is full. */
async function write(res: Response, chunk: string): Promise<void> {
  if (res.destroyed) return;
  if (res.write(chunk)) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function single(query: Record<string, unknown>, name: string): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (Array.isArray(value) || typeof value !== 'string') {
    throw new BadUserInput(`${name} may be given once`, { field: name });
  }
  return value;
}

function date(query: Record<string, unknown>, name: string): Date | undefined {
  const value = single(query, name);
  if (value === undefined) return undefined;
  const parsed = /^\d{4}-\d{2}-\d{2}/.test(value) ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(parsed.getTime()))
    throw new BadUserInput(`${name} must be an ISO-8601 time`, { field: name });
  return parsed;
}

/** The `cases` filter from query parameters; the domain validates values (status names, ids, box). */
export function filterFromQuery(query: Record<string, unknown>): CaseFilter {
  const filter: CaseFilter = {};
  const status = listParam(query.status);
  if (status) filter.status = status as CaseStatus[];
  const categories = listParam(query.categoryCodes) ?? listParam(query.category);
  if (categories) filter.categoryCodes = categories;
  const gridId = single(query, 'gridId');
  if (gridId !== undefined) filter.gridId = gridId;
  const regionId = single(query, 'regionId');
  if (regionId !== undefined) filter.regionId = regionId;
  const bbox = single(query, 'bbox');
  if (bbox !== undefined) {
    const parts = bbox.split(',').map(Number);
    if (parts.length !== 4 || parts.some((n) => !Number.isFinite(n))) {
      throw new BadUserInput('bbox must be minLon,minLat,maxLon,maxLat', { field: 'bbox' });
    }
    const [minLon, minLat, maxLon, maxLat] = parts as [number, number, number, number];
    filter.bbox = { minLon, minLat, maxLon, maxLat };
  }
  const after = date(query, 'reportedAfter');
  if (after) filter.reportedAfter = after;
  const before = date(query, 'reportedBefore');
  if (before) filter.reportedBefore = before;
  const overdue = single(query, 'overdue');
  if (overdue !== undefined) {
    if (overdue !== 'true' && overdue !== 'false') {
      throw new BadUserInput('overdue must be true or false', { field: 'overdue' });
    }
    filter.overdue = overdue === 'true';
  }
  return filter;
}
