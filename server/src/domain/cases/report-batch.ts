/**
 * Group commit of reports. Reports without photos are queued per database and written by a few
 * writers: a report goes out at once when a writer is free; while all of them are busy, new
 * reports wait, and the next free writer takes every waiting report (up to a cap) and writes them
 * in one statement and one commit (`writeReportBatch`). Under load, a commit — and its turn at
 * PostgreSQL's notification-queue lock, which serialises every transaction that sends NOTIFY —
 * is thus paid once per batch instead of once per report; at low load nothing waits for a batch
 * to fill.
 *
 * Each caller gets its own report's outcome: a report that is refused (outside every cell,
 * outside the reporter's scope) fails alone. Should the batch statement fail as a whole, nothing
 * of it was written, and its reports are written again one by one with the single statement, so
 * that a report the database refuses fails alone and none is lost or written twice (the
 * idempotency key's unique index guards every path).
 */
import type { Db } from '@citygrid/db';
import {
  type BatchAnswer,
  type ReportPlan,
  type WriteOutcome,
  writeReport,
  writeReportBatch,
} from './report-statement';

export interface ReportWriterOptions {
  /** Statements in flight at once (each holds a connection while it runs). */
  writers?: number;
  /** Most reports in one statement. */
  maxBatch?: number;
}

/** What a writer has done, for metrics and tests. */
export interface ReportWriterStats {
  /** Statements that wrote a batch of more than one report. */
  batches: number;
  /** Reports those statements carried. */
  batchedReports: number;
  /** Reports written alone because no other report was waiting. */
  singles: number;
  /** Batch statements that failed as a whole, whose reports were then written one by one. */
  fallbacks: number;
}

interface Pending {
  plan: ReportPlan;
  resolve(outcome: WriteOutcome): void;
  reject(error: unknown): void;
}

const DEFAULT_WRITERS = 2;
const DEFAULT_MAX_BATCH = 100;

export class ReportWriter {
  readonly stats: ReportWriterStats = { batches: 0, batchedReports: 0, singles: 0, fallbacks: 0 };
  private readonly writers: number;
  private readonly maxBatch: number;
  private queue: Pending[] = [];
  private inFlight = 0;
  private drained: (() => void)[] = [];

  constructor(
    private readonly db: Db,
    options: ReportWriterOptions = {},
  ) {
    this.writers = Math.max(1, options.writers ?? DEFAULT_WRITERS);
    this.maxBatch = Math.max(1, options.maxBatch ?? DEFAULT_MAX_BATCH);
  }

  /** Writes one report, alone or in a batch; settles with its own outcome or error. */
  write(plan: ReportPlan): Promise<WriteOutcome> {
    return new Promise<WriteOutcome>((resolve, reject) => {
      this.queue.push({ plan, resolve, reject });
      this.pump();
    });
  }

  /** Resolves once every report handed to this writer so far has been written or refused. */
  drain(): Promise<void> {
    if (this.inFlight === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  private pump(): void {
    while (this.inFlight < this.writers && this.queue.length > 0) {
      const batch = this.take();
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        this.pump();
        if (this.inFlight === 0 && this.queue.length === 0) {
          for (const resolve of this.drained.splice(0)) resolve();
        }
      });
    }
  }

  /**
   * The waiting reports, oldest first, up to the cap. A report whose key is already in the batch
   * stays for the next one: the batch maps cases back to reports by key, and the later report
   * then finds the first one's case as a repeat, exactly as two racing single statements would.
   */
  private take(): Pending[] {
    if (this.queue.length === 1) return this.queue.splice(0, 1);
    const batch: Pending[] = [];
    const rest: Pending[] = [];
    const keys = new Set<string>();
    for (const pending of this.queue) {
      const key = pending.plan.input.idempotencyKey;
      if (batch.length < this.maxBatch && !keys.has(key)) {
        keys.add(key);
        batch.push(pending);
      } else {
        rest.push(pending);
      }
    }
    this.queue = rest;
    return batch;
  }

  private async run(batch: Pending[]): Promise<void> {
    if (batch.length === 1) {
      this.stats.singles++;
      await settle(batch[0]!, () => writeReport(this.db, batch[0]!.plan));
      return;
    }
    let answers: BatchAnswer[];
    try {
      answers = await writeReportBatch(
        this.db,
        batch.map((p) => p.plan),
      );
      this.stats.batches++;
      this.stats.batchedReports += batch.length;
    } catch {
      // The statement failed as a whole (a report the database refuses, a deadlock, a lost
      // connection): nothing of it was written. Write each report alone, so that one bad report
      // fails by itself; the unique key makes a report that did commit answer as a repeat.
      this.stats.fallbacks++;
      for (const pending of batch) await settle(pending, () => writeReport(this.db, pending.plan));
      return;
    }
    batch.forEach((pending, i) => {
      const answer = answers[i]!;
      if (answer.ok) pending.resolve(answer.outcome);
      else pending.reject(answer.error);
    });
  }
}

async function settle(pending: Pending, write: () => Promise<WriteOutcome>): Promise<void> {
  try {
    pending.resolve(await write());
  } catch (error) {
    pending.reject(error);
  }
}

/** Per database handle, as the other per-database state (test files hold several databases). */
const writers = new WeakMap<object, ReportWriter>();

/** The report writer of `db`, made on first use. */
export function reportWriter(db: Db, options?: ReportWriterOptions): ReportWriter {
  let writer = writers.get(db);
  if (!writer) {
    writer = new ReportWriter(db, options);
    writers.set(db, writer);
  }
  return writer;
}

/**
 * On shutdown, before the database closes: waits until every report handed to `db`'s writer has
 * been written or refused, and forgets the writer (a later report makes a new one).
 */
export async function drainReportWrites(db: Db): Promise<void> {
  const writer = writers.get(db);
  if (!writer) return;
  writers.delete(db);
  await writer.drain();
}

/** What `db`'s writer has done so far (zeros when it has none). */
export function reportWriteStats(db: Db): ReportWriterStats {
  return { ...(writers.get(db)?.stats ?? { batches: 0, batchedReports: 0, singles: 0, fallbacks: 0 }) };
}
