/**
 * The one place domain errors become GraphQL errors. Yoga's masking stays on: a DomainError
 * (or a GraphQL error that already carries one of our codes) passes through with its
 * `extensions.code`; anything else becomes `INTERNAL_SERVER_ERROR` with a generic message.
 */
import { GraphQLError } from 'graphql';
import { maskError as yogaMaskError } from 'graphql-yoga';
import type { Logger } from 'pino';
import { DomainError } from '../domain/errors';

function domainErrorIn(error: unknown): DomainError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    if (current instanceof DomainError) return current;
    current =
      current instanceof GraphQLError ? current.originalError : (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export function createMaskError(logger: Logger) {
  return (error: unknown, message: string, isDev?: boolean): Error => {
    const domain = domainErrorIn(error);
    if (domain) {
      const base = error instanceof GraphQLError ? error : undefined;
      return new GraphQLError(domain.message, {
        ...(base?.nodes ? { nodes: base.nodes } : {}),
        ...(base?.source ? { source: base.source } : {}),
        ...(base?.positions ? { positions: base.positions } : {}),
        ...(base?.path ? { path: base.path } : {}),
        extensions: { code: domain.code, ...(domain.details ?? {}) },
      });
    }
    // Parse and validation errors carry no original error and are safe to show as they are.
    if (
      error instanceof GraphQLError &&
      (!error.originalError || error.originalError instanceof GraphQLError)
    ) {
      return error;
    }
    logger.error({ err: error instanceof GraphQLError ? error.originalError : error }, 'unexpected error');
    return yogaMaskError(error, message, isDev);
  };
}
