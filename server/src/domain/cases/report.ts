/**
 * Reporting a case (上报): one transaction that validates the category, locates the grid cell,
 * inserts the case with its deadlines and writes the REPORT event (seq 1). A repeated
 * `idempotencyKey` returns the first case — also when the repeats race, because the insert goes
 * through the unique index `cases_idempotency_key` with ON CONFLICT DO NOTHING.
 */
import type { Db, LonLat } from '@citygrid/db';
import { type CasePriority, type CaseSource, cases } from '@citygrid/db/schema';
import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { attachToCase } from '../attachments';
import type { Actor } from '../auth/actor';
import { rowInScope, type Scope, scopeOf } from '../auth/scope';
import { BadUserInput, Conflict, Forbidden, parseInput } from '../errors';
import { type Crs, toWgs84 } from '../geo/crs';
import { locateGridCell } from '../grids/cells';
import { categoryForReport } from '../reference/categories';
import { deadlinesAtReport } from './deadlines';
import { recordCaseEvent } from './events';
import { notifyCaseChanged } from './notify';
import { loadCalendar } from './settings';
import { type CaseRow, caseColumns } from './view';

/** Case numbers read as the city's local date; all of China keeps one time zone. */
const CITY_TIME_ZONE = 'Asia/Shanghai';

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

  // Cached per database: no round trip on the hot path.
  const calendar = await loadCalendar(db);
  // A repeat goes through the same path and meets the unique index; answering retries before
  // the transaction would cost every new report one more round trip.
  return db.transaction(async (tx) => {
    const category = await categoryForReport(tx, input.categoryCode);
    if (!category)
      throw new BadUserInput(`unknown category "${input.categoryCode}"`, { field: 'categoryCode' });
    const cell = await locateGridCell(tx, point);
    if (!cell) {
      throw new BadUserInput(
        `the point (${point.lon}, ${point.lat}) lies outside every grid cell of the city`,
        {
          field: 'location',
        },
      );
    }
    if (reporter.scope && !rowInScope(reporter.scope, cell)) {
      throw new Forbidden('the point lies outside your region scope');
    }
    const priority: CasePriority = input.priority ?? category.defaultPriority;
    const deadlines = deadlinesAtReport(
      category.deadlines.filter((d) => d.priority === priority),
      now,
      calendar,
    );

    const [inserted] = await tx
      .insert(cases)
      .values({
        code: sql`coalesce((SELECT value #>> '{}' FROM settings WHERE key = 'case_code_prefix'), 'TR')
          || to_char(${now.toISOString()}::timestamptz AT TIME ZONE ${CITY_TIME_ZONE}, 'YYYYMMDD')
          || lpad(nextval('case_code_seq')::text, 6, '0')`,
        status: 'REPORTED',
        version: 1,
        categoryId: category.id,
        description: input.description,
        location: { type: 'Point', coordinates: [point.lon, point.lat] },
        address: input.address ?? null,
        gridCellId: cell.id,
        communityId: cell.communityId,
        streetId: cell.streetId,
        districtId: cell.districtId,
        cityId: cell.cityId,
        priority,
        source: reporter.source,
        reporterId: reporter.reporterId,
        idempotencyKey: input.idempotencyKey,
        departmentId: category.defaultDepartmentId,
        alarmId: reporter.alarmId ?? null,
        reportedAt: now,
        updatedAt: now,
        ...deadlines,
      })
      .onConflictDoNothing({ target: cases.idempotencyKey })
      .returning(caseColumns);

    if (!inserted) {
      // A concurrent report with the same key committed first (we waited on its index entry).
      const first = await existingReport(tx, input.idempotencyKey, reporter);
      if (!first) throw new Conflict('the idempotency key is in use by a report still being written; retry');
      return first;
    }

    await recordCaseEvent(tx, {
      caseId: inserted.id,
      seq: 1,
      action: 'REPORT',
      fromStatus: null,
      toStatus: 'REPORTED',
      actorId: reporter.reporterId,
      note: null,
      payload: {
        ...reporter.payload,
        source: reporter.source,
        gridCellId: cell.id,
        ...(input.location.crs && input.location.crs !== 'WGS84'
          ? { given: { lon: input.location.lon, lat: input.location.lat, crs: input.location.crs } }
          : {}),
      },
      at: now,
    });

    await notifyCaseChanged(tx, {
      caseId: inserted.id,
      action: 'REPORT',
      version: 1,
      cityId: inserted.cityId,
      districtId: inserted.districtId,
      streetId: inserted.streetId,
      communityId: inserted.communityId,
      departmentId: null,
    });

    if (input.attachmentIds?.length) {
      if (reporter.reporterId === null) {
        throw new BadUserInput('only a signed-in reporter can attach photos', { field: 'attachmentIds' });
      }
      await attachToCase(tx, {
        attachmentIds: input.attachmentIds,
        caseId: inserted.id,
        eventSeq: 1,
        actor: { id: reporter.reporterId },
      });
    }
    return { caseId: inserted.id, created: true, row: inserted as CaseRow };
  });
}

async function existingReport(
  db: Db | Parameters<Parameters<Db['transaction']>[0]>[0],
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
