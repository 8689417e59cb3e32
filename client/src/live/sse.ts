/**
 * GraphQL subscriptions over SSE (graphql-yoga's GraphQL-over-SSE on /graphql), read from a fetch
 * so the Bearer token can go in a header (EventSource cannot send one). Reconnects with backoff;
 * a subscription the server refuses (e.g. a field it does not have yet) reports once through
 * `onRefused` and stops. A subscription the server ends because its reader fell too far behind
 * (CONFLICT, reason LAGGING) is opened again like a dropped one; after any such gap, once the new
 * stream is open, `onResync` tells the caller to refetch what it shows (events in the gap are gone).
 */

export interface Subscription {
  close(): void;
}

export interface SubscribeOptions<T> {
  query: string;
  variables?: Record<string, unknown>;
  token: () => string | null;
  onData: (data: T) => void;
  onRefused?: (message: string) => void;
  onState?: (connected: boolean) => void;
  /** Called when a stream opens after a drop or a LAGGING end: refetch, events may have been missed. */
  onResync?: () => void;
}

export function subscribe<T>(options: SubscribeOptions<T>): Subscription {
  let stopped = false;
  let controller: AbortController | undefined;
  let failures = 0;
  let opened = false;

  async function run(): Promise<void> {
    while (!stopped) {
      controller = new AbortController();
      try {
        const auth = options.token();
        const response = await fetch('/graphql', {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'text/event-stream',
            ...(auth ? { authorization: `Bearer ${auth}` } : {}),
          },
          body: JSON.stringify({ query: options.query, variables: options.variables ?? {} }),
          signal: controller.signal,
        });
        const type = response.headers.get('content-type') ?? '';
        if (!type.includes('text/event-stream')) {
          // A validation error comes back as a plain GraphQL response: no point retrying.
          const body = (await response.json().catch(() => null)) as { errors?: { message: string }[] } | null;
          options.onRefused?.(body?.errors?.[0]?.message ?? `answered ${response.status}`);
          return;
        }
        if (!response.body) throw new Error('no body');
        options.onState?.(true);
        failures = 0;
        // Subscribed first, then refetched: nothing committed in between is missed.
        if (opened) options.onResync?.();
        opened = true;
        const refused = await readEvents(response.body, options.onData);
        if (refused) {
          options.onRefused?.(refused);
          return;
        }
      } catch {
        // Dropped: reconnect below.
      }
      options.onState?.(false);
      if (stopped) return;
      failures++;
      await new Promise((resolve) => setTimeout(resolve, Math.min(30_000, 500 * 2 ** Math.min(failures, 6))));
    }
  }

  void run();
  return {
    close() {
      stopped = true;
      controller?.abort();
    },
  };
}

/**
 * Reads events until the stream ends; returns an error message if the server refused with errors
 * instead of data (a LAGGING end is no refusal: it returns null and the caller subscribes again).
 */
async function readEvents<T>(
  body: ReadableStream<Uint8Array>,
  onData: (data: T) => void,
): Promise<string | null> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return null;
    buffer += decoder.decode(value, { stream: true }).replaceAll('\r\n', '\n');
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf('\n\n');
      const event = /^event:\s*(.*)$/m.exec(block)?.[1]?.trim();
      if (event === 'complete') return null;
      const data = block
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trimStart())
        .join('\n');
      if (!data) continue;
      let payload: { data?: T; errors?: { message: string; extensions?: { reason?: string } }[] };
      try {
        payload = JSON.parse(data);
      } catch {
        continue;
      }
      if (payload.data) onData(payload.data);
      else if (payload.errors?.length) {
        return payload.errors[0]!.extensions?.reason === 'LAGGING' ? null : payload.errors[0]!.message;
      }
    }
  }
}
