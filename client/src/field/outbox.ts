/**
 * The report outbox: every report is first written to IndexedDB (with its photo and a UUID made
 * here as the idempotency key), then sent — photo upload, then `reportCase` with the attachment id
 * — whenever the connection allows, with exponential backoff between failed attempts. The upload's
 * id is stored the moment it is known, so a retry after a failed `reportCase` re-uses it; and
 * because the key never changes, a report the server already took is answered with the same case
 * however often it is sent again.
 */
import type { Request } from '../graphql/client';
import { GraphQLRequestError } from '../graphql/client';
import { isPermanent, type LonLat, reportCase, uploadPhoto } from './api';

export type OutboxState = 'queued' | 'uploading' | 'sending' | 'retrying' | 'sent' | 'failed';

export interface OutboxItem {
  /** The idempotency key: made once, here, when the worker pressed send. */
  key: string;
  /** Whose report it is: only their session sends it. */
  username: string;
  createdAt: number;
  categoryCode: string;
  categoryName: string;
  description: string;
  location: LonLat;
  accuracyMeters: number | null;
  photo: Blob | null;
  attachmentId: string | null;
  state: OutboxState;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  caseId: string | null;
  caseCode: string | null;
}

const DB_NAME = 'citygrid-field';
const STORE = 'outbox';
/** Backoff: 2 s, 4 s, 8 s … capped at 5 minutes, each ±20 %. */
const BACKOFF_BASE_MS = 2_000;
const BACKOFF_MAX_MS = 300_000;
/** Sent reports stay listed this long so the worker sees them go through. */
const KEEP_SENT_MS = 24 * 3_600_000;

export function backoffDelay(attempts: number, random = Math.random()): number {
  const raw = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 1));
  return Math.round(raw * (0.8 + 0.4 * random));
}

function openDb(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(DB_NAME, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE, { keyPath: 'key' });
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
}

function run<T>(
  db: IDBDatabase,
  mode: IDBTransactionMode,
  body: (store: IDBObjectStore) => IDBRequest<T>,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const req = body(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

export interface OutboxOptions {
  request: Request;
  token: () => string | null;
  username: () => string | null;
  /** Called after a report went through (e.g. to refresh "my reports"). */
  onSent?: (item: OutboxItem) => void;
}

export class Outbox {
  private db: Promise<IDBDatabase> = openDb();
  private listeners = new Set<(items: OutboxItem[]) => void>();
  private flushing: Promise<void> | null = null;
  private again = false;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: OutboxOptions) {
    window.addEventListener('online', () => void this.flush({ now: true }));
  }

  /** Items of the signed-in user, oldest first. */
  async list(): Promise<OutboxItem[]> {
    const me = this.options.username();
    const all = await run<OutboxItem[]>(await this.db, 'readonly', (s) => s.getAll());
    return all.filter((i) => i.username === me).sort((a, b) => a.createdAt - b.createdAt);
  }

  onChange(listener: (items: OutboxItem[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Keeps the report and starts sending it. */
  async add(
    report: Pick<
      OutboxItem,
      'categoryCode' | 'categoryName' | 'description' | 'location' | 'accuracyMeters' | 'photo'
    >,
  ): Promise<OutboxItem> {
    const username = this.options.username();
    if (!username) throw new Error('not signed in');
    const item: OutboxItem = {
      ...report,
      key: crypto.randomUUID(),
      username,
      createdAt: Date.now(),
      attachmentId: null,
      state: 'queued',
      attempts: 0,
      nextAttemptAt: 0,
      lastError: null,
      caseId: null,
      caseCode: null,
    };
    await this.put(item);
    void this.flush();
    return item;
  }

  /**
   * Sends what is due (everything with `now`), one at a time, oldest first. Calls during a flush
   * run once more after it, so nothing added meanwhile waits for the next timer.
   */
  flush(options: { now?: boolean } = {}): Promise<void> {
    if (this.flushing) {
      this.again = true;
      return this.flushing;
    }
    this.flushing = (async () => {
      try {
        do {
          this.again = false;
          await this.sendDue(options.now ?? false);
        } while (this.again);
      } finally {
        this.flushing = null;
        await this.schedule();
      }
    })();
    return this.flushing;
  }

  private async sendDue(now: boolean): Promise<void> {
    const items = await this.list();
    await this.prune(items);
    for (const item of items) {
      if (item.state === 'sent' || item.state === 'failed') continue;
      if (!navigator.onLine) break;
      if (!now && item.nextAttemptAt > Date.now()) continue;
      await this.send(item);
    }
  }

  private async send(item: OutboxItem): Promise<void> {
    try {
      if (item.photo && !item.attachmentId) {
        await this.put({ ...item, state: 'uploading' });
        item.attachmentId = await uploadPhoto(this.options.token(), item.photo);
        // Kept at once: a retry of the report re-uses this upload.
        await this.put({ ...item, state: 'sending' });
      } else {
        await this.put({ ...item, state: 'sending' });
      }
      const made = await reportCase(this.options.request, {
        idempotencyKey: item.key,
        categoryCode: item.categoryCode,
        description: item.description,
        location: item.location,
        ...(item.attachmentId ? { attachmentIds: [item.attachmentId] } : {}),
      });
      const sent: OutboxItem = {
        ...item,
        state: 'sent',
        photo: null,
        caseId: made.id,
        caseCode: made.code,
        lastError: null,
        attempts: item.attempts + 1,
      };
      await this.put(sent);
      this.options.onSent?.(sent);
    } catch (error) {
      const attempts = item.attempts + 1;
      const message = error instanceof Error ? error.message : String(error);
      if (isPermanent(error)) {
        await this.put({ ...item, state: 'failed', attempts, lastError: message });
      } else {
        // Network down, server busy, or signed out: keep it and try again later.
        const code = error instanceof GraphQLRequestError ? error.code : '';
        await this.put({
          ...item,
          state: 'retrying',
          attempts,
          lastError: code ? `${code}: ${message}` : message,
          nextAttemptAt: Date.now() + backoffDelay(attempts),
        });
      }
    }
  }

  private async schedule(): Promise<void> {
    clearTimeout(this.timer);
    const pending = (await this.list()).filter((i) => i.state !== 'sent' && i.state !== 'failed');
    if (pending.length === 0) return;
    const next = Math.min(...pending.map((i) => i.nextAttemptAt));
    this.timer = setTimeout(() => void this.flush(), Math.max(500, next - Date.now()));
  }

  /** After a reload, an item caught mid-send is simply due again. */
  async recover(): Promise<void> {
    for (const item of await this.list()) {
      if (item.state === 'uploading' || item.state === 'sending')
        await this.put({ ...item, state: 'queued' }, false);
    }
    await this.emit();
  }

  private async prune(items: OutboxItem[]): Promise<void> {
    const db = await this.db;
    for (const item of items) {
      if (item.state === 'sent' && Date.now() - item.createdAt > KEEP_SENT_MS) {
        await run(db, 'readwrite', (s) => s.delete(item.key));
      }
    }
  }

  private async put(item: OutboxItem, notify = true): Promise<void> {
    await run(await this.db, 'readwrite', (s) => s.put(item));
    if (notify) await this.emit();
  }

  private async emit(): Promise<void> {
    const items = await this.list();
    for (const listener of this.listeners) listener(items);
  }
}
