/**
 * Builds the HTTP application (express 5 + graphql-yoga at /graphql, health, the web app) without
 * listening; `main.ts` listens, tests use a port of their own.
 */
import type { Database } from '@citygrid/db';
import express from 'express';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from './config';
import { refusingDeactivated, startDeactivatedUsers } from './domain/auth/deactivated';
import { LoginRateLimiter } from './domain/auth/rate-limit';
import { withVerifiedTokenCache } from './domain/auth/token-cache';
import { tokenIssuer } from './domain/auth/tokens';
import { drainReportWrites } from './domain/cases/report-batch';
import { startEscalationScheduler } from './domain/escalation/scheduler';
import { startTrackPruner } from './domain/positions/track-pruner';
import { startTileCaching } from './domain/tiles/cache';
import { createContext, type GraphQLContext, type Services } from './graphql/context';
import { createMaskError } from './graphql/errors';
import { schema } from './graphql/schema';
import { exportRouter } from './http/export';
import { fieldAppRouter } from './http/field';
import { databaseCheck, healthRouter, type ReadinessCheck } from './http/health';
import { createServerMetrics } from './http/metrics';
import { open311Router } from './http/open311/router';
import {
  bodyLimit,
  corsPolicy,
  FixedWindowLimiter,
  graphqlGuards,
  graphqlJsonBody,
  rateLimit,
  requestIds,
  securityHeaders,
} from './http/security';
import { tilesRouter } from './http/tiles';
import { uploadsRouter } from './http/uploads';
import { webAppRouter } from './http/web-app';
import { startCaseFeed } from './realtime/case-feed';

export interface BuildAppOptions {
  config: Config;
  database: Database;
  logger: Logger;
  /** Extra `/readyz` probes (e.g. the MQTT broker); the database is always checked. */
  readiness?: ReadinessCheck[];
  /** Other registries merged into `/metrics` (e.g. the in-process ingest side's). */
  metricsRegistries?: Registry[];
}

export interface App {
  app: express.Express;
  yoga: YogaServerInstance<{ req?: express.Request; res?: express.Response }, GraphQLContext>;
  services: Services;
  close(): Promise<void>;
}

export async function buildApp({
  config,
  database,
  logger,
  readiness = [],
  metricsRegistries,
}: BuildAppOptions): Promise<App> {
  const deactivatedUsers = await startDeactivatedUsers(database, logger);
  const services: Services = {
    config,
    database,
    db: database.db,
    logger,
    // Every request presents its token; each one's signature is checked once, not per request,
    // but whether its user is still active is asked every time (an in-memory set).
    tokens: refusingDeactivated(
      withVerifiedTokenCache(tokenIssuer(config.jwtSecret, config.tokenTtlSeconds)),
      deactivatedUsers,
    ),
    deactivatedUsers,
    loginLimiter: new LoginRateLimiter(database.db, config.loginMaxAttempts, config.loginWindowSeconds),
  };
  const graphqlLogger = logger.child({ module: 'graphql' });
  const metrics = createServerMetrics({ database, logger, registries: metricsRegistries });
  await metrics.start();
  // LISTEN on citygrid_case before serving, so `caseChanged` misses nothing committed after start.
  const caseFeed = await startCaseFeed(database, logger);
  // Rendered tiles in memory, dropped by the change notices of migration 0003_tile_cache.
  const tileCaching = await startTileCaching(database, logger);
  // Background upkeep: escalation of overdue cases (one instance acts per pass) and track pruning.
  const escalation =
    config.escalationIntervalSeconds === null
      ? undefined
      : startEscalationScheduler({
          db: database.db,
          logger,
          intervalSeconds: config.escalationIntervalSeconds,
        });
  const trackPruner = startTrackPruner({
    db: database.db,
    logger,
    retentionSeconds: config.workerTrackRetentionSeconds,
    intervalSeconds: 3600,
  });
  const perMinute = (max: number) => new FixedWindowLimiter(max, 60_000);

  const yoga = createYoga<{ req?: express.Request; res?: express.Response }, GraphQLContext>({
    schema,
    graphqlEndpoint: '/graphql',
    graphiql: config.nodeEnv === 'production' ? false : { title: 'Citygrid GraphQL' },
    plugins: [...graphqlGuards(config, perMinute(config.loginAttemptsPerMinute)), metrics.graphqlPlugin],
    landingPage: false,
    // CORS is express's (http/security.ts), limited to CORS_ORIGINS; yoga's own would reflect any origin.
    cors: false,
    maskedErrors: { maskError: createMaskError(graphqlLogger) },
    logging: {
      debug: (...args) => graphqlLogger.debug(args.map(String).join(' ')),
      info: (...args) => graphqlLogger.info(args.map(String).join(' ')),
      warn: (...args) => graphqlLogger.warn(args.map(String).join(' ')),
      // Expected errors reach here too; unexpected ones are logged (with stack) by maskError.
      error: (...args) => graphqlLogger.debug(args.map(String).join(' ')),
    },
    // The request's child logger carries its id; `req.ip` honours TRUST_PROXY.
    context: ({ request, req, res }) =>
      createContext(
        res?.locals.logger ? { ...services, logger: res.locals.logger as Logger } : services,
        request,
        req?.ip ?? req?.socket.remoteAddress,
      ),
  });

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.use(requestIds(logger), metrics.httpMiddleware, securityHeaders(config), corsPolicy(config));
  app.use(healthRouter([databaseCheck(database), ...readiness]));
  app.get('/metrics', metrics.handler);
  app.use(
    '/graphql',
    bodyLimit(config.bodyLimitBytes),
    ...graphqlJsonBody(config.bodyLimitBytes),
    (req: express.Request, res: express.Response) => yoga(req, res),
  );
  app.post('/uploads', rateLimit(perMinute(config.uploadsPerMinute), 'uploads'));
  app.use(uploadsRouter({ db: database.db, tokens: services.tokens, dataDir: config.dataDir, logger }));
  app.use(exportRouter({ database, tokens: services.tokens, logger }));
  app.use(tilesRouter({ database, tokens: services.tokens, logger, caching: tileCaching }));
  app.use(
    open311Router({
      db: database.db,
      logger,
      postLimiter: perMinute(config.open311PostsPerMinute),
      bodyLimitBytes: Math.min(config.bodyLimitBytes, 256 * 1024),
    }),
  );
  const field = fieldAppRouter(config.clientDist);
  if (field) app.use(field);
  const web = webAppRouter(config.clientDist);
  if (web) app.use(web);
  else logger.info({ clientDist: config.clientDist }, 'no built web app found; serving the API only');

  return {
    app,
    yoga,
    services,
    async close() {
      // Reports still queued for a group commit are written before the database goes away.
      await drainReportWrites(database.db);
      await metrics.stop();
      await caseFeed.close();
      await tileCaching?.close();
      await escalation?.stop();
      await trackPruner.stop();
      await yoga.dispose();
      await deactivatedUsers.close();
    },
  };
}
