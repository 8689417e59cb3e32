/** A minimal GraphQL-over-HTTP client for `/graphql`: POST JSON, Bearer token, typed errors. */

/** The `extensions.code` values of CONTRACT.md, plus what the transport itself can fail with. */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'CONFLICT'
  | 'INVALID_TRANSITION'
  | 'INTERNAL_SERVER_ERROR'
  | 'NETWORK_ERROR';

export class GraphQLRequestError extends Error {
  constructor(
    message: string,
    readonly code: ErrorCode | string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'GraphQLRequestError';
  }
}

interface GraphQLResponse<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

export interface GraphQLClientOptions {
  endpoint?: string;
  /** Read on every request, so a login or logout takes effect at once. */
  token: () => string | null;
  /** Called when the server answers UNAUTHENTICATED to a request that carried a token. */
  onUnauthenticated?: () => void;
}

export type Request = <T>(query: string, variables?: Record<string, unknown>) => Promise<T>;

export function createGraphQLClient(options: GraphQLClientOptions): Request {
  const endpoint = options.endpoint ?? '/graphql';
  return async <T>(query: string, variables?: Record<string, unknown>): Promise<T> => {
    const token = options.token();
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
    };
    if (token) headers.authorization = `Bearer ${token}`;
    let response: Response;
    try {
      response = await fetch(endpoint, {
        method: 'POST',
        headers,
        body: JSON.stringify({ query, variables }),
      });
    } catch (error) {
      throw new GraphQLRequestError(`${endpoint}: ${(error as Error).message}`, 'NETWORK_ERROR');
    }
    let body: GraphQLResponse<T>;
    try {
      body = (await response.json()) as GraphQLResponse<T>;
    } catch {
      throw new GraphQLRequestError(
        `${endpoint} answered ${response.status} without a GraphQL body`,
        response.status === 401 ? 'UNAUTHENTICATED' : 'NETWORK_ERROR',
        response.status,
      );
    }
    const first = body.errors?.[0];
    if (first) {
      const code = first.extensions?.code ?? 'INTERNAL_SERVER_ERROR';
      if (code === 'UNAUTHENTICATED' && token) options.onUnauthenticated?.();
      throw new GraphQLRequestError(first.message, code, response.status);
    }
    if (body.data == null) {
      throw new GraphQLRequestError(
        `${endpoint} answered ${response.status} with no data`,
        'INTERNAL_SERVER_ERROR',
      );
    }
    return body.data;
  };
}
