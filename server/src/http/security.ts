/**
 * Hardening at the edges: security headers (helmet), CORS limited to configured origins, request
 * ids through child loggers, fixed-window rate limits, and the GraphQL guards — depth, cost,
 * alias and token limits (graphql-armor), no introspection or field suggestions in production,
 * and a per-client limit on sign-in attempts.
 *
 * Refusals: HTTP limits answer 429 with `Retry-After`. In GraphQL, a query past a limit fails
 * validation with `extensions.code = BAD_USER_INPUT` and `extensions.limit` (`depth`, `cost`,
 * `aliases`, `directives`, `tokens`); too many sign-ins from one client answer HTTP 429 with
 * `extensions.code = RATE_LIMITED` and `extensions.retryAfterSeconds`.
 */
import { randomUUID } from 'node:crypto';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import cors from 'cors';
import express, {
  type ErrorRequestHandler,
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import {
  type ASTVisitor,
  type DocumentNode,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import helmet from 'helmet';
import type { Logger } from 'pino';
import type { Config } from '../config';

/**
 * At most `max` hits per key in each window of `windowMs`. In memory, per instance: several
 * instances behind one balancer each allow their own share, which is what a per-instance guard
 * against floods needs (a shared budget would need the database or a broker on every request).
 */
export class FixedWindowLimiter {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  constructor(
    readonly max: number,
    readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts a hit; answers 0 when allowed, else the seconds until the key may try again. */
  hit(key: string): number {
    const t = this.now();
    let entry = this.windows.get(key);
    if (!entry || entry.resetAt <= t) {
      entry = { count: 0, resetAt: t + this.windowMs };
      this.windows.set(key, entry);
      if (this.windows.size > 100_000) this.prune(t);
    }
    entry.count += 1;
    return entry.count > this.max ? Math.max(1, Math.ceil((entry.resetAt - t) / 1000)) : 0;
  }

  private prune(t: number) {
    for (const [key, entry] of this.windows) if (entry.resetAt <= t) this.windows.delete(key);
  }
}

export function clientKey(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

/** An express middleware answering 429 (JSON `{ error: { code, message } }`) past the limit. */
export function rateLimit(limiter: FixedWindowLimiter, what: string): RequestHandler {
  return (req, res, next) => {
    const wait = limiter.hit(clientKey(req));
    if (wait === 0) return next();
    res.setHeader('Retry-After', String(wait));
    res.status(429).json({
      error: { code: 'RATE_LIMITED', message: `too many ${what} from this client; try again in ${wait} s` },
    });
  };
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Gives every request an id (the client's `x-request-id` when it is sane, else a new one), echoes
 * it in the answer, and puts a child logger carrying it in `res.locals.logger`. Finished
 * requests are logged at info (health and metrics scrapes at debug).
 */
export function requestIds(logger: Logger): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader('x-request-id', id);
    const log = logger.child({ reqId: id });
    res.locals.logger = log;
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const quiet = req.path === '/healthz' || req.path === '/readyz' || req.path === '/metrics';
      log[quiet ? 'debug' : 'info'](
        { method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms * 10) / 10 },
        'request',
      );
    });
    next();
  };
}

/** helmet's headers, with a CSP that lets the web app's MapLibre worker and canvas images run. */
export function securityHeaders(config: Pick<Config, 'nodeEnv'>): RequestHandler {
  const strict = helmet({
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        workerSrc: ["'self'", 'blob:'],
        imgSrc: ["'self'", 'data:', 'blob:'],
        styleSrc: ["'self'", "'unsafe-inline'"],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        frameAncestors: ["'none'"],
      },
    },
    // The web app is served over plain HTTP in the embedded demo; HSTS only in production.
    strictTransportSecurity: config.nodeEnv === 'production',
  });
  // GraphiQL (development only) loads its page scripts from a CDN; it keeps helmet's other headers.
  const relaxed = helmet({ contentSecurityPolicy: false, strictTransportSecurity: false });
  return (req, res, next) =>
    config.nodeEnv !== 'production' && req.path === '/graphql' && req.method === 'GET'
      ? relaxed(req, res, next)
      : strict(req, res, next);
}

/** CORS for the configured origins only; with none configured, no cross-origin reads at all. */
export function corsPolicy(config: Pick<Config, 'corsOrigins'>): RequestHandler {
  const origins = config.corsOrigins;
  return cors({
    origin: origins.includes('*') ? '*' : (origin, done) => done(null, !!origin && origins.includes(origin)),
    methods: ['GET', 'HEAD', 'POST', 'OPTIONS'],
    allowedHeaders: ['authorization', 'content-type', 'x-request-id', 'if-none-match'],
    exposedHeaders: ['x-request-id', 'retry-after', 'etag'],
    maxAge: 600,
  });
}

/** Refuses a declared body larger than the limit before anything reads it. */
export function bodyLimit(limitBytes: number): RequestHandler {
  return (req, res, next) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limitBytes) {
      res.status(413).json({
        errors: [
          {
            message: `the request body is ${declared} bytes; the limit is ${limitBytes}`,
            extensions: { code: 'BAD_USER_INPUT', limitBytes },
          },
        ],
      });
      return;
    }
    next();
  };
}

