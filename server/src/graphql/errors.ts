/**
 * The one place domain errors become GraphQL errors. Yoga's masking stays on: a DomainError
 * passes through with its `extensions.code`; parse and validation errors pass as they are;
 * anything else becomes `INTERNAL_SERVER_ERROR` with a generic message (and is logged).
 *
 * GraphQL errors are recognised by shape, not `instanceof`: graphql 16 ships both a CommonJS and
 * an ESM build, and a bundler or test runner may load the two side by side.
 */
import { createGraphQLError, maskError as yogaMaskError } from 'graphql-yoga';
import type { Logger } from 'pino';
import { BadUserInput, DomainError } from '../domain/errors';

interface GraphQLErrorLike extends Error {
  originalError?: unknown;
  nodes?: unknown;
  source?: unknown;
  positions?: readonly number[];
  path?: readonly (string | number)[];
}

function isGraphQLError(error: unknown): error is GraphQLErrorLike {
  return error instanceof Error && error.name === 'GraphQLError';
}

/**
 * PostgreSQL's refusals of text it cannot store (a NUL character: 22021; one JSON cannot carry:
 * 22P05) are the caller's input, not a fault. Inputs parsed by `parseInput` are refused before
 * that; this catches text that reaches the database another way.
 */
const INVALID_TEXT_CODES = new Set(['22021', '22P05']);

function domainErrorIn(error: unknown): DomainError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current; depth++) {
    if (current instanceof DomainError) return current;
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && INVALID_TEXT_CODES.has(code)) {
      return new BadUserInput('text must not contain the NUL character (U+0000) or invalid Unicode');
    }
    current = isGraphQLError(current) ? current.originalError : (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export function createMaskError(logger: Logger) {
  return (error: unknown, message: string, isDev?: boolean): Error => {
    const domain = domainErrorIn(error);
    if (domain) {
      const base = isGraphQLError(error) ? error : undefined;
      return createGraphQLError(domain.message, {
        ...(base?.nodes ? { nodes: base.nodes as never } : {}),
        ...(base?.source ? { source: base.source as never } : {}),
        ...(base?.positions ? { positions: base.positions } : {}),
        ...(base?.path ? { path: base.path } : {}),
        extensions: { code: domain.code, ...(domain.details ?? {}) },
      });
    }
    // Parse and validation errors carry no original error and are safe to show as they are.
    if (isGraphQLError(error) && (!error.originalError || isGraphQLError(error.originalError))) return error;
    logger.error({ err: isGraphQLError(error) ? error.originalError : error }, 'unexpected error');
    return yogaMaskError(error, message, isDev);
  };
}
