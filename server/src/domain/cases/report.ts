/**
 * Reporting a case (上报): one statement, hence one round trip and its own transaction, locates
 * the grid cell, checks the category, inserts the case with its deadlines, writes the REPORT
 * event (seq 1) and sends the change notification (report-statement.ts). Concurrent reports
 * without photos share statements and commits (report-batch.ts); photos, when attached, join the
 * case in one transaction of its own. A repeated `idempotencyKey` returns the first case — also
 * when the repeats race, because the insert goes through the unique index `cases_idempotency_key`
 * with ON CONFLICT DO NOTHING.
 */
import type { Db, Executor, LonLat } from '@citygrid/db';
import { type CasePriority, type CaseSource, cases } from '@citygrid/db/schema';
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { attachToCase } from '../attachments';
import type { Actor } from '../auth/actor';
import { type Scope, scopeOf } from '../auth/scope';
import type { WorkingCalendar } from '../calendar/working-calendar';
import { BadUserInput, Conflict, Forbidden, parseInput } from '../errors';
import { type Crs, toWgs84 } from '../geo/crs';
import { deadlinesAtReport } from './deadlines';
import { reportWriter } from './report-batch';
import { loadReportCategory, type ReportCategory, reportCategory } from './report-categories';
import { type ReportPlan, writeReport } from './report-statement';
import { loadCalendar } from './settings';
import type { CaseRow } from './view';

export const reportCaseInput = z.object({
  idempotencyKey: z.string().trim().min(1).max(200),
  categoryCode: z.string().trim().min(1).max(32),
  description: z.string().trim().min(1).max(4000),
  location: z.object({
    lon: z.number().finite().min(-180).max(180),
    lat: z.number().finite().min(-90).max(90),
    crs: z.enum(['WGS84', 'GCJ02', 'BD09']).nullish(),
  }),
  address: z.string().trim().max(500).nullish(),
  priority: z.enum(['NORMAL', 'HIGH', 'URGENT']).nullish(),
  attachmentIds: z.array(z.string()).nullish(),
});
export type ReportCaseInput = z.input<typeof reportCaseInput>;

/** Who reports: a signed-in user, or (later) a sensor alarm or an Open311 client. */
export interface Reporter {
  source: CaseSource;
  /** The user who reported, if any. */
  reporterId: number | null;
  /** Set for user reporters: the point must lie inside it. */
  scope?: Scope;
  alarmId?: number | null;
  /** Extra facts kept in the REPORT event's payload (e.g. an Open311 request's `media_url`). */
  payload?: Record<string, unknown>;
}

export interface ReportResult {
  caseId: number;
  /** False when the idempotency key had already been used and the first case is returned. */
  created: boolean;
  /** The case as written, when this call created it (saves reading it back). */
  row?: CaseRow;
}

const REPORTING_ROLES: readonly Actor['role'][] = ['WORKER', 'COMMANDER', 'ADMIN'];

/** `reportCase` for a signed-in user: only workers, commanders and admins report. */
export async function reportCase(
  db: Db,
  actor: Actor,
  input: ReportCaseInput,
  now?: Date,
): Promise<ReportResult> {
  if (!REPORTING_ROLES.includes(actor.role)) throw new Forbidden(`a ${actor.role} may not report cases`);
  const scope = await scopeOf(db, actor);
  const source: CaseSource = actor.role === 'WORKER' ? 'WORKER' : 'COMMANDER';
  return submitReport(db, { source, reporterId: actor.id, scope }, input, now);
}

/** The report itself, for every kind of reporter. */
export async function submitReport(
  db: Db,
  reporter: Reporter,
  rawInput: ReportCaseInput,
  now: Date = new Date(),
): Promise<ReportResult> {
  const input = parseInput(reportCaseInput, rawInput);
  const point: LonLat = toWgs84(input.location, (input.location.crs ?? 'WGS84') as Crs);
  if (input.attachmentIds?.length && reporter.reporterId === null) {
    throw new BadUserInput('only a signed-in reporter can attach photos', { field: 'attachmentIds' });
  }
  // Cached per database: no round trip on the hot path.
  const calendar = await loadCalendar(db);
  let category = await reportCategory(db, input.categoryCode);
  for (let attempt = 0; ; attempt++) {
    if (!category)
      throw new BadUserInput(`unknown category "${input.categoryCode}"`, { field: 'categoryCode' });
    const plan = planReport(reporter, input, point, category, now, calendar);
    // Without photos the statement is the whole transaction (autocommit), shared with the reports
    // written at the same time; photos are attached in the same transaction as the case, so a
    // refused photo leaves no case behind.
    const written = input.attachmentIds?.length
      ? await db.transaction(async (tx) => {
          const outcome = await writeReport(tx, plan);
          if (outcome.kind === 'created') {
            await attachToCase(tx, {
              attachmentIds: input.attachmentIds!,
              caseId: outcome.result.caseId,
              eventSeq: 1,
              actor: { id: reporter.reporterId! },
            });
          }
          return outcome;
        })
      : await reportWriter(db).write(plan);
    if (written.kind === 'created') return written.result;
    if (written.kind === 'repeat') {
      // A report with this key committed first (the insert waited on its index entry if it raced).
      const first = await existingReport(db, input.idempotencyKey, reporter);
      if (!first) throw new Conflict('the idempotency key is in use by a report still being written; retry');
      return first;
    }
    // The cached category changed under us (edited, deactivated, re-coded): read it again.
    if (attempt >= 2) throw new Conflict(`category "${input.categoryCode}" is being changed; retry`);
    category = await loadReportCategory(db, input.categoryCode);
  }
}

function planReport(
  reporter: Reporter,
  input: z.output<typeof reportCaseInput>,
  point: LonLat,
  category: ReportCategory,
  now: Date,
  calendar: WorkingCalendar,
): ReportPlan {
  const priority: CasePriority = input.priority ?? category.defaultPriority;
  const deadlines = deadlinesAtReport(category.rules[priority], now, calendar);
  return { reporter, input, point, category, priority, deadlines, now };
}

async function existingReport(
  db: Executor,
  idempotencyKey: string,
  reporter: Reporter,
): Promise<ReportResult | undefined> {
  const [row] = await db
    .select({ id: cases.id, reporterId: cases.reporterId, source: cases.source })
    .from(cases)
    .where(eq(cases.idempotencyKey, idempotencyKey))
    .limit(1);
  if (!row) return undefined;
  // Keys are client-made; one reporter must not reach another's case by guessing theirs.
  if (row.reporterId !== reporter.reporterId || row.source !== reporter.source) {
    throw new Conflict('this idempotency key belongs to another report', { field: 'idempotencyKey' });
  }
  return { caseId: row.id, created: false };
}
