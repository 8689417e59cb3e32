/// <reference lib="webworker" />
/**
 * The field app's service worker (scope `/field/`). It keeps the app shell in a versioned cache so
 * the app starts with no connection, and keeps the last answer of the app's named read queries
 * (the worker's grid cells, categories, work lists) so they show offline too. Writes — uploads and
 * mutations — are never intercepted: the app's own outbox (IndexedDB) owns retrying them.
 *
 * Self-contained on purpose (no imports): it is bundled on its own to `field/sw.js`.
 */
const scope = globalThis as unknown as ServiceWorkerGlobalScope & {
  __FIELD_PRECACHE__?: { version: string; files: string[] };
};

/** Prepended by the build (build/service-worker-plugin.ts); absent under the dev server. */
const PRECACHE = scope.__FIELD_PRECACHE__ ?? { version: 'dev', files: [] };
const SHELL_CACHE = `citygrid-field-shell-${PRECACHE.version}`;
const DATA_CACHE = 'citygrid-field-data';
const SHELL_FILES = new Set(PRECACHE.files);
/** Read queries whose last answer is kept for offline use (operation names in field/api.ts). */
const CACHED_READS = new Set(['FieldMe', 'FieldCategories', 'FieldMyCells', 'FieldMyWork']);
/**
 * Of those, the ones that rarely change: answered from the cache at once and refreshed behind
 * (stale-while-revalidate), so the report form does not wait for the server. The work lists are
 * always asked fresh first.
 */
const SLOW_CHANGING = new Set(['FieldMe', 'FieldCategories', 'FieldMyCells']);

scope.addEventListener('install', (event: ExtendableEvent) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(SHELL_CACHE);
      // `reload`: straight from the server, never a stale copy out of the HTTP cache.
      await cache.addAll(PRECACHE.files.map((url) => new Request(url, { cache: 'reload' })));
      await scope.skipWaiting();
    })(),
  );
});

scope.addEventListener('activate', (event: ExtendableEvent) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith('citygrid-field-shell-') && name !== SHELL_CACHE) await caches.delete(name);
      }
      await scope.clients.claim();
    })(),
  );
});

scope.addEventListener('message', (event: ExtendableMessageEvent) => {
  const data = event.data as { type?: string } | undefined;
  // Sign-out: the next user must not see the last one's cells and cases.
  if (data?.type === 'clear-data') event.waitUntil(caches.delete(DATA_CACHE));
});

scope.addEventListener('fetch', (event: FetchEvent) => {
  const { request } = event;
  const url = new URL(request.url);
  if (url.origin !== scope.location.origin) return;
  if (request.method === 'GET') {
    if (request.mode === 'navigate' && url.pathname.startsWith('/field')) {
      event.respondWith(shellFirst('/field/', request));
    } else if (SHELL_FILES.has(url.pathname)) {
      event.respondWith(shellFirst(url.pathname, request));
    }
    return;
  }
  if (request.method === 'POST' && url.pathname === '/graphql') {
    const accept = request.headers.get('accept') ?? '';
    if (accept.includes('text/event-stream')) return;
    event.respondWith(cachedRead(request, event));
  }
});

/** The shell: from the cache when present (instant, and offline), else the network. */
async function shellFirst(key: string, request: Request): Promise<Response> {
  const cache = await caches.open(SHELL_CACHE);
  const hit = await cache.match(key);
  if (hit) return hit;
  return fetch(request);
}

/**
 * A GraphQL POST: named reads go to the network and their answer is kept; when the network fails
 * the kept answer is served. Everything else passes through untouched.
 */
async function cachedRead(request: Request, event: FetchEvent): Promise<Response> {
  const body = await request.clone().text();
  const operation = /^\s*query\s+(\w+)/.exec(safeQuery(body))?.[1];
  if (!operation || !CACHED_READS.has(operation)) return fetch(request);
  // Keyed by operation, variables and token, so one user's answers never show for another.
  const key = `/field/__data/${operation}/${await digest(`${request.headers.get('authorization') ?? ''}\n${body}`)}`;
  const cache = await caches.open(DATA_CACHE);
  const fresh = fetch(request).then(async (response) => {
    if (response.ok) await cache.put(key, response.clone());
    return response;
  });
  if (SLOW_CHANGING.has(operation)) {
    const kept = await cache.match(key);
    if (kept) {
      // Keeps the worker alive until the refresh is stored.
      event.waitUntil(fresh.catch(() => undefined));
      return kept;
    }
  }
  try {
    return await fresh;
  } catch (error) {
    const kept = await cache.match(key);
    if (kept) {
      const headers = new Headers(kept.headers);
      headers.set('x-citygrid-offline', '1');
      return new Response(kept.body, { status: kept.status, headers });
    }
    throw error;
  }
}

function safeQuery(body: string): string {
  try {
    const parsed = JSON.parse(body) as { query?: unknown };
    return typeof parsed.query === 'string' ? parsed.query : '';
  } catch {
    return '';
  }
}

async function digest(text: string): Promise<string> {
  const bytes = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return Array.from(bytes.slice(0, 16), (b) => b.toString(16).padStart(2, '0')).join('');
}
