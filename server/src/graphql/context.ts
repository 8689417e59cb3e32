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

/**
 * A subscription's events, ending with UNAUTHENTICATED at the first one that arrives after its
 * user was deactivated, so an open stream stops where a new request would be refused. Returning
 * (the client leaving) goes straight to the source, also while a `next` is pending.
 */
export function whileActive<T>(context: GraphQLContext, source: AsyncIterable<T>): AsyncIterableIterator<T> {
  const userId = actorOf(context).id;
  const iterator = source[Symbol.asyncIterator]();
  const done = (value?: unknown): IteratorResult<T> => ({ done: true, value });
  return {
    async next() {
      const result = await iterator.next();
      if (!result.done && context.deactivatedUsers.has(userId)) {
        await iterator.return?.();
        throw new Unauthenticated('this account has been deactivated');
      }
      return result;
    },
    return: (value?: unknown) => (iterator.return ? iterator.return(value) : Promise.resolve(done(value))),
    throw: (error?: unknown) => (iterator.throw ? iterator.throw(error) : Promise.reject(error)),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
