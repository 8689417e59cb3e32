/**
 * The `caseChanged` subscription over SSE (graphql-yoga's GraphQL-over-SSE on /graphql). EventSource
 * cannot send the Bearer token, so this reads the event stream from a fetch; it reconnects with
 * backoff when the stream drops and stays quiet while the phone is offline.
 */

export interface CaseChange {
  action: string;
  case: { id: string; code: string; status: string; assignee: { id: string } | null };
}

const QUERY =
  'subscription FieldCaseChanged { caseChanged { action case { id code status assignee { id } } } }';

export function subscribeCaseChanges(
  token: () => string | null,
  onChange: (change: CaseChange) => void,
): () => void {
  let stopped = false;
  let controller: AbortController | undefined;
  let failures = 0;

  async function connect(): Promise<void> {
    while (!stopped) {
      if (!navigator.onLine) {
        await new Promise<void>((resolve) =>
          window.addEventListener('online', () => resolve(), { once: true }),
        );
        continue;
      }
      controller = new AbortController();
      try {
        const auth = token();
        const response = await fetch('/graphql', {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'text/event-stream',
            ...(auth ? { authorization: `Bearer ${auth}` } : {}),
          },
          body: JSON.stringify({ query: QUERY }),
          signal: controller.signal,
        });
        if (!response.ok || !response.body) throw new Error(`caseChanged answered ${response.status}`);
        document.documentElement.dataset.live = 'connected';
        failures = 0;
        await readEvents(response.body, onChange);
      } catch {
        // Dropped or refused: reconnect below.
      }
      document.documentElement.dataset.live = 'disconnected';
      if (stopped) return;
      failures++;
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(30_000, 1_000 * 2 ** Math.min(failures, 5))),
      );
    }
  }

  const goOffline = () => controller?.abort();
  window.addEventListener('offline', goOffline);
  void connect();
  return () => {
    stopped = true;
    window.removeEventListener('offline', goOffline);
    controller?.abort();
  };
}

async function readEvents(
  body: ReadableStream<Uint8Array>,
  onChange: (change: CaseChange) => void,
): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true }).replaceAll('\r\n', '\n');
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf('\n\n');
      const event = /^event:\s*(.*)$/m.exec(block)?.[1]?.trim();
      const data = block
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trimStart())
        .join('\n');
      if (event === 'complete') return;
      if (!data) continue;
      try {
        const payload = JSON.parse(data) as { data?: { caseChanged?: CaseChange } };
        if (payload.data?.caseChanged) onChange(payload.data.caseChanged);
      } catch {
        // A malformed event is skipped; the next one is read.
      }
    }
  }
}
