/**
 * Per-request GraphQL context: the services, the signed-in actor (from `Authorization: Bearer`),
 * and request-scoped batch loaders. A present but bad or expired token is an error, never a
 * silent fall-back to anonymous.
 */
import type { Database, Db } from '@citygrid/db';
import type { Logger } from 'pino';
import type { Config } from '../config';
import type { Actor } from '../domain/auth/actor';
import type { DeactivatedUsers } from '../domain/auth/deactivated';
import type { LoginRateLimiter } from '../domain/auth/rate-limit';
import { actorFromAuthorization, type TokenIssuer } from '../domain/auth/tokens';
import { Unauthenticated } from '../domain/errors';
import { createLoaders, type Loaders } from './loaders';

/** What every request shares. */
export interface Services {
  config: Config;
  database: Database;
  db: Db;
  logger: Logger;
  tokens: TokenIssuer;
  /** Users whose tokens are refused at once (kept in step across instances). */
  deactivatedUsers: DeactivatedUsers;
  loginLimiter: LoginRateLimiter;
}

export interface GraphQLContext extends Services {
  actor: Actor | undefined;
  /** Client address for rate limiting (`unknown` when called in-process). */
  clientAddress: string;
  loaders: Loaders;
}

export async function createContext(
  services: Services,
  request: Request,
  clientAddress: string | undefined,
): Promise<GraphQLContext> {
  const actor = await actorFromAuthorization(request.headers.get('authorization'), services.tokens);
  return {
    ...services,
    actor,
    clientAddress: clientAddress ?? 'unknown',
    loaders: createLoaders(services.db),
  };
}

/** The actor, for fields behind the `loggedIn` scope (which guarantees it). */
export function actorOf(context: GraphQLContext): Actor {
  if (!context.actor) throw new Unauthenticated('sign in first');
  return context.actor;
}
