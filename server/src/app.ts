/**
 * Builds the HTTP application (express 5 + graphql-yoga at /graphql, health, the web app) without
 * listening; `main.ts` listens, tests use a port of their own.
 */
import type { Database } from '@citygrid/db';
import express from 'express';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import type { Logger } from 'pino';
import type { Config } from './config';
import { LoginRateLimiter } from './domain/auth/rate-limit';
import { tokenIssuer } from './domain/auth/tokens';
import { createContext, type GraphQLContext, type Services } from './graphql/context';
import { createMaskError } from './graphql/errors';
import { schema } from './graphql/schema';
import { databaseCheck, healthRouter, type ReadinessCheck } from './http/health';
import { uploadsRouter } from './http/uploads';
import { webAppRouter } from './http/web-app';

export interface BuildAppOptions {
  config: Config;
  database: Database;
  logger: Logger;
  /** Extra `/readyz` probes (e.g. the MQTT broker); the database is always checked. */
  readiness?: ReadinessCheck[];
}

export interface App {
  app: express.Express;
  yoga: YogaServerInstance<{ req?: express.Request; res?: express.Response }, GraphQLContext>;
  services: Services;
  close(): Promise<void>;
}

export async function buildApp({ config, database, logger, readiness = [] }: BuildAppOptions): Promise<App> {
  const services: Services = {
    config,
    database,
    db: database.db,
    logger,
    tokens: tokenIssuer(config.jwtSecret, config.tokenTtlSeconds),
    loginLimiter: new LoginRateLimiter(config.loginMaxAttempts, config.loginWindowSeconds * 1000),
  };
  const graphqlLogger = logger.child({ module: 'graphql' });

  const yoga = createYoga<{ req?: express.Request; res?: express.Response }, GraphQLContext>({
    schema,
    graphqlEndpoint: '/graphql',
    graphiql: { title: 'Citygrid GraphQL' },
    landingPage: false,
    maskedErrors: { maskError: createMaskError(graphqlLogger) },
    logging: {
      debug: (...args) => graphqlLogger.debug(args.map(String).join(' ')),
      info: (...args) => graphqlLogger.info(args.map(String).join(' ')),
      warn: (...args) => graphqlLogger.warn(args.map(String).join(' ')),
      // Expected errors reach here too; unexpected ones are logged (with stack) by maskError.
      error: (...args) => graphqlLogger.debug(args.map(String).join(' ')),
    },
    context: ({ request, req }) => createContext(services, request, req?.socket.remoteAddress),
  });

  const app = express();
  app.disable('x-powered-by');
  app.use(healthRouter([databaseCheck(database), ...readiness]));
  app.use('/graphql', (req, res) => yoga(req, res));
  app.use(uploadsRouter({ db: database.db, tokens: services.tokens, dataDir: config.dataDir, logger }));
  const web = webAppRouter(config.clientDist);
  if (web) app.use(web);
  else logger.info({ clientDist: config.clientDist }, 'no built web app found; serving the API only');

  return {
    app,
    yoga,
    services,
    async close() {
      await yoga.dispose();
    },
  };
}
