/**
 * Open311 GeoReport v2 under `/open311/v2/`: a thin transport over domain/open311. Every
 * resource comes as `.json` or `.xml`; failures answer the specification's error list
 * (`[{ "code": 400, "description": "…" }]` or `<errors><error>…`) with the same HTTP status:
 * 400 missing or invalid field, 403 missing or bad api_key, 404 unknown service or request,
 * 429 too many POSTs from one client.
 */
import type { Db } from '@citygrid/db';
import express, { type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import { DomainError, httpStatusOf } from '../../domain/errors';
import {
  createServiceRequest,
  findServiceRequests,
  getServiceRequest,
  type RequestQuery,
} from '../../domain/open311/requests';
import { listServices, type Open311Lang, serviceDefinition } from '../../domain/open311/services';
import type { FixedWindowLimiter } from '../security';
import { xmlDocument, xmlList } from './xml';

export interface Open311Options {
  db: Db;
  logger: Logger;
  /** Limits POSTs per client address. */
  postLimiter: FixedWindowLimiter;
  /** Largest accepted POST body. */
  bodyLimitBytes?: number;
}

type Format = 'json' | 'xml';

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** `requests.json` → ['requests', 'json']; the format is the text after the last dot. */
function splitFormat(file: string): { name: string; format: Format } {
  const dot = file.lastIndexOf('.');
  const format = dot > 0 ? file.slice(dot + 1).toLowerCase() : '';
  if (format !== 'json' && format !== 'xml') {
    throw new HttpProblem(404, `unknown format "${format}": ask for .json or .xml`);
  }
  return { name: file.slice(0, dot), format };
}

function langOf(req: Request): Open311Lang {
  return String(req.query.lang ?? '')
    .toLowerCase()
    .startsWith('en')
    ? 'en'
    : 'zh';
}

function queryText(req: Request, key: string): string | undefined {
  const v = req.query[key];
  return typeof v === 'string' ? v : undefined;
}

function send(res: Response, format: Format, status: number, json: unknown, xml: () => string) {
  res.status(status);
  if (format === 'xml') res.type('text/xml; charset=utf-8').send(xml());
  else res.type('application/json; charset=utf-8').send(JSON.stringify(json));
}

export function open311Router(options: Open311Options): Router {
  const log = options.logger.child({ module: 'open311' });
  const router = express.Router();
  const limit = options.bodyLimitBytes ?? 64 * 1024;

  const handle =
    (fn: (req: Request, res: Response, format: Format) => Promise<void>) =>
    async (req: Request, res: Response) => {
      // Until the file name is read, errors answer in JSON.
      let format: Format = 'json';
      try {
        const file = String(req.params.file ?? '');
        format = splitFormat(file).format;
        await fn(req, res, format);
      } catch (error) {
        let status = 500;
        let description = 'internal error';
        if (error instanceof HttpProblem) {
          status = error.status;
          description = error.message;
          for (const [k, v] of Object.entries(error.headers)) res.setHeader(k, v);
        } else if (error instanceof DomainError) {
          // Everything the domain refuses maps to the specification's three codes.
          status =
            error.code === 'FORBIDDEN' || error.code === 'UNAUTHENTICATED' ? 403 : httpStatusOf[error.code];
          if (status === 409) status = 400;
          description = error.message;
        } else if (isBodyError(error)) {
          status = error.status;
          description =
            error.status === 413
              ? `the request body is larger than ${limit} bytes`
              : 'malformed request body';
        } else {
          log.error({ err: error }, 'open311 request failed');
        }
        const errors = [{ code: status, description }];
        send(res, format, status, errors, () => xmlList('errors', 'error', errors));
      }
    };

  router.get(
    '/open311/v2/:file',
    handle(async (req, res, format) => {
      const { name } = splitFormat(String(req.params.file));
      if (name === 'services') {
        const services = await listServices(options.db, langOf(req));
        send(res, format, 200, services, () => xmlList('services', 'service', services));
      } else if (name === 'requests') {
        const query: RequestQuery = {
          service_request_id: queryText(req, 'service_request_id'),
          service_code: queryText(req, 'service_code'),
          start_date: queryText(req, 'start_date'),
          end_date: queryText(req, 'end_date'),
          status: queryText(req, 'status'),
        };
        const found = await findServiceRequests(options.db, query, langOf(req));
        send(res, format, 200, found, () => xmlList('service_requests', 'request', found));
      } else {
        throw new HttpProblem(404, `no resource "${name}"`);
      }
    }),
  );

  router.get(
    '/open311/v2/services/:file',
    handle(async (req, res, format) => {
      const { name } = splitFormat(String(req.params.file));
      const definition = await serviceDefinition(options.db, decodeURIComponent(name));
      send(res, format, 200, definition, () => xmlDocument('service_definition', definition));
    }),
  );

  router.get(
    '/open311/v2/requests/:file',
    handle(async (req, res, format) => {
      const { name } = splitFormat(String(req.params.file));
      const found = await getServiceRequest(options.db, decodeURIComponent(name), langOf(req));
      send(res, format, 200, found, () => xmlList('service_requests', 'request', found));
    }),
  );

  const parseBody = [
    express.urlencoded({ extended: false, limit, parameterLimit: 100 }),
    express.json({ limit }),
  ];
  router.post(
    '/open311/v2/:file',
    (req, res, next) => {
      const wait = options.postLimiter.hit(req.ip ?? req.socket.remoteAddress ?? 'unknown');
      if (wait > 0) {
        const description = `too many service requests from this client; try again in ${wait} s`;
        const format: Format = String(req.params.file).endsWith('.xml') ? 'xml' : 'json';
        res.setHeader('Retry-After', String(wait));
        const errors = [{ code: 429, description }];
        send(res, format, 429, errors, () => xmlList('errors', 'error', errors));
        return;
      }
      next();
    },
    (req, res, next) => {
      // Body parse errors (413, malformed) answer in the specification's error format too.
      let index = 0;
      const step = (error?: unknown) => {
        if (error) return handle(async () => Promise.reject(error))(req, res);
        const parser = parseBody[index++];
        if (!parser) return next();
        parser(req, res, step);
      };
      step();
    },
    handle(async (req, res, format) => {
      const { name } = splitFormat(String(req.params.file));
      if (name !== 'requests') throw new HttpProblem(404, `no resource "${name}" to POST to`);
      const fields = {
        ...(req.query as Record<string, unknown>),
        ...((req.body as Record<string, unknown>) ?? {}),
      };
      const created = await createServiceRequest(options.db, fields);
      log.info({ serviceRequestId: created.service_request_id }, 'open311 request created');
      const answer = [created];
      send(res, format, 201, answer, () => xmlList('service_requests', 'request', answer));
    }),
  );

  return router;
}

function isBodyError(error: unknown): error is { status: number; type: string } {
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { status?: unknown }).status === 'number' &&
    typeof (error as { type?: unknown }).type === 'string'
  );
}
