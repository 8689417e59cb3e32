/**
 * A GraphQL subscription over SSE, opened as the clients open it (POST /graphql with
 * `accept: text/event-stream`), read in the background from the start: every data field that
 * arrives is collected as `data` and every error as `errors`, in order.
 */
import { expect } from 'vitest';

export interface GraphqlError {
  message?: string;
  extensions?: { code?: string } & Record<string, unknown>;
}

export interface SseSubscription<T> {
  /** The payload of each message that carried data, in arrival order. */
  data: T[];
  errors: GraphqlError[];
  /** The next payload not yet taken by `next`, or undefined if none arrives within `ms`. */
  next(ms: number): Promise<T | undefined>;
  /** Stops reading and closes the stream. */
  close(): Promise<void>;
}

export async function subscribeSse<T>(
  serverUrl: string,
  token: string,
  query: string,
  variables: Record<string, unknown> = {},
  /** The field of `data` to collect (the subscription's name). */
  field?: string,
): Promise<SseSubscription<T>> {
  const controller = new AbortController();
  const reader = await openSseStream(serverUrl, token, query, variables, controller.signal);
  const decoder = new TextDecoder();
  const data: T[] = [];
  const errors: GraphqlError[] = [];
  let buffer = '';
  let taken = 0;
  let wake: (() => void) | undefined;
  const pump = (async () => {
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done) return;
      const split = takeSseMessages<{ data?: Record<string, T>; errors?: GraphqlError[] }>(
        buffer + decoder.decode(value, { stream: true }),
      );
      buffer = split.rest;
      for (const message of split.messages) {
        if (message.errors) errors.push(...message.errors);
        const payload = message.data && field ? message.data[field] : undefined;
        if (payload !== undefined && payload !== null) data.push(payload);
        wake?.();
      }
    }
  })();
  // Let the subscription reach the server's LISTEN before anything happens.
  await new Promise((r) => setTimeout(r, 300));
  return {
    data,
    errors,
    async next(ms) {
      const deadline = Date.now() + ms;
      while (taken >= data.length) {
        const left = deadline - Date.now();
        if (left <= 0) return undefined;
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, left);
        });
      }
      return data[taken++];
    },
    async close() {
      controller.abort();
      await pump;
    },
  };
}

/** Opens a subscription stream as the clients open it (checking that SSE came back); the body's reader. */
export async function openSseStream(
  serverUrl: string,
  token: string,
  query: string,
  variables: Record<string, unknown> = {},
  signal?: AbortSignal,
): Promise<ReadableStreamDefaultReader<Uint8Array>> {
  const response = await fetch(`${serverUrl}/graphql`, {
    method: 'POST',
    ...(signal ? { signal } : {}),
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({ query, variables }),
  });
  expect(response.headers.get('content-type')).toContain('text/event-stream');
  return response.body!.getReader();
}

/**
 * The whole SSE messages at the front of `buffer`: each one's data (parsed JSON), whether one of
 * them was the `complete` event, and what is left for the next chunk.
 */
export function takeSseMessages<M>(buffer: string): { messages: M[]; completed: boolean; rest: string } {
  const messages: M[] = [];
  let completed = false;
  let rest = buffer;
  for (let end = rest.indexOf('\n\n'); end >= 0; end = rest.indexOf('\n\n')) {
    const block = rest.slice(0, end);
    rest = rest.slice(end + 2);
    if (/^event:\s*complete/m.test(block)) completed = true;
    const data = block
      .split('\n')
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).trim())
      .join('\n');
    if (data) messages.push(JSON.parse(data) as M);
  }
  return { messages, completed, rest };
}