/**
 * JSON bodies for GraphQL, parsed within the limit (also for chunked bodies that declare no
 * length); a body past it or malformed answers a GraphQL-shaped error.
 */
export function graphqlJsonBody(limitBytes: number): [RequestHandler, ErrorRequestHandler] {
  const parse = express.json({ limit: limitBytes });
  const refuse: ErrorRequestHandler = (error, _req, res, next) => {
    const status = (error as { status?: unknown }).status;
    if (typeof status !== 'number' || status >= 500) return next(error);
    res.status(status).json({
      errors: [
        {
          message:
            status === 413
              ? `the request body is larger than ${limitBytes} bytes`
              : 'the request body is not valid JSON',
          extensions: { code: 'BAD_USER_INPUT', ...(status === 413 ? { limitBytes } : {}) },
        },
      ],
    });
  };
  return [parse, refuse];
}

/** Armor's rejections, re-made with a code clients can tell apart, and reported, not thrown. */
function reportAs(limit: string) {
  return {
    exposeLimits: true,
    propagateOnRejection: false,
    onReject: [
      (context: ValidationContext | null, error: { message: string }) => {
        context?.reportError(
          createGraphQLError(error.message.replace(/^Syntax Error: /, ''), {
            extensions: { code: 'BAD_USER_INPUT', limit },
          }),
        );
      },
    ],
  };
}

/** Introspection off (production): `__schema` and `__type` are refused during validation. */
function noIntrospection(context: ValidationContext): ASTVisitor {
  return {
    Field(node) {
      const name = node.name.value;
      if (name === '__schema' || name === '__type') {
        context.reportError(
          createGraphQLError(`GraphQL introspection is disabled here; "${name}" is not allowed`, {
            nodes: [node],
            extensions: { code: 'BAD_USER_INPUT', limit: 'introspection' },
          }),
        );
      }
    },
  };
}

/**
 * The GraphQL guards as yoga plugins. Depth, cost, aliases and directives are checked during
 * validation, before any resolver runs; tokens while parsing.
 */
export function graphqlGuards(
  config: Pick<Config, 'nodeEnv' | 'graphqlMaxDepth' | 'graphqlMaxCost'>,
  loginLimiter: FixedWindowLimiter,
): Plugin[] {
  const production = config.nodeEnv === 'production';
  const armor = EnvelopArmorPlugin({
    maxDepth: { n: config.graphqlMaxDepth, ignoreIntrospection: true, ...reportAs('depth') },
    costLimit: { maxCost: config.graphqlMaxCost, ignoreIntrospection: true, ...reportAs('cost') },
    maxAliases: { n: 30, ...reportAs('aliases') },
    maxDirectives: { n: 50, ...reportAs('directives') },
    maxTokens: { n: 5000, exposeLimits: true },
    blockFieldSuggestion: { enabled: production },
  }) as Plugin;

  const introspection: Plugin = {
    onValidate: ({ addValidationRule }) => {
      if (production) addValidationRule(noIntrospection as never);
    },
  };

  const loginAttempts: Plugin = {
    onExecute: ({ args, setResultAndStopExecution }) => {
      if (!operationCallsRootField(args.document, args.operationName, 'login')) return;
      const context = args.contextValue as { clientAddress?: string };
      const wait = loginLimiter.hit(context.clientAddress ?? 'unknown');
      if (wait === 0) return;
      setResultAndStopExecution({
        errors: [
          createGraphQLError(`too many sign-in attempts from this client; try again in ${wait} s`, {
            extensions: {
              code: 'RATE_LIMITED',
              retryAfterSeconds: wait,
              http: { status: 429, headers: { 'Retry-After': String(wait) } },
            },
          }),
        ],
      });
    },
  };

  return [armor, introspection, loginAttempts];
}

/** Whether the operation to run selects `field` at its root (directly or through fragments). */
export function operationCallsRootField(
  document: DocumentNode,
  operationName: string | null | undefined,
  field: string,
): boolean {
  const operations = document.definitions.filter(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  );
  const operation = operationName
    ? operations.find((o) => o.name?.value === operationName)
    : operations.length === 1
      ? operations[0]
      : undefined;
  if (!operation) return false;
  const fragments = new Map(
    document.definitions.flatMap((d) =>
      d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [],
    ),
  );
  const seen = new Set<string>();
  const visit = (set: SelectionSetNode): boolean =>
    set.selections.some((s) => {
      if (s.kind === Kind.FIELD) return s.name.value === field;
      if (s.kind === Kind.INLINE_FRAGMENT) return visit(s.selectionSet);
      if (seen.has(s.name.value)) return false;
      seen.add(s.name.value);
      const fragment = fragments.get(s.name.value);
      return fragment ? visit(fragment.selectionSet) : false;
    });
  return visit(operation.selectionSet);
}
