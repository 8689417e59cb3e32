/**
 * Typed domain errors. Domain code throws these and nothing transport-shaped; the GraphQL layer
 * maps `code` to `extensions.code` in one place (graphql/errors.ts), HTTP handlers to a status.
 */
export type DomainErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'CONFLICT'
  | 'INVALID_TRANSITION';

export abstract class DomainError extends Error {
  abstract readonly code: DomainErrorCode;
  /** Safe to show the caller: which input was wrong, the current version, … */
  readonly details: Record<string, unknown> | undefined;

  constructor(message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }
}

export class Unauthenticated extends DomainError {
  readonly code = 'UNAUTHENTICATED';
}

export class Forbidden extends DomainError {
  readonly code = 'FORBIDDEN';
}

export class NotFound extends DomainError {
  readonly code = 'NOT_FOUND';
}

export class BadUserInput extends DomainError {
  readonly code = 'BAD_USER_INPUT';
}

/** A stale `expectedVersion` or a duplicate key. */
export class Conflict extends DomainError {
  readonly code = 'CONFLICT';
}

export class InvalidTransition extends DomainError {
  readonly code = 'INVALID_TRANSITION';
}

/** HTTP status for a domain error, for the non-GraphQL transports. */
export const httpStatusOf: Record<DomainErrorCode, number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  BAD_USER_INPUT: 400,
  CONFLICT: 409,
  INVALID_TRANSITION: 409,
};

/** Parses `input` with a zod schema, turning failures into one BadUserInput naming every bad field. */
export function parseInput<T>(
  schema: {
    safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: ZodIssueLike[] } };
  },
  input: unknown,
): T {
  const result = schema.safeParse(input);
  if (result.success) {
    const nulAt = nulCharacterPath(result.data, []);
    if (nulAt) {
      const path = nulAt.join('.');
      throw new BadUserInput(
        `invalid input: ${path || '(input)'}: text must not contain the NUL character (U+0000)`,
        {
          fields: [{ path, message: 'text must not contain the NUL character (U+0000)' }],
        },
      );
    }
    return result.data;
  }
  const fields = result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  throw new BadUserInput(
    `invalid input: ${fields.map((f) => `${f.path || '(input)'}: ${f.message}`).join('; ')}`,
    {
      fields,
    },
  );
}

/**
 * Where a parsed input holds a string with a NUL character, which PostgreSQL cannot store in text
 * or JSON: refused here, by field, instead of failing in the database (and, for a report, taking
 * its whole batch down to the one-by-one fallback).
 */
function nulCharacterPath(value: unknown, path: PropertyKey[]): PropertyKey[] | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nulCharacterPath(value[i], [...path, i]);
      if (found) return found;
    }
  } else if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    for (const [key, v] of Object.entries(value)) {
      const found = nulCharacterPath(v, [...path, key]);
      if (found) return found;
    }
  }
  return undefined;
}

interface ZodIssueLike {
  path: PropertyKey[];
  message: string;
}
